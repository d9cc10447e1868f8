MATCH (s:Song)-[:IN_PLAYLIST]->(n:Playlist) RETURN s.id AS src, n.id AS dst
