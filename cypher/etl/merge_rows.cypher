// Load one batch of validated CSV rows. MERGE on constrained keys only, so a batch can
// be retried, re-run or run twice and the graph ends the same. Empty optional values
// arrive as null/[] and create no node and no link.
UNWIND $rows AS row
MERGE (s:Song {id: row.id})
SET s += row.props
FOREACH (name IN row.artists |
  MERGE (a:Artist {name: name})
  MERGE (s)-[:BY]->(a))
FOREACH (al IN CASE WHEN row.album IS NULL THEN [] ELSE [row.album] END |
  MERGE (a:Album {id: al.id})
  SET a.name = coalesce(al.name, a.name), a.release_date = coalesce(al.release_date, a.release_date)
  MERGE (s)-[:ON]->(a))
FOREACH (pl IN CASE WHEN row.playlist IS NULL THEN [] ELSE [row.playlist] END |
  MERGE (p:Playlist {id: pl.id})
  SET p.name = coalesce(pl.name, p.name)
  MERGE (s)-[:IN_PLAYLIST]->(p))
FOREACH (g IN CASE WHEN row.genre IS NULL THEN [] ELSE [row.genre] END |
  MERGE (genre:Genre {name: g})
  ON CREATE SET genre.level = 'genre'
  MERGE (s)-[:HAS_GENRE]->(genre))
FOREACH (sg IN CASE WHEN row.subgenre IS NULL THEN [] ELSE [row.subgenre] END |
  MERGE (sub:Genre {name: sg})
  ON CREATE SET sub.level = 'subgenre'
  MERGE (s)-[:HAS_GENRE]->(sub))
FOREACH (pair IN CASE WHEN row.genre IS NULL OR row.subgenre IS NULL THEN [] ELSE [[row.subgenre, row.genre]] END |
  MERGE (sub:Genre {name: pair[0]})
  MERGE (genre:Genre {name: pair[1]})
  MERGE (sub)-[:SUBGENRE_OF]->(genre))
