"""Names the pipeline stages share: the audio features and the graph's index names.

One home for each, so the ETL that stores the features, the model that reads them and
the app that queries the indexes can't drift apart.
"""

from __future__ import annotations

#: The twelve audio features every song carries, in the order used everywhere: the CSV
#: validation, the stored scaler, the GNN's input features and the evaluation's catalogue.
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "duration_ms",
)

#: The vector index over ``Song.embedding`` (written by training, queried by the app).
VECTOR_INDEX = "song_embedding"
#: The full-text index over song titles and artist names (created by the ETL's schema).
SEARCH_INDEX = "song_search"

#: The folder under the models directory that training writes (checkpoint, reports) and
#: the files of it that others read: the app reports the trained model's version.
MODEL_ARTIFACTS = "graphsage"
MODEL_CHECKPOINT = "checkpoint.pt"
MODEL_DATA_HASH = "data_hash.txt"
#: The Meta node (``(:Meta {key: MODEL_META_KEY})``) where training records the version
#: of the model whose embeddings the graph holds; the app serves a ranker only when it
#: was fit for that version.
MODEL_META_KEY = "model"
