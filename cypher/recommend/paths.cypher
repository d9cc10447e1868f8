// For each recommended song in $ids, the most informative real path (at most 4 hops)
// from one of the $seeds to it, in this order of preference:
//   1 shared artist, 2 same album, 3 SIMILAR chain (shortest, then highest product of
//   per-hop scores), 4 shared playlist, 5 shared subgenre, 6 shared genre.
// Seeds are bound first, so the two-hop patterns expand into known endpoints rather
// than out of hub nodes (a genre holds thousands of songs). Songs with none of these
// get no row; the caller then tries recommend/paths_fallback.
UNWIND $ids AS rid
MATCH (r:Song {id: rid})
CALL (r) {
  CALL (r) {
    MATCH (s:Song) WHERE s.id IN $seeds
    MATCH p = (s)-[:BY]->(:Artist)<-[:BY]-(r)
    RETURN p, 1 AS rank
    UNION
    MATCH (s:Song) WHERE s.id IN $seeds
    MATCH p = (s)-[:ON]->(:Album)<-[:ON]-(r)
    RETURN p, 2 AS rank
    UNION
    MATCH (s:Song) WHERE s.id IN $seeds
    MATCH p = allShortestPaths((s)-[:SIMILAR*..4]-(r))
    RETURN p, 3 AS rank
    UNION
    MATCH (s:Song) WHERE s.id IN $seeds
    MATCH p = (s)-[:IN_PLAYLIST]->(:Playlist)<-[:IN_PLAYLIST]-(r)
    RETURN p, 4 AS rank
    UNION
    MATCH (s:Song) WHERE s.id IN $seeds
    MATCH p = (s)-[:IN_PLAYLIST]->(:Playlist)<-[:IN_PLAYLIST]-(o:Song)-[:BY]->(:Artist)<-[:BY]-(r)
    WHERE o <> r AND o <> s
    RETURN p, 5 AS rank
    UNION
    MATCH (s:Song) WHERE s.id IN $seeds
    MATCH p = (s)-[:HAS_GENRE]->(g:Genre)<-[:HAS_GENRE]-(r)
    RETURN p, CASE g.level WHEN 'subgenre' THEN 6 ELSE 7 END AS rank
  }
  RETURN p, rank
  ORDER BY rank, length(p), reduce(x = 1.0, rel IN relationships(p) | x * coalesce(rel.score, 1.0)) DESC
  LIMIT 1
}
RETURN rid AS id, rank,
       [n IN nodes(p) | {
          key: CASE WHEN n:Artist OR n:Genre THEN n.name ELSE n.id END,
          label: head(labels(n)),
          name: coalesce(n.title, n.name)}] AS nodes,
       [rel IN relationships(p) | {type: type(rel), score: rel.score}] AS relationships
