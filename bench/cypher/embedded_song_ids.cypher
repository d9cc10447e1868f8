// The ids of every song that has an embedding (the benchmarks draw their songs here).
MATCH (s:Song) WHERE s.embedding IS NOT NULL
RETURN s.id AS id
