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
// Each `reduce(x = 0.0, ...)` is the largest value, or 0.0 when there is none (every
// value is positive: ratios, affinities, shares); the best SIMILAR score starts from null.
WITH seeds, cand, sim, toFloat(size(seeds)) AS n,
     [(cand)-[:BY]->(a:Artist) | {name: a.name, placed: a.placed_songs,
                                  k: size(coalesce($artist_seeds[a.name], []))}] AS arts,
     [(cand)-[:ON]->(al:Album) | {placed: al.placed_songs,
                                  k: coalesce($album_seeds[al.id], 0)}] AS albums,
     [(cand)-[:HAS_GENRE]->(g:Genre) | g.name] AS genres
WITH cand, sim, [
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
  coalesce(reduce(x = null, v IN [(cand)-[r:SIMILAR]-(s:Song) WHERE s IN seeds | r.score] |
                  CASE WHEN x IS NULL OR v > x THEN v ELSE x END), 0.0),
  CASE WHEN EXISTS { MATCH (cand)-[:IN_PLAYLIST]->(p:Playlist) WHERE p.id IN $seed_playlists }
       THEN 1.0 ELSE 0.0 END,
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
       COLLECT { MATCH (cand)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (cand)-[:ON]->(al:Album) RETURN al.name }) AS album,
       sim, features
