// Find a song by (part of) its title, case-insensitively: the most popular matches first,
// with their artists and album. Use the id it shows in the other browser queries.
//
// In Neo4j Browser, set the parameter first, then paste the query:
//   :param name => 'bohemian'
MATCH (s:Song)
WHERE toLower(s.title) CONTAINS toLower($name)
RETURN s.id AS id, s.title AS title,
       COLLECT { MATCH (s)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (s)-[:ON]->(al:Album) RETURN al.name }) AS album,
       s.release_year AS year, s.popularity AS popularity
ORDER BY popularity DESC, id
LIMIT 25
