"""Inductive embedding of songs added after training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gnn.embed import embed
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


def test_new_song_embeds_inductively_near_its_cluster(graph: Database, tmp_path: Path,
                                                      planted):
    train_fast(graph, tmp_path)
    before = stored_embeddings(graph)
    c = 2
    row, similar = new_song(planted, c)
    support.write(graph, "load_planted_songs", songs=[row])
    support.write(graph, "load_planted_links", similar=similar, subgenres=[])

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


def test_new_songs_embed_from_their_neighbourhood_as_from_the_whole_graph(
        graph: Database, tmp_path: Path, planted, monkeypatch: pytest.MonkeyPatch):
    """The neighbourhood holds every node and edge the encoder's layers read: the vectors
    are those a whole-graph export gives."""
    import gnn.embed

    train_fast(graph, tmp_path)
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
    from_neighbourhood = {k: v for k, v in stored_embeddings(graph).items() if k in new_ids}

    graph.run_auto("MATCH (s:Song) WHERE s.id IN $ids REMOVE s.embedding", ids=new_ids)
    monkeypatch.setattr(gnn.embed, "NEIGHBOURHOOD_SHARE", 0.0)  # the whole graph
    embed(graph, missing_only=True, models=tmp_path, progress=False)
    from_graph = {k: v for k, v in stored_embeddings(graph).items() if k in new_ids}
    assert from_neighbourhood.keys() == from_graph.keys() == set(new_ids)
    for song_id in new_ids:
        assert torch.allclose(torch.tensor(from_neighbourhood[song_id]),
                              torch.tensor(from_graph[song_id]), atol=1e-5), song_id
