// The StandardScaler the ETL fitted on the songs' audio features (absent in hand-made graphs).
MATCH (m:Meta {key: 'audio_scaler'})
RETURN m.features AS features, m.mean AS mean, m.scale AS scale
