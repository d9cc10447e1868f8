// Full-text search over song titles and artist names (the standard analyzer folds case;
// queries add `~` per term for typo tolerance).
CREATE FULLTEXT INDEX $search_index IF NOT EXISTS FOR (n:Song|Artist) ON EACH [n.title, n.name]
