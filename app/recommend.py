"""The served ranking, explanation and search logic: one module, called by the views.

Views only parse, call and serialise; an offline evaluation calls these same functions
(with ``candidates`` to restrict the ranking to a held-out set), so what is measured is
what is served.

Recommendation, three read queries inside one read transaction:

1. Context (``recommend/context``), once per request: the seeds' artist affinities
   (from visible playlists), genre shares, release years and popularity, and the
   version of the model whose embeddings the graph holds (it must be the ranker's).
2. Candidates and features, one statement: ``recommend/candidates`` (the vector index
   queried with the mean of the seeds' embeddings, joined by graph candidates: songs by
   the seeds' artists, on their albums and by the best-affinity artists) followed by
   ``recommend/features``, the ranker's feature vector of each candidate. The
   evaluation swaps the first part for ``recommend/candidates_among`` (its held-out
   pool); the features and the score are the same.
3. The score, here: the learned ranker (:class:`musicgraph.ranking.Ranker`, fit by
   ``musicgraph train`` on memberships it hid from its own graph), then the list rules
   (no version of a seed, no two versions of one song, the per-artist cap), then paths
   (``recommend/paths``, one batched query for the results): the most informative real
   path of at most 4 hops from a seed. A candidate no real path explains is dropped in
   favour of the next one, so every served recommendation carries its path.

Every tunable lives in :class:`musicgraph.ranking.RankingConfig`; the candidate counts
come from the ranker's artifact, so serving draws candidates as the ranker was fit on.
"""

from __future__ import annotations

import functools
import logging
import pickle
import re
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache
import neo4j
import numpy as np
from neo4j.exceptions import ClientError

import cypher
from app.versions import version_keys
from musicgraph.db import Database, without_deadline
from musicgraph.errors import DatabaseUnavailableError, InputError, ModelError, NotFoundError
from musicgraph.ranking import RANKER_FILE, Ranker, RankingConfig, seed_context
from musicgraph.schema import MODEL_ARTIFACTS, MODEL_META_KEY, SEARCH_INDEX, VECTOR_INDEX

log = logging.getLogger(__name__)

#: The served ranking's defaults (candidate counts come from the ranker's artifact).
DEFAULTS = RankingConfig()
#: Bounds of the public parameters (the API answers 400 outside them).
MAX_K = 100
MAX_SEEDS = 100
MAX_LIMIT = 100
MAX_QUERY_CHARS = 200
#: Default cap on songs by one artist in a single song's list (the song page and
#: /api/songs/<id>/recommendations): "more like this" should not be the artist's
#: discography. A seed set (playlist continuation) has no cap by default
#: (``DEFAULTS.set_max_per_artist``): the playlist decides. 0 means no cap.
SONG_MAX_PER_ARTIST = DEFAULTS.song_max_per_artist
#: What a recommendation's ``score`` is, for the pages' tooltip next to "match NN%".
SCORE_HELP = ("How well the song fits the seed song(s), from 0 to 100%: the learned "
              "ranker's score for the song belonging with them, from the GraphSAGE "
              "embedding similarity and the graph evidence (shared artists and albums, "
              "artist affinity, genres, release year and popularity).")
#: Paths listed by explain().
EXPLAIN_PATHS = 10

_LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/&|])')
_LUCENE_OPERATORS = {"AND", "OR", "NOT", "TO"}


class NotReadyError(DatabaseUnavailableError):
    """Neo4j answers but the app can't serve yet (index missing, no embeddings).

    Attributes:
        status: the health report, included in the 503 answer.
    """

    def __init__(self, message: str, status: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Recommendation:
    """One recommended song with its score, reason and explanation path."""

    song: dict[str, Any]
    score: float
    similarity: float
    reason: str
    path: dict[str, list[dict[str, Any]]]

    def as_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        return {"song": self.song, "score": round(self.score, 6),
                "similarity": round(self.similarity, 6), "reason": self.reason,
                "path": self.path}


# --- validation -------------------------------------------------------------------------
def check_k(k: int) -> int:
    """Return ``k`` if it lies in 1..MAX_K; raise InputError otherwise."""
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}", f"got {k}")
    return k


