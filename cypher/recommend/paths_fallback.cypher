// Any shortest real path of at most 4 hops from a seed to each song in $ids, for songs
// none of the preferred patterns of recommend/paths explains (rare: it walks hubs).
UNWIND $ids AS rid
MATCH (r:Song {id: rid})
CALL (r) {
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = shortestPath((s)-[:SIMILAR|BY|ON|IN_PLAYLIST|HAS_GENRE*..4]-(r))
  RETURN p
  ORDER BY length(p)
  LIMIT 1
}
RETURN rid AS id, 8 AS rank,
       [n IN nodes(p) | {
          key: CASE WHEN n:Artist OR n:Genre THEN n.name ELSE n.id END,
          label: head(labels(n)),
          name: coalesce(n.title, n.name)}] AS nodes,
       [rel IN relationships(p) | {type: type(rel), score: rel.score}] AS relationships
