// One batch of SIMILAR edges, each unordered pair once (from the smaller id), grouped by
// that end so each such song is looked up once per batch. `build` marks the similarity
// build that wrote it, so stale edges can be removed afterwards.
UNWIND $groups AS g
MATCH (a:Song {id: g.a})
UNWIND g.to AS t
MATCH (b:Song {id: t.b})
MERGE (a)-[r:SIMILAR]->(b)
SET r.score = t.score, r.build = $build
