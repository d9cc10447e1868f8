"""The audio-similarity graph: kNN edges, statistics and the build id, without a database."""

from __future__ import annotations

import numpy as np
import pytest

from etl import similarity


def test_knn_edges_match_brute_force_cosine() -> None:
    rng = np.random.default_rng(7)
    z = rng.normal(size=(300, 9))
    edges = similarity.knn_edges(z, k=5, threshold=0.3)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    cos = unit @ unit.T
    np.fill_diagonal(cos, -np.inf)
    expected = set()
    for i in range(len(z)):
        for j in np.argsort(-cos[i])[:5]:
            if cos[i, j] >= 0.3:
                expected.add((min(i, j), max(i, j)))
    got = set(zip(edges.src.tolist(), edges.dst.tolist(), strict=True))
    assert got == expected
    assert np.all(edges.src < edges.dst)
    for a, b, s in zip(edges.src, edges.dst, edges.score, strict=True):
        assert s == pytest.approx(cos[a, b], abs=1e-5)


def test_graph_stats_counts_components_and_isolated_songs() -> None:
    e = similarity.SimilarityEdges(np.array([0, 1, 3]), np.array([1, 2, 4]),
                                   np.array([0.9, 0.9, 0.9]))
    stats = similarity.graph_stats(6, e)
    assert (stats.components, stats.isolated, stats.largest_component) == (3, 1, 3)
    assert stats.degree_max == 2 and stats.edges == 3


def test_build_id_changes_with_the_features_the_knn_uses() -> None:
    """The ETL compares its build with the stored one before writing: a build over other
    features must get another id even when the songs and their values are the same."""
    ids, x = ["a", "b"], np.arange(6, dtype=float).reshape(2, 3)
    base = similarity.fingerprint(ids, 8, 0.8, x, ["energy", "tempo"])
    assert base == similarity.fingerprint(ids, 8, 0.8, x, ["energy", "tempo"])
    assert base != similarity.fingerprint(ids, 8, 0.8, x, ["energy", "valence"])
    assert base != similarity.fingerprint(ids, 5, 0.8, x, ["energy", "tempo"])
