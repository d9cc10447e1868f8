// Every song's id and audio features, in id order, for the similarity graph.
MATCH (s:Song)
RETURN s.id AS id, [f IN $features | s[f]] AS x
ORDER BY s.id