def check_max_per_artist(max_per_artist: int) -> int:
    """Return ``max_per_artist`` if it lies in 0..MAX_K (0: no cap); InputError otherwise."""
    if not 0 <= max_per_artist <= MAX_K:
        raise InputError(f"max_per_artist must be between 0 (no cap) and {MAX_K}",
                         f"got {max_per_artist}")
    return max_per_artist


def check_seeds(seeds: Sequence[str]) -> list[str]:
    """Deduplicate seed ids (order kept) and check there are 1..MAX_SEEDS of them."""
    ids = list(dict.fromkeys(s.strip() for s in seeds if s and s.strip()))
    if not ids:
        raise InputError("give at least one seed song id")
    if len(ids) > MAX_SEEDS:
        raise InputError(f"at most {MAX_SEEDS} seed songs", f"got {len(ids)}")
    if any(len(s) > 200 for s in ids):
        raise InputError("a seed song id is too long")
    return ids


# --- songs ------------------------------------------------------------------------------
def song_summary(row: dict[str, Any]) -> dict[str, Any]:
    """The short song shape used in lists: id, title, artist(s), album, popularity, year."""
    artists = list(row.get("artists") or [])
    return {"id": row["id"], "title": row.get("title"), "artist": ", ".join(artists) or None,
            "artists": artists, "album": row.get("album"),
            "popularity": row.get("popularity"), "release_year": row.get("release_year")}


def get_song(db: Database, song_id: str) -> dict[str, Any]:
    """The song with its artists, album, genres, playlists and audio features.

    Raises:
        NotFoundError: no song has this id.
    """
    rows = db.read("app/song", id=song_id)
    if not rows:
        raise NotFoundError(f"no song with id {song_id!r}")
    row = rows[0]
    song = {k: v for k, v in row["song"].items() if v is not None}
    features = {k: song.pop(k) for k in list(song) if k not in
                ("id", "title", "popularity", "release_date", "release_year")}
    artists = list(row["artists"])
    return {**song, "artist": ", ".join(artists) or None, "artists": artists,
            "album": row["album"], "genres": row["genres"], "playlists": row["playlists"],
            "features": features, "embedded": row["embedded"]}


def songs_by_id(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Summaries of the songs ``ids`` in the given order.

    Raises:
        NotFoundError: naming the ids that match no song.
    """
    rows = {r["id"]: r for r in db.read("app/songs", ids=list(ids))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFoundError(f"no song with id {missing[0]!r}" if len(missing) == 1
                            else f"no songs with ids {', '.join(map(repr, missing[:10]))}")
    return [{**song_summary(rows[i]), "embedded": rows[i]["embedded"]} for i in ids]


def popular(db: Database, limit: int = 12) -> list[dict[str, Any]]:
    """The most popular songs, for the home page."""
    return [song_summary(r) for r in db.read("app/popular", limit=limit)]


# --- search -----------------------------------------------------------------------------
def lucene_clauses(text: str) -> list[str]:
    """Build typo-tolerant Lucene clauses from user text, one per distinct term.

    Each whitespace-separated term has Lucene's special characters escaped (so user text
    is never query syntax); terms of 4+ characters also match with edits (``~1``, or
    ``~2`` from 8 characters: short words would match too much); an exact match is
    boosted above a fuzzy one.

    Returns:
        The clauses; none when no term has a letter or digit (symbols only: nothing the
        index holds can match).

    Raises:
        InputError: the text is empty or too long.
    """
    text = (text or "").strip()
    if not text:
        raise InputError("q must not be empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InputError(f"q must be at most {MAX_QUERY_CHARS} characters",
                         f"got {len(text)}")
    clauses: list[str] = []
    for term in text.split():
        # Lucene reads upper-case AND/OR/NOT as operators; the analyzer folds case anyway.
        if term in _LUCENE_OPERATORS:
            term = term.lower()
        esc = _LUCENE_SPECIAL.sub(r"\\\1", term)
        if not any(ch.isalnum() for ch in term):
            continue  # the standard analyzer drops pure punctuation: nothing to match
        if len(term) >= 4:
            edits = 2 if len(term) >= 8 else 1
            clauses.append(f"({esc}^2 OR {esc}~{edits})")
        else:
            clauses.append(esc)
    return list(dict.fromkeys(clauses))


def search(db: Database, q: str, limit: int = 10) -> list[dict[str, Any]]:
    """Songs whose title or artist matches ``q``, forgiving small typos; best first.

    Raises:
        InputError: ``q`` is empty or too long, or ``limit`` is outside 1..MAX_LIMIT.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}", f"got {limit}")
    clauses = lucene_clauses(q)
    if not clauses:
        return []
    # Each term is looked up on its own, so a song that matches more of the terms ranks
    # first: "bohemian rapsody" must find Bohemian Rhapsody before every song by the
    # artist Rapsody, whose one exact, short-field hit outscores two fuzzy title hits.
    rows = db.read("app/search", clauses=clauses, limit=limit, fetch=max(100, 10 * limit),
                   search_index=SEARCH_INDEX)
    return [{**song_summary(r), "score": round(float(r["score"]), 6)} for r in rows]


