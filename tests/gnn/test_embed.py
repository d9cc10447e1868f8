"""Inductive embedding of songs added after training: the vectors a whole-graph encode
gives, written for the missing songs only (or all)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gnn.embed import embed
from gnn.export import export_graph
from gnn.model import build_inputs, encode, load_checkpoint
from gnn.writeback import index_info, write_embeddings
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


def _full_encode(db: Database, models: Path) -> dict[str, torch.Tensor]:
    """Unit vectors of every song, from the checkpoint over the whole current graph."""
    model, _ = load_checkpoint(models / "graphsage" / "checkpoint.pt")
    export = export_graph(db, progress=False)
    z = F.normalize(encode(model, build_inputs(export)), dim=1)
    return dict(zip(export.song_ids, z, strict=True))


def test_new_songs_get_the_whole_graph_vectors(graph: Database, tmp_path: Path, planted):
    train_fast(graph, tmp_path)
    before = stored_embeddings(graph)
    rows, similar = [], []
    for c in range(CLUSTERS):
        row, links = new_song(planted, c, seed=200 + c)
        rows.append(row)
        similar += links
    support.write(graph, "load_planted_songs", songs=rows)
    support.write(graph, "load_planted_links", similar=similar, subgenres=[])
    new_ids = [r["id"] for r in rows]

    result = embed(graph, missing_only=True, models=tmp_path, progress=False)
    assert result.selected == len(new_ids) and result.songs == CLUSTERS * PER_CLUSTER + 4
    assert result.write is not None and result.write.written == len(new_ids)
    after = stored_embeddings(graph)
    # Only the missing songs were written; the trained embeddings stay as they were.
    assert {k: v for k, v in after.items() if k not in new_ids} == before
    expected = _full_encode(graph, tmp_path)
    for song_id in new_ids:
        assert torch.allclose(torch.tensor(after[song_id]), expected[song_id], atol=1e-5)
    rows_near = neighbours(graph, new_ids[2], 10)
    assert len(rows_near) == 10
    # Nothing missing now: a second run writes nothing.
    assert embed(graph, missing_only=True, models=tmp_path, progress=False).write is None


def test_embed_all_reproduces_the_trained_vectors(graph: Database, tmp_path: Path):
    """On the graph it was trained on, ``embed --all`` writes what training wrote."""
    train_fast(graph, tmp_path)
    trained = stored_embeddings(graph)
    result = embed(graph, missing_only=False, models=tmp_path, progress=False)
    assert result.write is not None and result.write.written == CLUSTERS * PER_CLUSTER
    again = stored_embeddings(graph)
    for song_id, vec in trained.items():
        assert torch.allclose(torch.tensor(again[song_id]), torch.tensor(vec), atol=1e-5)


def test_embed_refuses_to_mix_sizes(graph: Database, tmp_path: Path, planted):
    train_fast(graph, tmp_path, out=32, hidden=32)
    row, similar = new_song(planted, 1)
    support.write(graph, "load_planted_songs", songs=[row])
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
