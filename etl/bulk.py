"""The bulk path: the first load of an empty local database through ``neo4j-admin``.

``neo4j-admin database import full`` writes the store files directly, much faster than
transactions, but only into a stopped database. So for an empty database of the local
server this project manages (it needs the server's home), the ETL:

1. validates every row with the same reader as the transactional path (same rejects
   file, same counts and reasons), staging the valid rows in a scratch folder;
2. writes node and relationship CSVs in the import format, merging a song's rows as the
   transactional ``MERGE``/``SET +=`` does (a later row's values win, a missing value
   keeps the earlier one), and each entity once;
3. builds the SIMILAR edges from the staged features with the same code
   (:mod:`etl.similarity`: same scaler, same kNN, same build id) and adds them;
4. stops the server, runs the import, starts it again;
5. applies the schema and stores the scaler and similarity settings; the caller then
   computes the artist and album statistics, as after a transactional load.

Everything before step 4 leaves the database untouched, so an interrupted bulk load is
rerun from scratch; the import itself replaces the whole database (``--overwrite-
destination``), so a rerun after a failed import ends the same.

The valid rows are staged on disk instead of held in memory: most songs sit in one row
and are written straight through in the second pass; only the songs seen in several
rows (a minority in playlist data) are merged in memory, with each artist, album,
playlist and genre once.
"""

from __future__ import annotations

import csv
import gzip
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from tqdm import tqdm

from etl import similarity
from etl.features import INTEGER_FEATURES, SIMILARITY_FEATURES
from etl.reader import SongRow
from musicgraph.db import Database
from musicgraph.neo4j_local import Instance
from musicgraph.schema import AUDIO_FEATURES

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Song properties besides the audio features, with their import types.
_SONG_EXTRA = (("popularity", "long"), ("release_year", "long"), ("title", "string"),
               ("release_date", "string"))


def local_instance(uri: str, home: Path | None) -> tuple[Instance | None, str]:
    """The local server that ``uri`` reaches, with its home; or None and why not.

    Args:
        uri: ``NEO4J_URI``.
        home: an explicit home (``--home``); otherwise ``MUSICGRAPH_NEO4J_HOME`` or the
            default home, whichever instance listens on the URI's port.
    """
    parsed = urlparse(uri)
    if parsed.hostname not in _LOCAL_HOSTS:
        return None, f"{uri} is not a server on this machine"
    inst = Instance.at(home)
    if inst.pid() is None:
        return None, f"no local Neo4j runs from {inst.home} (name its home with --home)"
    port = parsed.port or 7687
    if inst.bolt_port != port:
        return None, (f"the local Neo4j at {inst.home} listens on {inst.bolt_port}, not "
                      f"{port} (name its home with --home)")
    return inst, ""


def database_is_empty(db: Database) -> bool:
    """True when the database holds no node."""
    return not db.read("etl/any_node")


def count_lines(path: Path) -> int:
    """Line breaks in the (decompressed) file: the rows, give or take quoted line breaks."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    n = 0
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
    return n


@dataclass
class _Entities:
    """Each entity once, merged in file order as the transactional MERGE/SET does."""

    artists: dict[str, None] = field(default_factory=dict)
    albums: dict[str, list[str | None]] = field(default_factory=dict)
    playlists: dict[str, str | None] = field(default_factory=dict)
    genres: dict[str, str] = field(default_factory=dict)
    subgenre_of: dict[tuple[str, str], None] = field(default_factory=dict)

    def add(self, row: dict[str, Any]) -> None:
        for name in row["artists"]:
            self.artists[name] = None
        if (al := row["album"]) is not None:
            old = self.albums.get(al["id"], [None, None])
            # coalesce(new, old): a later non-null value wins, a null keeps the old one.
            self.albums[al["id"]] = [al["name"] if al["name"] is not None else old[0],
                                     al["release_date"] if al["release_date"] is not None
                                     else old[1]]
        if (pl := row["playlist"]) is not None:
            name = pl["name"] if pl["name"] is not None else self.playlists.get(pl["id"])
            self.playlists[pl["id"]] = name
        # ON CREATE SET level: the first row that names a genre decides its level.
        if row["genre"] is not None:
            self.genres.setdefault(row["genre"], "genre")
        if row["subgenre"] is not None:
            self.genres.setdefault(row["subgenre"], "subgenre")
        if row["genre"] is not None and row["subgenre"] is not None:
            self.subgenre_of[(row["subgenre"], row["genre"])] = None


class _Song:
    """A song's merged properties and links (for songs seen in several rows)."""

    __slots__ = ("props", "artists", "albums", "playlists", "genres")

    def __init__(self) -> None:
        self.props: dict[str, Any] = {}
        self.artists: dict[str, None] = {}
        self.albums: dict[str, None] = {}
        self.playlists: dict[str, None] = {}
        self.genres: dict[str, None] = {}

    def add(self, row: dict[str, Any]) -> None:
        self.props.update(row["props"])  # SET s += row.props
        for name in row["artists"]:
            self.artists[name] = None
        if row["album"] is not None:
            self.albums[row["album"]["id"]] = None
        if row["playlist"] is not None:
            self.playlists[row["playlist"]["id"]] = None
        for g in (row["genre"], row["subgenre"]):
            if g is not None:
                self.genres[g] = None


