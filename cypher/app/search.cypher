// Full-text search over song titles and artist names. $clauses holds one Lucene clause
// per query term, built and escaped by app/recommend.py. Each term is looked up on its
// own: a song's hit for a term is its best one (by its title or through an artist, since
// an artist hit stands for its songs), songs matching more terms rank first, then by the
// summed scores. So "drake hotline" puts Hotline Bling first, and "bohemian rapsody"
// finds Bohemian Rhapsody before the many songs of an artist called Rapsody.
UNWIND range(0, size($clauses) - 1) AS term
CALL db.index.fulltext.queryNodes($search_index, $clauses[term], {limit: $fetch})
  YIELD node, score
CALL (node) {
  WITH node WHERE node:Song
  RETURN node AS song
  UNION
  WITH node WHERE node:Artist
  MATCH (node)<-[:BY]-(song:Song)
  RETURN song
}
WITH song, term, max(score) AS best
WITH song, count(term) AS matched, sum(best) AS score
ORDER BY matched DESC, score DESC, song.popularity DESC, song.id
LIMIT $limit
RETURN song.id AS id, song.title AS title, song.popularity AS popularity,
       song.release_year AS release_year, score, matched,
       COLLECT { MATCH (song)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       head(COLLECT { MATCH (song)-[:ON]->(al:Album) RETURN al.name }) AS album
