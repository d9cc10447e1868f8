// Whether the database holds any node (the bulk path loads only an empty database).
MATCH (n)
RETURN 1 AS found
LIMIT 1
