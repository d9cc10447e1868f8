// The planted graph's SIMILAR edges (once per pair) and its genre hierarchy.
CALL {
  UNWIND $similar AS e
  MATCH (a:Song {id: e.a}), (b:Song {id: e.b})
  MERGE (a)-[r:SIMILAR]->(b)
  SET r.score = e.score
  RETURN count(*) AS n
}
CALL {
  UNWIND $subgenres AS g
  MATCH (sub:Genre {name: g.sub}), (top:Genre {name: g.genre})
  MERGE (sub)-[:SUBGENRE_OF]->(top)
  RETURN count(*) AS m
}
RETURN n, m
