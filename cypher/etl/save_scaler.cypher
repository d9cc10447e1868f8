// Keep the feature standardiser with the data it was fitted on.
MERGE (m:Meta {key: $key})
SET m.features = $features, m.mean = $mean, m.scale = $scale,
    m.songs = $songs, m.fitted_at = datetime()
