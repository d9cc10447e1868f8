// The evaluation's candidates: recommend/candidates restricted to the songs
// $candidates (a held-out pool), with the nearest ones found by the exact cosine over
// that set rather than the vector index (whose top-n would hold few of them). Same
// parameters otherwise; recommend/features follows. Never served.
MATCH (seed:Song) WHERE seed.id IN $seeds
WITH collect(seed) AS seeds
WITH seeds, [s IN seeds WHERE s.embedding IS NOT NULL | s.embedding] AS vs
WHERE size(vs) > 0
WITH seeds, [i IN range(0, size(vs[0]) - 1) | reduce(acc = 0.0, v IN vs | acc + v[i]) / size(vs)] AS query
CALL (query) {
  UNWIND $candidates AS cid
  MATCH (node:Song {id: cid})
  WITH query, node WHERE node.embedding IS NOT NULL AND NOT node.id IN $seeds
  WITH node, vector.similarity.cosine(query, node.embedding) AS sim
  ORDER BY sim DESC, node.id LIMIT $n_vector
  RETURN collect(node) AS near
}
CALL (query, near) {
  CALL () {
    MATCH (seed:Song)-[:BY|ON]->()<-[:BY|ON]-(node:Song) WHERE seed.id IN $seeds
    RETURN node
    UNION
    MATCH (a:Artist)<-[:BY]-(node:Song) WHERE a.name IN $artists
    RETURN node
  }
  WITH query, near, node
  WHERE node.embedding IS NOT NULL AND NOT node.id IN $seeds AND NOT node IN near
    AND node.id IN $candidates
  WITH node, vector.similarity.cosine(query, node.embedding) AS sim
  ORDER BY sim DESC, node.id LIMIT $n_graph
  RETURN collect(node) AS graph
}
UNWIND near + graph AS cand
WITH seeds, cand, vector.similarity.cosine(query, cand.embedding) AS sim
