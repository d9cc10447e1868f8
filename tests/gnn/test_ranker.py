"""The ranker's fit (gnn.ranker) and artifact (musicgraph.ranking), without Neo4j: on the
planted graph's in-memory export, with hidden memberships as labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gnn.export import EDGE_TYPES, GraphExport
from gnn.ranker import RankerFitConfig, RankTables, _top, features_for, fit_ranker
from musicgraph.errors import ModelError
from musicgraph.ranking import FEATURE_NAMES, Ranker, RankingConfig, seed_context
from tests.gnn.graphs import planted_export
from tests.support import Planted, make_planted


@pytest.fixture(scope="module")
def planted() -> Planted:
    return make_planted()


@pytest.fixture(scope="module")
def export(planted: Planted) -> GraphExport:
    return planted_export(planted)


def _hidden(export: GraphExport, share: float, seed: int) -> np.ndarray:
    ei = export.data.edge_index.numpy()
    members = ei[:, export.data.edge_type.numpy() == EDGE_TYPES.index("IN_PLAYLIST")]
    pick = np.sort(np.random.default_rng(seed).choice(
        members.shape[1], int(members.shape[1] * share), replace=False))
    return np.stack([members[0, pick], members[1, pick] - export.offsets["Playlist"]], axis=1)


def _cluster_embeddings(planted: Planted, export: GraphExport) -> np.ndarray:
    """Embeddings that know each song's cluster (what a trained encoder would learn)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8))
    return np.stack([centres[planted.cluster[s]] + 0.5 * rng.normal(size=8)
                     for s in export.song_ids])


def _fit(planted: Planted, export: GraphExport, **kw: object) -> Ranker:
    return fit_ranker(export, _hidden(export, 0.3, 1), _cluster_embeddings(planted, export),
                      model_version="m1", data_hash="h1", progress=False,
                      ranking=RankingConfig(n_vector=20, n_graph=20), **kw)  # type: ignore[arg-type]


def test_the_fit_learns_that_the_embedding_and_the_artist_matter(planted: Planted,
                                                                   export: GraphExport) -> None:
    ranker = _fit(planted, export)
    assert ranker.feature_names == list(FEATURE_NAMES)
    assert ranker.model_version == "m1" and ranker.data_hash == "h1"
    weights = dict(zip(ranker.feature_names, ranker.coef, strict=True))
    # Songs of the seeds' cluster share its embedding direction: the fit must lean on it.
    assert weights["emb_sim"] > 0
    report = ranker.report
    assert report["queries"] > 10 and report["positives"] > 0
    assert 0 < report["candidate_recall"] <= 1
    assert set(report["importances"]) == set(FEATURE_NAMES)


def test_playlist_queries_are_capped_and_a_cap_above_the_count_changes_nothing(
        planted: Planted, export: GraphExport) -> None:
    full = _fit(planted, export)
    assert full.report["playlist_queries"] > 3
    same = _fit(planted, export, config=RankerFitConfig(playlist_queries=10**6))
    assert same.coef == full.coef  # no draw when every playlist fits under the cap
    capped = _fit(planted, export, config=RankerFitConfig(playlist_queries=3))
    assert capped.report["playlist_queries"] <= 3
    assert capped.report["queries"] < full.report["queries"]


@pytest.mark.parametrize("seed", range(20))
def test_top_is_the_head_of_the_full_sort_ties_included(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    values = rng.integers(0, 12, n) / 7.0  # many ties
    tiebreak = rng.permutation(n)
    for k in (0, 1, 5, 50, n, n + 3):
        assert np.array_equal(_top(values, tiebreak, k), np.lexsort((tiebreak, -values))[:k])


def test_the_fit_is_deterministic(planted: Planted, export: GraphExport) -> None:
    a, b = _fit(planted, export), _fit(planted, export)
    assert a.coef == b.coef and a.intercept == b.intercept and a.version() == b.version()


def test_hidden_memberships_are_absent_from_every_feature(planted: Planted,
                                                            export: GraphExport) -> None:
    # Hiding memberships by arithmetic equals exporting a graph that never had them.
    hidden = _hidden(export, 0.3, 2)
    pairs = {(export.song_ids[s], export.keys["Playlist"][p]) for s, p in hidden}
    without = planted_export(planted, drop_memberships=pairs, genres_follow_playlists=True)
    vecs = _cluster_embeddings(planted, export)
    a = RankTables(export, vecs, hidden)
    b = RankTables(without, vecs)
    seeds, cands = ["c0s01", "c0s02", "c1s05"], [s for s in export.song_ids[:60]
                                                 if s not in ("c0s01", "c0s02", "c1s05")]
    np.testing.assert_allclose(features_for(a, seeds, cands), features_for(b, seeds, cands))


def test_no_query_is_a_loud_error(planted: Planted, export: GraphExport) -> None:
    with pytest.raises(ModelError, match="no training query"):
        fit_ranker(export, np.zeros((0, 2), dtype=np.int64),
                   _cluster_embeddings(planted, export), model_version="m", data_hash="h",
                   progress=False)


def test_the_artifact_round_trips_and_scores_the_same(tmp_path: Path, planted: Planted,
                                                      export: GraphExport) -> None:
    ranker = _fit(planted, export, config=RankerFitConfig(c_grid=(1.0,)))
    path = tmp_path / "ranker.json"
    ranker.save(path)
    again = Ranker.load(path)
    x = np.random.default_rng(0).normal(size=(7, len(FEATURE_NAMES)))
    np.testing.assert_allclose(again.score(x), ranker.score(x))
    assert again.ranking_config() == RankingConfig(n_vector=20, n_graph=20)
    # The score is the logistic regression's probability, in (0, 1) and monotone.
    s = ranker.score(x)
    assert ((s > 0) & (s < 1)).all()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format=99), "another format"),
    (lambda d: d.update(feature_names=d["feature_names"][::-1]), "other features"),
    (lambda d: d.update(coef=d["coef"][:3]), "malformed"),
    (lambda d: d.pop("coef"), "malformed"),
])
def test_an_unusable_artifact_is_refused(tmp_path: Path, change: object, message: str) -> None:
    n = len(FEATURE_NAMES)
    Ranker(list(FEATURE_NAMES), [0.0] * n, [1.0] * n, [1.0] * n, 0.0, "m", "h").save(
        tmp_path / "r.json")
    raw = json.loads((tmp_path / "r.json").read_text())
    change(raw)  # type: ignore[operator]
    (tmp_path / "r.json").write_text(json.dumps(raw))
    with pytest.raises(ModelError, match=message):
        Ranker.load(tmp_path / "r.json")
    with pytest.raises(ModelError, match="no ranker"):
        Ranker.load(tmp_path / "missing.json")


def test_seed_context_is_the_population_mean_and_deviation() -> None:
    ctx = seed_context([2000.0, None, 2010.0], [None, None])
    assert ctx == {"year_mean": 2005.0, "year_sd": 5.0, "pop_mean": None, "pop_sd": None}
