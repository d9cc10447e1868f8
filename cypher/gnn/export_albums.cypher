MATCH (n:Album) RETURN n.id AS key
