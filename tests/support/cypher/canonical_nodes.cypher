// Every node with its labels and properties, for comparing two graphs (the bulk and the
// transactional ETL paths).
MATCH (n)
RETURN labels(n) AS labels, properties(n) AS props
