// Any song with an embedding: the app warms Neo4j's query plans with its recommendations
// (app.recommend.warm_query_plans). The first found, not the most popular: sorting would
// read every song, and any embedded song plans the same statements.
MATCH (s:Song) WHERE s.embedding IS NOT NULL
RETURN s.id AS id, s.title AS title
LIMIT 1
