// The served ranking of a seed set (one seed: a song's "more like this"), in one query:
// candidates, then the hybrid score. Parameters:
//   $index       the song embedding vector index;
//   $seeds       seed song ids;
//   $candidates  only these song ids may be recommended (offline evaluation), or null;
//   $n           how many nearest songs by embedding join the candidates;
//   $artists     the best artists by affinity (recommend/artist_affinity);
//   $affinity    artist name -> affinity with the seeds (recommend/artist_affinity);
//   $n_graph     at most this many graph candidates;
//   $w           the weights (app/recommend.py WEIGHTS);  $k  rows returned.
//
// Query vector: the mean of the seeds' embeddings (for one seed, its own embedding).
//
// Candidates:
//   1. nearest: the vector index $index. It filters after its top-N, so it is
//      asked for more than is kept: without a filter, $n plus the seeds (dropped); with
//      a filter, enough songs that $n of them are expected to pass it (4 times $n over
//      the filter's share of the catalogue). A filter's songs may sit far from the query
//      (the evaluation's cold pool, seen from a playlist's mean vector), so a short
//      first probe is followed by one 4 times wider,
//      and only if that falls short too by the exact cosine over the filter's songs
//      (about 3 times the cost of a probe): a filter never starves the ranking.
//   2. graph: songs by a seed's artist, from a seed's album, or by one of $artists, with
//      their exact cosine: artist and album evidence is scored even for a song the
//      embedding alone ranks low (a song without playlists, whose embedding knows least).
//
// Score, divided by the sum of the weights so that, every term lying in [0,1], it does too:
//   score = w.embedding * sim
//         + w.artist * artist_ratio + w.artist_share * artist_share
//         + w.album * album_ratio + w.affinity * affinity
//         + w.similar * (best SIMILAR edge score to a seed, 0 when none)
//         + w.playlist * [shares a playlist] + w.subgenre * [shares a subgenre]
//         + w.genre * [shares a top-level genre]
//   sim: cosine on the index's scale (1+cos)/2.
//   artist_ratio: for the candidate's artist, the seeds by that artist over that artist's
//     songs that are on a playlist: how much of what is known of the artist the seeds
//     hold (an estimate of "a new song by this artist belongs with these seeds"); the
//     best of the candidate's artists. album_ratio: the same for its album.
//   artist_share: the share of the seeds by one of the candidate's artists.
//   affinity: the best affinity of the candidate's artists with the seeds' artists
//     (visible playlists only), capped at 1.
// The seeds, their playlists and genres are collected once, and each candidate only
// expands its own few relationships.
MATCH (seed:Song) WHERE seed.id IN $seeds
WITH collect(seed) AS seeds
WITH seeds, [s IN seeds WHERE s.embedding IS NOT NULL | s.embedding] AS vs
WHERE size(vs) > 0
WITH seeds, toFloat(size(seeds)) AS n,
     [i IN range(0, size(vs[0]) - 1) | reduce(acc = 0.0, v IN vs | acc + v[i]) / size(vs)] AS query,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:IN_PLAYLIST]->(x:Playlist) RETURN DISTINCT x } AS playlists,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:HAS_GENRE]->(x:Genre) RETURN DISTINCT x } AS genres
CALL (query) {
  WITH query, CASE WHEN $candidates IS NULL THEN $n + size($seeds)
    ELSE toInteger(ceil(4.0 * $n * COUNT { (:Song) } / (size($candidates) + 1))) END AS probe
  CALL db.index.vector.queryNodes($index, probe, query) YIELD node, score
  WITH node, score
  WHERE NOT node.id IN $seeds AND ($candidates IS NULL OR node.id IN $candidates)
  WITH node, score ORDER BY score DESC, node.id LIMIT $n
  RETURN collect({node: node, sim: score}) AS near
}
CALL (query, near) {
  WITH query WHERE $candidates IS NOT NULL AND size(near) < $n
  WITH query, toInteger(ceil(16.0 * $n * COUNT { (:Song) } / (size($candidates) + 1))) AS probe
  CALL db.index.vector.queryNodes($index, probe, query) YIELD node, score
  WITH node, score WHERE NOT node.id IN $seeds AND node.id IN $candidates
  WITH node, score ORDER BY score DESC, node.id LIMIT $n
  RETURN collect({node: node, sim: score}) AS wider
}
CALL (query, near, wider) {
  WITH query WHERE $candidates IS NOT NULL AND size(near) < $n AND size(wider) < $n
  UNWIND $candidates AS cid
  MATCH (node:Song {id: cid})
  WHERE node.embedding IS NOT NULL AND NOT node.id IN $seeds
  WITH node, vector.similarity.cosine(query, node.embedding) AS sim
  ORDER BY sim DESC, node.id LIMIT $n
  RETURN collect({node: node, sim: sim}) AS exact
}
CALL (query) {
  CALL () {
    MATCH (seed:Song)-[:BY|ON]->(x)<-[:BY|ON]-(node:Song) WHERE seed.id IN $seeds
    RETURN node
    UNION
    MATCH (a:Artist)<-[:BY]-(node:Song) WHERE a.name IN $artists
    RETURN node
  }
  WITH query, node
  WHERE node.embedding IS NOT NULL AND NOT node.id IN $seeds
    AND ($candidates IS NULL OR node.id IN $candidates)
  WITH node, vector.similarity.cosine(query, node.embedding) AS sim
  ORDER BY sim DESC, node.id LIMIT $n_graph
  RETURN collect({node: node, sim: sim}) AS graph
}
WITH seeds, n, playlists, genres, graph,
     CASE WHEN size(exact) > 0 THEN exact WHEN size(wider) > 0 THEN wider ELSE near END AS nearest
