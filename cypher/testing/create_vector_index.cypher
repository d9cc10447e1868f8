// Test helper: the song_embedding vector index, as training creates it.
CREATE VECTOR INDEX song_embedding IF NOT EXISTS
FOR (s:Song) ON s.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}}
