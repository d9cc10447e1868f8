// Playlist statistics of every artist, recomputed by each ETL run after the rows load
// (the ETL is the only writer of IN_PLAYLIST links), and read by the served ranking, which
// would otherwise count them again for every candidate of every request:
//   a.playlists     distinct playlists holding a song by the artist (|P(a)| of the artist
//                   affinity, recommend/artist_affinity);
//   a.placed_songs  the artist's songs that are on at least one playlist (the denominator
//                   of the artist ratio, recommend/rank).
MATCH (a:Artist)
CALL (a) {
  SET a.playlists = COUNT { MATCH (a)<-[:BY]-(:Song)-[:IN_PLAYLIST]->(p:Playlist) RETURN DISTINCT p },
      a.placed_songs = COUNT { MATCH (a)<-[:BY]-(s:Song) WHERE EXISTS { (s)-[:IN_PLAYLIST]->() } }
} IN TRANSACTIONS OF 5000 ROWS
