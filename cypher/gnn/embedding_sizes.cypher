// How many songs hold an embedding of each length (to refuse mixing sizes).
MATCH (s:Song) WHERE s.embedding IS NOT NULL
RETURN size(s.embedding) AS dimensions, count(*) AS songs
