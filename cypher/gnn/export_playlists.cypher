MATCH (n:Playlist) RETURN n.id AS key
