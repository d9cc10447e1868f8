"""Offline evaluation building blocks without a database: split, tasks, metrics, baselines.

The split works on the CSV rows, because one row is one (song, playlist) membership and
carries the playlist's genre and subgenre. Hiding a membership blanks the playlist and
genre cells of its row(s): the song row itself stays (catalogue data, as for a newly
released song), and a genre the song also has through a visible playlist survives through
that other row. Loading the result with the real ETL therefore gives exactly the graph a
method may see.

Everything here is vectorised over queries: a query is a row of a sparse 0/1 matrix over
songs (its seeds), a method scores a block of queries against candidate columns, and the
metrics read the resulting ``[Q, k]`` top-k arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from etl.features import AUDIO_FEATURES
from musicgraph.errors import MusicGraphError

#: CSV cells that come with a playlist membership (hidden with it).
MEMBERSHIP_COLUMNS = ("playlist_name", "playlist_id", "playlist_genre", "playlist_subgenre")
#: The served API takes at most this many seeds (app.recommend.MAX_SEEDS); every method
#: gets the same (seeded) sample when a playlist has more visible songs.
MAX_SEEDS = 100


class EvaluationError(MusicGraphError):
    """The evaluation can't run or produced something inconsistent."""

    exit_code = 6


# --- split ------------------------------------------------------------------------------
@dataclass
class Split:
    """One seeded split of the memberships, with the catalogue of every song.

    Attributes:
        train_rows: the CSV rows with hidden memberships' playlist and genre cells blanked.
        song_ids: every song id, sorted; a song's index is its position here.
        visible: ``[P, N]`` 0/1 CSR matrix, playlist × song, visible memberships.
        hidden: ``[P, N]`` 0/1 CSR matrix, hidden memberships.
        playlist_ids: playlist ids, rows of ``visible``/``hidden``.
        pool: indices of the cold songs (no visible membership), sorted.
        catalog: one row per song (index aligned with ``song_ids``): artist, album_id,
            popularity, year and the audio features.
    """

    train_rows: pd.DataFrame
    song_ids: list[str]
    visible: sp.csr_matrix
    hidden: sp.csr_matrix
    playlist_ids: list[str]
    pool: np.ndarray
    catalog: pd.DataFrame

    @property
    def num_songs(self) -> int:
        return len(self.song_ids)

    def pool_positions(self) -> np.ndarray:
        """``[N]``: each song's column in the pool, ``-1`` for songs outside it."""
        pos = np.full(self.num_songs, -1)
        pos[self.pool] = np.arange(len(self.pool))
        return pos


def read_rows(csv_path: Path) -> pd.DataFrame:
    """The CSV as strings, exactly as written (so the training copy round-trips).

    Raises:
        EvaluationError: the file lacks a column the split needs.
    """
    rows = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    missing = {"track_id", *MEMBERSHIP_COLUMNS, "track_artist", "track_album_id",
               "track_popularity", "track_album_release_date", *AUDIO_FEATURES} - set(rows)
    if missing:
        raise EvaluationError(f"{csv_path} lacks the columns {sorted(missing)}")
    if (rows["playlist_id"] == "").any():
        raise EvaluationError(f"{csv_path} has rows without a playlist_id: "
                              "the split needs every row to be a membership")
    return rows


def split_rows(rows: pd.DataFrame, seed: int, hide_fraction: float = 0.2) -> Split:
    """Hide ``hide_fraction`` of the distinct (song, playlist) memberships at random.

    Args:
        rows: the CSV rows (:func:`read_rows`).
        seed: seeds the choice of hidden memberships.
        hide_fraction: share of memberships hidden, in (0, 1).

    Raises:
        EvaluationError: a fraction outside (0, 1).
    """
    if not 0 < hide_fraction < 1:
        raise EvaluationError(f"hide_fraction must lie in (0, 1), got {hide_fraction}")
    pairs = (rows[["track_id", "playlist_id"]].drop_duplicates()
             .sort_values(["track_id", "playlist_id"]).reset_index(drop=True))
    rng = np.random.default_rng(seed)
    n_hide = int(round(len(pairs) * hide_fraction))
    is_hidden = np.zeros(len(pairs), dtype=bool)
    is_hidden[rng.permutation(len(pairs))[:n_hide]] = True
    hidden_keys = set(zip(pairs["track_id"][is_hidden], pairs["playlist_id"][is_hidden],
                          strict=True))

    row_hidden = np.fromiter(
        ((t, p) in hidden_keys for t, p in zip(rows["track_id"], rows["playlist_id"],
                                               strict=True)),
        dtype=bool, count=len(rows))
    train_rows = rows.copy()
    # Blank, don't drop: the song keeps its catalogue data even when every membership
    # it had is hidden; blank cells make the ETL create no playlist or genre link.
    train_rows.loc[row_hidden, list(MEMBERSHIP_COLUMNS)] = ""

    song_ids = sorted(rows["track_id"].unique())
    song_index = {s: i for i, s in enumerate(song_ids)}
    playlist_ids = sorted(rows["playlist_id"].unique())
    pl_index = {p: i for i, p in enumerate(playlist_ids)}
    pi = pairs["playlist_id"].map(pl_index).to_numpy()
    si = pairs["track_id"].map(song_index).to_numpy()
    shape = (len(playlist_ids), len(song_ids))

    def matrix(sel: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(int(sel.sum()), dtype=np.float32), (pi[sel], si[sel])),
                             shape=shape)

    visible, hidden = matrix(~is_hidden), matrix(is_hidden)
    pool = np.flatnonzero(np.asarray(visible.sum(axis=0)).ravel() == 0)
    return Split(train_rows=train_rows, song_ids=song_ids, visible=visible, hidden=hidden,
                 playlist_ids=playlist_ids, pool=pool, catalog=_catalog(rows, song_ids))


