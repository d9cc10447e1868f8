// Full-text search over song titles and artist names ($q is a Lucene query built and
// escaped by app/recommend.py). An artist hit stands for its songs; a song found both by
// its title and by its artist adds both scores, so "drake hotline" puts Hotline Bling first.
CALL db.index.fulltext.queryNodes('song_search', $q, {limit: $fetch}) YIELD node, score
CALL (node) {
  WITH node WHERE node:Song
  RETURN node AS song
  UNION
  WITH node WHERE node:Artist
  MATCH (node)<-[:BY]-(song:Song)
  RETURN song
}
WITH song, sum(score) AS score
ORDER BY score DESC, song.popularity DESC, song.id
LIMIT $limit
RETURN song.id AS id, song.title AS title, song.popularity AS popularity,
       song.release_year AS release_year, score,
       COLLECT { MATCH (song)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (song)-[:ON]->(al:Album) RETURN al.name }) AS album
