// Candidates restricted to the song ids in $candidates (offline evaluation): the exact
// cosine score (vector.similarity.cosine gives the index's (1+cos)/2 scale) of each
// candidate against the mean of the seeds' embeddings, best $n first, seeds excluded.
MATCH (s:Song) WHERE s.id IN $seeds AND s.embedding IS NOT NULL
WITH collect(s.embedding) AS vs
WHERE size(vs) > 0
WITH [i IN range(0, size(vs[0]) - 1) | reduce(acc = 0.0, v IN vs | acc + v[i]) / size(vs)] AS query
UNWIND $candidates AS cid
MATCH (node:Song {id: cid})
WHERE node.embedding IS NOT NULL AND NOT node.id IN $seeds
RETURN node.id AS id, vector.similarity.cosine(query, node.embedding) AS sim
ORDER BY sim DESC, id
LIMIT $n
