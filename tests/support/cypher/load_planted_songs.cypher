// The planted graph: hand-made songs with their artist, album, playlists and genres.
UNWIND $songs AS row
MERGE (s:Song {id: row.id})
SET s += row.props
MERGE (a:Artist {name: row.artist})
MERGE (s)-[:BY]->(a)
MERGE (al:Album {id: row.album})
  ON CREATE SET al.name = row.album
MERGE (s)-[:ON]->(al)
FOREACH (pid IN row.playlists |
  MERGE (p:Playlist {id: pid}) ON CREATE SET p.name = pid
  MERGE (s)-[:IN_PLAYLIST]->(p))
FOREACH (g IN row.genres |
  MERGE (gn:Genre {name: g.name}) ON CREATE SET gn.level = g.level
  MERGE (s)-[:HAS_GENRE]->(gn))
RETURN count(*) AS songs
