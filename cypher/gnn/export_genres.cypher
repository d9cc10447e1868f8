MATCH (n:Genre) RETURN n.name AS key
