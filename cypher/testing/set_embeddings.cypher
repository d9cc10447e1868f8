// Test helper: store embeddings compactly, as training does ($rows: [{id, embedding}]).
UNWIND $rows AS row
MATCH (s:Song {id: row.id})
CALL db.create.setNodeVectorProperty(s, 'embedding', row.embedding)
RETURN count(*) AS written
