"""The numpy methods every graph method is compared with, and the ranking helpers.

A scorer maps a block of queries (seed rows of a sparse ``[q, N]`` matrix) and candidate
song indices ``[C]`` to scores ``[q, C]``; :func:`rank` turns scores into top-k positions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from evaluation.split import Split
from musicgraph.errors import EvaluationError
from musicgraph.schema import AUDIO_FEATURES

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


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``[Q, C]`` scores → ``[Q, k]`` column positions, best first (``-inf``: never)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    out = np.take_along_axis(part, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(scores, out, axis=1)), out, -1)

