// Graph candidates for a set of seeds: songs by a seed's artist, from a seed's album, or
// by one of the $artists (the best artists by affinity, recommend/artist_affinity), with
// the exact cosine score ((1+cos)/2, the vector index's scale) against the mean of the
// seeds' embeddings. They join the vector candidates so that artist and album evidence
// is scored even for a song the embedding alone ranks low (a song without playlists,
// whose embedding knows least). $candidates: only these song ids (offline evaluation),
// or null for any song. Seeds are excluded.
MATCH (s:Song) WHERE s.id IN $seeds AND s.embedding IS NOT NULL
WITH collect(s.embedding) AS vs
WHERE size(vs) > 0
WITH [i IN range(0, size(vs[0]) - 1) | reduce(acc = 0.0, v IN vs | acc + v[i]) / size(vs)] AS query
CALL () {
  MATCH (seed:Song)-[:BY|ON]->(x)<-[:BY|ON]-(node:Song) WHERE seed.id IN $seeds
  RETURN node
  UNION
  MATCH (a:Artist)<-[:BY]-(node:Song) WHERE a.name IN $artists
  RETURN node
}
WITH query, node
WHERE node.embedding IS NOT NULL AND NOT node.id IN $seeds
  AND ($candidates IS NULL OR node.id IN $candidates)
RETURN node.id AS id, vector.similarity.cosine(query, node.embedding) AS sim
ORDER BY sim DESC, id
LIMIT $n
