"""Write-back: vector sizes never mix in the index, and zero vectors are guarded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gnn.export import export_graph
from gnn.writeback import guard_vectors, index_info, write_embeddings
from musicgraph.db import Database
from musicgraph.errors import ModelError
from tests.support import (
    train_fast,
)


@pytest.mark.neo4j
def test_dimension_change_rebuilds_the_index(graph: Database, tmp_path: Path):
    export = export_graph(graph, progress=False)
    small = torch.randn(export.num_songs, 32, generator=torch.Generator().manual_seed(0))
    report = write_embeddings(graph, export.song_ids, small, full=True, progress=False)
    assert report.dimensions == 32
    info = index_info(graph)
    assert info is not None and info["dimensions"] == 32 and info["state"] == "ONLINE"

    # A model of another size can't add to a 32-d index without rewriting every song.
    result = train_fast(graph, tmp_path)
    assert result.write is not None and result.write.index_rebuilt
    info = index_info(graph)
    assert info is not None and info["dimensions"] == 64 and info["state"] == "ONLINE"
    sizes = graph.read("gnn/embedding_sizes")
    assert sizes == [{"dimensions": 64, "songs": export.num_songs}]


def test_zero_norm_guard():
    vectors = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1e-12, 0.0]])
    safe, zero = guard_vectors(vectors)
    assert zero == 2
    assert torch.allclose(safe.norm(dim=1), torch.ones(3))
    assert torch.allclose(safe[0], torch.tensor([0.6, 0.8]))
    assert torch.equal(safe[1], safe[2])  # one fixed direction, not noise
    with pytest.raises(ModelError, match="NaN"):
        guard_vectors(torch.tensor([[float("nan"), 1.0]]))
