// One record per song (its albums as a list): records, not values, are what the driver pays for.
MATCH (s:Song)
CALL (s) { MATCH (s)-[:ON]->(n:Album) RETURN collect(n.id) AS dst }
RETURN s.id AS src, dst
