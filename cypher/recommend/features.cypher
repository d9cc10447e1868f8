// The ranker's features of each candidate row (seeds, cand, sim) left by
// recommend/candidates or recommend/candidates_among, in the order of
// musicgraph.ranking.FEATURE_NAMES (defined there; gnn/ranker.py computes the same
// vector in training, and a test holds the two equal). Parameters from
// recommend/context: $affinity (artist name -> affinity), $artist_seeds (a seed's artist
// name -> the ids of the seeds by it), $album_seeds (a seed's album id -> how many seeds
// are on it), $seed_playlists (the ids of the playlists holding a seed), $subgenre_share
// and $genre_share (genre name -> share of the seeds in it), $year_mean, $year_sd,
// $pop_mean, $pop_sd (null when no seed has the value). A candidate's artists and
// albums are looked up in those maps: walking from each candidate's artist to all of its
// songs cost about 100,000 database hits a request.
//
// A candidate's relationships are read in one pass: a song has no dense-node grouping
// (a few dozen relationships), so each pattern from it walks its whole relationship
// chain, and five patterns per candidate were five walks (most of the statement's
// database hits). `rels` keeps what the features need of each relationship: an
// artist (name, placed songs, the seeds by it), an album (id, name, placed songs, the
// seeds on it), a genre's name, the score of a SIMILAR to a seed, a playlist of a seed.
//
// Each `reduce(x = 0.0, ...)` is the largest value, or 0.0 when there is none (every
// value is positive: ratios, affinities, shares); the best SIMILAR score starts from null.
WITH seeds, cand, sim, toFloat(size(seeds)) AS n,
     [m IN [(cand)-[r:BY|ON|HAS_GENRE|SIMILAR|IN_PLAYLIST]-(x) |
      CASE
        WHEN type(r) = 'SIMILAR' THEN CASE WHEN x IN seeds THEN {t: 'S', score: r.score} END
        WHEN startNode(r) <> cand THEN null
        WHEN type(r) = 'BY' AND x:Artist
          THEN {t: 'A', name: x.name, placed: x.placed_songs,
                k: size(coalesce($artist_seeds[x.name], []))}
        WHEN type(r) = 'ON' AND x:Album
          THEN {t: 'L', name: x.name, placed: x.placed_songs, k: coalesce($album_seeds[x.id], 0)}
        WHEN type(r) = 'HAS_GENRE' AND x:Genre THEN {t: 'G', name: x.name}
        WHEN type(r) = 'IN_PLAYLIST' AND x:Playlist AND x.id IN $seed_playlists THEN {t: 'P'}
      END] WHERE m IS NOT NULL] AS rels
WITH seeds, cand, sim, n, rels,
     [m IN rels WHERE m.t = 'A'] AS arts,
     [m IN rels WHERE m.t = 'L'] AS albums,
     [m IN rels WHERE m.t = 'G' | m.name] AS genres
WITH cand, sim, arts, albums, [
  sim,
  reduce(x = 0.0, r IN [m IN arts WHERE m.k > 0 |
                        toFloat(m.k) / CASE WHEN m.placed > m.k THEN m.placed ELSE m.k END] |
         CASE WHEN r > x THEN r ELSE x END),
  size(reduce(acc = [], m IN arts |
              acc + [i IN coalesce($artist_seeds[m.name], []) WHERE NOT i IN acc])) / n,
  reduce(x = 0.0, r IN [m IN albums WHERE m.k > 0 |
                        toFloat(m.k) / CASE WHEN m.placed > m.k THEN m.placed ELSE m.k END] |
         CASE WHEN r > x THEN r ELSE x END),
  reduce(x = 0.0, m IN arts | CASE WHEN $affinity[m.name] > x THEN $affinity[m.name] ELSE x END),
  CASE WHEN any(m IN arts WHERE m.placed > 0) THEN 1.0 ELSE 0.0 END,
  coalesce(reduce(x = null, v IN [m IN rels WHERE m.t = 'S' | m.score] |
                  CASE WHEN x IS NULL OR v > x THEN v ELSE x END), 0.0),
  CASE WHEN any(m IN rels WHERE m.t = 'P') THEN 1.0 ELSE 0.0 END,
  reduce(x = 0.0, g IN genres | CASE WHEN $subgenre_share[g] > x THEN $subgenre_share[g] ELSE x END),
  reduce(x = 0.0, g IN genres | CASE WHEN $genre_share[g] > x THEN $genre_share[g] ELSE x END),
  CASE WHEN cand.release_year IS NULL OR $year_mean IS NULL THEN 0.0
       ELSE abs(cand.release_year - $year_mean) / ($year_sd + 1.0) END,
  CASE WHEN cand.popularity IS NULL OR $pop_mean IS NULL THEN 0.0
       ELSE abs(cand.popularity - $pop_mean) / ($pop_sd + 1.0) END,
  toFloat(coalesce(cand.popularity, 0)) / 100.0
] AS features
RETURN cand.id AS id, cand.title AS title, cand.popularity AS popularity,
       cand.release_year AS release_year,
       COLLECT { UNWIND arts AS a RETURN a.name ORDER BY a.name } AS artists,
       head([al IN albums | al.name]) AS album,
       sim, features