# --- the ranker -------------------------------------------------------------------------
_rankers: dict[Path, tuple[tuple[int, int, int], Ranker]] = {}
_rankers_lock = threading.Lock()


def load_ranker(models: Path) -> Ranker:
    """The ranker that ``musicgraph train`` saved under the models folder ``models``,
    read again only when the file changes (a new training run).

    Raises:
        ModelError: no ranker there, or one that can't be used (a 503).
    """
    path = models / MODEL_ARTIFACTS / RANKER_FILE
    try:
        st = path.stat()
        # Ranker.save replaces the file (a new inode), so a rewrite within one mtime tick
        # is still seen.
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        raise ModelError(f"no ranker at {path}: run `musicgraph train`") from None
    with _rankers_lock:
        cached = _rankers.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, Ranker.load(path))
            _rankers[path] = cached
    return cached[1]


def check_model_version(graph_version: str | None, ranker: Ranker) -> None:
    """Raise ModelError (a 503) unless the graph's embeddings are the ranker's model's."""
    if graph_version != ranker.model_version:
        raise ModelError(
            "the ranker does not match the embeddings in the graph: run `musicgraph train`",
            f"ranker fit for model {ranker.model_version}, "
            f"the graph holds model {graph_version}")


def context_params(row: dict[str, Any], config: RankingConfig) -> dict[str, Any]:
    """recommend/features' parameters (and the affinity artists recommend/candidates
    reads) from recommend/context's row."""
    found = max(int(row["found"]), 1)
    subgenre: dict[str, float] = {}
    genre: dict[str, float] = {}
    for name, k, is_sub in zip(row["genres"], row["genre_seeds"], row["subgenre"], strict=True):
        (subgenre if is_sub else genre)[name] = k / found
    return {"affinity": dict(zip(row["artists"], row["affinities"], strict=True)),
            "artists": row["artists"][:config.affinity_artists],
            "artist_seeds": dict(zip(row["seed_artists"], row["seed_artist_seeds"], strict=True)),
            "album_seeds": dict(zip(row["seed_albums"], row["seed_album_counts"], strict=True)),
            "seed_playlists": row["seed_playlists"],
            "subgenre_share": subgenre, "genre_share": genre,
            **seed_context(row["years"], row["popularity"])}


@functools.cache
def rank_statement(restricted: bool) -> str:
    """Candidates then features, one statement: the served candidates, or (``restricted``)
    the evaluation's, drawn from a given set of songs."""
    return (cypher.load("recommend/candidates_among" if restricted else "recommend/candidates")
            + "\n" + cypher.load("recommend/features"))


