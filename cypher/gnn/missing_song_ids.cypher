// Songs without an embedding (loaded after training), and how many songs there are.
MATCH (s:Song)
WITH count(s) AS songs, collect(CASE WHEN s.embedding IS NULL THEN s.id END) AS missing
RETURN songs, missing
