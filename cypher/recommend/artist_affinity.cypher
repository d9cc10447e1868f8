// Artist affinity of a seed set, from visible playlists only: for each artist a, the
// sum over the seeds' artists b (counted once per seed by b) of the cosine of their
// playlist sets, cos(a, b) = |P(a) ∩ P(b)| / sqrt(|P(a)| |P(b)|), divided by the number
// of seeds. P(x) is the playlists holding a song by x; a seed's own artist has cosine 1
// with itself, so it is never outranked by a neighbour. A song without playlists (a new
// release) inherits its artist's affinity: this is how its artist's other songs vouch
// for it. Returns every artist with a positive affinity, best first.
// Computed per playlist rather than per (a, b) pair, since the sum regroups as
//   affinity(a) = 1/sqrt(|P(a)|) * sum over p in P(a) of W(p),
//   W(p) = sum over the seeds' artists b with p in P(b) of w(b) / sqrt(|P(b)|),
// so each playlist's artists are expanded once and each |P(a)| is counted once, not
// once per seed artist (the seeds of one playlist share most of their playlists).
MATCH (s:Song)-[:BY]->(b:Artist) WHERE s.id IN $seeds
WITH b, count(DISTINCT s) AS wb
WHERE b.playlists > 0
MATCH (b)<-[:BY]-(:Song)-[:IN_PLAYLIST]->(p:Playlist)
WITH DISTINCT b, wb, p
WITH p, sum(wb / sqrt(toFloat(b.playlists))) AS wp
MATCH (p)<-[:IN_PLAYLIST]-(:Song)-[:BY]->(a:Artist)
WITH DISTINCT p, wp, a
WITH a, sum(wp) AS partial
WITH a.name AS artist, partial / sqrt(toFloat(a.playlists)) / toFloat($n_seeds) AS affinity
ORDER BY affinity DESC, artist
// One row of two parallel lists: hundreds of rows would cost the client more to decode
// than the server to compute.
RETURN collect(artist) AS artists, collect(affinity) AS affinities