def _catalog(rows: pd.DataFrame, song_ids: list[str]) -> pd.DataFrame:
    """Per-song catalogue data (the first row of each song; it is the same in every row)."""
    first = rows.drop_duplicates("track_id").set_index("track_id").loc[song_ids]
    out = pd.DataFrame({
        "artist": first["track_artist"].str.strip().str.lower().to_numpy(),
        "album_id": first["track_album_id"].to_numpy(),
        "popularity": pd.to_numeric(first["track_popularity"], errors="coerce").to_numpy(),
        "year": pd.to_numeric(first["track_album_release_date"].str[:4],
                              errors="coerce").to_numpy(),
    })
    for f in AUDIO_FEATURES:
        out[f] = pd.to_numeric(first[f], errors="coerce").to_numpy()
    return out


# --- tasks ------------------------------------------------------------------------------
@dataclass
class Task:
    """Queries against the cold pool.

    Attributes:
        name: ``"playlist"`` (task 1) or ``"song"`` (task 2).
        seeds: ``[Q, N]`` 0/1 CSR matrix, the seed songs of each query.
        relevant: ``[Q, C]`` bool, the hidden targets of each query among the pool's
            ``C`` songs (pool order).
        labels: one label per query (playlist id, or "playlist/song").
    """

    name: str
    seeds: sp.csr_matrix
    relevant: np.ndarray
    labels: list[str]

    @property
    def num_queries(self) -> int:
        return self.seeds.shape[0]


def playlist_task(split: Split, seed: int) -> Task:
    """Task 1: each playlist with visible seeds and hidden songs in the pool.

    A playlist with more than :data:`MAX_SEEDS` visible songs gets a seeded sample of
    them (the served API's limit), the same for every method.
    """
    rng = np.random.default_rng(seed + 1)
    pool_pos = split.pool_positions()
    rows: list[int] = []
    cols: list[int] = []
    rel: list[np.ndarray] = []
    labels: list[str] = []
    for p in range(len(split.playlist_ids)):
        seeds = split.visible.indices[split.visible.indptr[p]:split.visible.indptr[p + 1]]
        targets = split.hidden.indices[split.hidden.indptr[p]:split.hidden.indptr[p + 1]]
        targets = pool_pos[targets]
        targets = targets[targets >= 0]
        if len(seeds) == 0 or len(targets) == 0:
            continue
        if len(seeds) > MAX_SEEDS:
            seeds = np.sort(rng.choice(seeds, MAX_SEEDS, replace=False))
        q = len(labels)
        rows.extend([q] * len(seeds))
        cols.extend(int(c) for c in seeds)
        rel.append(targets)
        labels.append(split.playlist_ids[p])
    return _task("playlist", split, rows, cols, rel, labels)


def song_task(split: Split, seed: int) -> Task:
    """Task 2: each hidden membership (s, p) with s in the pool, queried by one visible
    song of p (seeded choice); memberships of playlists with no visible song are skipped."""
    rng = np.random.default_rng(seed + 2)
    pool_pos = split.pool_positions()
    hidden = split.hidden.tocoo()
    order = np.lexsort((hidden.col, hidden.row))
    rows: list[int] = []
    cols: list[int] = []
    rel: list[np.ndarray] = []
    labels: list[str] = []
    for p, s in zip(hidden.row[order], hidden.col[order], strict=True):
        if pool_pos[s] < 0:
            continue
        visible = split.visible.indices[split.visible.indptr[p]:split.visible.indptr[p + 1]]
        if len(visible) == 0:
            continue
        q = len(labels)
        rows.append(q)
        cols.append(int(rng.choice(visible)))
        rel.append(np.array([pool_pos[s]]))
        labels.append(f"{split.playlist_ids[p]}/{split.song_ids[s]}")
    return _task("song", split, rows, cols, rel, labels)


