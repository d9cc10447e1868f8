// Stored once per unordered pair; the exporter treats it as undirected. One record per
// song with its neighbours as lists: records, not values, are what the driver pays for.
MATCH (a:Song)
CALL (a) {
  MATCH (a)-[r:SIMILAR]->(b:Song)
  RETURN collect(b.id) AS dst, collect(r.score) AS score
}
RETURN a.id AS src, dst, score
