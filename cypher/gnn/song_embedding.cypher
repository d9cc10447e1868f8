MATCH (s:Song {id: $id}) RETURN s.embedding AS embedding
