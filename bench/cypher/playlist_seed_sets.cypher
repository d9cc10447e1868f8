// Seed sets for the benchmark: $size songs (with embeddings) of each of the $limit
// largest playlists, the songs ordered by id so a run is repeatable.
MATCH (p:Playlist)<-[:IN_PLAYLIST]-(s:Song)
WHERE s.embedding IS NOT NULL
WITH p, s ORDER BY s.id
WITH p, collect(s.id) AS ids
WHERE size(ids) >= $size
RETURN p.id AS playlist, ids[..$size] AS ids
ORDER BY size(ids) DESC, playlist
LIMIT $limit
