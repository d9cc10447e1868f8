"""Shared test helpers: small CSV files, a loaded app graph, a planted GNN graph, and the
test-only Cypher statements (``tests/support/cypher``).

Tests call the production statements (``cypher.load``) wherever one exists; the files
here only build fixtures or inspect a graph in ways no production code does.
"""

from __future__ import annotations

import csv
import gzip
import os
import signal
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from etl import pipeline
from musicgraph.config import Neo4jSettings
from musicgraph.db import Database, reset_database
from musicgraph.neo4j_local import Instance
from musicgraph.schema import AUDIO_FEATURES, VECTOR_INDEX

#: The repository root.
ROOT = Path(__file__).resolve().parents[2]
_CYPHER = Path(__file__).resolve().parent / "cypher"


@cache
def statement(name: str) -> str:
    """The test-only statement ``tests/support/cypher/<name>.cypher``."""
    path = _CYPHER / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no test statement named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8").strip().rstrip(";")


def read(db: Database, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run a test-only read statement and return its records as dicts."""
    return db.run_auto(statement(name), **params)


def write(db: Database, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run a test-only write statement (auto-commit) and return its records as dicts."""
    return db.run_auto(statement(name), **params)


# --- CSV files in the bundled layout ------------------------------------------------------
# Small files for the ETL tests, in the bundled dataset's column layout.
BUNDLED_COLUMNS = [
    "track_id", "track_name", "track_artist", "track_popularity", "track_album_id",
    "track_album_name", "track_album_release_date", "playlist_name", "playlist_id",
    "playlist_genre", "playlist_subgenre", "danceability", "energy", "key", "loudness", "mode",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
    "duration_ms",
]


def song(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid row for song number ``i``; features vary with ``i`` so songs differ."""
    f = (i % 10) / 10
    row: dict[str, Any] = {
        "track_id": f"T{i:05d}", "track_name": f"Song {i}", "track_artist": f"Artist {i % 3}",
        "track_popularity": 10 + i % 80, "track_album_id": f"AL{i % 4}",
        "track_album_name": f"Album {i % 4}", "track_album_release_date": f"20{10 + i % 10}-01-02",
        "playlist_name": f"List {i % 2}", "playlist_id": f"PL{i % 2}",
        "playlist_genre": "pop" if i % 2 else "rock",
        "playlist_subgenre": "dance pop" if i % 2 else "hard rock",
        "danceability": round(0.1 + 0.8 * f, 3), "energy": round(0.9 - 0.7 * f, 3),
        "key": i % 12, "loudness": -5.0 - i % 7, "mode": i % 2,
        "speechiness": round(0.05 + 0.3 * f, 3), "acousticness": round(0.5 * f, 3),
        "instrumentalness": round(0.01 * (i % 5), 3), "liveness": round(0.1 + 0.05 * (i % 4), 3),
        "valence": round(0.2 + 0.6 * f, 3), "tempo": 90.0 + i % 60, "duration_ms": 180000 + i,
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None,
              gz: bool = False) -> Path:
    """Write rows (missing keys become empty cells) with the given header."""
    columns = columns or BUNDLED_COLUMNS
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in columns])
    return path


# --- the web-app graph: loaded by the ETL, with embeddings -----------------------------
# 40 ordinary songs (three artists, four albums, two playlists, two genres) plus hostile
# ones whose title, artist and playlist are HTML/script, so escaping is tested on real
# database text. Embeddings are deterministic: two clusters (the two genres) plus noise,
# so the vector index has a meaningful neighbourhood.
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


def app_rows() -> list[dict[str, object]]:
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


def app_embeddings(ids: list[str]) -> np.ndarray:
    """Unit vectors: a cluster direction by genre (odd/even song number) plus noise."""
    rng = np.random.default_rng(42)
    centres = rng.normal(size=(2, DIMENSIONS))
    vecs = np.stack([centres[i % 2] + 0.6 * rng.normal(size=DIMENSIONS)
                     for i in range(len(ids))])
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def write_app_embeddings(db: Database, ids: list[str]) -> None:
    """Store the embeddings as training does (gnn.writeback), bring the index ONLINE and
    mark them as the fixture ranker's model's."""
    import torch

    from gnn.writeback import write_embeddings

    write_embeddings(db, ids, torch.from_numpy(app_embeddings(ids)).float(), full=True,
                     progress=False)
    record_fixture_model(db)


# --- the fixture ranker -------------------------------------------------------------------
# The app's tests run on small graphs with hand-made embeddings, where no ranker can be
# fit; they serve through this one, whose weights are set here (the fitted ranker is
# tested in tests/gnn and measured by the evaluation). The session points
# MUSICGRAPH_MODELS at a folder holding it (tests/conftest.py).
FIXTURE_MODEL_VERSION = "fixture-model"
FIXTURE_WEIGHTS = {
    "emb_sim": 3.0, "artist_ratio": 1.5, "artist_share": 1.0, "album_ratio": 1.5,
    "affinity": 1.0, "artist_known": 0.0, "similar_max": 0.5, "shared_playlist": 0.5,
    "subgenre_fit": 0.3, "genre_fit": 0.2, "year_gap": -0.3, "pop_gap": -0.3,
    "popularity": 0.0,
}


def fixture_ranker(weights: dict[str, float] | None = None) -> Any:
    """A ranker with hand-set ``weights`` (default :data:`FIXTURE_WEIGHTS`) on raw features."""
    from musicgraph.ranking import FEATURE_NAMES, Ranker

    weights = weights or FIXTURE_WEIGHTS
    n = len(FEATURE_NAMES)
    return Ranker(feature_names=list(FEATURE_NAMES), mean=[0.0] * n, scale=[1.0] * n,
                  coef=[float(weights.get(f, 0.0)) for f in FEATURE_NAMES], intercept=0.0,
                  model_version=FIXTURE_MODEL_VERSION, data_hash="fixture")


def write_fixture_ranker(models: Path, weights: dict[str, float] | None = None) -> Path:
    """Save :func:`fixture_ranker` where the app looks for it under ``models``."""
    from musicgraph.ranking import RANKER_FILE
    from musicgraph.schema import MODEL_ARTIFACTS

    path = models / MODEL_ARTIFACTS / RANKER_FILE
    fixture_ranker(weights).save(path)
    return path


def record_fixture_model(db: Database) -> None:
    """Mark the stored embeddings as the fixture ranker's model's."""
    from gnn.writeback import record_model_version

    record_model_version(db, FIXTURE_MODEL_VERSION, "fixture")


def load_app_graph(db: Database, folder: Path, embed: bool = True,
                   extra: list[dict[str, Any]] | None = None) -> LoadedGraph:
    """Empty the database, load the rows with the ETL and (optionally) write embeddings.

    ``extra`` rows (:func:`song` rows) are loaded and embedded too, after the others, so
    the others' embeddings stay the same.
    """
    reset_database(db)
    extra = extra or []
    csv_path = write_csv(folder / "songs.csv", app_rows() + extra)
    pipeline.run(db, csv_path=csv_path, rejects_path=folder / "rejects.csv",
                 options=pipeline.EtlOptions(progress=False))
    ids = ([f"T{i:05d}" for i in range(N_SONGS)] + ["HOSTILE1", "HOSTILE2"]
           + [str(r["track_id"]) for r in extra])
    if embed:
        write_app_embeddings(db, ids)
    return LoadedGraph(ids=ids, hostile_id="HOSTILE1", hostile_sibling_id="HOSTILE2",
                       unembedded_id="NOEMB")


# --- the planted graph for GraphSAGE -------------------------------------------------------
# Four clusters of 30 songs. Each cluster has its own audio profile (a centre in
# standardised space plus noise), its own artists, albums, playlists, genre and subgenre,
# and SIMILAR edges between its songs. A little noise crosses clusters (a few songs in
# another cluster's playlist, a few weak cross-cluster SIMILAR edges), and a share of
# songs has no playlist at all, like the songs the model must generalise to.
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
    props: dict[str, Any] = {f: float(v) for f, v in zip(AUDIO_FEATURES, audio, strict=True)}
    props["title"] = title
    props["popularity"] = None if rng.random() < 0.1 else int(rng.integers(0, 100))
    year = None if rng.random() < 0.1 else int(rng.integers(1970, 2020))
    props["release_year"] = year
    props["release_date"] = None if year is None else f"{year}-01-01"
    return props


def cluster_audio(centres: np.ndarray, c: int, rng: np.random.Generator) -> np.ndarray:
    """Raw audio values of a song drawn from cluster ``c``."""
    return BASE + SPREAD * (centres[c] + 0.35 * rng.standard_normal(len(AUDIO_FEATURES)))


def make_planted(seed: int = 7) -> Planted:
    """Generate the planted graph (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, len(AUDIO_FEATURES))) * 1.2
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
    write(db, "load_planted_songs", songs=planted.songs)
    write(db, "load_planted_links", similar=planted.similar, subgenres=planted.subgenres)
    if with_scaler:
        audio = np.array([[s["props"][f] for f in AUDIO_FEATURES] for s in planted.songs])
        db.write("etl/save_scaler", key="audio_scaler", features=list(AUDIO_FEATURES),
                 mean=audio.mean(0).tolist(), scale=audio.std(0).tolist(),
                 songs=len(planted.songs))


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


# --- a small split for the evaluation tests ------------------------------------------------
GENRES = {"PL0": ("rock", "hard rock"), "PL1": ("pop", "dance pop"), "PL2": ("rap", "trap")}


def eval_rows_csv(path: Path) -> Path:
    """30 songs; every song in one playlist, every third song also in a second one."""
    out = []
    for i in range(30):
        lists = [f"PL{i % 3}"] + ([f"PL{(i + 1) % 3}"] if i % 3 == 0 else [])
        for pl in lists:
            genre, sub = GENRES[pl]
            out.append(song(i, playlist_id=pl, playlist_name=f"List {pl}",
                            playlist_genre=genre, playlist_subgenre=sub))
    return write_csv(path / "songs.csv", out)


def memberships(m: Any, split: Any) -> set[tuple[str, str]]:
    """The (song id, playlist id) pairs of a playlist x song 0/1 matrix of ``split``."""
    coo = m.tocoo()
    return {(split.song_ids[s], split.playlist_ids[p]) for p, s in zip(coo.row, coo.col,
                                                                       strict=True)}


# --- GraphSAGE test helpers ---------------------------------------------------------------
#: Training settings for the planted graph: few epochs, patience high enough that the loss
#: has time to fall.
FAST_TRAINING: dict[str, Any] = dict(epochs=40, eval_every=5, patience=40, seed=3)


def stored_embeddings(db: Database) -> dict[str, list[float]]:
    """Every song's stored embedding, by id."""
    rows = db.run_auto("MATCH (s:Song) RETURN s.id AS id, s.embedding AS embedding")
    return {r["id"]: r["embedding"] for r in rows}


def neighbours(db: Database, song_id: str, k: int) -> list[dict[str, Any]]:
    """The song's k nearest songs by the vector index (the bare production query)."""
    return db.read("recommend/similar_by_embedding", id=song_id, k=k, index=VECTOR_INDEX)


def train_fast(db: Database, models: Path, **overrides: Any) -> Any:
    """Train on ``db`` with :data:`FAST_TRAINING` (plus ``overrides``) into ``models``."""
    from gnn.train import TrainConfig, train

    return train(db, TrainConfig(**{**FAST_TRAINING, **overrides}), models=models,
                 progress=False)


# --- fault injection ----------------------------------------------------------------------
PRIVATE_PASSWORD = "private-fault-pw"


@dataclass
class PrivateNeo4j:
    """A test server that may be killed: its instance and how to reach it."""

    instance: Instance

    @property
    def settings(self) -> Neo4jSettings:
        return Neo4jSettings(uri=self.instance.bolt_uri, user="neo4j",
                             password=PRIVATE_PASSWORD)

    def env(self) -> dict[str, str]:
        """``NEO4J_*`` for a child process (a CLI command, gunicorn) to use this server."""
        s = self.settings
        return {"NEO4J_URI": s.uri, "NEO4J_USER": s.user, "NEO4J_PASSWORD": s.password,
                "NEO4J_DATABASE": s.database}

    def kill(self) -> float:
        """SIGKILL the server (no shutdown, no checkpoint) and reap it; the kill's time."""
        pid = self.instance.pid()
        assert pid is not None, "the private Neo4j is not running"
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        try:
            os.waitpid(pid, 0)  # started by this process: reap it, so no zombie lingers
        except ChildProcessError:
            wait_until(lambda: self.instance.pid() is None, 30, "Neo4j to die")
        return killed

    def start(self) -> float:
        """Start it again (it recovers its store); the time Bolt answered."""
        self.instance.start(PRIVATE_PASSWORD)
        return time.monotonic()


def wait_until(condition: Any, timeout: float, what: str, every: float = 0.02) -> Any:
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` s.

    Polls because the events waited on (a server answering, a process appearing, rows
    landing in a database) belong to other processes and send no signal.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def property_counts(db: Database) -> dict[tuple[str, str, str], int]:
    """``(node|relationship, label or type, property) -> count``: a graph's whole shape."""
    return {(r["kind"], r["name"], r["key"]): int(r["n"]) for r in read(db, "property_counts")}


def fault_songs(n: int) -> list[dict[str, Any]]:
    """``n`` CSV rows over 50 artists, 200 albums and 30 playlists, each song sounding
    different (no ties among nearest neighbours, so every load builds the same edges)."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(n):
        u = rng.random(5)
        rows.append(song(
            i, track_artist=f"Artist {i % 50}", track_album_id=f"AL{i % 200}",
            track_album_name=f"Album {i % 200}", playlist_id=f"PL{i % 30}",
            playlist_name=f"List {i % 30}", danceability=round(float(u[0]), 6),
            energy=round(float(u[1]), 6), valence=round(float(u[2]), 6),
            acousticness=round(float(u[3]), 6), tempo=round(60 + 140 * float(u[4]), 3)))
    return rows


def write_artifact(name: str, data: dict[str, Any]) -> Path:
    """Keep what a fault test measured in ``artifacts/faults/<name>.json`` (for the README)."""
    import json

    folder = ROOT / "artifacts" / "faults"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def metric_sample(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus metric's samples in ``text`` whose labels include ``labels``."""
    import re

    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            total += float(m.group(2))
    return total
