// One batch of SIMILAR edges into a database that holds none yet (the first load):
// CREATE skips MERGE's check for an existing edge. Grouped by the smaller-id end, so
// each such song is looked up once per batch. `build` marks the similarity build.
UNWIND $groups AS g
MATCH (a:Song {id: g.a})
UNWIND g.to AS t
MATCH (b:Song {id: t.b})
CREATE (a)-[:SIMILAR {score: t.score, build: $build}]->(b)
