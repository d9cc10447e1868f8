// Remove the (song, playlist) memberships $pairs ([{song, playlist}]): the graph as if
// they had never been loaded (the ranker parity test's hidden memberships).
UNWIND $pairs AS pair
MATCH (:Song {id: pair.song})-[r:IN_PLAYLIST]->(:Playlist {id: pair.playlist})
DELETE r
