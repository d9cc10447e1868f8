// Record which model's embeddings the graph holds (after a full write-back); the app
// serves a ranker only when it was fit for this version.
MERGE (m:Meta {key: $key})
SET m.model_version = $version, m.data_hash = $data_hash, m.written_at = datetime()
