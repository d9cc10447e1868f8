// The song embedding index: cosine, $dimensions wide (Neo4j 5.26 accepts a parameter here).
CREATE VECTOR INDEX song_embedding IF NOT EXISTS
FOR (s:Song) ON s.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}}
