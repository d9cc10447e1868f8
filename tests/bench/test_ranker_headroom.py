"""The ranker headroom diagnostic (bench.ranker_headroom): its metric is the evaluation's,
and its fits do learn from the answers they are given. No Neo4j: synthetic candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.ranker_headroom import Examples, headroom, main, recall_at_k
from evaluation import metrics
from gnn.ranker import fit_pairwise
from musicgraph.errors import ModelError
from musicgraph.ranking import FEATURE_NAMES, Ranker


def _examples(n_queries: int = 40, n_cands: int = 30, n_targets: int = 4,
              seed: int = 0) -> Examples:
    """Queries whose targets are marked by the second feature (plus noise), while the
    first (the embedding similarity) is noise: a fit on the answers must find the second.
    Each query also has one target outside its candidates."""
    rng = np.random.default_rng(seed)
    pool = n_cands + 1
    feats, labels, cols = [], [], []
    relevant = np.zeros((n_queries, pool), dtype=bool)
    for q in range(n_queries):
        col = rng.permutation(pool)[:n_cands]          # one pool song is not a candidate
        missed = np.setdiff1d(np.arange(pool), col)
        targets = col[:n_targets]
        relevant[q, targets] = True
        relevant[q, missed] = True
        y = np.isin(col, targets).astype(np.int8)
        x = rng.normal(size=(n_cands, len(FEATURE_NAMES)))
        x[:, 1] += 3.0 * y
        feats.append(x)
        labels.append(y)
        cols.append(col)
    return Examples(features=np.concatenate(feats), labels=labels, pool_positions=cols,
                    relevant=relevant)


def test_recall_is_the_evaluations_and_counts_targets_the_candidates_miss() -> None:
    ex = _examples(n_queries=5)
    scores = ex.features[:, 1]
    starts = ex.starts
    top = np.stack([ex.pool_positions[q][np.argsort(-scores[starts[q]:starts[q + 1]],
                                                    kind="stable")[:10]]
                    for q in range(5)])
    assert recall_at_k(ex, scores) == pytest.approx(metrics.recall_at_k(top, ex.relevant, 10))
    # Four of each query's five targets are candidates: no ordering reaches more than 4/5.
    assert recall_at_k(ex, np.concatenate(ex.labels).astype(float)) == pytest.approx(0.8)


def test_fits_on_the_answers_find_the_signal_the_embedding_lacks() -> None:
    ex = _examples()
    f = len(FEATURE_NAMES)
    saved = Ranker(feature_names=list(FEATURE_NAMES), mean=[0.0] * f, scale=[1.0] * f,
                   coef=[1.0] + [0.0] * (f - 1), intercept=0.0, model_version="m",
                   data_hash="h")
    out = headroom(ex, saved, folds=4, seed=1, pairs_per_positive=10)
    assert set(out) == {"emb_sim", "saved_ranker", "pairwise_in_sample", "pairwise_cv",
                        "boosting_cv"}
    # A ranker weighting only the embedding similarity orders as it does.
    assert out["saved_ranker"] == pytest.approx(out["emb_sim"])
    assert out["emb_sim"] < 0.5
    for name in ("pairwise_in_sample", "pairwise_cv", "boosting_cv"):
        assert 0.7 <= out[name] <= 0.8 + 1e-9, name


def test_the_pairwise_fit_refuses_queries_without_both_classes() -> None:
    z = np.zeros((4, 3))
    with pytest.raises(ModelError, match="both a positive and a negative"):
        fit_pairwise(z, [np.ones(2, dtype=np.int8), np.zeros(2, dtype=np.int8)],
                     np.arange(2), c=1.0, pairs_per_positive=5, seed=0)


def test_a_folder_without_an_evaluation_fails_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--eval-dir", str(tmp_path)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "evaluation.json") in err and "musicgraph evaluate" in err
