// The songs linked to song $id by a SIMILAR edge (cosine similarity of their standardised
// audio features, computed by the ETL), best score first, with the shared evidence.
// Switch the result to the Graph view to see the song's similarity neighbourhood.
//
// In Neo4j Browser, set the parameter first, then paste the query:
//   :param id => '7fvUMiyapMsRRxr07cU8Ef'
MATCH (s:Song {id: $id})-[r:SIMILAR]-(t:Song)
RETURN t.id AS id, t.title AS title,
       COLLECT { MATCH (t)-[:BY]->(a:Artist) RETURN a.name ORDER BY a.name } AS artists,
       round(r.score, 4) AS score,
       EXISTS { MATCH (s)-[:BY]->(:Artist)<-[:BY]-(t) } AS same_artist,
       EXISTS { MATCH (s)-[:IN_PLAYLIST]->(:Playlist)<-[:IN_PLAYLIST]-(t) } AS same_playlist
ORDER BY score DESC, id
LIMIT 25
