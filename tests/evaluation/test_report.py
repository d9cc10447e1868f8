"""The verdict against the targets and the Markdown table."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.report import markdown_table, verdict


def test_verdict_and_table():
    def m(r10: float, hit: float) -> dict:
        return {"label": "x", "playlist": {"recall@10": r10, "recall@50": 0.5, "ndcg@10": 0.1,
                                           "cold_share_top10_whole": 0.2},
                "song": {"hit@10": hit}}

    methods = {"metadata": m(0.25, 0.05), "served": m(0.31, 0.06)}
    v = verdict(methods)
    # The target is 1.4x the best baseline: 1.24x misses it.
    assert v["recall@10_ratio"] == pytest.approx(1.24) and not v["recall_target_met"]
    assert v["hit_target_met"] and v["best_other_recall@10"] == "metadata"
    # GraphSAGE alone is ours, not a baseline: the served ratio is against metadata even
    # when GraphSAGE scores higher; GraphSAGE alone must reach the best baseline.
    both = {**methods, "graphsage": m(0.28, 0.2), "served": m(0.36, 0.07)}
    vb = verdict(both)
    assert vb["best_other_recall@10"] == "metadata" and vb["recall_target_met"]
    assert vb["graphsage_recall@10_ratio"] == pytest.approx(1.12) and vb["graphsage_target_met"]
    assert vb["served_over_graphsage_recall@10"] == pytest.approx(0.36 / 0.28, abs=1e-4)
    assert "GraphSAGE alone Recall@10 / best baseline (metadata): 1.120×" in markdown_table(
        {"methods": both, "verdict": vb})
    table = markdown_table({"methods": methods, "verdict": v})
    assert "| 0.2500 |" in table and "1.240×" in table
    # With per-query values: paired intervals of the ratio and of the HitRate difference.
    rng = np.random.default_rng(0)
    base = rng.random(300) < 0.25
    per_query = {"metadata": {"playlist": {"recall@10": base.astype(float)},
                              "song": {"hit@10": base.astype(float)}},
                 "served": {"playlist": {"recall@10": 1.24 * base},
                            "song": {"hit@10": (base | (rng.random(300) < 0.1)).astype(float)}}}
    v = verdict(methods, per_query, seed=5)
    assert v["recall@10_ratio_ci95"] == pytest.approx([1.24, 1.24])
    lo, hi = v["hit@10_difference_ci95"]
    assert 0 < lo <= hi
    assert "95% interval 1.24–1.24×" in markdown_table({"methods": methods, "verdict": v})
