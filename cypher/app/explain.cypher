// Up to $limit shortest real paths (at most 6 hops) between the songs $from and $to.
MATCH (a:Song {id: $from})
MATCH (b:Song {id: $to})
MATCH p = allShortestPaths((a)-[:SIMILAR|BY|ON|IN_PLAYLIST|HAS_GENRE*..6]-(b))
WITH p LIMIT $limit
RETURN [n IN nodes(p) | {
          key: CASE WHEN n:Artist OR n:Genre THEN n.name ELSE n.id END,
          label: head(labels(n)),
          name: coalesce(n.title, n.name)}] AS nodes,
       [rel IN relationships(p) | {type: type(rel), score: rel.score}] AS relationships
