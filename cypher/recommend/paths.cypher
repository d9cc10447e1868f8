// For each recommended song in $ids, the most informative real path (at most 4 hops)
// from one of the $seeds to it, in this order of preference:
//   1 shared artist, 2 same album, 3 SIMILAR chain (shortest, then highest product of
//   per-hop scores), 4 shared playlist, 5 an artist on a seed's playlist, 6 shared
//   subgenre, 7 shared genre, 8 any shortest path over all relationship types.
// Each kind is looked for only when no better kind was found (OPTIONAL CALL guarded by
// "nothing yet"): most recommendations are explained by an artist, an album or a SIMILAR
// chain, and the costlier patterns, which walk playlists and hubs, never run for them.
// Seeds are bound first, so the two-hop patterns expand into known endpoints rather than
// out of hub nodes (a genre holds thousands of songs). A song with no path of at most 4
// hops gets no row: the caller drops it. Each row says which kind of path it is (`kind`:
// artist, album, similar, playlist, artist_on_playlist, subgenre, genre, shortest), and
// the reason shown to the listener is written from that kind.
UNWIND $ids AS rid
MATCH (r:Song {id: rid})
OPTIONAL CALL (r) {
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = (s)-[:BY]->(:Artist)<-[:BY]-(r)
  RETURN p AS p1 ORDER BY s.id LIMIT 1
}
OPTIONAL CALL (r, p1) {
  WITH r WHERE p1 IS NULL
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = (s)-[:ON]->(:Album)<-[:ON]-(r)
  RETURN p AS p2 ORDER BY s.id LIMIT 1
}
OPTIONAL CALL (r, p1, p2) {
  WITH r WHERE p1 IS NULL AND p2 IS NULL
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = allShortestPaths((s)-[:SIMILAR*..4]-(r))
  RETURN p AS p3
  ORDER BY length(p), reduce(x = 1.0, rel IN relationships(p) | x * rel.score) DESC, s.id
  LIMIT 1
}
WITH r, rid, coalesce(p1, p2, p3) AS best,
     CASE WHEN p1 IS NOT NULL THEN 1 WHEN p2 IS NOT NULL THEN 2 WHEN p3 IS NOT NULL THEN 3 END AS rank
OPTIONAL CALL (r, best) {
  WITH r WHERE best IS NULL
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = (s)-[:IN_PLAYLIST]->(:Playlist)<-[:IN_PLAYLIST]-(r)
  RETURN p AS p4 ORDER BY s.id LIMIT 1
}
OPTIONAL CALL (r, best, p4) {
  WITH r WHERE best IS NULL AND p4 IS NULL
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = (s)-[:IN_PLAYLIST]->(:Playlist)<-[:IN_PLAYLIST]-(o:Song)-[:BY]->(:Artist)<-[:BY]-(r)
  WHERE o <> r AND o <> s
  RETURN p AS p5 ORDER BY s.id, o.id LIMIT 1
}
OPTIONAL CALL (r, best, p4, p5) {
  WITH r WHERE best IS NULL AND p4 IS NULL AND p5 IS NULL
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = (s)-[:HAS_GENRE]->(g:Genre)<-[:HAS_GENRE]-(r)
  RETURN p AS p6, CASE g.level WHEN 'subgenre' THEN 6 ELSE 7 END AS genre_rank
  ORDER BY genre_rank, s.id LIMIT 1
}
OPTIONAL CALL (r, best, p4, p5, p6) {
  WITH r WHERE best IS NULL AND p4 IS NULL AND p5 IS NULL AND p6 IS NULL
  MATCH (s:Song) WHERE s.id IN $seeds
  MATCH p = shortestPath((s)-[:SIMILAR|BY|ON|IN_PLAYLIST|HAS_GENRE*..4]-(r))
  RETURN p AS p8 ORDER BY length(p), s.id LIMIT 1
}
WITH rid, coalesce(best, p4, p5, p6, p8) AS p,
     coalesce(rank, CASE WHEN p4 IS NOT NULL THEN 4 WHEN p5 IS NOT NULL THEN 5
                         WHEN p6 IS NOT NULL THEN genre_rank WHEN p8 IS NOT NULL THEN 8 END) AS rank
WHERE p IS NOT NULL
RETURN rid AS id, rank,
       ['artist', 'album', 'similar', 'playlist', 'artist_on_playlist', 'subgenre', 'genre',
        'shortest'][rank - 1] AS kind,
       [n IN nodes(p) | {
          key: CASE WHEN n:Artist OR n:Genre THEN n.name ELSE n.id END,
          label: head(labels(n)),
          name: coalesce(n.title, n.name)}] AS nodes,
       [rel IN relationships(p) | {type: type(rel), score: rel.score}] AS relationships
