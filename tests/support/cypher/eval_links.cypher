// Every song's playlists and genres, for the evaluation split tests: what the ETL
// made of the training rows.
MATCH (s:Song)
RETURN s.id AS id, s.popularity AS popularity,
       COLLECT { MATCH (s)-[:IN_PLAYLIST]->(p:Playlist) RETURN p.id ORDER BY p.id } AS playlists,
       COLLECT { MATCH (s)-[:HAS_GENRE]->(g:Genre) RETURN g.name ORDER BY g.name } AS genres,
       COLLECT { MATCH (s)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       COLLECT { MATCH (s)-[:ON]->(al:Album) RETURN al.id } AS albums
ORDER BY id
