// One song with its artists, album, genres, playlists and audio features.
MATCH (s:Song {id: $id})
RETURN s {.id, .title, .popularity, .release_date, .release_year, .danceability, .energy,
          .key, .loudness, .mode, .speechiness, .acousticness, .instrumentalness, .liveness,
          .valence, .tempo, .duration_ms} AS song,
       COLLECT { MATCH (s)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (s)-[:ON]->(al:Album) RETURN al {.id, .name, .release_date} }) AS album,
       COLLECT { MATCH (s)-[:HAS_GENRE]->(g:Genre) RETURN g {.name, .level} ORDER BY g.level, g.name } AS genres,
       COLLECT { MATCH (s)-[:IN_PLAYLIST]->(p:Playlist) RETURN p {.id, .name} ORDER BY p.name } AS playlists,
       s.embedding IS NOT NULL AS embedded
