// The served candidates of a seed set; recommend/features follows this fragment in the
// same statement (app.recommend joins them) and scores every (cand, sim) row it leaves.
// Parameters: $index (the vector index), $seeds, $probe, $n_vector, $artists,
// $n_graph (musicgraph.ranking.RankingConfig).
//
// Query vector: the mean of the seeds' embeddings (for one seed, its own embedding).
//   1. nearest: the $n_vector songs nearest the query by the vector index, which
//      filters after its top-n, so it is asked for $probe (the seeds and a margin more).
//   2. graph: songs by a seed's artist, on a seed's album, or by one of $artists (the
//      best by affinity), not already nearest, the $n_graph of them nearest the query:
//      artist and album evidence is scored even for a song the embedding ranks low.
// The evaluation's variant, restricted to a candidate set, is recommend/candidates_among.
MATCH (seed:Song) WHERE seed.id IN $seeds
WITH collect(seed) AS seeds
WITH seeds, [s IN seeds WHERE s.embedding IS NOT NULL | s.embedding] AS vs
WHERE size(vs) > 0
WITH seeds, [i IN range(0, size(vs[0]) - 1) | reduce(acc = 0.0, v IN vs | acc + v[i]) / size(vs)] AS query
CALL (query) {
  CALL db.index.vector.queryNodes($index, $probe, query) YIELD node, score
  WITH node, score WHERE NOT node.id IN $seeds
  WITH node, score ORDER BY score DESC, node.id LIMIT $n_vector
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
  WITH node, vector.similarity.cosine(query, node.embedding) AS sim
  ORDER BY sim DESC, node.id LIMIT $n_graph
  RETURN collect(node) AS graph
}
UNWIND near + graph AS cand
WITH seeds, cand, vector.similarity.cosine(query, cand.embedding) AS sim
