// Drop embeddings of another size before a full rewrite, in batches.
MATCH (s:Song) WHERE s.embedding IS NOT NULL AND size(s.embedding) <> $dimensions
CALL { WITH s REMOVE s.embedding } IN TRANSACTIONS OF 10000 ROWS
