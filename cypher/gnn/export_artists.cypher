MATCH (n:Artist) RETURN n.name AS key
