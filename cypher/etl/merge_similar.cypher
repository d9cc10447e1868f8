// One batch of SIMILAR edges, each unordered pair once (from the smaller id). `build`
// marks the similarity build that wrote it, so stale edges can be removed afterwards.
UNWIND $pairs AS p
MATCH (a:Song {id: p.a})
MATCH (b:Song {id: p.b})
MERGE (a)-[r:SIMILAR]->(b)
SET r.score = p.score, r.build = $build
