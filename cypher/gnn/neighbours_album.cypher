// Every relationship of the given Album nodes, as stored (start and end), for embedding
// new songs from their neighbourhood: labels and keys of both ends, and the score.
UNWIND $keys AS k
MATCH (n:Album {id: k})-[r:SIMILAR|BY|ON|IN_PLAYLIST|HAS_GENRE|SUBGENRE_OF]-()
WITH r, startNode(r) AS a, endNode(r) AS b  // an edge between two given nodes comes twice
RETURN type(r) AS type, labels(a)[0] AS a_label, coalesce(a.id, a.name) AS a_key,
       labels(b)[0] AS b_label, coalesce(b.id, b.name) AS b_key, r.score AS score
