"""Training on the planted graph: loss falls, artifacts, validation schedule, clusters,
reproducibility, configuration errors and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gnn.train import TrainConfig
from gnn.writeback import index_info
from musicgraph.db import Database
from musicgraph.errors import ModelError
from tests import support
from tests.support import (
    CLUSTERS,
    PER_CLUSTER,
    neighbours,
    new_song,
    stored_embeddings,
    train_fast,
)

pytestmark = pytest.mark.neo4j


def test_train_writes_embeddings_index_and_artifacts(graph: Database, tmp_path: Path):
    result = train_fast(graph, tmp_path)

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
    result = train_fast(graph, tmp_path, epochs=20, val_every=7, patience=100, write_back=False)
    assert [h["epoch"] for h in result.history] == list(range(1, 21))
    assert [h["epoch"] for h in result.history if "val_auc" in h] == [7, 14, 20]
    # The checkpoint is chosen among validated epochs only.
    assert result.best_epoch in (7, 14, 20)
    with pytest.raises(ModelError, match="val_every"):
        TrainConfig(val_every=0).validate()


def test_embeddings_cluster_by_planted_structure(graph: Database, tmp_path: Path, planted):
    train_fast(graph, tmp_path)
    hits = total = 0
    for c in range(CLUSTERS):
        for i in range(0, PER_CLUSTER, 6):
            rows = neighbours(graph, f"c{c}s{i:02d}", 10)
            hits += sum(planted.cluster[r["id"]] == c for r in rows)
            total += len(rows)
    assert hits / total > 0.8


def test_same_seed_same_embeddings(graph: Database, tmp_path: Path):
    first = train_fast(graph, tmp_path / "a")
    stored_first = stored_embeddings(graph)
    second = train_fast(graph, tmp_path / "b")
    assert torch.equal(first.embeddings, second.embeddings)
    assert [h["loss"] for h in first.history] == [h["loss"] for h in second.history]
    assert stored_embeddings(graph) == stored_first
    other = train_fast(graph, tmp_path / "c", seed=4, write_back=False)
    assert not torch.equal(first.embeddings, other.embeddings)


def test_bad_config_fails_loudly(graph: Database, tmp_path: Path):
    with pytest.raises(ModelError, match="val_fraction"):
        train_fast(graph, tmp_path, val_fraction=0.0)


def test_cli_train_and_embed(graph: Database, neo4j_env, tmp_path: Path, planted):
    from musicgraph.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["train", "--epochs", "20", "--seed", "3", "--models",
                              str(tmp_path), "--val-fraction", "0.15", "--quiet"])
    assert out.exit_code == 0, out.output
    assert "validation AUC" in out.output and str(tmp_path) in out.output
    row, similar = new_song(planted, 0)
    support.write(graph, "load_planted_songs", songs=[row])
    out = runner.invoke(cli, ["embed", "--missing", "--models", str(tmp_path), "--quiet"])
    assert out.exit_code == 0, out.output
    assert "embedded 1 of 121" in out.output
    out = runner.invoke(cli, ["embed", "--models", str(tmp_path / "none"), "--quiet"])
    assert out.exit_code == 5 and "no trained model" in out.output
