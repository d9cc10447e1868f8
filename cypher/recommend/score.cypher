// Hybrid re-ranking of the candidates (weights in $w, see app/recommend.py WEIGHTS):
//   score = w.embedding * sim
//         + w.artist * artist_ratio + w.artist_share * artist_share
//         + w.album * album_ratio + w.affinity * affinity
//         + w.similar * (best SIMILAR edge score to a seed, 0 when none)
//         + w.playlist * [shares a playlist] + w.subgenre * [shares a subgenre]
//         + w.genre * [shares a top-level genre]
// divided by the sum of the weights, so that, every term lying in [0,1], the score does
// too. sim is the vector index's cosine score (1+cos)/2.
//   artist_ratio: for the candidate's artist, the seeds by that artist over that artist's
//     songs that are on a playlist: how much of what is known of the artist the seeds
//     hold (an estimate of "a new song by this artist belongs with these seeds"); the
//     best of the candidate's artists. album_ratio: the same for its album.
//   artist_share: the share of the seeds by one of the candidate's artists.
//   affinity: the best affinity of the candidate's artists with the seeds' artists
//     ($affinity: artist name -> value, recommend/artist_affinity, visible playlists only).
// The seeds' neighbours are collected once, and each candidate only expands its own few
// relationships.
MATCH (seed:Song) WHERE seed.id IN $seeds
WITH collect(seed) AS seeds
WITH seeds, toFloat(size(seeds)) AS n,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:IN_PLAYLIST]->(x:Playlist) RETURN DISTINCT x } AS playlists,
     COLLECT { UNWIND seeds AS s MATCH (s)-[:HAS_GENRE]->(x:Genre) RETURN DISTINCT x } AS genres
UNWIND $cands AS c
MATCH (cand:Song {id: c.id})
WITH cand, c.sim AS sim, seeds, n, playlists, genres
WITH cand, sim,
     COUNT { MATCH (cand)-[:BY]->(:Artist)<-[:BY]-(s:Song) WHERE s IN seeds RETURN DISTINCT s } / n
       AS artist_share,
     coalesce(head(COLLECT {
       MATCH (cand)-[:BY]->(a:Artist)
       WITH a, COUNT { MATCH (a)<-[:BY]-(s:Song) WHERE s IN seeds } AS k WHERE k > 0
       WITH k, COUNT { MATCH (a)<-[:BY]-(o:Song) WHERE EXISTS { (o)-[:IN_PLAYLIST]->() } } AS known
       RETURN toFloat(k) / CASE WHEN known > k THEN known ELSE k END AS x
       ORDER BY x DESC LIMIT 1 }), 0.0) AS artist_ratio,
     coalesce(head(COLLECT {
       MATCH (cand)-[:ON]->(al:Album)
       WITH al, COUNT { MATCH (al)<-[:ON]-(s:Song) WHERE s IN seeds } AS k WHERE k > 0
       WITH k, COUNT { MATCH (al)<-[:ON]-(o:Song) WHERE EXISTS { (o)-[:IN_PLAYLIST]->() } } AS known
       RETURN toFloat(k) / CASE WHEN known > k THEN known ELSE k END AS x
       ORDER BY x DESC LIMIT 1 }), 0.0) AS album_ratio,
     coalesce(head(COLLECT { MATCH (cand)-[:BY]->(a:Artist) WITH $affinity[a.name] AS x
                             WHERE x IS NOT NULL RETURN CASE WHEN x > 1.0 THEN 1.0 ELSE x END AS x
                             ORDER BY x DESC LIMIT 1 }), 0.0) AS affinity,
     EXISTS { MATCH (cand)-[:IN_PLAYLIST]->(x) WHERE x IN playlists } AS shared_playlist,
     EXISTS { MATCH (cand)-[:HAS_GENRE]->(x) WHERE x IN genres AND x.level = 'subgenre' } AS shared_subgenre,
     EXISTS { MATCH (cand)-[:HAS_GENRE]->(x) WHERE x IN genres AND x.level <> 'subgenre' } AS shared_genre,
     coalesce(head(COLLECT { MATCH (cand)-[r:SIMILAR]-(s) WHERE s IN seeds
                             RETURN r.score ORDER BY r.score DESC LIMIT 1 }), 0.0) AS similar
WITH cand, sim, artist_share, artist_ratio, album_ratio, affinity, shared_playlist,
     shared_subgenre, shared_genre, similar,
     $w.artist * artist_ratio + $w.artist_share * artist_share + $w.album * album_ratio
     + $w.affinity * affinity
     + $w.similar * similar
     + $w.playlist * CASE WHEN shared_playlist THEN 1.0 ELSE 0.0 END
     + $w.subgenre * CASE WHEN shared_subgenre THEN 1.0 ELSE 0.0 END
     + $w.genre * CASE WHEN shared_genre THEN 1.0 ELSE 0.0 END AS evidence
WITH cand, sim, evidence, ($w.embedding * sim + evidence)
       / ($w.embedding + $w.artist + $w.artist_share + $w.album + $w.affinity + $w.similar
          + $w.playlist + $w.subgenre + $w.genre) AS score,
     {artist: artist_share > 0, album: album_ratio > 0, playlist: shared_playlist,
      subgenre: shared_subgenre, genre: shared_genre, similar: similar,
      artist_share: artist_share, artist_ratio: artist_ratio, album_ratio: album_ratio,
      affinity: affinity} AS shared
ORDER BY score DESC, sim DESC, cand.id
LIMIT $k
RETURN cand.id AS id, cand.title AS title, cand.popularity AS popularity,
       cand.release_year AS release_year,
       COLLECT { MATCH (cand)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (cand)-[:ON]->(al:Album) RETURN al.name }) AS album,
       sim, evidence, score, shared
