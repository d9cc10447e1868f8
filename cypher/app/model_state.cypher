// Which model's embeddings the graph holds and when they were last written (training,
// `musicgraph embed`): the key of the app's result cache.
MATCH (m:Meta {key: $key})
RETURN m.model_version AS version, toString(m.written_at) AS written_at
