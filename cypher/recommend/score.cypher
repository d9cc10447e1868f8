// Hybrid re-ranking of embedding candidates with graph evidence (weights in $w, see
// app/recommend.py WEIGHTS):
//   score = w.embedding * sim + w.graph * evidence
//   evidence = w.artist * [shares an artist with a seed] + w.album * [same album]
//            + w.similar * (best SIMILAR edge score to a seed, 0 when none)
//            + w.playlist * [shares a playlist] + w.subgenre * [shares a subgenre]
//            + w.genre * [shares a top-level genre]
// sim is the vector index's cosine score (1+cos)/2 in [0,1]; the evidence weights sum to
// 1, so evidence and score stay in [0,1]. The seeds' neighbours are collected once, and
// each candidate only expands its own few relationships.
MATCH (seed:Song) WHERE seed.id IN $seeds
WITH collect(seed) AS seeds
WITH seeds,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:BY]->(x:Artist) RETURN DISTINCT x } AS artists,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:ON]->(x:Album) RETURN DISTINCT x } AS albums,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:IN_PLAYLIST]->(x:Playlist) RETURN DISTINCT x } AS playlists,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:HAS_GENRE]->(x:Genre) RETURN DISTINCT x } AS genres
UNWIND $cands AS c
MATCH (cand:Song {id: c.id})
WITH cand, c.sim AS sim, seeds, artists, albums, playlists, genres
WITH cand, sim,
     EXISTS { MATCH (cand)-[:BY]->(x) WHERE x IN artists } AS shared_artist,
     EXISTS { MATCH (cand)-[:ON]->(x) WHERE x IN albums } AS shared_album,
     EXISTS { MATCH (cand)-[:IN_PLAYLIST]->(x) WHERE x IN playlists } AS shared_playlist,
     EXISTS { MATCH (cand)-[:HAS_GENRE]->(x) WHERE x IN genres AND x.level = 'subgenre' } AS shared_subgenre,
     EXISTS { MATCH (cand)-[:HAS_GENRE]->(x) WHERE x IN genres AND x.level <> 'subgenre' } AS shared_genre,
     coalesce(head(COLLECT { MATCH (cand)-[r:SIMILAR]-(s) WHERE s IN seeds
                             RETURN r.score ORDER BY r.score DESC LIMIT 1 }), 0.0) AS similar
WITH cand, sim, shared_artist, shared_album, shared_playlist, shared_subgenre, shared_genre, similar,
     $w.artist * CASE WHEN shared_artist THEN 1.0 ELSE 0.0 END
     + $w.album * CASE WHEN shared_album THEN 1.0 ELSE 0.0 END
     + $w.similar * similar
     + $w.playlist * CASE WHEN shared_playlist THEN 1.0 ELSE 0.0 END
     + $w.subgenre * CASE WHEN shared_subgenre THEN 1.0 ELSE 0.0 END
     + $w.genre * CASE WHEN shared_genre THEN 1.0 ELSE 0.0 END AS evidence
WITH cand, sim, evidence, $w.embedding * sim + $w.graph * evidence AS score,
     {artist: shared_artist, album: shared_album, playlist: shared_playlist,
      subgenre: shared_subgenre, genre: shared_genre, similar: similar} AS shared
ORDER BY score DESC, sim DESC, cand.id
LIMIT $k
RETURN cand.id AS id, cand.title AS title, cand.popularity AS popularity,
       cand.release_year AS release_year,
       COLLECT { MATCH (cand)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (cand)-[:ON]->(al:Album) RETURN al.name }) AS album,
       sim, evidence, score, shared