# --- recommendations --------------------------------------------------------------------
def warm_query_plans(db: Database, ranker: Ranker, k: int) -> float:
    """Have Neo4j plan (and cache) the statements of a song's recommendations now: the
    model state, the seed's context, the scored candidates and the paths, run for one
    song without the request deadline, and the song itself. Returns the seconds it took
    (nothing is run when no song is embedded).

    A restarted Neo4j plans each statement afresh, seconds of CPU on a small machine;
    the app calls this as soon as Neo4j answers (app.get_db), so requests find the plans.
    The paths statement is planned beside the rest (it waits for the candidates otherwise).
    """
    started = time.monotonic()
    with without_deadline():
        rows = db.read("app/warm_song")
    if not rows:
        return time.monotonic() - started
    song_id = rows[0]["id"]

    def beside() -> None:
        with without_deadline():
            db.plan("recommend/paths", ids=[song_id], seeds=[song_id])
            get_song(db, song_id)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-plans") as pool:
        planned = pool.submit(beside)
        with without_deadline():
            # A throwaway cache, so the cache's model-state read is planned too.
            recommend_for_song(db, song_id, k, ranker=ranker, cache=ResultCache(1, 0.0))
        planned.result()
    return time.monotonic() - started


def warm_other_plans(db: Database) -> None:
    """Plan the statements of the other pages (popular songs, search), after
    :func:`warm_query_plans` and while requests flow again."""
    with without_deadline():
        songs = popular(db)
        search(db, songs[0]["title"] if songs and songs[0]["title"] else "a", 10)


def recommend_for_song(db: Database, song_id: str, k: int = 10,
                       candidates: Sequence[str] | None = None,
                       max_per_artist: int = SONG_MAX_PER_ARTIST, *, ranker: Ranker,
                       cache: ResultCache | None = None,
                       ) -> tuple[dict[str, Any], list[Recommendation]]:
    """The seed song and its top-``k`` recommendations, each with reason and path.

    Args:
        db: the database.
        song_id: the seed song.
        k: how many recommendations (1..MAX_K).
        candidates: when given, only these song ids may be recommended (evaluation).
        max_per_artist: at most this many songs by one artist (0: no cap).
        ranker: the fitted ranker (:func:`load_ranker`).
        cache: recent answers (:class:`ResultCache`).

    Raises:
        InputError: bad ``k``. NotFoundError: unknown song.
        ModelError: the song has no embedding yet, or the ranker does not match them.
        DatabaseUnavailableError: Neo4j down, or the vector index missing.
    """
    seeds, recs = recommend_for_seeds(db, [song_id], k, candidates, max_per_artist,
                                      ranker=ranker, cache=cache)
    return seeds[0], recs


def recommend_for_seeds(db: Database, seed_ids: Sequence[str], k: int = 10,
                        candidates: Sequence[str] | None = None,
                        max_per_artist: int = DEFAULTS.set_max_per_artist, *, ranker: Ranker,
                        cache: ResultCache | None = None,
                        ) -> tuple[list[dict[str, Any]], list[Recommendation]]:
    """Songs that continue a set of seed songs (a playlist), seeds excluded.

    The list never holds another version of a seed, nor two versions of one song
    (:mod:`app.versions`).

    Args:
        db: the database.
        seed_ids: the seed song ids (1..MAX_SEEDS).
        k: how many recommendations (1..MAX_K).
        candidates: when given, only these song ids may be recommended (evaluation).
        max_per_artist: at most this many songs by one artist (0: no cap, the default
            for a seed set).
        ranker: the fitted ranker (:func:`load_ranker`).
        cache: recent answers (:class:`ResultCache`); never used with ``candidates``.

    Returns:
        The seeds' summaries and the ranked recommendations.

    Raises:
        InputError, NotFoundError, ModelError, DatabaseUnavailableError: as
        :func:`recommend_for_song`.
    """
    check_k(k)
    check_max_per_artist(max_per_artist)
    ids = check_seeds(seed_ids)
    key = None
    if cache is not None and candidates is None:
        key = (tuple(ids), k, max_per_artist, ranker.version(), cache.graph_state(db))
        hit = cache.get(key)
        if hit is not None:
            return hit
    config = ranker.ranking_config()
    cand_list = list(dict.fromkeys(candidates)) if candidates is not None else None
    statement = rank_statement(restricted=cand_list is not None)

    def work(tx: neo4j.ManagedTransaction) -> tuple[list[dict[str, Any]], list[Recommendation]]:
        # Three round trips: the seeds' context, the scored candidates, the paths.
        context = dict(tx.run(cypher.load("recommend/context"), seeds=ids,
                              meta_key=MODEL_META_KEY).single(strict=True).items())
        seeds = _seed_summaries(ids, context["songs"])
        if not any(s["embedded"] for s in seeds):
            raise ModelError("no embedding for the seed song(s) yet: run `musicgraph train`",
                             ", ".join(ids[:10]))
        check_model_version(context["model_version"], ranker)
        params = context_params(context, config)
        rows = _rows(tx.run(statement, index=VECTOR_INDEX, seeds=ids, candidates=cand_list,
                            probe=config.n_vector + len(ids) + config.probe_margin,
                            n_vector=config.n_vector, n_graph=config.n_graph, **params))
        listed = ListFilter(seeds, max_per_artist)
        # Every scored candidate stays available: the list rules (versions, the cap) and
        # missing paths may pass over many before k are listed.
        return seeds, _attach_paths(tx, ids, rank_rows(rows, ranker), k, listed)

    answer = _read(db, work)
    if key is not None and cache is not None:
        cache.put(key, answer)
    return answer


