// The song embedding vector index $name (musicgraph.schema.VECTOR_INDEX): cosine,
// $dimensions wide. Neo4j 5.26 accepts parameters for the name and the size.
CREATE VECTOR INDEX $name IF NOT EXISTS
FOR (s:Song) ON s.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}}
