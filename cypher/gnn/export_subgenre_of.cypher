MATCH (a:Genre)-[:SUBGENRE_OF]->(b:Genre) RETURN a.name AS src, b.name AS dst
