// Every song with its raw inputs, streamed; the audio features come back in the order of
// $features (dynamic property access by parameter, never by formatting names in).
MATCH (s:Song)
RETURN s.id AS id,
       [f IN $features | s[f]] AS audio,
       s.popularity AS popularity,
       s.release_year AS year,
       s.embedding IS NOT NULL AS has_embedding
