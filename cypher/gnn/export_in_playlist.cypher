// One record per song (its playlists as a list): records, not values, are what the driver
// pays for.
MATCH (s:Song)
CALL (s) { MATCH (s)-[:IN_PLAYLIST]->(n:Playlist) RETURN collect(n.id) AS dst }
RETURN s.id AS src, dst
