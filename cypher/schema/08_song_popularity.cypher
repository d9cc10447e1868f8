// Range index for "popular songs" on the home page and the popularity baseline.
CREATE INDEX song_popularity IF NOT EXISTS FOR (s:Song) ON (s.popularity)
