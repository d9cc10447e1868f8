// How many relationships of type $type join the nodes with keys $a and $b
// (labels $la, $lb; key = id for songs, albums and playlists, name for artists, genres),
// and their scores. Either direction: SIMILAR is stored once per unordered pair.
MATCH (x)-[r]-(y)
WHERE $la IN labels(x) AND $lb IN labels(y) AND type(r) = $type
  AND CASE WHEN x:Artist OR x:Genre THEN x.name ELSE x.id END = $a
  AND CASE WHEN y:Artist OR y:Genre THEN y.name ELSE y.id END = $b
RETURN count(r) AS n, collect(r.score) AS scores
