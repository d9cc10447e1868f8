// One record per song (its genres as a list): records, not values, are what the driver pays for.
MATCH (s:Song)
CALL (s) { MATCH (s)-[:HAS_GENRE]->(n:Genre) RETURN collect(n.name) AS dst }
RETURN s.id AS src, dst
