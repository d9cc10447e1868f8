// How many songs hold an embedding.
MATCH (s:Song) WHERE s.embedding IS NOT NULL RETURN count(s) AS n
