// Record how the current SIMILAR edges were built.
MERGE (m:Meta {key: 'similarity'})
SET m.k = $k, m.threshold = $threshold, m.build = $build, m.features = $features,
    m.edges = $edges, m.components = $components, m.built_at = datetime()
