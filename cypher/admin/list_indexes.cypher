// Every index but the two token lookup indexes Neo4j keeps for itself.
SHOW INDEXES YIELD name, type, labelsOrTypes, properties, state, owningConstraint, options
WHERE type <> 'LOOKUP'
RETURN name, type, labelsOrTypes, properties, state, owningConstraint, options
