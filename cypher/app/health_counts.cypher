// Songs (from the count store) and whether any song holds an embedding (stops at the first).
MATCH (s:Song)
WITH count(s) AS songs
RETURN songs, EXISTS { MATCH (e:Song) WHERE e.embedding IS NOT NULL } AS embedded
