MATCH (s:Song)-[:HAS_GENRE]->(n:Genre) RETURN s.id AS src, n.name AS dst
