MATCH (s:Song)-[:BY]->(n:Artist) RETURN s.id AS src, n.name AS dst
