// One batch of embeddings; setNodeVectorProperty stores the list as a compact float vector.
UNWIND $rows AS row
MATCH (s:Song {id: row.id})
CALL db.create.setNodeVectorProperty(s, 'embedding', row.embedding)
RETURN count(*) AS written
