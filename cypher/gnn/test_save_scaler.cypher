// Test fixtures only: the audio scaler Meta node, as the ETL writes it.
MERGE (m:Meta {key: 'audio_scaler'})
SET m.features = $features, m.mean = $mean, m.scale = $scale