def _seed_summaries(ids: list[str], songs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seeds' summaries in request order (recommend/context's ``songs``).

    Raises:
        NotFoundError: naming the ids that match no song.
    """
    by_id = {s["id"]: s for s in songs}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise NotFoundError(f"no song with id {missing[0]!r}" if len(missing) == 1
                            else f"no songs with ids {', '.join(map(repr, missing[:10]))}")
    return [{**song_summary(by_id[i]), "embedded": by_id[i]["embedded"]} for i in ids]


class ResultCache:
    """Recent recommendation answers, least recently used first out.

    Keyed by (seeds, k, cap, ranker version, graph state); the graph state is the model
    version and write time that training and ``musicgraph embed`` record
    (``Meta {key: 'model'}``), read at most once per ``state_seconds``: a retrain or an
    embed run is seen within that time, and until then a hit costs no query. Answers are
    kept pickled and compressed: about 2 KB each instead of about 20 KB of Python objects
    (the soak's workers grew by 48% holding 2,000 as objects), and unpickling a hit is
    faster than the deep copy it replaces; each caller gets its own copy to change.

    With ``shared_dir``, answers are also kept in a cache on disk (diskcache: SQLite,
    safe across processes) that every gunicorn worker of one server opens: an answer one
    worker computed is a hit for the others, instead of being computed once per worker
    (with three workers, two of three first repeats were computed again). This process's
    own recent answers stay in memory in front of it, so a repeated hit costs no file
    read. The folder is the server's own (``app.gunicorn_conf`` makes it, owner-only, and
    removes it at exit), so what is unpickled from it was written by this server.

    Args:
        size: answers kept in this process's memory.
        state_seconds: how long a read of the graph state is trusted.
        shared_dir: the folder of the cache shared with the other workers (None: none).
        shared_bytes: the shared cache's size limit (the least recently stored go first;
            0: no shared cache).
    """

    #: Seconds a shared-cache read or write may wait on another process's write.
    SHARED_TIMEOUT = 0.5

    def __init__(self, size: int, state_seconds: float = 1.0, shared_dir: Path | None = None,
                 shared_bytes: int = 64 * 2**20) -> None:
        self.size = size
        self.state_seconds = state_seconds
        self._items: OrderedDict[Any, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._state: tuple[float, tuple[Any, ...]] | None = None
        self.hits = 0
        self.shared_hits = 0
        self.misses = 0
        self._shared: diskcache.Cache | None = None
        if shared_dir is not None and size > 0 and shared_bytes > 0:
            # Values are our compressed bytes, stored as they are (no pickling by diskcache).
            # A busy SQLite file is waited on for at most SHARED_TIMEOUT s, then passed by.
            self._shared = diskcache.Cache(str(shared_dir), size_limit=shared_bytes,
                                           timeout=self.SHARED_TIMEOUT)

    def graph_state(self, db: Database) -> tuple[Any, ...]:
        """The graph's (model version, embeddings written at), re-read when stale."""
        now = time.monotonic()
        state = self._state
        if state is None or now - state[0] > self.state_seconds:
            rows = db.read("app/model_state", key=MODEL_META_KEY)
            value = (rows[0]["version"], rows[0]["written_at"]) if rows else (None, None)
            state = (now, value)
            self._state = state
        return state[1]

    @staticmethod
    def _shared_key(key: Any) -> str:
        # The same text in every worker (a tuple of ids, numbers, versions and a time).
        return repr(key)

    def get(self, key: Any) -> Any:
        """A copy of the answer stored under ``key``, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self.hits += 1
        if value is None and self._shared is not None:
            found = self._shared_call(self._shared.get, self._shared_key(key))
            if isinstance(found, bytes):
                value = found
                self._remember(key, value)
                with self._lock:
                    self.shared_hits += 1
        if value is None:
            with self._lock:
                self.misses += 1
            return None
        # Bytes made by put() in this server's processes: never data from outside.
        return pickle.loads(zlib.decompress(value))

    def put(self, key: Any, value: Any) -> None:
        """Store a copy of ``value`` under ``key``, dropping the oldest beyond ``size``."""
        if self.size <= 0:
            return
        packed = zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), 1)
        self._remember(key, packed)
        if self._shared is not None:
            self._shared_call(self._shared.set, self._shared_key(key), packed)

    @staticmethod
    def _shared_call(method: Any, *args: Any) -> Any:
        """A shared-cache read or write; on a busy or broken file, None (a miss, or an
        answer not shared): a cache never fails a request."""
        try:
            return method(*args)
        except (diskcache.Timeout, sqlite3.Error, OSError) as exc:
            log.warning("shared result cache skipped: %s", exc)
            return None

    def _remember(self, key: Any, packed: bytes) -> None:
        with self._lock:
            self._items[key] = packed
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def close(self) -> None:
        """Close the shared cache's files (the answers stay for the other workers)."""
        if self._shared is not None:
            self._shared.close()


