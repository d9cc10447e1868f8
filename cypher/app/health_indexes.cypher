// State of the indexes the app needs (song_embedding for recommendations, song_search).
SHOW INDEXES YIELD name, type, state, populationPercent
WHERE name IN ['song_embedding', 'song_search']
RETURN name, type, state, populationPercent
