"""A small generated graph for the web-app tests: the ETL loads it, embeddings are written.

40 ordinary songs (``tests/csvgen.song``: three artists, four albums, two playlists, two
genres) plus hostile ones whose title, artist and playlist are HTML/script, so escaping
is tested on real database text. Embeddings are deterministic: two clusters (the two
genres) plus noise, so the vector index has a meaningful neighbourhood.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import cypher
from etl import pipeline
from musicgraph.db import Database, reset_database
from tests.csvgen import song, write_csv

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ARTIST = "<img src=x onerror=alert(2)>"
HOSTILE_PLAYLIST = "</script><script>alert(3)</script>"
DIMENSIONS = 64
N_SONGS = 40


@dataclass(frozen=True)
class LoadedGraph:
    """What was loaded: song ids, the hostile song, and a song without an embedding."""

    ids: list[str]
    hostile_id: str
    hostile_sibling_id: str
    unembedded_id: str


def rows() -> list[dict[str, object]]:
    """The CSV rows: ordinary songs, two by the hostile artist, one left without embedding."""
    out: list[dict[str, object]] = [song(i) for i in range(N_SONGS)]
    out.append(song(90, track_id="HOSTILE1", track_name=HOSTILE_TITLE,
                    track_artist=HOSTILE_ARTIST, playlist_name=HOSTILE_PLAYLIST,
                    playlist_id="PLX"))
    out.append(song(91, track_id="HOSTILE2", track_name="Sibling & <b>bold</b>",
                    track_artist=HOSTILE_ARTIST, playlist_name=HOSTILE_PLAYLIST,
                    playlist_id="PLX"))
    out.append(song(92, track_id="NOEMB", track_name="Not yet embedded"))
    return out


def embeddings(ids: list[str]) -> np.ndarray:
    """Unit vectors: a cluster direction by genre (odd/even song number) plus noise."""
    rng = np.random.default_rng(42)
    centres = rng.normal(size=(2, DIMENSIONS))
    vecs = np.stack([centres[i % 2] + 0.6 * rng.normal(size=DIMENSIONS)
                     for i in range(len(ids))])
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def write_embeddings(db: Database, ids: list[str]) -> None:
    """Store embeddings as training does and bring the song_embedding index ONLINE."""
    vecs = embeddings(ids)
    db.write("testing/set_embeddings",
             rows=[{"id": i, "embedding": [float(x) for x in v]} for i, v in zip(ids, vecs, strict=True)])
    db.run_auto(cypher.load("testing/create_vector_index"), dimensions=DIMENSIONS)
    db.run_auto(cypher.load("testing/await_index"), name="song_embedding", timeout=120)


def load(db: Database, folder: Path, embed: bool = True) -> LoadedGraph:
    """Empty the database, load the rows with the ETL and (optionally) write embeddings."""
    reset_database(db)
    csv_path = write_csv(folder / "songs.csv", rows())
    pipeline.run(db, csv_path=csv_path, rejects_path=folder / "rejects.csv",
                 options=pipeline.EtlOptions(progress=False))
    ids = [f"T{i:05d}" for i in range(N_SONGS)] + ["HOSTILE1", "HOSTILE2"]
    if embed:
        write_embeddings(db, ids)
    return LoadedGraph(ids=ids, hostile_id="HOSTILE1", hostile_sibling_id="HOSTILE2",
                       unembedded_id="NOEMB")
