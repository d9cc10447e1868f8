// The $k songs nearest song $id in the GraphSAGE embedding space, by the song_embedding
// vector index (the candidates the app's recommendations start from). score is the
// index's cosine score (1 + cos) / 2, in [0, 1]. Needs `musicgraph train` to have run.
//
// In Neo4j Browser, set the parameters first, then paste the query:
//   :param id => '7fvUMiyapMsRRxr07cU8Ef'
//   :param k => 10
MATCH (s:Song {id: $id})
CALL db.index.vector.queryNodes('song_embedding', $k + 1, s.embedding) YIELD node, score
WITH s, node, score
WHERE node <> s
RETURN node.id AS id, node.title AS title,
       COLLECT { MATCH (node)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       round(score, 4) AS score
ORDER BY score DESC, id
LIMIT $k
