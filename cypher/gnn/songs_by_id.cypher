// The raw inputs of the given songs (as gnn/export_songs, for a neighbourhood only).
UNWIND $ids AS id
MATCH (s:Song {id: id})
RETURN s.id AS id,
       [f IN $features | s[f]] AS audio,
       s.popularity AS popularity,
       s.release_year AS year,
       s.embedding IS NOT NULL AS has_embedding
