// Artist affinity of a seed set, from visible playlists only: for each artist a, the
// sum over the seeds' artists b (counted once per seed by b) of the cosine of their
// playlist sets, cos(a, b) = |P(a) ∩ P(b)| / sqrt(|P(a)| |P(b)|), divided by the number
// of seeds. P(x) is the playlists holding a song by x; a seed's own artist has cosine 1
// with itself, so it is never outranked by a neighbour. A song without playlists (a new
// release) inherits its artist's affinity: this is how its artist's other songs vouch
// for it. Returns every artist with a positive affinity, best first.
MATCH (s:Song)-[:BY]->(b:Artist) WHERE s.id IN $seeds
WITH b, count(DISTINCT s) AS wb
CALL (b) {
  MATCH (b)<-[:BY]-(:Song)-[:IN_PLAYLIST]->(p:Playlist)
  RETURN collect(DISTINCT p) AS pb
}
WITH b, wb, pb WHERE size(pb) > 0
UNWIND pb AS p
MATCH (p)<-[:IN_PLAYLIST]-(:Song)-[:BY]->(a:Artist)
WITH b, wb, size(pb) AS nb, a, count(DISTINCT p) AS both
CALL (a) {
  MATCH (a)<-[:BY]-(:Song)-[:IN_PLAYLIST]->(q:Playlist)
  RETURN count(DISTINCT q) AS na
}
WITH a, sum(wb * both / sqrt(toFloat(nb * na))) AS affinity
RETURN a.name AS artist, affinity / toFloat($n_seeds) AS affinity
ORDER BY affinity DESC, artist
