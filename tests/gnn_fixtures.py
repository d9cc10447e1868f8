"""A small generated graph with planted structure, for the GraphSAGE tests.

Four clusters of 30 songs. Each cluster has its own audio profile (a centre in
standardised space plus noise), its own artists, albums, playlists, genre and subgenre,
and SIMILAR edges between its songs. A little noise crosses clusters (a few songs in
another cluster's playlist, a few weak cross-cluster SIMILAR edges), and a share of songs
has no playlist at all, like the songs the model must generalise to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musicgraph.db import Database

FEATURES = ["danceability", "energy", "key", "loudness", "mode", "speechiness",
            "acousticness", "instrumentalness", "liveness", "valence", "tempo", "duration_ms"]
# Rough real-world means and spreads, so the raw values look like the ETL's.
BASE = np.array([0.65, 0.7, 5.0, -6.5, 0.55, 0.1, 0.17, 0.08, 0.19, 0.51, 121.0, 225000.0])
SPREAD = np.array([0.15, 0.18, 3.6, 2.9, 0.5, 0.1, 0.22, 0.22, 0.15, 0.23, 27.0, 60000.0])
CLUSTERS = 4
PER_CLUSTER = 30


@dataclass
class Planted:
    """The generated graph: song rows, links, and each song's cluster."""

    songs: list[dict[str, Any]]
    similar: list[dict[str, Any]]
    subgenres: list[dict[str, str]]
    cluster: dict[str, int] = field(default_factory=dict)
    centres: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def song_props(audio: np.ndarray, rng: np.random.Generator, title: str) -> dict[str, Any]:
    """Node properties of a song with raw audio values ``audio``."""
    props: dict[str, Any] = {f: float(v) for f, v in zip(FEATURES, audio, strict=True)}
    props["title"] = title
    props["popularity"] = None if rng.random() < 0.1 else int(rng.integers(0, 100))
    year = None if rng.random() < 0.1 else int(rng.integers(1970, 2020))
    props["release_year"] = year
    props["release_date"] = None if year is None else f"{year}-01-01"
    return props


def cluster_audio(centres: np.ndarray, c: int, rng: np.random.Generator) -> np.ndarray:
    """Raw audio values of a song drawn from cluster ``c``."""
    return BASE + SPREAD * (centres[c] + 0.35 * rng.standard_normal(len(FEATURES)))


def make_planted(seed: int = 7) -> Planted:
    """Generate the planted graph (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, len(FEATURES))) * 1.2
    songs: list[dict[str, Any]] = []
    cluster: dict[str, int] = {}
    for c in range(CLUSTERS):
        for i in range(PER_CLUSTER):
            sid = f"c{c}s{i:02d}"
            r = rng.random()
            playlists = [] if r < 0.2 else [f"c{c}p{rng.integers(0, 3)}"]
            if r > 0.7:
                playlists.append(f"c{c}p{(int(playlists[0][-1]) + 1) % 3}")
            if rng.random() < 0.1:  # noise: a playlist of another cluster
                playlists.append(f"c{(c + 1) % CLUSTERS}p{rng.integers(0, 3)}")
            songs.append({
                "id": sid,
                "props": song_props(cluster_audio(centres, c, rng), rng, f"Song {sid}"),
                "artist": f"c{c}a{i % 3}",
                "album": f"c{c}al{i // 2}",
                "playlists": sorted(set(playlists)),
                "genres": [{"name": f"genre{c}", "level": "genre"},
                           {"name": f"sub{c}", "level": "subgenre"}],
            })
            cluster[sid] = c
    pairs: dict[tuple[str, str], float] = {}
    ids = [s["id"] for s in songs]
    for sid in ids:
        c = cluster[sid]
        mates = [m for m in ids if cluster[m] == c and m != sid]
        for m in rng.choice(mates, size=3, replace=False):
            a, b = sorted((sid, str(m)))
            pairs[(a, b)] = float(rng.uniform(0.7, 0.95))
        if rng.random() < 0.2:
            other = str(rng.choice([m for m in ids if cluster[m] != c]))
            a, b = sorted((sid, other))
            pairs.setdefault((a, b), float(rng.uniform(0.1, 0.4)))
    similar = [{"a": a, "b": b, "score": s} for (a, b), s in sorted(pairs.items())]
    subgenres = [{"sub": f"sub{c}", "genre": f"genre{c}"} for c in range(CLUSTERS)]
    return Planted(songs=songs, similar=similar, subgenres=subgenres, cluster=cluster,
                   centres=centres)


def load_planted(db: Database, planted: Planted, with_scaler: bool = True) -> None:
    """Write the planted graph (and, like the ETL, its audio scaler) to Neo4j."""
    db.write("gnn/test_load_songs", songs=planted.songs)
    db.write("gnn/test_load_links", similar=planted.similar, subgenres=planted.subgenres)
    if with_scaler:
        audio = np.array([[s["props"][f] for f in FEATURES] for s in planted.songs])
        db.write("gnn/test_save_scaler", features=FEATURES, mean=audio.mean(0).tolist(),
                 scale=audio.std(0).tolist())


def new_song(planted: Planted, c: int, seed: int = 99) -> tuple[dict[str, Any], list[dict]]:
    """A song of cluster ``c`` arriving after training, with its cluster's links."""
    rng = np.random.default_rng(seed)
    sid = f"new{c}"
    row = {
        "id": sid,
        "props": song_props(cluster_audio(planted.centres, c, rng), rng, "A new song"),
        "artist": f"c{c}a0",
        "album": f"new-album-{c}",  # a new album: an entity the model never saw
        "playlists": [f"c{c}p1"],
        "genres": [{"name": f"genre{c}", "level": "genre"},
                   {"name": f"sub{c}", "level": "subgenre"}],
    }
    mates = [s for s, k in sorted(planted.cluster.items()) if k == c]
    similar = [{"a": sid, "b": str(m), "score": 0.85}
               for m in rng.choice(mates, size=3, replace=False)]
    return row, similar
