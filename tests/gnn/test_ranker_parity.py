"""One feature definition for training and serving: the ranker's training path (numpy over
the exported graph, gnn.ranker) and its serving path (Cypher, recommend/context then
recommend/candidates_among + recommend/features) give the same vector for the same
candidate, on the planted graph in the real Neo4j; also when memberships are hidden,
which training does by arithmetic and serving sees as memberships never loaded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import cypher
from app import recommend
from gnn.export import export_graph
from gnn.ranker import RankTables, features_for
from gnn.writeback import record_model_version, write_embeddings
from musicgraph.db import Database
from musicgraph.ranking import FEATURE_NAMES, RankingConfig
from musicgraph.schema import MODEL_META_KEY, VECTOR_INDEX
from tests.support import write

pytestmark = pytest.mark.neo4j


def _embed(db: Database, ids: list[str]) -> np.ndarray:
    rng = np.random.default_rng(5)
    vecs = rng.normal(size=(len(ids), 16))
    write_embeddings(db, ids, torch.from_numpy(vecs).float(), full=True, progress=False)
    record_model_version(db, "parity", "hash")
    return vecs


def _stats(db: Database) -> None:
    db.run_auto(cypher.load("etl/artist_stats"))
    db.run_auto(cypher.load("etl/album_stats"))


def _served(db: Database, seeds: list[str], cands: list[str]) -> dict[str, list[float]]:
    """The serving path's feature vectors, by candidate id (every candidate kept)."""
    config = RankingConfig(n_vector=len(cands), n_graph=len(cands))

    def work(tx: Any) -> list[dict[str, Any]]:
        row = tx.run(cypher.load("recommend/context"), seeds=seeds,
                     meta_key=MODEL_META_KEY).single(strict=True)
        params = recommend.context_params(dict(row.items()), config)
        return [dict(r.items()) for r in tx.run(
            recommend.rank_statement(restricted=True), index=VECTOR_INDEX, seeds=seeds,
            candidates=cands, probe=0, n_vector=config.n_vector, n_graph=config.n_graph,
            **params)]

    return {r["id"]: r["features"] for r in db.read_tx(work)}


SEED_SETS = [["c0s00"], ["c0s01", "c0s05", "c1s03"], ["c2s10", "c2s11", "c2s12", "c3s00"]]


def _compare(db: Database, tables: RankTables, ids: list[str]) -> int:
    compared = 0
    for seeds in SEED_SETS:
        cands = [i for i in ids if i not in seeds]
        served = _served(db, seeds, cands)
        assert set(served) == set(cands)
        trained = features_for(tables, seeds, cands)
        for row, cid in zip(trained, cands, strict=True):
            assert served[cid] == pytest.approx(row.tolist(), abs=1e-6), \
                (seeds, cid, dict(zip(FEATURE_NAMES, zip(served[cid], row, strict=True),
                                      strict=True)))
            compared += 1
    return compared


def test_training_and_serving_compute_the_same_features(graph: Database) -> None:
    _stats(graph)
    export = export_graph(graph, progress=False)
    vecs = _embed(graph, export.song_ids)
    tables = RankTables(export, vecs)
    assert _compare(graph, tables, export.song_ids) > 300
    # The features are not trivially equal: each varies over the candidates.
    x = features_for(tables, SEED_SETS[1], export.song_ids[10:])
    varying = {n for n, col in zip(FEATURE_NAMES, x.T, strict=True) if np.ptp(col) > 0}
    assert len(varying) >= len(FEATURE_NAMES) - 2, varying


def test_hidden_memberships_give_the_features_of_a_graph_without_them(graph: Database) -> None:
    _stats(graph)
    export = export_graph(graph, progress=False)
    vecs = _embed(graph, export.song_ids)
    ei = export.data.edge_index.numpy()
    et = export.data.edge_type.numpy()
    from gnn.export import EDGE_TYPES

    members = ei[:, et == EDGE_TYPES.index("IN_PLAYLIST")]
    pick = np.random.default_rng(1).choice(members.shape[1], members.shape[1] // 4, replace=False)
    hidden = np.stack([members[0, pick], members[1, pick] - export.offsets["Playlist"]], axis=1)
    tables = RankTables(export, vecs, hidden)
    write(graph, "delete_memberships", pairs=[
        {"song": export.song_ids[s], "playlist": export.keys["Playlist"][p]} for s, p in hidden])
    _stats(graph)
    assert _compare(graph, tables, export.song_ids) > 300
