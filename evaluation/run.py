"""The orchestrator: split, private Neo4j, real ETL, training, every method, the report.

Protocol (see ``docs/evaluation.md``):

1. Split (:mod:`evaluation.split`): 20% of the distinct (song, playlist) memberships are
   hidden at random (seeded). A hidden membership's playlist and genre cells are blanked
   in the CSV rows; catalogue data (audio, title, artist, album, popularity, release
   date) stays for every song.
2. The training rows are loaded by the real ETL into a *private* Neo4j instance (its own
   temporary home, free ports, started and stopped here), GraphSAGE is trained there by
   the real :func:`gnn.train.train` and its embeddings written back, so the served
   ranking (:mod:`app.recommend`) runs unchanged against a graph that never saw a hidden
   membership.
3. Both tasks rank only the cold pool (songs with no visible membership): ranking the
   whole catalogue would reward "no playlist → probably hidden", an artefact of the
   split. The share of cold songs in each method's whole-catalogue top-10 is reported as
   a leak alarm.

Outputs go to ``<models>/evaluation/``: ``evaluation.json``, ``evaluation.md`` and
``evaluation.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from app.recommend import (
    DEFAULTS,
    MAX_SEEDS,
    SONG_MAX_PER_ARTIST,
    recommend_for_seeds,
    recommend_for_song,
)
from etl import pipeline
from evaluation import baselines, metrics
from evaluation.metrics import PerQuery
from evaluation.report import verdict, write_outputs
from evaluation.split import Split, read_rows, split_rows
from evaluation.tasks import Task, playlist_task, song_task
from gnn.train import TrainConfig, train
from gnn.writeback import record_model_version, write_embeddings
from musicgraph.config import default_csv, models_dir
from musicgraph.db import Database, reset_database
from musicgraph.errors import EvaluationError, ModelError
from musicgraph.neo4j_local import throwaway_database
from musicgraph.ranking import RANKER_FILE, Ranker

#: Method names in table order; "served" is the ranking behind the API.
METHODS = ("random", "popularity", "audio_cosine", "metadata", "cooccurrence",
           "graphsage", "served")
LABELS = {
    "random": "Random", "popularity": "Popularity", "audio_cosine": "Audio-feature cosine",
    "metadata": "Metadata heuristic (artist/album, then audio)",
    "cooccurrence": "Item co-occurrence (visible playlists)",
    "graphsage": "GraphSAGE embeddings alone", "served": "Served recommendations (ours)",
}


@dataclass
class EvalSettings:
    """What to evaluate and where.

    Attributes:
        csv_path: the songs CSV (default: the bundled data).
        hide_fraction: share of memberships hidden.
        train: the GraphSAGE configuration (default: the production ``TrainConfig()``);
            write-back is always on, the served path needs the embeddings in Neo4j.
        out_dir: output folder (default ``<models>/evaluation``).
        threads: torch threads for training (0: torch's default); replaces
            ``train.threads``.
        workers: served queries in flight at once (the driver is thread-safe; Neo4j
            answers them on its own threads).
        embeddings: reuse the ``embeddings.npz`` of an earlier run of the same split
            (same seed, hide fraction and data) instead of training: the served ranking
            can then be re-measured in minutes. ``None`` trains.
        progress: progress bars.
    """

    csv_path: Path | None = None
    hide_fraction: float = 0.2
    train: TrainConfig = field(default_factory=TrainConfig)
    out_dir: Path | None = None
    threads: int = 2
    workers: int = 4
    embeddings: Path | None = None
    progress: bool = True


ServedFn = Callable[[Database, Sequence[str], int, Sequence[str] | None], list[str]]


def served_ids(ranker: Ranker, max_per_artist: int | None = None) -> ServedFn:
    """The ids the served ranking (``app.recommend``, with ``ranker``) returns, best first:
    one seed as /api/songs/<id>/recommendations, several as /api/recommendations, each
    with its endpoint's default per-artist cap unless ``max_per_artist`` is given."""

    def served(db: Database, seeds: Sequence[str], k: int,
               candidates: Sequence[str] | None) -> list[str]:
        if len(seeds) == 1:
            cap = SONG_MAX_PER_ARTIST if max_per_artist is None else max_per_artist
            _, recs = recommend_for_song(db, seeds[0], k, candidates, cap, ranker=ranker)
        else:
            cap = DEFAULTS.set_max_per_artist if max_per_artist is None else max_per_artist
            _, recs = recommend_for_seeds(db, seeds, k, candidates, cap, ranker=ranker)
        return [r.song["id"] for r in recs]

    return served


def served_topk(db: Database, split: Split, task: Task, k: int, *, served: ServedFn,
                whole_catalogue: bool = False, progress: bool = True,
                workers: int = 1) -> np.ndarray:
    """Run the served ranking for every query of ``task``: ``[Q, k]`` positions.

    Positions index the pool (or the whole catalogue with ``whole_catalogue``); a slot
    the served ranking left empty is ``-1``. Identical queries are asked once, up to
    ``workers`` at a time.
    """
    cand_ids = None if whole_catalogue else [split.song_ids[i] for i in split.pool]
    cols = np.arange(split.num_songs) if whole_catalogue else split.pool
    pos = {split.song_ids[c]: i for i, c in enumerate(cols)}
    out = np.full((task.num_queries, k), -1, dtype=np.int64)
    queries = [tuple(split.song_ids[i] for i in task.seeds.indices[
        task.seeds.indptr[q]:task.seeds.indptr[q + 1]]) for q in range(task.num_queries)]
    unique = list(dict.fromkeys(queries))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        answers = list(tqdm(pool.map(lambda seeds: served(db, list(seeds), k, cand_ids), unique),
                            total=len(unique), desc=f"served {task.name} k={k}", unit=" q",
                            disable=not progress, leave=False))
    cache = dict(zip(unique, answers, strict=True))
    for q, seeds in enumerate(queries):
        ranked = [pos[i] for i in cache[seeds] if i in pos][:k]
        if whole_catalogue is False and len(ranked) < len(cache[seeds]):
            raise EvaluationError("the served ranking returned songs outside the candidates")
        out[q, :len(ranked)] = ranked
    return out


def _per_query(task: Task, top10: np.ndarray, top50: np.ndarray | None = None) -> PerQuery:
    """Each metric of ``task`` for each query (task 1 needs the top-50 for Recall@50)."""
    rel = task.relevant
    if task.name == "playlist":
        if top50 is None:
            raise EvaluationError("task 1 needs a top-50 ranking for Recall@50")
        return {"recall@10": metrics.recall_per_query(top10, rel, 10),
                "recall@50": metrics.recall_per_query(top50, rel, 50),
                "ndcg@10": metrics.ndcg_per_query(top10, rel, 10)}
    return {"hit@10": metrics.hit_per_query(top10, rel, 10)}


def _summarise(per_query: dict[str, dict[str, PerQuery]], leaks: dict[str, dict[str, float]],
               seed: int) -> dict[str, dict[str, Any]]:
    """Mean and 95% bootstrap interval of every metric, for every method; the leak alarm.

    Every method's interval on a task resamples the same queries (same bootstrap seed).
    """
    out: dict[str, dict[str, Any]] = {}
    for m in METHODS:
        out[m] = {"label": LABELS[m]}
        for task, values in per_query[m].items():
            out[m][task] = {name: float(v.mean()) for name, v in values.items()}
            out[m][task]["ci95"] = {name: [round(x, 4) for x in metrics.bootstrap_ci(v, seed)]
                                    for name, v in values.items()}
        out[m]["playlist"].update(leaks[m])
    return out


def _score_numpy(name: str, scorer: baselines.Scorer, split: Split, tasks: list[Task],
                per_query: dict[str, dict[str, PerQuery]],
                leaks: dict[str, dict[str, float]]) -> None:
    """Rank the pool (both tasks) and the whole catalogue (leak alarm) with a numpy method."""
    for task in tasks:
        if task.name == "playlist":
            top50 = baselines.rank(scorer, task.seeds, split.pool, 50)
            per_query[name][task.name] = _per_query(task, top50[:, :10], top50)
        else:
            per_query[name][task.name] = _per_query(
                task, baselines.rank(scorer, task.seeds, split.pool, 10))
    leaks[name] = metrics.leak_shares(
        baselines.rank(scorer, tasks[0].seeds, np.arange(split.num_songs), 10),
        split.pool_positions(), tasks[0].relevant)


def evaluate(settings: EvalSettings | None = None, seed: int = 42,
             json_path: Path | None = None) -> dict[str, Any]:
    """Split, load, train, rank with every method, score, and write the report.

    Args:
        settings: what to evaluate (defaults: :class:`EvalSettings`).
        seed: seeds the split, the seed choices, the random baseline and training.
        json_path: also write the JSON report here.

    Returns:
        The report: protocol counts, per-method metrics, timings.

    Raises:
        EvaluationError: the data can't be split into usable tasks.
        ServerError, DatabaseUnavailableError, ModelError: the private Neo4j, the ETL or
            training failed.
    """
    settings = settings or EvalSettings()
    progress = settings.progress
    out_dir = settings.out_dir or models_dir() / "evaluation"
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = Path(settings.csv_path or default_csv())
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    rows = read_rows(csv_path)
    split = split_rows(rows, seed, settings.hide_fraction)
    tasks = [playlist_task(split, seed), song_task(split, seed)]
    numpy_methods = baselines.make_baselines(split, seed)
    timings["split"] = time.perf_counter() - t0

    per_query: dict[str, dict[str, PerQuery]] = {m: {} for m in METHODS}
    leaks: dict[str, dict[str, float]] = {}
    for name, scorer in tqdm(numpy_methods.items(), desc="baselines", disable=not progress,
                             leave=False):
        _score_numpy(name, scorer, split, tasks, per_query, leaks)
    timings["baselines"] = time.perf_counter() - t0 - timings["split"]

    config = TrainConfig(**{**asdict(settings.train), "seed": seed, "write_back": True,
                            "threads": settings.threads})
    t = time.perf_counter()
    with throwaway_database("musicgraph-eval-") as (db, tmp_dir):
        train_csv = tmp_dir / "train_split.csv"
        split.train_rows.to_csv(train_csv, index=False)
        report = _run_on_graph(db, split, tasks, train_csv, config, out_dir, per_query,
                               leaks, timings, progress, settings)
        timings["neo4j_total"] = time.perf_counter() - t

    timings["total"] = time.perf_counter() - t0
    report.update({
        "seed": seed,
        "protocol": {
            "csv": str(csv_path), "hide_fraction": settings.hide_fraction,
            "rows": len(rows), "songs": split.num_songs, "playlists": len(split.playlist_ids),
            "memberships_visible": int(split.visible.nnz),
            "memberships_hidden": int(split.hidden.nnz),
            "cold_pool": len(split.pool),
            "cold_fraction": round(len(split.pool) / split.num_songs, 4),
            "playlist_queries": tasks[0].num_queries,
            "playlist_targets": int(tasks[0].relevant.sum()),
            "song_queries": tasks[1].num_queries,
            "max_seeds": MAX_SEEDS,
        },
        "methods": _summarise(per_query, leaks, seed),
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    })
    report["verdict"] = verdict(report["methods"], per_query, seed)
    write_outputs(report, out_dir, json_path)
    return report


def _run_on_graph(db: Database, split: Split, tasks: list[Task], train_csv: Path,
                  config: TrainConfig, out_dir: Path,
                  per_query: dict[str, dict[str, PerQuery]], leaks: dict[str, dict[str, float]],
                  timings: dict[str, float], progress: bool,
                  settings: EvalSettings) -> dict[str, Any]:
    """ETL, training (or reused embeddings) and the two graph methods (embeddings alone,
    the served ranking)."""
    t = time.perf_counter()
    reset_database(db)
    etl = pipeline.run(db, train_csv, rejects_path=train_csv.with_suffix(".rejects.csv"),
                       options=pipeline.EtlOptions(progress=progress))
    if etl.songs_in_file != split.num_songs:
        raise EvaluationError(f"the ETL loaded {etl.songs_in_file} songs of {split.num_songs}",
                              etl.summary())
    timings["etl"] = time.perf_counter() - t

    t = time.perf_counter()
    key = split_key(split, config.seed)
    train_info: dict[str, Any]
    if settings.embeddings is not None:
        song_ids, vectors = load_embeddings(settings.embeddings, key)
        ranker = load_ranker(Path(settings.embeddings).with_name(RANKER_FILE))
        write_embeddings(db, song_ids, torch.from_numpy(vectors), full=True,
                         batch_size=config.batch_size, progress=progress)
        record_model_version(db, ranker.model_version, ranker.data_hash)
        train_info = {"reused_embeddings": str(settings.embeddings), "ranker": ranker.report}
    else:
        result = train(db, config, models=out_dir / "model", progress=progress)
        song_ids, vectors = list(result.song_ids), result.embeddings.numpy()
        ranker = result.ranker
        train_info = {"config": config.to_dict(), "best_epoch": result.best_epoch,
                      "best_inner_recall": result.best_inner_recall,
                      "model_version": result.model_version,
                      "epochs_run": len(result.history),
                      "train_seconds": round(result.seconds, 1), "ranker": ranker.report}
        # Kept for analysis without retraining, and for ``embeddings=`` (rows: song_ids),
        # with the ranker fit on them.
        np.savez_compressed(out_dir / "embeddings.npz", song_ids=np.asarray(song_ids),
                            vectors=vectors, seed=np.asarray(key["seed"]),
                            hide_fraction=np.asarray(key["hide_fraction"]),
                            songs=np.asarray(key["songs"]))
        ranker.save(out_dir / RANKER_FILE)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    _score_numpy("graphsage", baselines.embedding_scorer(split.song_ids, song_ids, vectors),
                split, tasks, per_query, leaks)

    playlist, song = tasks
    workers = settings.workers
    served = served_ids(ranker)
    top10 = served_topk(db, split, playlist, 10, served=served, progress=progress,
                        workers=workers)
    top50 = served_topk(db, split, playlist, 50, served=served, progress=progress,
                        workers=workers)
    per_query["served"]["playlist"] = _per_query(playlist, top10, top50)
    leaks["served"] = metrics.leak_shares(
        served_topk(db, split, playlist, 10, served=served, whole_catalogue=True,
                    progress=progress, workers=workers),
        split.pool_positions(), playlist.relevant)
    # Task 2 as the endpoint serves it (its default per-artist cap), and without the cap.
    per_query["served"]["song"] = _per_query(
        song, served_topk(db, split, song, 10, served=served, progress=progress,
                          workers=workers))
    per_query["served"]["song_uncapped"] = _per_query(
        song, served_topk(db, split, song, 10, served=served_ids(ranker, 0),
                          progress=progress, workers=workers))
    timings["graph_methods"] = time.perf_counter() - t
    return {"train": train_info,
            "etl": {"rows_loaded": etl.rows_loaded, "rows_rejected": etl.rows_rejected,
                    "counts": etl.counts}}


def split_key(split: Split, seed: int) -> dict[str, Any]:
    """What an ``embeddings.npz`` records of the split it was trained on (seed, share of
    memberships hidden, songs), to check a reused file against."""
    return {"seed": seed,
            "hide_fraction": float(split.hidden.nnz / (split.hidden.nnz + split.visible.nnz)),
            "songs": split.num_songs}


def load_ranker(path: Path) -> Ranker:
    """The ranker saved beside a reused ``embeddings.npz``.

    Raises:
        EvaluationError: there is none (a run from before the ranker: train again).
    """
    try:
        return Ranker.load(path)
    except ModelError as exc:
        raise EvaluationError(f"no usable ranker beside the reused embeddings ({path})",
                              exc.message) from exc


def load_embeddings(path: Path, key: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Song ids and vectors of an earlier run's ``embeddings.npz``, checked against ``key``.

    Raises:
        EvaluationError: the file is missing or was trained on another split.
    """
    if not Path(path).is_file():
        raise EvaluationError(f"no embeddings file at {path}")
    with np.load(path) as z:
        found = {k: z[k].item() for k in key if k in z.files}
        if found != key:
            raise EvaluationError(f"{path} was not trained on this split",
                                  f"it has {found}, this split is {key}")
        return [str(s) for s in z["song_ids"]], np.asarray(z["vectors"], dtype=np.float32)
