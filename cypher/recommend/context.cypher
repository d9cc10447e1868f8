// What a request computes once about its seed set, before any candidate (the features'
// reference points, musicgraph/ranking.py). Parameters: $seeds (ids), $meta_key.
//
// Artist affinity, from the stored (visible) playlists only: for each artist a, the sum
// over the seeds' artists b (counted once per seed by b) of the cosine of their
// playlist sets, cos(a, b) = |P(a) ∩ P(b)| / sqrt(|P(a)| |P(b)|), divided by the number
// of seeds. P(x) is the playlists holding a song by x; a song without playlists (a new
// release) inherits its artist's affinity. Computed per playlist rather than per (a, b)
// pair, since the sum regroups as
//   affinity(a) = 1/sqrt(|P(a)|) * sum over p in P(a) of W(p),
//   W(p) = sum over the seeds' artists b with p in P(b) of w(b) / sqrt(|P(b)|),
// so each playlist's artists are expanded once. Every artist with a positive affinity,
// best first (ties by name), as two parallel lists: hundreds of rows would cost the
// client more to decode than the server to compute.
//
// Genres: how many seeds carry each genre, and whether it is a subgenre (it has a
// parent). Years and popularity: the seeds' known values. songs: the seeds' short
// descriptions (as app/songs; an unknown id has none). The seeds' artists (with the seeds
// by each), albums (with how many seeds are on each) and playlists: recommend/features
// looks a candidate's up in them instead of walking from every candidate's artist or
// album to all its songs. model_version: the GraphSAGE
// model whose embeddings the graph holds (written by training), checked against the
// ranker's.
CALL () {
  MATCH (s:Song)-[:BY]->(b:Artist) WHERE s.id IN $seeds
  WITH b, count(DISTINCT s) AS wb
  WHERE b.playlists > 0
  MATCH (b)<-[:BY]-(:Song)-[:IN_PLAYLIST]->(p:Playlist)
  WITH DISTINCT b, wb, p
  WITH p, sum(wb / sqrt(toFloat(b.playlists))) AS wp
  MATCH (p)<-[:IN_PLAYLIST]-(:Song)-[:BY]->(a:Artist)
  WITH DISTINCT p, wp, a
  WITH a, sum(wp) AS partial
  WITH a.name AS artist, partial / sqrt(toFloat(a.playlists)) / toFloat(size($seeds)) AS affinity
  ORDER BY affinity DESC, artist
  RETURN collect(artist) AS artists, collect(affinity) AS affinities
}
CALL () {
  MATCH (s:Song)-[:HAS_GENRE]->(g:Genre) WHERE s.id IN $seeds
  WITH g, count(DISTINCT s) AS k
  RETURN collect(g.name) AS genres, collect(k) AS genre_seeds,
         collect(EXISTS { (g)-[:SUBGENRE_OF]->(:Genre) }) AS subgenre
}
CALL () {
  MATCH (s:Song) WHERE s.id IN $seeds
  RETURN count(s) AS found, collect(s.release_year) AS years, collect(s.popularity) AS popularity,
         collect({id: s.id, title: s.title, popularity: s.popularity,
                  release_year: s.release_year,
                  artists: COLLECT { MATCH (s)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name },
                  album: head(COLLECT { MATCH (s)-[:ON]->(al:Album) RETURN al.name }),
                  embedded: s.embedding IS NOT NULL}) AS songs
}
CALL () {
  MATCH (s:Song)-[:BY]->(a:Artist) WHERE s.id IN $seeds
  WITH a, collect(DISTINCT s.id) AS ids
  RETURN collect(a.name) AS seed_artists, collect(ids) AS seed_artist_seeds
}
CALL () {
  MATCH (s:Song)-[:ON]->(al:Album) WHERE s.id IN $seeds
  WITH al, count(DISTINCT s) AS k
  RETURN collect(al.id) AS seed_albums, collect(k) AS seed_album_counts
}
CALL () {
  MATCH (s:Song)-[:IN_PLAYLIST]->(p:Playlist) WHERE s.id IN $seeds
  RETURN collect(DISTINCT p.id) AS seed_playlists
}
OPTIONAL MATCH (m:Meta {key: $meta_key})
RETURN artists, affinities, genres, genre_seeds, subgenre, found, years, popularity, songs,
       seed_artists, seed_artist_seeds, seed_albums, seed_album_counts, seed_playlists,
       m.model_version AS model_version
