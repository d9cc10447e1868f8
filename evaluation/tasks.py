"""The two cold-start tasks built from a split.

A query is a row of a sparse 0/1 matrix over songs (its seeds); its targets are hidden
songs of the cold pool (songs with no visible membership), so every method ranks the
same candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from app.recommend import MAX_SEEDS
from evaluation.split import Split
from musicgraph.errors import EvaluationError


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

