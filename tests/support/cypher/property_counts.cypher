// How many nodes of each label and relationships of each type carry each property.
CALL () {
  MATCH (n) UNWIND labels(n) AS name UNWIND keys(n) AS key
  RETURN 'node' AS kind, name, key, count(*) AS n
  UNION ALL
  MATCH ()-[r]->() UNWIND keys(r) AS key
  RETURN 'relationship' AS kind, type(r) AS name, key, count(*) AS n
}
RETURN kind, name, key, n ORDER BY kind, name, key