def _task(name: str, split: Split, rows: list[int], cols: list[int], rel: list[np.ndarray],
          labels: list[str]) -> Task:
    if not labels:
        raise EvaluationError(f"task {name!r} has no queries: the split hid nothing usable")
    seeds = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(len(labels), split.num_songs))
    relevant = np.zeros((len(labels), len(split.pool)), dtype=bool)
    for q, targets in enumerate(rel):
        relevant[q, targets] = True
    return Task(name=name, seeds=seeds, relevant=relevant, labels=labels)


# --- metrics ----------------------------------------------------------------------------
def _hits(topk: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """``[Q, k]`` bool: whether each ranked item is relevant (``-1`` pads count as misses)."""
    safe = np.where(topk >= 0, topk, 0)
    return relevant[np.arange(len(topk))[:, None], safe] & (topk >= 0)


def recall_per_query(topk: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """``[Q]``: (relevant items in the top k) / (relevant items), for each query.

    Args:
        topk: ``[Q, >=k]`` ranked candidate positions, ``-1`` for an empty slot.
        relevant: ``[Q, C]`` bool; every query has at least one relevant item.
    """
    n_rel = relevant.sum(axis=1)
    if (n_rel == 0).any():
        raise EvaluationError("a query has no relevant item")
    return _hits(topk[:, :k], relevant).sum(axis=1) / n_rel


def ndcg_per_query(topk: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """``[Q]``: NDCG@k with binary gains, DCG / the DCG of a perfect ranking of the targets."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (_hits(topk[:, :k], relevant) * discount[: topk[:, :k].shape[1]]).sum(axis=1)
    n_ideal = np.minimum(relevant.sum(axis=1), k)
    if (n_ideal == 0).any():
        raise EvaluationError("a query has no relevant item")
    ideal = np.cumsum(discount)[n_ideal - 1]
    return np.asarray(dcg / ideal, dtype=np.float64)


def hit_per_query(topk: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """``[Q]``: 1.0 where a relevant item is in the top k, else 0.0."""
    return np.asarray(_hits(topk[:, :k], relevant).any(axis=1), dtype=np.float64)


def recall_at_k(topk: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Mean over queries of (relevant items in the top k) / (relevant items)."""
    return float(recall_per_query(topk, relevant, k).mean())


def ndcg_at_k(topk: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Mean NDCG@k with binary gains."""
    return float(ndcg_per_query(topk, relevant, k).mean())


def hit_rate_at_k(topk: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Share of queries with at least one relevant item in the top k."""
    return float(hit_per_query(topk, relevant, k).mean())


#: Bootstrap resamples for the confidence intervals.
BOOTSTRAP = 2000


def bootstrap_ci(values: np.ndarray, seed: int, level: float = 0.95,
                 resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-query ``values`` (queries resampled
    with replacement): how much the mean would move on another draw of queries like these.

    The same ``seed`` resamples the same queries for every method, so intervals of two
    methods on one task come from paired draws.
    """
    idx = np.random.default_rng(seed).integers(0, len(values), (resamples, len(values)))
    means = np.asarray(values, dtype=np.float64)[idx].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def bootstrap_ratio_ci(num: np.ndarray, den: np.ndarray, seed: int, level: float = 0.95,
                       resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """Paired percentile bootstrap interval of mean(num) / mean(den) over the same queries."""
    if len(num) != len(den):
        raise EvaluationError("a paired interval needs the same queries for both methods")
    idx = np.random.default_rng(seed).integers(0, len(num), (resamples, len(num)))
    ratios = (np.asarray(num, dtype=np.float64)[idx].mean(axis=1)
              / np.maximum(np.asarray(den, dtype=np.float64)[idx].mean(axis=1), 1e-12))
    tail = (1.0 - level) / 2 * 100
    return float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``[Q, C]`` scores → ``[Q, k]`` column positions, best first (``-inf``: never)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    out = np.take_along_axis(part, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(scores, out, axis=1)), out, -1)


# --- baselines ----------------------------------------------------------------------------
#: A scorer: (seed rows ``[q, N]``, candidate song indices ``[C]``) → scores ``[q, C]``.
Scorer = Callable[[sp.csr_matrix, np.ndarray], np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 1e-12, norm, 1.0)


def _mean_cosine(vectors: np.ndarray) -> Scorer:
    """Cosine between each candidate and the mean of the seeds' unit vectors."""
    unit = _unit(np.asarray(vectors, dtype=np.float64)).astype(np.float32)

    def score(seeds: sp.csr_matrix, cand: np.ndarray) -> np.ndarray:
        query = _unit(np.asarray(seeds @ unit))
        return (query @ unit[cand].T).astype(np.float64)

    return score


def audio_vectors(catalog: pd.DataFrame) -> np.ndarray:
    """Standardised audio features (catalogue data, known for every song)."""
    x = catalog[list(AUDIO_FEATURES)].to_numpy(dtype=np.float64)
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)


def _indicator(values: pd.Series) -> sp.csr_matrix:
    """``[N, V]`` one-hot of a categorical column (empty values get no column)."""
    codes, _ = pd.factorize(values.replace("", np.nan))
    ok = codes >= 0
    return sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32),
                          (np.flatnonzero(ok), codes[ok])), shape=(len(values), codes.max() + 1))


def make_baselines(split: Split, seed: int) -> dict[str, Scorer]:
    """The numpy baselines, all on ``split``'s visible data and the catalogue.

    - ``random``: seeded uniform scores.
    - ``popularity``: catalogue popularity.
    - ``audio_cosine``: cosine to the mean of the seeds' standardised audio vectors.
    - ``metadata``: number of (seed, shared artist) plus (seed, shared album) matches
      first, then audio cosine: songs by the seeds' artists or from their albums first.
    - ``cooccurrence``: item-item co-occurrence over visible playlists, summed over
      seeds; ties (all cold songs score 0: they are in no visible playlist) are broken by
      popularity.
    """
    rng = np.random.default_rng(seed + 3)
    audio = _mean_cosine(audio_vectors(split.catalog))
    pop = np.nan_to_num(split.catalog["popularity"].to_numpy(np.float64), nan=0.0) / 100.0
    artist = _indicator(split.catalog["artist"])
    album = _indicator(split.catalog["album_id"])
    visible = split.visible

    def random(seeds: sp.csr_matrix, cand: np.ndarray) -> np.ndarray:
        return rng.random((seeds.shape[0], len(cand)))

    def popularity(seeds: sp.csr_matrix, cand: np.ndarray) -> np.ndarray:
        return np.broadcast_to(pop[cand], (seeds.shape[0], len(cand))).copy()

    def metadata(seeds: sp.csr_matrix, cand: np.ndarray) -> np.ndarray:
        matches = ((seeds @ artist) @ artist[cand].T + (seeds @ album) @ album[cand].T)
        # cosine in [-1, 1] → [0, 0.999]: never outranks one more match.
        return np.asarray(matches.todense()) + 0.4995 * (audio(seeds, cand) + 1.0)

    def cooccurrence(seeds: sp.csr_matrix, cand: np.ndarray) -> np.ndarray:
        co = (seeds @ visible.T) @ visible[:, cand]
        return np.asarray(co.todense()) + 0.999 * pop[cand]

    return {"random": random, "popularity": popularity, "audio_cosine": audio,
            "metadata": metadata, "cooccurrence": cooccurrence}


def embedding_scorer(song_ids: list[str], ids: list[str], vectors: np.ndarray) -> Scorer:
    """Mean-of-seeds cosine over learned embeddings ``vectors`` (rows in ``ids`` order).

    Raises:
        EvaluationError: a song of the catalogue has no embedding.
    """
    pos = {s: i for i, s in enumerate(ids)}
    missing = [s for s in song_ids if s not in pos]
    if missing:
        raise EvaluationError(f"{len(missing)} songs have no embedding", ", ".join(missing[:5]))
    return _mean_cosine(np.asarray(vectors)[[pos[s] for s in song_ids]])


def rank(scorer: Scorer, seeds: sp.csr_matrix, cand: np.ndarray, k: int,
         block: int = 512) -> np.ndarray:
    """Top-``k`` candidate positions per query, seeds excluded, in blocks of queries."""
    out = []
    cand_pos = np.full(seeds.shape[1], -1)
    cand_pos[cand] = np.arange(len(cand))
    for start in range(0, seeds.shape[0], block):
        rows = seeds[start:start + block]
        scores = np.array(scorer(rows, cand), dtype=np.float64)
        # A method never recommends one of its own seeds back.
        coo = rows.tocoo()
        inside = cand_pos[coo.col] >= 0
        scores[coo.row[inside], cand_pos[coo.col[inside]]] = -np.inf
        out.append(top_k(scores, k))
    return np.concatenate(out)
