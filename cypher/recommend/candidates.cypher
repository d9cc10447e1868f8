// Candidate songs for a set of seeds (one seed: a song's "more like this"), by the
// song_embedding vector index. The query vector is the mean of the seeds' embeddings
// (for one seed, its own embedding). The index filters after its top-$n, so callers
// ask for more than they keep; seeds are excluded here.
MATCH (s:Song) WHERE s.id IN $seeds AND s.embedding IS NOT NULL
WITH collect(s.embedding) AS vs
WHERE size(vs) > 0
WITH [i IN range(0, size(vs[0]) - 1) | reduce(acc = 0.0, v IN vs | acc + v[i]) / size(vs)] AS query
CALL db.index.vector.queryNodes('song_embedding', $n, query) YIELD node, score
WITH node, score
WHERE NOT node.id IN $seeds
RETURN node.id AS id, score AS sim
ORDER BY sim DESC, id
