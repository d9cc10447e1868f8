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
    assert v["recall@10_ratio"] == pytest.approx(1.24) and v["recall_target_met"]
    assert v["hit_target_met"] and v["best_other_recall@10"] == "metadata"
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
