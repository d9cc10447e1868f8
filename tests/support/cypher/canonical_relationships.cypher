// Every relationship with its type, properties and the keys of its ends.
MATCH (a)-[r]->(b)
RETURN type(r) AS type, properties(r) AS props,
       labels(a)[0] AS a_label, coalesce(a.id, a.name, a.key) AS a_key,
       labels(b)[0] AS b_label, coalesce(b.id, b.name, b.key) AS b_key
