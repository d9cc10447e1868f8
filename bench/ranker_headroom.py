"""Ranker headroom: how far could a ranker on the served features go on one evaluation split?

A diagnostic for the served task-1 Recall@10, never a way to choose anything: it fits
rankers on the split's *own* hidden memberships, which the served ranker never sees, and
reports the Recall@10 they reach on the split's task-1 queries beside what is served:

- ``emb_sim``: the candidates ordered by embedding similarity alone (GraphSAGE alone);
- ``saved_ranker``: the ranker ``musicgraph evaluate`` fitted on the training graph's own
  inner split (what is served);
- ``pairwise_in_sample``: the same pairwise logistic regression fit on every task-1 query's
  answers and scored on them;
- ``pairwise_cv`` and ``boosting_cv``: the pairwise regression and gradient boosting
  (scikit-learn's ``HistGradientBoostingClassifier``, pointwise) fit on the answers of
  four fifths of the queries and scored on the fifth left out, five times.

If even rankers that see the answers stay below a target, no ranker on these features and
embeddings reaches it: the missing information is not in them.

Usage (on the output folder of ``musicgraph evaluate --seed N``, which holds
``embeddings.npz``, ``ranker.json`` and ``evaluation.json``)::

    python -m bench.ranker_headroom --eval-dir models/evaluation

The split's training rows are loaded by the real ETL into a private Neo4j (started and
stopped here, as the evaluation does), exported, and ranked with the numpy path of the
ranker's features (``gnn.ranker.RankTables``, whose parity with the served Cypher a test
asserts). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from etl import pipeline
from evaluation import metrics
from evaluation.run import load_embeddings, load_ranker, split_key
from evaluation.split import Split, read_rows, split_rows
from evaluation.tasks import Task, playlist_task
from gnn.export import GraphExport, export_graph
from gnn.ranker import RankTables, fit_pairwise
from musicgraph.config import default_csv
from musicgraph.db import reset_database
from musicgraph.errors import EvaluationError
from musicgraph.neo4j_local import throwaway_database
from musicgraph.ranking import RANKER_FILE, Ranker, RankingConfig

#: Rank cutoff, as the evaluation's headline metric.
K = 10


@dataclass
class Examples:
    """Every task-1 query's candidates, as the served ranking draws them.

    Attributes:
        features: ``[E, F]`` the ranker's features, query after query.
        labels: one ``[C_q]`` 0/1 array per query: the candidate is a hidden target.
        pool_positions: one ``[C_q]`` array per query: each candidate's column in the pool.
        relevant: ``[Q, P]`` bool, each query's targets among the pool's songs (so a
            target the candidates miss still counts in the denominator).
    """

    features: np.ndarray
    labels: list[np.ndarray]
    pool_positions: list[np.ndarray]
    relevant: np.ndarray

    @property
    def starts(self) -> np.ndarray:
        """``[Q + 1]``: where each query's rows begin in ``features``."""
        return np.cumsum([0] + [len(y) for y in self.labels])


def build_examples(tables: RankTables, split: Split, task: Task,
                   ranking: RankingConfig) -> Examples:
    """The candidates and features of each query of ``task``, drawn from the cold pool.

    Args:
        tables: the split's training graph with the evaluation's embeddings (song order
            of the export).
        split: the evaluation split (its pool and song ids).
        task: task 1 of that split.
        ranking: the served candidate settings (the saved ranker's).

    Raises:
        EvaluationError: the export's songs are not the split's.
    """
    index = {s: i for i, s in enumerate(tables.song_ids)}
    missing = [s for s in split.song_ids if s not in index]
    if missing:
        raise EvaluationError(f"the exported graph lacks {len(missing)} of the split's songs",
                              f"first: {missing[:3]}")
    to_export = np.asarray([index[s] for s in split.song_ids])
    pool = to_export[split.pool]
    pool_column = np.full(len(tables.song_ids), -1)
    pool_column[pool] = np.arange(len(pool))
    pool_z = tables.z[pool]
    feats, labels, columns = [], [], []
    for q in range(task.num_queries):
        seeds = to_export[task.seeds.indices[task.seeds.indptr[q]:task.seeds.indptr[q + 1]]]
        ctx = tables.context(seeds)
        cands, sims = tables.candidates(seeds, ctx, pool, ranking, pool_z)
        feats.append(tables.features(seeds, cands, sims, ctx))
        columns.append(pool_column[cands])
        labels.append(task.relevant[q, pool_column[cands]].astype(np.int8))
    return Examples(features=np.concatenate(feats), labels=labels, pool_positions=columns,
                    relevant=task.relevant)


def recall_at_k(examples: Examples, scores: np.ndarray, k: int = K) -> float:
    """Mean Recall@k when each query's candidates are ordered by ``scores`` (``[E]``):
    the evaluation's metric (:func:`evaluation.metrics.recall_at_k`), over every target.
    """
    starts = examples.starts
    top = np.full((len(examples.labels), k), -1)
    for q, cols in enumerate(examples.pool_positions):
        order = np.argsort(-scores[starts[q]:starts[q + 1]], kind="stable")[:k]
        top[q, :len(order)] = cols[order]
    return metrics.recall_at_k(top, examples.relevant, k)