class ImportFiles:
    """The import CSVs, one per label and relationship type."""

    NODES = {
        "Song": ["id:ID(Song)"] + [f"{f}:{'long' if f in INTEGER_FEATURES else 'double'}"
                                   for f in AUDIO_FEATURES]
                + [f"{name}:{kind}" for name, kind in _SONG_EXTRA],
        "Artist": ["name:ID(Artist)"],
        "Album": ["id:ID(Album)", "name", "release_date"],
        "Playlist": ["id:ID(Playlist)", "name"],
        "Genre": ["name:ID(Genre)", "level"],
    }
    RELATIONSHIPS = {
        "BY": [":START_ID(Song)", ":END_ID(Artist)"],
        "ON": [":START_ID(Song)", ":END_ID(Album)"],
        "IN_PLAYLIST": [":START_ID(Song)", ":END_ID(Playlist)"],
        "HAS_GENRE": [":START_ID(Song)", ":END_ID(Genre)"],
        "SUBGENRE_OF": [":START_ID(Genre)", ":END_ID(Genre)"],
        "SIMILAR": [":START_ID(Song)", ":END_ID(Song)", "score:double", "build"],
    }
    _SONG_KEYS = [*AUDIO_FEATURES, *(name for name, _ in _SONG_EXTRA)]

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths = {name: folder / f"{name.lower()}.csv"
                      for name in (*self.NODES, *self.RELATIONSHIPS)}
        self._fh = {name: open(path, "w", newline="", encoding="utf-8")
                    for name, path in self.paths.items()}
        self._w = {name: csv.writer(fh) for name, fh in self._fh.items()}
        for name, header in (*self.NODES.items(), *self.RELATIONSHIPS.items()):
            self._w[name].writerow(header)
        #: A value holds a line break: the importer must parse multi-line fields.
        self.multiline = False

    def row(self, name: str, values: list[Any]) -> None:
        if not self.multiline:
            self.multiline = any(isinstance(v, str) and ("\n" in v or "\r" in v)
                                 for v in values)
        self._w[name].writerow(values)

    def song(self, song_id: str, props: dict[str, Any], artists: Iterator[str] | list[str],
             albums: list[str], playlists: list[str], genres: list[str]) -> None:
        # None becomes an empty field: no property, as a missing value in the transactional
        # path sets none.
        self.row("Song", [song_id, *(props.get(k) for k in self._SONG_KEYS)])
        for name in artists:
            self.row("BY", [song_id, name])
        for album in albums:
            self.row("ON", [song_id, album])
        for playlist in playlists:
            self.row("IN_PLAYLIST", [song_id, playlist])
        for genre in genres:
            self.row("HAS_GENRE", [song_id, genre])

    def close(self) -> None:
        for fh in self._fh.values():
            fh.close()


@dataclass
class BulkResult:
    """What the bulk load built before the import: the similarity graph's figures."""

    stats: similarity.GraphStats
    build: str
    scaler_mean: list[float]
    scaler_scale: list[float]
    songs: int
    phases: dict[str, float] = field(default_factory=dict)


