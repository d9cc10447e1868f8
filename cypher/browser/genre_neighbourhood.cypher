// A genre's neighbourhood: the genre (or subgenre) named $genre, its parent genre or its
// subgenres, and its 25 most popular songs with their artists. Best in the Graph view.
// Genre names on the bundled data: edm, latin, pop, r&b, rap, rock; subgenres such as
// 'dance pop' or 'hard rock' (list them with MATCH (g:Genre) RETURN g.name, g.level).
//
// In Neo4j Browser, set the parameter first, then paste the query:
//   :param genre => 'rock'
MATCH (g:Genre {name: $genre})
CALL (g) {
  MATCH p = (g)-[:SUBGENRE_OF]-(:Genre)
  RETURN p
  UNION
  MATCH (s:Song)-[:HAS_GENRE]->(g)
  WITH s ORDER BY s.popularity DESC, s.id LIMIT 25
  MATCH p = (g)<-[:HAS_GENRE]-(s)-[:BY]->(:Artist)
  RETURN p
}
RETURN p
