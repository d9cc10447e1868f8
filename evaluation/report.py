"""The evaluation report: the verdict against the targets, Markdown tables, the chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from evaluation import metrics
from evaluation.metrics import PerQuery

#: Methods that are ours (the served ranking and its GraphSAGE component); the others are
#: the baselines the targets compare against.
OURS = ("graphsage", "served")
#: Served task-1 Recall@10 must reach this multiple of the best baseline's.
RECALL_TARGET = 1.4


def verdict(methods: dict[str, dict[str, Any]],
            per_query: dict[str, dict[str, PerQuery]] | None = None,
            seed: int = 0) -> dict[str, Any]:
    """The targets: served Recall@10 ≥ RECALL_TARGET× the best baseline's (task 1), served
    HitRate@10 above every baseline's (task 2); and GraphSAGE alone against the best
    baseline (it must reach it).

    With ``per_query``, also paired 95% bootstrap intervals (the same queries resampled
    for both methods): of the Recall@10 ratios, and of the HitRate@10 difference.
    """
    baselines = [m for m in methods if m not in OURS]
    best_r = max(baselines, key=lambda m: methods[m]["playlist"]["recall@10"])
    best_h = max(baselines, key=lambda m: methods[m]["song"]["hit@10"])
    served = methods["served"]
    base_r = max(methods[best_r]["playlist"]["recall@10"], 1e-12)
    ratio = served["playlist"]["recall@10"] / base_r
    out: dict[str, Any] = {
        "best_other_recall@10": best_r, "recall@10_ratio": round(ratio, 4),
        "recall_target": RECALL_TARGET, "recall_target_met": ratio >= RECALL_TARGET,
        "best_other_hit@10": best_h,
        "hit@10_difference": round(served["song"]["hit@10"] - methods[best_h]["song"]["hit@10"],
                                   4),
        "hit_target_met": served["song"]["hit@10"] > methods[best_h]["song"]["hit@10"]}
    if "graphsage" in methods:
        g = methods["graphsage"]["playlist"]["recall@10"] / base_r
        out["graphsage_recall@10_ratio"] = round(g, 4)
        out["graphsage_target_met"] = g >= 1.0
        out["served_over_graphsage_recall@10"] = round(
            served["playlist"]["recall@10"] / max(methods["graphsage"]["playlist"]["recall@10"],
                                                  1e-12), 4)
    if per_query is not None:
        out["recall@10_ratio_ci95"] = [round(x, 4) for x in metrics.bootstrap_ratio_ci(
            per_query["served"]["playlist"]["recall@10"],
            per_query[best_r]["playlist"]["recall@10"], seed)]
        if "graphsage" in per_query:
            out["graphsage_recall@10_ratio_ci95"] = [round(x, 4) for x in metrics.bootstrap_ratio_ci(
                per_query["graphsage"]["playlist"]["recall@10"],
                per_query[best_r]["playlist"]["recall@10"], seed)]
        out["hit@10_difference_ci95"] = [round(x, 4) for x in metrics.bootstrap_ci(
            per_query["served"]["song"]["hit@10"] - per_query[best_h]["song"]["hit@10"], seed)]
    return out


def _cell(values: dict[str, Any], name: str) -> str:
    ci = values.get("ci95", {}).get(name)
    return f"{values[name]:.4f}" + (f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else "")


def markdown_table(report: dict[str, Any]) -> str:
    """The results as Markdown: the metrics with 95% bootstrap intervals, then the leak
    alarm, one row per method."""
    lines = [
        "| method | task 1 Recall@10 | task 1 Recall@50 | task 1 NDCG@10 | task 2 HitRate@10 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, m in report["methods"].items():
        p, s = m["playlist"], m["song"]
        bold = "**" if name == "served" else ""
        lines.append(f"| {bold}{m['label']}{bold} | {_cell(p, 'recall@10')} "
                     f"| {_cell(p, 'recall@50')} | {_cell(p, 'ndcg@10')} "
                     f"| {_cell(s, 'hit@10')} |")
        if "song_uncapped" in m:
            lines.append(f"| {bold}{m['label']}, no per-artist cap on task 2{bold} | | | "
                         f"| {_cell(m['song_uncapped'], 'hit@10')} |")
    v = report["verdict"]
    lines.append("")
    ratio_ci = v.get("recall@10_ratio_ci95")
    diff_ci = v.get("hit@10_difference_ci95")
    g_ci = v.get("graphsage_recall@10_ratio_ci95")
    if "graphsage_recall@10_ratio" in v:
        lines.append(
            f"GraphSAGE alone Recall@10 / best baseline ({v['best_other_recall@10']}): "
            f"{v['graphsage_recall@10_ratio']:.3f}×"
            + (f" (95% interval {g_ci[0]:.2f}–{g_ci[1]:.2f}×)" if g_ci else "")
            + f"; target 1.0×: {'met' if v['graphsage_target_met'] else 'not met'}.")
        lines.append("")
    lines.append(
        f"Served Recall@10 / best baseline ({v['best_other_recall@10']}): "
        f"{v['recall@10_ratio']:.3f}×"
        + (f" (95% interval {ratio_ci[0]:.2f}–{ratio_ci[1]:.2f}×)" if ratio_ci else "")
        + f"; target {v.get('recall_target', 1.2)}×: "
        f"{'met' if v['recall_target_met'] else 'not met'}"
        + (f" (served / GraphSAGE alone: {v['served_over_graphsage_recall@10']:.3f}×)"
           if "served_over_graphsage_recall@10" in v else "") + ". "
        f"Task 2 HitRate@10 above every baseline: {'yes' if v['hit_target_met'] else 'no'}"
        f" (+{v.get('hit@10_difference', 0):.4f} over {v['best_other_hit@10']}"
        + (f", 95% interval {diff_ci[0]:+.4f} to {diff_ci[1]:+.4f}" if diff_ci else "")
        + ").")
    cold = report.get("protocol", {}).get("cold_fraction")
    lines += [
        "",
        "Leak alarm: share of cold-pool songs in each method's top-10 when it ranks the whole "
        "catalogue (task 1 queries)"
        + (f"; chance is the pool's share of the catalogue, {cold:.3f}" if cold else "") + ".",
        "",
        "| method | cold share | of which the query's hidden songs | other cold songs |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, m in report["methods"].items():
        p = m["playlist"]
        bold = "**" if name == "served" else ""
        lines.append(f"| {bold}{m['label']}{bold} | {p['cold_share_top10_whole']:.3f} "
                     f"| {p.get('hidden_share_top10_whole', float('nan')):.3f} "
                     f"| {p.get('other_cold_share_top10_whole', float('nan')):.3f} |")
    ranker = report.get("train", {}).get("ranker")
    if ranker:
        lines += [
            "",
            f"Ranker ({ranker.get('kind', 'pointwise')} logistic regression, C={ranker['c']}, "
            f"fit on {ranker['queries']:,} "
            f"inner queries, {ranker['examples']:,} candidates; candidate recall "
            f"{ranker['candidate_recall']:.3f}): weight of each standardised feature, "
            "largest first.",
            "",
            "| feature | weight |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {w:+.3f} |" for name, w in ranker["importances"].items()]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Grouped bar chart of the four ranking metrics per method."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    panels = [("playlist", "recall@10", "T1 Recall@10"), ("playlist", "recall@50", "T1 Recall@50"),
               ("playlist", "ndcg@10", "T1 NDCG@10"), ("song", "hit@10", "T2 HitRate@10")]
    names = list(report["methods"])
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        method = report["methods"][name]
        values = [method[t][m] for t, m, _ in panels]
        # 95% bootstrap intervals as error bars, where the report has them.
        cis = [method[t].get("ci95", {}).get(m) for t, m, _ in panels]
        yerr = None
        if all(ci is not None for ci in cis):
            yerr = np.array([[max(v - ci[0], 0.0) for v, ci in zip(values, cis, strict=True)],
                             [max(ci[1] - v, 0.0) for v, ci in zip(values, cis, strict=True)]])
        xs = np.arange(len(panels)) + (i - (len(names) - 1) / 2) * width
        ax.bar(xs, values, width, label=method["label"], yerr=yerr, capsize=2,
               error_kw={"elinewidth": 0.8},
               edgecolor="black" if name == "served" else None)
    ax.set_xticks(np.arange(len(panels)), [label for _, _, label in panels])
    ax.set_ylabel("score (cold pool)")
    p = report["protocol"]
    ax.set_title(f"Cold-start ranking over {p['cold_pool']:,} songs without a visible playlist "
                 f"(seed {report['seed']}; bars: 95% bootstrap intervals)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(report: dict[str, Any], out_dir: Path, json_path: Path | None) -> None:
    """``evaluation.json``, ``evaluation.md`` and ``evaluation.png`` in ``out_dir``."""
    text = json.dumps(report, indent=2) + "\n"
    (out_dir / "evaluation.json").write_text(text)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text)
    (out_dir / "evaluation.md").write_text(markdown_table(report))
    plot(report, out_dir / "evaluation.png")

