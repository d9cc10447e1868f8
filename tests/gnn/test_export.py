"""Export: the graph read into PyG with its key maps, features and a stable hash."""

from __future__ import annotations

import pytest
import torch

from gnn.export import FeatureSpec, export_graph
from musicgraph.db import Database
from musicgraph.errors import ModelError
from tests.support import (
    CLUSTERS,
    PER_CLUSTER,
    load_planted,
)

pytestmark = pytest.mark.neo4j


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