class Stager:
    """Collects the valid rows of pass 1 in a scratch folder (JSON lines)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "rows.jsonl"
        self._fh = open(self.path, "w", encoding="utf-8")
        self.rows_per_song: Counter[str] = Counter()

    def add(self, row: SongRow) -> None:
        self.rows_per_song[row.id] += 1
        self._fh.write(json.dumps(row.as_param(), ensure_ascii=False, separators=(",", ":")))
        self._fh.write("\n")

    def close(self) -> None:
        self._fh.close()

    def rows(self) -> Iterator[dict[str, Any]]:
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def write_import_files(stager: Stager, files: ImportFiles,
                       progress: bool) -> tuple[list[str], np.ndarray]:
    """Pass 2: nodes and relationships from the staged rows; returns every song's id and
    raw audio features, in id order (as the transactional path reads them back)."""
    entities = _Entities()
    pending: dict[str, _Song] = {}
    ids: list[str] = []
    feats: list[list[float]] = []
    blocks: list[np.ndarray] = []
    for row in tqdm(stager.rows(), total=stager.rows_per_song.total(), desc="import files",
                    unit=" rows", disable=not progress):
        entities.add(row)
        song_id = row["id"]
        if stager.rows_per_song[song_id] > 1:
            pending.setdefault(song_id, _Song()).add(row)
            continue
        genres = [g for g in (row["genre"], row["subgenre"]) if g is not None]
        files.song(song_id, row["props"], row["artists"],
                   [row["album"]["id"]] if row["album"] else [],
                   [row["playlist"]["id"]] if row["playlist"] else [], genres)
        ids.append(song_id)
        feats.append([row["props"][f] for f in AUDIO_FEATURES])
        if len(feats) == 50_000:
            blocks.append(np.asarray(feats, dtype=np.float64))
            feats = []
    for song_id, song in pending.items():
        files.song(song_id, song.props, list(song.artists), list(song.albums),
                   list(song.playlists), list(song.genres))
        ids.append(song_id)
        feats.append([song.props[f] for f in AUDIO_FEATURES])
    blocks.append(np.asarray(feats, dtype=np.float64).reshape(-1, len(AUDIO_FEATURES)))
    for name in entities.artists:
        files.row("Artist", [name])
    for album_id, (album_name, date) in entities.albums.items():
        files.row("Album", [album_id, album_name, date])
    for playlist_id, playlist_name in entities.playlists.items():
        files.row("Playlist", [playlist_id, playlist_name])
    for genre, level in entities.genres.items():
        files.row("Genre", [genre, level])
    for sub, genre in entities.subgenre_of:
        files.row("SUBGENRE_OF", [sub, genre])
    x = np.concatenate(blocks)
    # The transactional path reads songs back ORDER BY s.id: the same order here gives
    # the same kNN, the same edge directions and the same build id.
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return [ids[i] for i in order], x[order]


def similar_edges(files: ImportFiles, ids: list[str], x: np.ndarray, knn_k: int,
                  threshold: float) -> BulkResult:
    """The SIMILAR edges of ``similarity`` over the staged songs, into the import files."""
    scaler = similarity.fit_scaler(x)
    cols = [AUDIO_FEATURES.index(f) for f in SIMILARITY_FEATURES]
    z = scaler.transform(x)[:, cols]
    edges = similarity.knn_edges(z, knn_k, threshold, n_jobs=-1)
    build = similarity.fingerprint(ids, knn_k, threshold, x, SIMILARITY_FEATURES)
    for a, b, s in zip(edges.src.tolist(), edges.dst.tolist(), edges.score.tolist(),
                       strict=True):
        files.row("SIMILAR", [ids[a], ids[b], s, build])
    return BulkResult(stats=similarity.graph_stats(len(ids), edges), build=build,
                      scaler_mean=[float(v) for v in scaler.mean_],
                      scaler_scale=[float(v) for v in scaler.scale_], songs=len(ids))


def scratch_folder(instance: Instance) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder beside the server's data (same disk), removed afterwards."""
    base = instance.home / "import"
    base.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="musicgraph-bulk-", dir=base)


def import_and_restart(db: Database, instance: Instance, files: ImportFiles, folder: Path,
                       phase: Callable[[str], AbstractContextManager[None]]) -> None:
    """Stop the server, import the files into the database, start it again.

    The server is started again whatever happens to the import, so a failed bulk load
    leaves it running (the import replaces the database, so a rerun starts clean).

    Args:
        phase: times a named stage (``EtlReport.phase``).
    """
    files.close()
    nodes = [(label, files.paths[label]) for label in ImportFiles.NODES]
    rels = [(rel, files.paths[rel]) for rel in ImportFiles.RELATIONSHIPS]
    with phase("server_stop"):
        instance.stop()
    try:
        with phase("admin_import"):
            instance.import_full(db.database, nodes, rels, multiline=files.multiline,
                                 report_file=folder / "import.report")
    finally:
        with phase("server_start"):
            instance.start(db.settings.password)


def save_meta(db: Database, result: BulkResult, knn_k: int, threshold: float) -> None:
    """The scaler and similarity settings, with the statements the transactional path uses."""
    db.write("etl/save_scaler", key="audio_scaler", features=list(AUDIO_FEATURES),
             mean=result.scaler_mean, scale=result.scaler_scale, songs=result.songs)
    db.write("etl/save_similarity_settings", k=knn_k, threshold=threshold,
             build=result.build, features=list(SIMILARITY_FEATURES),
             edges=result.stats.edges, components=result.stats.components)