// A song both near and a graph candidate is scored once, with its nearest-list score.
WITH seeds, n, playlists, genres, nearest, [c IN nearest | c.node] AS near_nodes, graph
UNWIND nearest + [c IN graph WHERE NOT c.node IN near_nodes] AS c
WITH seeds, n, playlists, genres, c.node AS cand, c.sim AS sim
WITH cand, sim,
     COUNT { MATCH (cand)-[:BY]->(:Artist)<-[:BY]-(s:Song) WHERE s IN seeds RETURN DISTINCT s } / n
       AS artist_share,
     coalesce(head(COLLECT {
       MATCH (cand)-[:BY]->(a:Artist)
       WITH a, COUNT { MATCH (a)<-[:BY]-(s:Song) WHERE s IN seeds } AS k WHERE k > 0
       RETURN toFloat(k) / CASE WHEN a.placed_songs > k THEN a.placed_songs ELSE k END AS x
       ORDER BY x DESC LIMIT 1 }), 0.0) AS artist_ratio,
     coalesce(head(COLLECT {
       MATCH (cand)-[:ON]->(al:Album)
       WITH al, COUNT { MATCH (al)<-[:ON]-(s:Song) WHERE s IN seeds } AS k WHERE k > 0
       RETURN toFloat(k) / CASE WHEN al.placed_songs > k THEN al.placed_songs ELSE k END AS x
       ORDER BY x DESC LIMIT 1 }), 0.0) AS album_ratio,
     coalesce(head(COLLECT { MATCH (cand)-[:BY]->(a:Artist) WITH $affinity[a.name] AS x
                             WHERE x IS NOT NULL RETURN CASE WHEN x > 1.0 THEN 1.0 ELSE x END AS x
                             ORDER BY x DESC LIMIT 1 }), 0.0) AS affinity,
     EXISTS { MATCH (cand)-[:IN_PLAYLIST]->(x) WHERE x IN playlists } AS shared_playlist,
     EXISTS { MATCH (cand)-[:HAS_GENRE]->(x) WHERE x IN genres AND x.level = 'subgenre' } AS shared_subgenre,
     EXISTS { MATCH (cand)-[:HAS_GENRE]->(x) WHERE x IN genres AND x.level <> 'subgenre' } AS shared_genre,
     coalesce(head(COLLECT { MATCH (cand)-[r:SIMILAR]-(s) WHERE s IN seeds
                             RETURN r.score ORDER BY r.score DESC LIMIT 1 }), 0.0) AS similar
WITH cand, sim,
     $w.artist * artist_ratio + $w.artist_share * artist_share + $w.album * album_ratio
     + $w.affinity * affinity
     + $w.similar * similar
     + $w.playlist * CASE WHEN shared_playlist THEN 1.0 ELSE 0.0 END
     + $w.subgenre * CASE WHEN shared_subgenre THEN 1.0 ELSE 0.0 END
     + $w.genre * CASE WHEN shared_genre THEN 1.0 ELSE 0.0 END AS evidence
WITH cand, sim, ($w.embedding * sim + evidence)
       / ($w.embedding + $w.artist + $w.artist_share + $w.album + $w.affinity + $w.similar
          + $w.playlist + $w.subgenre + $w.genre) AS score
ORDER BY score DESC, sim DESC, cand.id
LIMIT $k
RETURN cand.id AS id, cand.title AS title, cand.popularity AS popularity,
       cand.release_year AS release_year,
       COLLECT { MATCH (cand)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (cand)-[:ON]->(al:Album) RETURN al.name }) AS album,
       sim, score
