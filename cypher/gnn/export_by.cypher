// One record per song (its artists as a list): records, not values, are what the driver pays for.
MATCH (s:Song)
CALL (s) { MATCH (s)-[:BY]->(n:Artist) RETURN collect(n.name) AS dst }
RETURN s.id AS src, dst
