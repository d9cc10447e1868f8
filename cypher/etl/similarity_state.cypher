// What the stored SIMILAR edges are: the build the settings name, how many edges it
// wrote, and how many edges there are (from the count store, without a scan).
OPTIONAL MATCH (m:Meta {key: 'similarity'})
RETURN m.build AS build, m.edges AS edges, COUNT { ()-[:SIMILAR]->() } AS total
