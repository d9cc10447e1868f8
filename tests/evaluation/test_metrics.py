"""The metrics match hand computations; bootstrap intervals cover, shrink and pair."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import metrics
from evaluation.split import Split
from evaluation.tasks import playlist_task
from musicgraph.errors import EvaluationError


def test_metrics_match_hand_computation():
    relevant = np.array([[True, False, True, False, False],
                         [False, False, False, False, True]])
    topk = np.array([[2, 1, 3], [0, 4, -1]])
    # Query 0: one of its two targets in the top 2 (rank 1); query 1: its target at rank 2.
    assert metrics.recall_at_k(topk, relevant, 2) == pytest.approx((1 / 2 + 1 / 1) / 2)
    assert metrics.recall_at_k(topk, relevant, 1) == pytest.approx((1 / 2 + 0) / 2)
    ndcg0 = 1.0 / (1.0 + 1 / np.log2(3))  # hit at rank 1, ideal: ranks 1 and 2
    ndcg1 = (1 / np.log2(3)) / 1.0  # hit at rank 2, ideal: rank 1
    assert metrics.ndcg_at_k(topk, relevant, 2) == pytest.approx((ndcg0 + ndcg1) / 2)
    assert metrics.hit_rate_at_k(topk, relevant, 1) == pytest.approx(0.5)
    assert metrics.hit_rate_at_k(topk, relevant, 3) == pytest.approx(1.0)
    # -1 pads never count, even though column 0 is relevant for query 0.
    assert metrics.hit_rate_at_k(np.array([[-1, -1]]), relevant[:1], 2) == 0.0
    with pytest.raises(EvaluationError):
        metrics.recall_at_k(topk, np.zeros_like(relevant), 2)


def test_bootstrap_intervals_cover_the_mean_shrink_with_data_and_pair_methods():
    rng = np.random.default_rng(0)
    small = rng.random(50) < 0.3
    large = rng.random(5000) < 0.3
    lo, hi = metrics.bootstrap_ci(small.astype(float), seed=1)
    assert lo < small.mean() < hi
    lo2, hi2 = metrics.bootstrap_ci(large.astype(float), seed=1)
    assert lo2 < large.mean() < hi2 and (hi2 - lo2) < (hi - lo) / 5
    # The same seed gives the same interval: reports are reproducible.
    assert metrics.bootstrap_ci(small.astype(float), seed=1) == (lo, hi)
    # Paired: a method against itself is a ratio of exactly 1 in every resample.
    x = rng.random(200)
    assert metrics.bootstrap_ratio_ci(x, x, seed=3) == pytest.approx((1.0, 1.0))
    # Twice the other method on every query: exactly 2, whatever the resample.
    assert metrics.bootstrap_ratio_ci(2 * x, x, seed=3) == pytest.approx((2.0, 2.0))
    with pytest.raises(EvaluationError):
        metrics.bootstrap_ratio_ci(x, x[:-1], seed=3)


def test_leak_alarm_separates_found_hidden_songs_from_other_cold_songs(split: Split):
    task = playlist_task(split, seed=7)
    cold = [int(c) for c in split.pool]
    warm = [i for i in range(split.num_songs) if i not in set(cold)]
    topk = np.full((task.num_queries, 4), -1)
    # Query 0: one of its hidden songs, one other cold song (not its target), two warm songs.
    target = cold[int(np.flatnonzero(task.relevant[0])[0])]
    other = next(c for p, c in enumerate(cold) if not task.relevant[0, p])
    topk[0] = [target, other, warm[0], warm[1]]
    leak = metrics.leak_shares(topk[:1], split.pool_positions(), task.relevant[:1])
    assert leak == {"cold_share_top10_whole": 0.5, "hidden_share_top10_whole": 0.25,
                    "other_cold_share_top10_whole": 0.25}
    # Empty slots (-1) are not counted.
    topk2 = np.array([[target, -1, -1, -1]])
    leak2 = metrics.leak_shares(topk2, split.pool_positions(), task.relevant[:1])
    assert leak2["cold_share_top10_whole"] == 1.0 and leak2["hidden_share_top10_whole"] == 1.0
