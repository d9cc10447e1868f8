"""Training on the planted graph: artifacts and write-back, the inner split and the inner
embeddings, reproducibility, configuration errors and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from app import recommend
from gnn.model import build_inputs, encode, graph_view, load_checkpoint
from gnn.writeback import index_info
from musicgraph.db import Database
from musicgraph.errors import ModelError
from musicgraph.ranking import RANKER_FILE, Ranker
from musicgraph.schema import MODEL_META_KEY
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

    assert [h["epoch"] for h in result.history if "inner_recall" in h] == list(range(5, 41, 5))
    assert result.best_inner_recall is not None and 0 <= result.best_inner_recall <= 1
    assert result.best_epoch % 5 == 0
    stored = stored_embeddings(graph)
    assert len(stored) == CLUSTERS * PER_CLUSTER
    for vec in stored.values():
        assert vec is not None and len(vec) == 64
        assert abs(sum(v * v for v in vec) - 1.0) < 1e-4  # stored L2-normalised

    info = index_info(graph)
    assert info is not None
    assert info["state"] == "ONLINE" and info["dimensions"] == 64
    rows = neighbours(graph, "c0s00", 5)
    assert len(rows) == 5 and all(r["id"] != "c0s00" for r in rows)

    art = result.artifacts
    assert art == tmp_path / "graphsage"
    for name in ("checkpoint.pt", "config.json", "graph_stats.json", "data_hash.txt",
                 "metrics.json", "features.json", "training_curve.png"):
        assert (art / name).is_file(), name
    assert json.loads((art / "config.json").read_text())["out"] == 64
    assert (art / "data_hash.txt").read_text().strip() == result.data_hash
    metrics = json.loads((art / "metrics.json").read_text())
    assert len(metrics["history"]) == len(result.history)
    assert metrics["model_version"] == result.model_version and len(result.model_version) == 16
    assert metrics["best_inner_recall"] == result.best_inner_recall
    _, ckpt = load_checkpoint(art / "checkpoint.pt")
    assert ckpt["model_version"] == result.model_version
    assert ckpt["data_hash"] == result.data_hash
    assert (art / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The ranker, fit on the same inner split, beside the checkpoint and matching the
    # embeddings the graph now holds; the app serves with it.
    ranker = Ranker.load(art / RANKER_FILE)
    assert ranker.model_version == result.model_version == result.ranker.model_version
    assert ranker.data_hash == result.data_hash and ranker.coef == result.ranker.coef
    assert ranker.report["queries"] > 0 and ranker.report["kind"] in ("pointwise", "pairwise")
    state = graph.read("app/model_state", key=MODEL_META_KEY)[0]
    assert state["version"] == result.model_version
    _, recs = recommend.recommend_for_song(graph, "c0s00", 5, ranker=ranker)
    assert len(recs) == 5 and all(0 < r.score < 1 for r in recs)
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_inner_split_and_inner_embeddings(graph: Database, tmp_path: Path, planted):
    """inner_hidden holds a fifth of the memberships as (song, playlist) indices of the
    export; inner_embeddings are the final model's vectors without them."""
    result = train_fast(graph, tmp_path, write_back=False)
    export = result.export
    memberships = {(s["id"], p) for s in planted.songs for p in s["playlists"]}
    hidden = {(export.song_ids[s], export.keys["Playlist"][p]) for s, p in result.inner_hidden}
    assert result.inner_hidden.dtype == np.int64 and result.inner_hidden.shape[1] == 2
    assert hidden <= memberships and len(hidden) == round(0.2 * len(memberships))

    model, _ = load_checkpoint(result.artifacts / "checkpoint.pt")
    inputs = build_inputs(export)
    keep = ~np.isin(inputs.memberships[:, 0] * 10_000 + inputs.memberships[:, 1],
                    result.inner_hidden[:, 0] * 10_000 + result.inner_hidden[:, 1])
    inner = encode(model, inputs, graph_view(inputs, inputs.membership_matrix(keep)))
    assert torch.allclose(result.inner_embeddings, inner, atol=1e-5)
    assert torch.allclose(result.embeddings, encode(model, inputs), atol=1e-5)
    assert not torch.allclose(result.embeddings, result.inner_embeddings)


def test_same_seed_same_embeddings(graph: Database, tmp_path: Path):
    first = train_fast(graph, tmp_path / "a")
    stored_first = stored_embeddings(graph)
    second = train_fast(graph, tmp_path / "b")
    assert torch.equal(first.embeddings, second.embeddings)
    assert torch.equal(first.inner_embeddings, second.inner_embeddings)
    assert np.array_equal(first.inner_hidden, second.inner_hidden)
    assert first.history == second.history and first.model_version == second.model_version
    assert stored_embeddings(graph) == stored_first
    other = train_fast(graph, tmp_path / "c", seed=4, write_back=False)
    assert not torch.equal(first.embeddings, other.embeddings)
    assert not np.array_equal(first.inner_hidden, other.inner_hidden)


def test_bad_config_fails_loudly(graph: Database, tmp_path: Path):
    with pytest.raises(ModelError, match="inner_fraction"):
        train_fast(graph, tmp_path, inner_fraction=0.0)
    assert not (tmp_path / "graphsage").exists()


def test_cli_train_and_embed(graph: Database, neo4j_env, tmp_path: Path, planted):
    from musicgraph.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["train", "--epochs", "10", "--eval-every", "5", "--seed", "3",
                              "--models", str(tmp_path), "--inner-fraction", "0.25",
                              "--threads", "1", "--quiet"])
    assert out.exit_code == 0, out.output
    assert "inner-split Recall@10" in out.output and str(tmp_path) in out.output
    config = json.loads((tmp_path / "graphsage" / "config.json").read_text())
    assert config["inner_fraction"] == 0.25 and config["epochs"] == 10
    row, similar = new_song(planted, 0)
    support.write(graph, "load_planted_songs", songs=[row])
    out = runner.invoke(cli, ["embed", "--missing", "--models", str(tmp_path), "--quiet"])
    assert out.exit_code == 0, out.output
    assert "embedded 1 of 121" in out.output
    out = runner.invoke(cli, ["embed", "--models", str(tmp_path / "none"), "--quiet"])
    assert out.exit_code == 5 and "no trained model" in out.output
