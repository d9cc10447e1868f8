// One record per genre (its parent genres as a list), like the song relationships.
MATCH (a:Genre)
CALL (a) { MATCH (a)-[:SUBGENRE_OF]->(b:Genre) RETURN collect(b.name) AS dst }
RETURN a.name AS src, dst
