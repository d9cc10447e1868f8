"""Offline evaluation: the split hides exactly the hidden memberships, the pool is the cold
songs, the metrics match hand computations, and the baselines rank as they should.

The split test loads the training rows with the real ETL into the real test Neo4j.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from etl import pipeline
from gnn import offline
from gnn.evaluate import _leak, _load_embeddings, markdown_table, served_topk, verdict
from gnn.offline import EvaluationError
from musicgraph.db import Database
from tests.csvgen import BUNDLED_COLUMNS, song, write_csv

GENRES = {"PL0": ("rock", "hard rock"), "PL1": ("pop", "dance pop"), "PL2": ("rap", "trap")}


def rows_csv(path: Path) -> Path:
    """30 songs; every song in one playlist, every third song also in a second one."""
    out = []
    for i in range(30):
        lists = [f"PL{i % 3}"] + ([f"PL{(i + 1) % 3}"] if i % 3 == 0 else [])
        for pl in lists:
            genre, sub = GENRES[pl]
            out.append(song(i, playlist_id=pl, playlist_name=f"List {pl}",
                            playlist_genre=genre, playlist_subgenre=sub))
    return write_csv(path / "songs.csv", out)


@pytest.fixture
def split(tmp_path: Path) -> offline.Split:
    return offline.split_rows(offline.read_rows(rows_csv(tmp_path)), seed=7, hide_fraction=0.3)


def memberships(m: sp.csr_matrix, split: offline.Split) -> set[tuple[str, str]]:
    coo = m.tocoo()
    return {(split.song_ids[s], split.playlist_ids[p]) for p, s in zip(coo.row, coo.col,
                                                                       strict=True)}


def test_split_partitions_memberships_and_keeps_catalogue(tmp_path: Path):
    rows = offline.read_rows(rows_csv(tmp_path))
    split = offline.split_rows(rows, seed=7, hide_fraction=0.3)
    pairs = set(zip(rows["track_id"], rows["playlist_id"], strict=True))
    visible, hidden = memberships(split.visible, split), memberships(split.hidden, split)
    assert visible | hidden == pairs and not visible & hidden
    assert len(hidden) == round(0.3 * len(pairs))
    # The training rows: hidden memberships blanked, every other cell as in the file.
    train = split.train_rows
    assert len(train) == len(rows)
    blank = train["playlist_id"] == ""
    assert {(t, p) for t, p in zip(rows["track_id"][blank], rows["playlist_id"][blank],
                                   strict=True)} == hidden
    for col in offline.MEMBERSHIP_COLUMNS:
        assert (train.loc[blank, col] == "").all()
    kept = [c for c in BUNDLED_COLUMNS if c not in offline.MEMBERSHIP_COLUMNS]
    pd.testing.assert_frame_equal(train[kept], rows[kept])
    assert (train.loc[~blank, "playlist_id"] == rows.loc[~blank, "playlist_id"]).all()
    # Same seed, same split; another seed, another split.
    again = offline.split_rows(rows, seed=7, hide_fraction=0.3)
    assert memberships(again.hidden, again) == hidden
    other = offline.split_rows(rows, seed=8, hide_fraction=0.3)
    assert memberships(other.hidden, other) != hidden


def test_pool_is_exactly_the_songs_without_visible_membership(split: offline.Split):
    with_visible = {s for s, _ in memberships(split.visible, split)}
    assert {split.song_ids[i] for i in split.pool} == set(split.song_ids) - with_visible
    assert len(split.pool) > 0


def test_loaded_training_split_has_no_hidden_link_or_genre(db: Database, tmp_path: Path,
                                                           split: offline.Split):
    path = tmp_path / "train.csv"
    split.train_rows.to_csv(path, index=False)
    report = pipeline.run(db, path, options=pipeline.EtlOptions(progress=False))
    assert report.rows_rejected == 0
    graph = {r["id"]: r for r in db.read("testing/eval_links")}
    assert set(graph) == set(split.song_ids)  # every song stays, cold ones included
    visible = memberships(split.visible, split)
    hidden = memberships(split.hidden, split)
    for sid, r in graph.items():
        lists = {p for s, p in visible if s == sid}
        assert set(r["playlists"]) == lists
        assert not {(sid, p) for p in r["playlists"]} & hidden
        # Genres: exactly those of visible playlists; one that only a hidden
        # membership gave is gone, one a visible playlist also gives stays.
        assert set(r["genres"]) == {g for p in lists for g in GENRES[p]}
        i = int(sid[1:])
        assert r["artists"] == [f"Artist {i % 3}"] and r["albums"] == [f"AL{i % 4}"]
        assert r["popularity"] == 10 + i % 80
    assert any(not r["genres"] for r in graph.values())  # cold songs lost their genres


def test_tasks_query_the_pool(split: offline.Split):
    pool = set(split.pool.tolist())
    t1 = offline.playlist_task(split, seed=1)
    for q, label in enumerate(t1.labels):
        p = split.playlist_ids.index(label)
        seeds = set(t1.seeds[q].indices.tolist())
        assert seeds == set(split.visible[p].indices.tolist())
        targets = {int(split.pool[c]) for c in np.flatnonzero(t1.relevant[q])}
        assert targets == set(split.hidden[p].indices.tolist()) & pool
    t2 = offline.song_task(split, seed=1)
    hidden_in_pool = {(s, p) for s, p in memberships(split.hidden, split)
                      if split.song_ids.index(s) in pool}
    assert t2.num_queries == len(hidden_in_pool)
    assert (t2.relevant.sum(axis=1) == 1).all()
    for q, label in enumerate(t2.labels):
        playlist, target = label.split("/")
        (seed,) = t2.seeds[q].indices
        assert (split.song_ids[seed], playlist) in memberships(split.visible, split)
        assert split.song_ids[int(split.pool[np.flatnonzero(t2.relevant[q])[0]])] == target


def test_metrics_match_hand_computation():
    relevant = np.array([[True, False, True, False, False],
                         [False, False, False, False, True]])
    topk = np.array([[2, 1, 3], [0, 4, -1]])
    # Query 0: one of its two targets in the top 2 (rank 1); query 1: its target at rank 2.
    assert offline.recall_at_k(topk, relevant, 2) == pytest.approx((1 / 2 + 1 / 1) / 2)
    assert offline.recall_at_k(topk, relevant, 1) == pytest.approx((1 / 2 + 0) / 2)
    ndcg0 = 1.0 / (1.0 + 1 / np.log2(3))  # hit at rank 1, ideal: ranks 1 and 2
    ndcg1 = (1 / np.log2(3)) / 1.0  # hit at rank 2, ideal: rank 1
    assert offline.ndcg_at_k(topk, relevant, 2) == pytest.approx((ndcg0 + ndcg1) / 2)
    assert offline.hit_rate_at_k(topk, relevant, 1) == pytest.approx(0.5)
    assert offline.hit_rate_at_k(topk, relevant, 3) == pytest.approx(1.0)
    # -1 pads never count, even though column 0 is relevant for query 0.
    assert offline.hit_rate_at_k(np.array([[-1, -1]]), relevant[:1], 2) == 0.0
    with pytest.raises(offline.EvaluationError):
        offline.recall_at_k(topk, np.zeros_like(relevant), 2)


def test_bootstrap_intervals_cover_the_mean_shrink_with_data_and_pair_methods():
    rng = np.random.default_rng(0)
    small = rng.random(50) < 0.3
    large = rng.random(5000) < 0.3
    lo, hi = offline.bootstrap_ci(small.astype(float), seed=1)
    assert lo < small.mean() < hi
    lo2, hi2 = offline.bootstrap_ci(large.astype(float), seed=1)
    assert lo2 < large.mean() < hi2 and (hi2 - lo2) < (hi - lo) / 5
    # The same seed gives the same interval: reports are reproducible.
    assert offline.bootstrap_ci(small.astype(float), seed=1) == (lo, hi)
    # Paired: a method against itself is a ratio of exactly 1 in every resample.
    x = rng.random(200)
    assert offline.bootstrap_ratio_ci(x, x, seed=3) == pytest.approx((1.0, 1.0))
    # Twice the other method on every query: exactly 2, whatever the resample.
    assert offline.bootstrap_ratio_ci(2 * x, x, seed=3) == pytest.approx((2.0, 2.0))
    with pytest.raises(EvaluationError):
        offline.bootstrap_ratio_ci(x, x[:-1], seed=3)


def test_leak_alarm_separates_found_hidden_songs_from_other_cold_songs(split: offline.Split):
    task = offline.playlist_task(split, seed=7)
    cold = [int(c) for c in split.pool]
    warm = [i for i in range(split.num_songs) if i not in set(cold)]
    topk = np.full((task.num_queries, 4), -1)
    # Query 0: one of its hidden songs, one other cold song (not its target), two warm songs.
    target = cold[int(np.flatnonzero(task.relevant[0])[0])]
    other = next(c for p, c in enumerate(cold) if not task.relevant[0, p])
    topk[0] = [target, other, warm[0], warm[1]]
    leak = _leak(topk[:1], split, offline.Task("playlist", task.seeds[:1], task.relevant[:1],
                                                task.labels[:1]))
    assert leak == {"cold_share_top10_whole": 0.5, "hidden_share_top10_whole": 0.25,
                    "other_cold_share_top10_whole": 0.25}
    # Empty slots (-1) are not counted.
    topk2 = np.array([[target, -1, -1, -1]])
    leak2 = _leak(topk2, split, offline.Task("playlist", task.seeds[:1], task.relevant[:1],
                                             task.labels[:1]))
    assert leak2["cold_share_top10_whole"] == 1.0 and leak2["hidden_share_top10_whole"] == 1.0


def test_top_k_orders_and_drops_excluded():
    scores = np.array([[0.1, 0.9, -np.inf, 0.5]])
    assert offline.top_k(scores, 4).tolist() == [[1, 3, 0, -1]]


def tiny_split() -> offline.Split:
    """Six songs: A, B, C in playlist P0; D in P1; E and F cold. D shares A's artist."""
    cells = {
        "A": ("art1", "al1", "P0", 0.1), "B": ("art2", "al2", "P0", 0.9),
        "C": ("art3", "al3", "P0", 0.5), "D": ("art1", "al4", "P1", 0.2),
        "E": ("art9", "al1", "P1", 0.3), "F": ("art8", "al8", "P1", 0.99),
    }
    rows = []
    for i, (sid, (artist, album, pl, pop)) in enumerate(cells.items()):
        r = {k: str(v) for k, v in song(i).items()}
        r.update(track_id=sid, track_artist=artist, track_album_id=album, playlist_id=pl,
                 track_popularity=str(int(pop * 100)))
        rows.append(r)
    df = pd.DataFrame(rows, columns=BUNDLED_COLUMNS).astype(str)
    split = offline.split_rows(df, seed=0, hide_fraction=0.01)  # hides nothing (rounds to 0)
    assert split.hidden.nnz == 0
    return split


