// State of the indexes the app needs ($names: the vector index for recommendations and
// the full-text index for search).
SHOW INDEXES YIELD name, type, state, populationPercent
WHERE name IN $names
RETURN name, type, state, populationPercent
