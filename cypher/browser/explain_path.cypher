// Why are two songs related? The shortest real paths (at most 6 hops) from song $from to
// song $to through similarity edges, artists, albums, playlists and genres: the same
// kind of path the app shows as a recommendation's explanation. Best in the Graph view.
//
// In Neo4j Browser, set the parameters first, then paste the query:
//   :param from => '7fvUMiyapMsRRxr07cU8Ef'
//   :param to => '0r7CVbZTWZgbTCYdfa2P31'
MATCH (a:Song {id: $from})
MATCH (b:Song {id: $to})
MATCH p = allShortestPaths((a)-[:SIMILAR|BY|ON|IN_PLAYLIST|HAS_GENRE*..6]-(b))
RETURN p
LIMIT 10