def rank_rows(rows: list[dict[str, Any]], ranker: Ranker) -> list[dict[str, Any]]:
    """Candidate rows (with ``features``) scored by the ranker, best first; ties by
    embedding similarity, then id, so a ranking never depends on row order."""
    if not rows:
        return []
    scores = ranker.score(np.asarray([r["features"] for r in rows], dtype=np.float64))
    scored = [{**r, "score": float(s)} for r, s in zip(rows, scores, strict=True)]
    scored.sort(key=lambda r: (-r["score"], -r["sim"], r["id"]))
    return scored


class ListFilter:
    """What may still join a list: no version of a seed or of a listed song, and at most
    ``max_per_artist`` songs by one artist (0: no cap)."""

    def __init__(self, seeds: Sequence[dict[str, Any]], max_per_artist: int) -> None:
        self.max_per_artist = max_per_artist
        self.taken: set[tuple[str, str]] = set()
        for s in seeds:
            self.taken |= version_keys(s.get("artists") or [], s.get("title"))
        self.per_artist: dict[str, int] = {}

    def allows(self, row: dict[str, Any]) -> bool:
        """Whether the candidate ``row`` (``title``, ``artists``) may join the list."""
        if version_keys(row.get("artists") or [], row.get("title")) & self.taken:
            return False
        if self.max_per_artist:
            return all(self.per_artist.get(a, 0) < self.max_per_artist
                       for a in row.get("artists") or [])
        return True

    def add(self, row: dict[str, Any]) -> None:
        """Record that ``row`` joined the list."""
        self.taken |= version_keys(row.get("artists") or [], row.get("title"))
        for a in row.get("artists") or []:
            self.per_artist[a] = self.per_artist.get(a, 0) + 1


