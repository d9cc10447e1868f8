// The $k songs nearest the song $id by the vector index $index (cosine score
// (1+cos)/2), the song itself excluded. Filters run after the index's top-k, so ask for
// $k + 1 plus a margin: the seed is among the answers, and HNSW is approximate.
MATCH (seed:Song {id: $id})
WHERE seed.embedding IS NOT NULL
CALL db.index.vector.queryNodes($index, $k + 1 + $k / 2, seed.embedding)
YIELD node, score
WHERE node <> seed
RETURN node.id AS id, node.title AS title, score
ORDER BY score DESC, id
LIMIT $k
