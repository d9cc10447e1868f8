// Short descriptions of the songs in $ids (unknown ids give no row).
UNWIND $ids AS sid
MATCH (s:Song {id: sid})
RETURN s.id AS id, s.title AS title, s.popularity AS popularity, s.release_year AS release_year,
       COLLECT { MATCH (s)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (s)-[:ON]->(al:Album) RETURN al.name }) AS album,
       s.embedding IS NOT NULL AS embedded
