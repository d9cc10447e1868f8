// Stored once per unordered pair; the exporter treats it as undirected.
MATCH (a:Song)-[r:SIMILAR]->(b:Song) RETURN a.id AS src, b.id AS dst, r.score AS score
