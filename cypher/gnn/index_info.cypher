SHOW VECTOR INDEXES YIELD name, state, options, labelsOrTypes, properties
WHERE name = $index_name
RETURN name, state, options.indexConfig.`vector.dimensions` AS dimensions,
       options.indexConfig.`vector.similarity_function` AS similarity,
       labelsOrTypes, properties
