"""GraphSAGE: export, training, write-back, vector index and inductive embedding.

Everything runs against the real Neo4j test server on a small planted graph
(``gnn_fixtures``): four clusters whose songs share audio profiles, artists, playlists,
genres and SIMILAR edges.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import cypher
from gnn.embed import embed
from gnn.export import FeatureSpec, export_graph
from gnn.train import TrainConfig, TrainResult, train
from gnn.writeback import INDEX_NAME, guard_vectors, index_info, write_embeddings
from musicgraph.db import Database
from musicgraph.errors import ModelError
from tests.gnn_fixtures import CLUSTERS, PER_CLUSTER, load_planted, make_planted, new_song

# Small graph, so few epochs; patience high enough that the loss has time to fall.
FAST = dict(epochs=60, patience=30, val_fraction=0.15, seed=3, lr=0.01)


@pytest.fixture(scope="module")
def planted():
    return make_planted()


@pytest.fixture
def graph(db: Database, planted):
    load_planted(db, planted)
    return db


def stored_embeddings(db: Database) -> dict[str, list[float]]:
    rows = db.run_auto("MATCH (s:Song) RETURN s.id AS id, s.embedding AS embedding")
    return {r["id"]: r["embedding"] for r in rows}


def neighbours(db: Database, song_id: str, k: int) -> list[dict]:
    return db.read("recommend/similar_by_embedding", id=song_id, k=k)


def run(db: Database, tmp_path: Path, **overrides) -> TrainResult:
    return train(db, TrainConfig(**{**FAST, **overrides}), models=tmp_path, progress=False)


def test_export_maps_and_hash(graph: Database, planted):
    export = export_graph(graph, progress=False)
    n_songs = CLUSTERS * PER_CLUSTER
    assert export.num_songs == n_songs
    assert export.song_ids == sorted(s["id"] for s in planted.songs)
    stats = export.stats()
    assert stats["nodes"]["Genre"] == 2 * CLUSTERS
    assert stats["edges"]["BY"] == n_songs and stats["edges"]["ON"] == n_songs
    assert stats["edges"]["SIMILAR"] == len(planted.similar)
    assert stats["edges"]["HAS_GENRE"] == 2 * n_songs
    assert stats["edges"]["SUBGENRE_OF"] == CLUSTERS
    # Every stored IN_PLAYLIST relationship comes back between the right indices.
    pl = export.data.edge_index[:, export.edge_mask("IN_PLAYLIST")]
    expected = sorted((s["id"], p) for s in planted.songs for p in s["playlists"])
    got = sorted((export.song_ids[a], export.keys["Playlist"][b - export.offsets["Playlist"]])
                 for a, b in pl.t().tolist())
    assert got == expected
    assert export.index_of("Artist", "c1a2") == export.offsets["Artist"] + \
        export.keys["Artist"].index("c1a2")
    # The ETL's scaler is used, and features are standardised songs + type one-hots.
    spec = FeatureSpec.fit(export)
    assert spec.scaler_source == "meta"
    x = spec.transform(export)
    assert x.shape == (export.num_nodes, spec.dim)
    assert torch.allclose(x[:n_songs, :12].mean(0), torch.zeros(12), atol=1e-4)
    assert torch.equal(x[:, -5:].sum(1), torch.ones(export.num_nodes))
    # Same graph, same hash: the hash does not depend on Neo4j's row order.
    assert export_graph(graph, progress=False).data_hash() == export.data_hash()


def test_export_fits_scaler_without_meta(db: Database, planted):
    load_planted(db, planted, with_scaler=False)
    export = export_graph(db, progress=False)
    assert export.scaler is None
    spec = FeatureSpec.fit(export)
    assert spec.scaler_source == "fitted"
    assert torch.allclose(spec.transform(export)[: export.num_songs, :12].std(0, unbiased=False),
                          torch.ones(12), atol=1e-3)


def test_export_rejects_an_empty_graph(db: Database):
    with pytest.raises(ModelError, match="no songs"):
        export_graph(db, progress=False)


def test_train_writes_embeddings_index_and_artifacts(graph: Database, tmp_path: Path):
    result = run(graph, tmp_path)

    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert result.best_val_auc > 0.75
    assert set(result.val_auc_by_kind) == {"similar", "playlist"}

    stored = stored_embeddings(graph)
    assert len(stored) == CLUSTERS * PER_CLUSTER
    for vec in stored.values():
        assert vec is not None and len(vec) == 64
        assert all(isinstance(v, float) for v in vec)
        assert abs(sum(v * v for v in vec) - 1.0) < 1e-4  # stored L2-normalised

    info = index_info(graph)
    assert info is not None
    assert info["state"] == "ONLINE" and info["dimensions"] == 64
    assert str(info["similarity"]).upper() == "COSINE"

    rows = neighbours(graph, "c0s00", 5)
    assert len(rows) == 5
    assert all(r["id"] != "c0s00" for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)

    art = result.artifacts
    assert art == tmp_path / "graphsage"
    for name in ("checkpoint.pt", "config.json", "graph_stats.json", "data_hash.txt",
                 "metrics.json", "features.json", "training_curve.png"):
        assert (art / name).is_file(), name
    assert json.loads((art / "config.json").read_text())["out"] == 64
    assert (art / "data_hash.txt").read_text().strip() == result.data_hash
    assert json.loads((art / "graph_stats.json").read_text())["nodes"]["Song"] == 120
    metrics = json.loads((art / "metrics.json").read_text())
    assert len(metrics["history"]) == len(result.history)
    assert (art / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation_runs_every_val_every_epochs_and_at_the_last(graph: Database,
                                                                tmp_path: Path):
    result = run(graph, tmp_path, epochs=20, val_every=7, patience=100, write_back=False)
    assert [h["epoch"] for h in result.history] == list(range(1, 21))
    assert [h["epoch"] for h in result.history if "val_auc" in h] == [7, 14, 20]
    # The checkpoint is chosen among validated epochs only.
    assert result.best_epoch in (7, 14, 20)
    with pytest.raises(ModelError, match="val_every"):
        TrainConfig(val_every=0).validate()


def test_embeddings_cluster_by_planted_structure(graph: Database, tmp_path: Path, planted):
    run(graph, tmp_path)
    hits = total = 0
    for c in range(CLUSTERS):
        for i in range(0, PER_CLUSTER, 6):
            rows = neighbours(graph, f"c{c}s{i:02d}", 10)
            hits += sum(planted.cluster[r["id"]] == c for r in rows)
            total += len(rows)
    assert hits / total > 0.8


def test_same_seed_same_embeddings(graph: Database, tmp_path: Path):
    first = run(graph, tmp_path / "a")
    stored_first = stored_embeddings(graph)
    second = run(graph, tmp_path / "b")
    assert torch.equal(first.embeddings, second.embeddings)
    assert [h["loss"] for h in first.history] == [h["loss"] for h in second.history]
    assert stored_embeddings(graph) == stored_first
    other = run(graph, tmp_path / "c", seed=4, write_back=False)
    assert not torch.equal(first.embeddings, other.embeddings)


def test_new_song_embeds_inductively_near_its_cluster(graph: Database, tmp_path: Path,
                                                      planted):
    run(graph, tmp_path)
    before = stored_embeddings(graph)
    c = 2
    row, similar = new_song(planted, c)
    graph.write("gnn/test_load_songs", songs=[row])
    graph.write("gnn/test_load_links", similar=similar, subgenres=[])

    result = embed(graph, missing_only=True, models=tmp_path, progress=False)
    assert result.selected == 1 and result.write is not None and result.write.written == 1

    after = stored_embeddings(graph)
    assert len(after[row["id"]]) == 64
    # Only the missing song was written; the trained embeddings stay as they were.
    assert {k: v for k, v in after.items() if k != row["id"]} == before
    rows = neighbours(graph, row["id"], 10)
    assert len(rows) == 10
    assert sum(planted.cluster[r["id"]] == c for r in rows) >= 8

    # Nothing missing now: a second run writes nothing.
    assert embed(graph, missing_only=True, models=tmp_path, progress=False).write is None


def test_dimension_change_rebuilds_the_index(graph: Database, tmp_path: Path):
    export = export_graph(graph, progress=False)
    small = torch.randn(export.num_songs, 32, generator=torch.Generator().manual_seed(0))
    report = write_embeddings(graph, export.song_ids, small, full=True, progress=False)
    assert report.dimensions == 32
    info = index_info(graph)
    assert info is not None and info["dimensions"] == 32 and info["state"] == "ONLINE"

    # A model of another size can't add to a 32-d index without rewriting every song.
    result = run(graph, tmp_path)
    assert result.write is not None and result.write.index_rebuilt
    info = index_info(graph)
    assert info is not None and info["dimensions"] == 64 and info["state"] == "ONLINE"
    sizes = graph.read("gnn/embedding_sizes")
    assert sizes == [{"dimensions": 64, "songs": export.num_songs}]


def test_embed_refuses_to_mix_sizes(graph: Database, tmp_path: Path, planted):
    run(graph, tmp_path, out=32, hidden=32)
    row, similar = new_song(planted, 1)
    graph.write("gnn/test_load_songs", songs=[row])
    # Pretend another model wrote 64-d vectors meanwhile: adding 32-d ones would mix.
    ids = [r["id"] for r in graph.run_auto("MATCH (s:Song) WHERE s.embedding IS NOT NULL "
                                           "RETURN s.id AS id ORDER BY id")]
    write_embeddings(graph, ids, torch.ones(len(ids), 64), full=True, progress=False)
    with pytest.raises(ModelError, match="another size"):
        embed(graph, missing_only=True, models=tmp_path, progress=False)
    # --all rewrites every song at the model's size and rebuilds the index.
    result = embed(graph, missing_only=False, models=tmp_path, progress=False)
    assert result.write is not None and result.write.written == CLUSTERS * PER_CLUSTER + 1
    info = index_info(graph)
    assert info is not None and info["dimensions"] == 32


def test_embed_without_a_model_fails_loudly(graph: Database, tmp_path: Path):
    with pytest.raises(ModelError, match="no trained model"):
        embed(graph, models=tmp_path, progress=False)


def test_bad_config_fails_loudly(graph: Database, tmp_path: Path):
    with pytest.raises(ModelError, match="val_fraction"):
        run(graph, tmp_path, val_fraction=0.0)


def test_zero_norm_guard():
    vectors = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1e-12, 0.0]])
    safe, zero = guard_vectors(vectors)
    assert zero == 2
    assert torch.allclose(safe.norm(dim=1), torch.ones(3))
    assert torch.allclose(safe[0], torch.tensor([0.6, 0.8]))
    assert torch.equal(safe[1], safe[2])  # one fixed direction, not noise
    with pytest.raises(ModelError, match="NaN"):
        guard_vectors(torch.tensor([[float("nan"), 1.0]]))


def test_recommend_query_is_parameterised():
    text = cypher.load("recommend/similar_by_embedding")
    assert "$id" in text and "$k" in text and INDEX_NAME in text


def test_cli_train_and_embed(graph: Database, neo4j_env, tmp_path: Path, planted):
    from musicgraph.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["train", "--epochs", "20", "--seed", "3", "--models",
                              str(tmp_path), "--val-fraction", "0.15", "--quiet"])
    assert out.exit_code == 0, out.output
    assert "validation AUC" in out.output and str(tmp_path) in out.output
    row, similar = new_song(planted, 0)
    graph.write("gnn/test_load_songs", songs=[row])
    out = runner.invoke(cli, ["embed", "--missing", "--models", str(tmp_path), "--quiet"])
    assert out.exit_code == 0, out.output
    assert "embedded 1 of 121" in out.output
    out = runner.invoke(cli, ["embed", "--models", str(tmp_path / "none"), "--quiet"])
    assert out.exit_code == 5 and "no trained model" in out.output