def test_cooccurrence_ranks_the_co_listed_song_first():
    split = tiny_split()
    scorer = offline.make_baselines(split, seed=0)["cooccurrence"]
    a = split.song_ids.index("A")
    seeds = sp.csr_matrix(([1.0], ([0], [a])), shape=(1, split.num_songs))
    top = offline.rank(scorer, seeds, np.arange(split.num_songs), 3)[0]
    names = [split.song_ids[i] for i in top]
    # B and C share P0 with A (B first: more popular); A itself is never returned.
    assert names[:2] == ["B", "C"] and "A" not in names


def test_metadata_puts_shared_artist_and_album_first_and_popularity_orders():
    split = tiny_split()
    base = offline.make_baselines(split, seed=0)
    a = split.song_ids.index("A")
    seeds = sp.csr_matrix(([1.0], ([0], [a])), shape=(1, split.num_songs))
    cand = np.array([split.song_ids.index(s) for s in ("B", "C", "D", "E", "F")])
    top = offline.rank(base["metadata"], seeds, cand, 5)[0]
    assert {split.song_ids[cand[i]] for i in top[:2]} == {"D", "E"}  # artist, album
    top = offline.rank(base["popularity"], seeds, cand, 5)[0]
    assert [split.song_ids[cand[i]] for i in top] == ["F", "B", "C", "E", "D"]


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


def test_served_topk_asks_each_query_once_in_parallel(split: offline.Split):
    """Queries run on a thread pool, identical seed sets are asked once, and the answers
    land in their queries' rows (pool positions, -1 pads)."""
    task = offline.song_task(split, seed=7)
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
    ids, vectors = _load_embeddings(path, key)
    assert ids == ["a", "b", "c"] and vectors.shape == (3, 3)
    with pytest.raises(EvaluationError, match="not trained on this split"):
        _load_embeddings(path, {**key, "seed": 7})
    with pytest.raises(EvaluationError, match="no embeddings file"):
        _load_embeddings(tmp_path / "missing.npz", key)


def test_evaluate_end_to_end_on_a_small_catalogue(tmp_path: Path):
    """The whole command on 150 generated songs: private Neo4j, real ETL, a short real
    training, every method, the served path, the report files; then a rerun reusing the
    saved embeddings reproduces every figure exactly."""
    from gnn.evaluate import EvalSettings, evaluate
    from gnn.train import TrainConfig

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
    settings = EvalSettings(csv_path=csv_path, train=TrainConfig(epochs=10, val_every=5),
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
