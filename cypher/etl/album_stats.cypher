// Playlist statistics of every album, recomputed by each ETL run after the rows load:
//   al.placed_songs  the album's songs that are on at least one playlist (the denominator
//                    of the album ratio, recommend/rank).
MATCH (al:Album)
CALL (al) {
  SET al.placed_songs = COUNT { MATCH (al)<-[:ON]-(s:Song) WHERE EXISTS { (s)-[:IN_PLAYLIST]->() } }
} IN TRANSACTIONS OF 5000 ROWS
