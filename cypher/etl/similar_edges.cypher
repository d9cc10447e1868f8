// Every stored SIMILAR edge by its ends' ids and its score, streamed, so a rebuild can
// write only what changed.
MATCH (a:Song)-[r:SIMILAR]->(b:Song)
RETURN a.id AS a, b.id AS b, r.score AS score