def headroom(examples: Examples, saved: Ranker | None = None, *, folds: int = 5,
             seed: int = 0, pairs_per_positive: int = 50) -> dict[str, float]:
    """Recall@10 of the candidates ordered by each scorer (see the module docstring).

    Args:
        examples: the task's candidates (:func:`build_examples`); the first feature is the
            embedding similarity.
        saved: the served ranker, scored as saved (left out when ``None``).
        folds: folds of queries for the cross-validated fits.
        seed: seeds the folds, the pairs and the boosting.
        pairs_per_positive: negatives per positive in the pairwise fits.
    """
    x = examples.features
    y = np.concatenate(examples.labels)
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)
    queries = np.arange(len(examples.labels))
    qid = np.repeat(queries, [len(lab) for lab in examples.labels])

    def pairwise(fit_on: np.ndarray) -> np.ndarray:
        model = fit_pairwise(z, examples.labels, fit_on, c=1.0,
                             pairs_per_positive=pairs_per_positive, seed=seed)
        return np.asarray(model.coef_[0])

    out = {"emb_sim": recall_at_k(examples, x[:, 0])}
    if saved is not None:
        out["saved_ranker"] = recall_at_k(examples, saved.score(x))
    out["pairwise_in_sample"] = recall_at_k(examples, z @ pairwise(queries))
    fold = np.random.default_rng(seed).permutation(len(queries)) % folds
    cv_pairwise = np.zeros(len(y))
    cv_boosting = np.zeros(len(y))
    for f in range(folds):
        held = np.isin(qid, np.flatnonzero(fold == f))
        cv_pairwise[held] = z[held] @ pairwise(np.flatnonzero(fold != f))
        booster = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05,
                                                 random_state=seed)
        booster.fit(x[~held], y[~held])
        cv_boosting[held] = booster.predict_proba(x[held])[:, 1]
    out["pairwise_cv"] = recall_at_k(examples, cv_pairwise)
    out["boosting_cv"] = recall_at_k(examples, cv_boosting)
    return out


def export_training_graph(split: Split) -> GraphExport:
    """The split's training rows through the real ETL into a private Neo4j, exported."""
    with throwaway_database("musicgraph-headroom-") as (db, tmp_dir):
        csv = tmp_dir / "train_split.csv"
        split.train_rows.to_csv(csv, index=False)
        reset_database(db)
        pipeline.run(db, csv, rejects_path=csv.with_suffix(".rejects.csv"),
                     options=pipeline.EtlOptions(progress=False))
        return export_graph(db, progress=False)


def run(eval_dir: Path, csv_path: Path | None = None, folds: int = 5) -> dict[str, Any]:
    """Rebuild the evaluation's split, export its training graph and measure the headroom.

    Raises:
        EvaluationError: the folder lacks a file, or its embeddings are of another split
            (checked as ``musicgraph evaluate --embeddings`` checks them).
    """
    t0 = time.perf_counter()
    report_path = eval_dir / "evaluation.json"
    if not report_path.is_file():
        raise EvaluationError(f"{report_path} is missing: run `musicgraph evaluate` first")
    report = json.loads(report_path.read_text())
    seed = int(report["seed"])
    split = split_rows(read_rows(csv_path or default_csv()), seed,
                       float(report["protocol"]["hide_fraction"]))
    ids, vectors = load_embeddings(eval_dir / "embeddings.npz", split_key(split, seed))
    saved = load_ranker(eval_dir / RANKER_FILE)
    task = playlist_task(split, seed)
    export = export_training_graph(split)
    by_id = {s: i for i, s in enumerate(ids)}
    tables = RankTables(export, vectors[[by_id[s] for s in export.song_ids]])
    examples = build_examples(tables, split, task, saved.ranking_config())
    recall = headroom(examples, saved, folds=folds, seed=seed)
    best_baseline = report["verdict"]["best_other_recall@10"]
    base = report["methods"][best_baseline]["playlist"]["recall@10"]
    starts = examples.starts
    return {
        "seed": seed,
        "queries": len(examples.labels),
        "candidates_per_query": round(float(np.diff(starts).mean()), 1),
        "candidate_recall": round(float(np.concatenate(examples.labels).sum()
                                        / examples.relevant.sum()), 4),
        "recall@10": {name: round(v, 4) for name, v in recall.items()},
        "best_baseline": best_baseline,
        "best_baseline_recall@10": base,
        "ratio_to_best_baseline": {name: round(v / base, 3) for name, v in recall.items()},
        "served_recall@10_reported": report["methods"]["served"]["playlist"]["recall@10"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", type=Path, required=True,
                    help="output folder of `musicgraph evaluate` (embeddings.npz, ranker.json, "
                         "evaluation.json)")
    ap.add_argument("--csv", type=Path, default=None, help="the songs CSV (default: bundled)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    try:
        out = run(args.eval_dir, args.csv, args.folds)
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    text = json.dumps(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
