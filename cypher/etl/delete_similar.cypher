// Remove one batch of SIMILAR edges that the current build no longer has.
UNWIND $pairs AS p
MATCH (a:Song {id: p.a})-[r:SIMILAR]->(b:Song {id: p.b})
DELETE r
