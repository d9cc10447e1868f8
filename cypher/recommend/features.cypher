// The ranker's features of each candidate row (seeds, cand, sim) left by
// recommend/candidates or recommend/candidates_among, in the order of
// musicgraph.ranking.FEATURE_NAMES (defined there; gnn/ranker.py computes the same
// vector in training, and a test holds the two equal). Parameters from
// recommend/context: $affinity (artist name -> affinity), $subgenre_share and
// $genre_share (genre name -> share of the seeds in it), $year_mean, $year_sd,
// $pop_mean, $pop_sd (null when no seed has the value).
WITH seeds, cand, sim, toFloat(size(seeds)) AS n
WITH cand, sim, [
  sim,
  coalesce(head(COLLECT {
    MATCH (cand)-[:BY]->(a:Artist)
    WITH a, COUNT { MATCH (a)<-[:BY]-(s:Song) WHERE s IN seeds } AS k WHERE k > 0
    RETURN toFloat(k) / CASE WHEN a.placed_songs > k THEN a.placed_songs ELSE k END AS x
    ORDER BY x DESC LIMIT 1 }), 0.0),
  COUNT { MATCH (cand)-[:BY]->(:Artist)<-[:BY]-(s:Song) WHERE s IN seeds RETURN DISTINCT s } / n,
  coalesce(head(COLLECT {
    MATCH (cand)-[:ON]->(al:Album)
    WITH al, COUNT { MATCH (al)<-[:ON]-(s:Song) WHERE s IN seeds } AS k WHERE k > 0
    RETURN toFloat(k) / CASE WHEN al.placed_songs > k THEN al.placed_songs ELSE k END AS x
    ORDER BY x DESC LIMIT 1 }), 0.0),
  coalesce(head(COLLECT { MATCH (cand)-[:BY]->(a:Artist) WITH $affinity[a.name] AS x
                          WHERE x IS NOT NULL RETURN x ORDER BY x DESC LIMIT 1 }), 0.0),
  CASE WHEN EXISTS { MATCH (cand)-[:BY]->(a:Artist) WHERE a.placed_songs > 0 } THEN 1.0 ELSE 0.0 END,
  coalesce(head(COLLECT { MATCH (cand)-[r:SIMILAR]-(s:Song) WHERE s IN seeds
                          RETURN r.score AS x ORDER BY x DESC LIMIT 1 }), 0.0),
  CASE WHEN EXISTS { MATCH (cand)-[:IN_PLAYLIST]->(:Playlist)<-[:IN_PLAYLIST]-(s:Song) WHERE s IN seeds }
       THEN 1.0 ELSE 0.0 END,
  coalesce(head(COLLECT { MATCH (cand)-[:HAS_GENRE]->(g:Genre) WITH $subgenre_share[g.name] AS x
                          WHERE x IS NOT NULL RETURN x ORDER BY x DESC LIMIT 1 }), 0.0),
  coalesce(head(COLLECT { MATCH (cand)-[:HAS_GENRE]->(g:Genre) WITH $genre_share[g.name] AS x
                          WHERE x IS NOT NULL RETURN x ORDER BY x DESC LIMIT 1 }), 0.0),
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
