MATCH (s:Song)-[:ON]->(n:Album) RETURN s.id AS src, n.id AS dst
