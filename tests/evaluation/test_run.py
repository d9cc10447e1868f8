"""The orchestrator: served queries on a thread pool, reused embeddings checked against
the split, and the whole command end to end on a small catalogue (its own Neo4j)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation.run import EvalSettings, evaluate, load_embeddings, served_topk
from evaluation.split import Split
from evaluation.tasks import song_task
from gnn.train import TrainConfig
from musicgraph.errors import EvaluationError
from tests.support import song, write_csv


def test_served_topk_asks_each_query_once_in_parallel(split: Split):
    """Queries run on a thread pool, identical seed sets are asked once, and the answers
    land in their queries' rows (pool positions, -1 pads)."""
    task = song_task(split, seed=7)
    pool_ids = [split.song_ids[i] for i in split.pool]
    calls: list[tuple[str, ...]] = []

    def fake(db: object, seeds: list[str], k: int, cand: list[str] | None) -> list[str]:
        calls.append(tuple(seeds))
        assert cand == pool_ids
        return pool_ids[::-1][:1]  # one answer: the last pool song

    top = served_topk(None, split, task, 3, progress=False, served=fake,  # type: ignore[arg-type]
                      workers=4)
    queries = {tuple(split.song_ids[i] for i in task.seeds[q].indices)
               for q in range(task.num_queries)}
    assert sorted(calls) == sorted(queries)
    assert (top[:, 0] == len(split.pool) - 1).all() and (top[:, 1:] == -1).all()


def test_reused_embeddings_must_come_from_the_same_split(tmp_path: Path):
    path = tmp_path / "embeddings.npz"
    key = {"seed": 42, "hide_fraction": 0.2, "songs": 3}
    np.savez_compressed(path, song_ids=np.asarray(["a", "b", "c"]),
                        vectors=np.eye(3, dtype=np.float32), **{k: np.asarray(v)
                                                                for k, v in key.items()})
    ids, vectors = load_embeddings(path, key)
    assert ids == ["a", "b", "c"] and vectors.shape == (3, 3)
    with pytest.raises(EvaluationError, match="not trained on this split"):
        load_embeddings(path, {**key, "seed": 7})
    with pytest.raises(EvaluationError, match="no embeddings file"):
        load_embeddings(tmp_path / "missing.npz", key)


@pytest.mark.neo4j
def test_evaluate_end_to_end_on_a_small_catalogue(tmp_path: Path):
    """The whole command on 150 generated songs: private Neo4j, real ETL, a short real
    training, every method, the served path, the report files; then a rerun reusing the
    saved embeddings reproduces every figure exactly."""
    rows = []
    for i in range(150):
        pl = i % 6
        rows.append(song(i, track_artist=f"Artist {i % 12}", track_album_id=f"AL{i % 25}",
                         track_album_name=f"Album {i % 25}", playlist_id=f"PL{pl}",
                         playlist_name=f"List {pl}", playlist_genre=("pop", "rock")[pl % 2],
                         playlist_subgenre=("dance pop", "hard rock")[pl % 2]))
        if i % 5 == 0:  # some songs sit in a second playlist
            rows.append(song(i, track_artist=f"Artist {i % 12}", track_album_id=f"AL{i % 25}",
                             track_album_name=f"Album {i % 25}", playlist_id=f"PL{(pl + 1) % 6}",
                             playlist_name="Second", playlist_genre="pop",
                             playlist_subgenre="dance pop"))
    csv_path = write_csv(tmp_path / "songs.csv", rows)
    settings = EvalSettings(csv_path=csv_path, train=TrainConfig(epochs=10, eval_every=5),
                            out_dir=tmp_path / "out", threads=1, workers=2, progress=False)
    report = evaluate(settings, seed=3, json_path=tmp_path / "report.json")

    p = report["protocol"]
    assert p["songs"] == 150 and p["rows"] == len(rows)
    assert p["memberships_visible"] + p["memberships_hidden"] == 180
    assert p["memberships_hidden"] == round(0.2 * 180)
    assert 0 < p["cold_pool"] < 150 and p["cold_fraction"] == round(p["cold_pool"] / 150, 4)
    methods = report["methods"]
    assert list(methods) == ["random", "popularity", "audio_cosine", "metadata",
                             "cooccurrence", "graphsage", "served"]
    for name, m in methods.items():
        for task, metric in (("playlist", "recall@10"), ("playlist", "recall@50"),
                             ("playlist", "ndcg@10"), ("song", "hit@10")):
            value, (lo, hi) = m[task][metric], m[task]["ci95"][metric]
            assert 0.0 <= lo - 1e-4 <= value <= hi + 1e-4 <= 1.0 + 2e-4, (name, metric)
        leak = m["playlist"]
        assert leak["cold_share_top10_whole"] == pytest.approx(
            leak["hidden_share_top10_whole"] + leak["other_cold_share_top10_whole"])
    # Recall can only grow from 10 to 50 for every method.
    assert all(m["playlist"]["recall@50"] >= m["playlist"]["recall@10"] for m in methods.values())
    assert set(report["verdict"]) >= {"recall@10_ratio", "recall@10_ratio_ci95",
                                      "hit@10_difference_ci95", "recall_target_met"}
    out = tmp_path / "out"
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(
        (out / "evaluation.json").read_text())
    assert "Served recommendations (ours)" in (out / "evaluation.md").read_text()
    assert (out / "evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = evaluate(EvalSettings(csv_path=csv_path, out_dir=tmp_path / "again", threads=1,
                                  workers=2, progress=False,
                                  embeddings=out / "embeddings.npz"), seed=3)
    assert again["methods"] == methods