def _attach_paths(tx: neo4j.ManagedTransaction, seeds: list[str], ranked: list[dict[str, Any]],
                  k: int, listed: ListFilter) -> list[Recommendation]:
    """Explain the ranked candidates that ``listed`` allows, in order, until ``k`` have a
    path; drop the rest."""
    out: list[Recommendation] = []
    start = 0
    while len(out) < k and start < len(ranked):
        # One batch: the k still needed (usually all explained at the first try). Only
        # allowed candidates are explained; whether a later one is allowed depends on
        # which earlier ones had a path, so each batch is checked again when added.
        chunk: list[dict[str, Any]] = []
        while start < len(ranked) and len(chunk) < k - len(out):
            if listed.allows(ranked[start]):
                chunk.append(ranked[start])
            start += 1
        if not chunk:
            break
        ids = [r["id"] for r in chunk]
        paths = {p["id"]: p for p in _rows(tx.run(cypher.load("recommend/paths"), seeds=seeds,
                                                   ids=ids))}
        for row in chunk:
            found = paths.get(row["id"])
            if found is None or not listed.allows(row) or len(out) == k:
                continue
            listed.add(row)
            path = {**clean_path(found), "kind": found["kind"]}
            # With several seeds the reason names the one the path starts from.
            seed_title = (path["nodes"][0]["name"] or "") if len(seeds) > 1 else None
            out.append(Recommendation(
                song=song_summary(row), score=float(row["score"]), similarity=float(row["sim"]),
                reason=reason_for(path, found["kind"], seed_title=seed_title), path=path))
    return out


def _rows(result: neo4j.Result) -> list[dict[str, Any]]:
    """A result's records as plain dicts of the values the driver decoded.

    Unlike ``Result.data()``, which walks every nested value to convert graph types, this
    only copies: these queries return strings, numbers, lists and maps, and the walk cost
    the client more time than the server spent on the query.
    """
    return [dict(record.items()) for record in result]


def _read(db: Database, work: Any) -> Any:
    """Run ``work`` in a read transaction; a missing vector index is a 503, not a 500."""
    try:
        return db.read_tx(work)
    except ClientError as exc:
        # Only the vector index's own absence is a 503; any other client error is a bug
        # and stays a 500 (a message merely mentioning "index" is not enough).
        if VECTOR_INDEX in (exc.message or ""):
            raise DatabaseUnavailableError(
                f"the {VECTOR_INDEX} vector index is missing: run `musicgraph train`",
                exc.message) from exc
        raise


