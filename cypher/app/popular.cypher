// The $limit most popular songs (range index song_popularity), for the home page.
MATCH (s:Song) WHERE s.popularity IS NOT NULL
WITH s ORDER BY s.popularity DESC, s.id LIMIT $limit
RETURN s.id AS id, s.title AS title, s.popularity AS popularity, s.release_year AS release_year,
       COLLECT { MATCH (s)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (s)-[:ON]->(al:Album) RETURN al.name }) AS album
