"""Ranking metrics and their bootstrap intervals: pure functions that return values.

Every function reads ``[Q, k]`` top-k arrays of candidate positions (``-1`` for an empty
slot) and a ``[Q, C]`` boolean relevance matrix; nothing here knows about Neo4j, models
or files.
"""

from __future__ import annotations

import numpy as np

from musicgraph.errors import EvaluationError

#: Per-query values of each metric, by metric name (``{"recall@10": [Q] array, ...}``).
PerQuery = dict[str, np.ndarray]


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



def leak_shares(topk: np.ndarray, pool_positions: np.ndarray,
                relevant: np.ndarray) -> dict[str, float]:
    """The leak alarm of whole-catalogue top-k lists (filled slots only), split in two.

    Args:
        topk: ``[Q, k]`` song indices over the whole catalogue, ``-1`` for an empty slot.
        pool_positions: ``[N]`` each song's column in the cold pool, ``-1`` outside it.
        relevant: ``[Q, C]`` the queries' hidden targets among the pool's ``C`` songs.

    Returns:
        ``cold_share_top10_whole``: the share of cold-pool songs.
        ``hidden_share_top10_whole``: the share that are the query's own hidden songs
        (found, not guessed: ranking them is the task). ``other_cold_share_top10_whole``:
        the rest of the cold share; a method that learnt "no playlist, so probably hidden"
        shows it here, above the pool's share of the catalogue, which is what chance gives.
    """
    filled = topk >= 0
    col = pool_positions[np.where(filled, topk, 0)]
    cold = filled & (col >= 0)
    rows = np.broadcast_to(np.arange(len(topk))[:, None], topk.shape)
    hidden = cold & relevant[rows, np.where(cold, col, 0)]
    n = max(int(filled.sum()), 1)
    return {"cold_share_top10_whole": float(cold.sum() / n),
            "hidden_share_top10_whole": float(hidden.sum() / n),
            "other_cold_share_top10_whole": float((cold & ~hidden).sum() / n)}