# --- paths and reasons ------------------------------------------------------------------
def clean_path(row: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The API's path shape: nodes ``{key, label, name}``, relationships ``{type[, score]}``."""
    rels = []
    for r in row["relationships"]:
        rel: dict[str, Any] = {"type": r["type"]}
        if r["type"] == "SIMILAR" and r.get("score") is not None:
            rel["score"] = round(float(r["score"]), 6)
        rels.append(rel)
    return {"nodes": [dict(n) for n in row["nodes"]], "relationships": rels}


#: The kinds of explanation path, best first (``recommend/paths`` returns one per row).
PATH_KINDS = ("artist", "album", "similar", "playlist", "artist_on_playlist", "subgenre",
              "genre", "shortest")


def path_kind(path: dict[str, list[dict[str, Any]]]) -> str:
    """The kind of a path found by other means than ``recommend/paths`` (explain's
    shortest paths): the same names, read off its shape."""
    middle = [n["label"] for n in path["nodes"][1:-1]]
    types = {r["type"] for r in path["relationships"]}
    if types == {"SIMILAR"}:
        return "similar"
    by_label = {"Artist": "artist", "Album": "album", "Playlist": "playlist"}
    if len(middle) == 1 and middle[0] in by_label:
        return by_label[middle[0]]
    if len(middle) == 1 and middle[0] == "Genre":
        return "genre"
    if middle == ["Playlist", "Song", "Artist"]:
        return "artist_on_playlist"
    return "shortest"


def reason_for(path: dict[str, list[dict[str, Any]]], kind: str,
               seed_title: str | None = None) -> str:
    """One line a person understands, written from the kind of the path and its nodes.

    Examples: "Also by Drake" (artist), "From the same album 'Scorpion'" (album), "Sounds
    alike (92% similar)" or "Sounds alike (81% similar), 2 hops" (similar), "On the same
    playlist 'Pop Hits'" (playlist), "By Drake, also on the playlist 'Pop Hits'"
    (artist_on_playlist), "Also in the subgenre 'dance pop'" (subgenre, genre). With
    several seeds, "like '<seed title>'" is added.
    """
    nodes, rels = path["nodes"], path["relationships"]
    middle = nodes[1:-1]
    if kind == "similar":
        product = 1.0
        for r in rels:
            product *= float(r.get("score", 1.0))
        text = f"Sounds alike ({round(100 * product)}% similar)"
        if len(rels) > 1:
            text += f", {len(rels)} hops"
    elif kind == "artist":
        text = f"Also by {middle[0]['name']}"
    elif kind == "album":
        text = f"From the same album '{middle[0]['name']}'"
    elif kind == "playlist":
        text = f"On the same playlist '{middle[0]['name']}'"
    elif kind in ("subgenre", "genre"):
        text = f"Also in the {kind} '{middle[0]['name']}'"
    elif kind == "artist_on_playlist":
        text = f"By {middle[2]['name']}, also on the playlist '{middle[0]['name']}'"
    else:
        via = [f"{n['label'].lower()} '{n['name']}'" for n in middle if n["label"] != "Song"]
        songs = sum(1 for n in middle if n["label"] == "Song")
        text = f"Connected in {len(rels)} hops"
        if via:
            text += " via " + ", ".join(via[:2])
        if songs:
            text += f" and {songs} other song{'s' if songs > 1 else ''}"
    if seed_title:
        text += f" (like '{seed_title}')"
    return text


def explain(db: Database, a: str, b: str) -> dict[str, Any]:
    """The shortest real paths (at most 6 hops, at most EXPLAIN_PATHS) between two songs.

    The first path is the most informative one (as for a recommendation, when one of at
    most 4 hops exists), then the shortest paths over all relationship types.

    Raises:
        InputError: the two ids are the same or empty. NotFoundError: unknown id.
    """
    a, b = (a or "").strip(), (b or "").strip()
    if not a or not b:
        raise InputError("give two song ids: from and to")
    songs = songs_by_id(db, [a, b])  # an unknown id is a 404 before a repeated one is a 400
    if a == b:
        raise InputError("from and to are the same song")

    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        best = _rows(tx.run(cypher.load("recommend/paths"), seeds=[a], ids=[b]))
        # "from" is a Python keyword: pass the parameters as a mapping.
        rest = _rows(tx.run(cypher.load("app/explain"),
                            {"from": a, "to": b, "limit": EXPLAIN_PATHS}))
        return best + rest

    paths: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for row in db.read_tx(work):
        path = clean_path(row)
        key = tuple((n["label"], n["key"]) for n in path["nodes"]) + tuple(
            r["type"] for r in path["relationships"])
        if key in seen:
            continue
        seen.add(key)
        kind = row.get("kind") or path_kind(path)
        paths.append({**path, "kind": kind, "reason": reason_for(path, kind),
                      "hops": len(path["relationships"])})
    return {"from": {k: v for k, v in songs[0].items() if k != "embedded"},
            "to": {k: v for k, v in songs[1].items() if k != "embedded"},
            "paths": paths[:EXPLAIN_PATHS]}


def health(db: Database) -> dict[str, Any]:
    """Database and index status; raises DatabaseUnavailableError when not ready.

    Raises:
        DatabaseUnavailableError: Neo4j can't be reached, the vector index is missing or
            not ONLINE, or no song has an embedding.
    """
    db.verify()  # fails at once when the server is down, without the driver's retries
    indexes = {r["name"]: r for r in db.read("app/health_indexes",
                                                 names=[VECTOR_INDEX, SEARCH_INDEX])}
    counts = db.read("app/health_counts")[0]
    states = {name: (indexes[name]["state"] if name in indexes else "MISSING")
              for name in (VECTOR_INDEX, SEARCH_INDEX)}
    status: dict[str, Any] = {
        "database": {"uri": db.settings.uri, "name": db.database, "songs": counts["songs"]},
        "indexes": states,
        "embeddings": bool(counts["embedded"]),
    }
    problems = [f"index {n} is {s}" for n, s in states.items() if s != "ONLINE"]
    if not status["embeddings"]:
        problems.append("no song has an embedding (run `musicgraph train`)")
    if problems:
        raise NotReadyError("the database is up but not ready: " + "; ".join(problems), status)
    return {"status": "ok", **status}
