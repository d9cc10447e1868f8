"""Export: the graph read into PyG with its key maps, features and a stable hash."""

from __future__ import annotations

import pytest

from gnn.export import export_graph
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
    # Same graph, same hash: the hash does not depend on Neo4j's row order.
    assert export_graph(graph, progress=False).data_hash() == export.data_hash()


def test_export_without_meta_has_no_scaler(db: Database, planted):
    load_planted(db, planted, with_scaler=False)
    export = export_graph(db, progress=False)
    assert export.scaler is None and export.stats()["audio_scaler"] == "fitted"


def test_export_rejects_an_empty_graph(db: Database):
    with pytest.raises(ModelError, match="no songs"):
        export_graph(db, progress=False)


def test_in_memory_planted_export_matches_neo4j(graph: Database, planted):
    """tests/gnn/graphs.py numbers the planted graph as the real export does, so the
    tests without Neo4j run on the graph these tests load."""
    from tests.gnn.graphs import planted_export

    real, mine = export_graph(graph, progress=False), planted_export(planted)
    assert real.keys == mine.keys
    assert real.data.edge_index.tolist() == mine.data.edge_index.tolist()
    assert real.data.edge_type.tolist() == mine.data.edge_type.tolist()
