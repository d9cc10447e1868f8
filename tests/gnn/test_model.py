"""The encoder without Neo4j: the SAGEConv layer against PyG's edge_index mean, hash codes
and export order, the checkpoint, the inner split, configuration errors, tiny graphs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import nn
from torch_geometric.nn import SAGEConv

from gnn.model import (
    CHECKPOINT_VERSION,
    GraphInputs,
    SumSageLayer,
    binary_csr,
    build_inputs,
    build_model,
    encode,
    graph_view,
    load_checkpoint,
    mean_adjacency,
    save_checkpoint,
)
from gnn.train import TrainConfig, fit, inner_split, inner_task
from musicgraph.errors import ModelError
from tests.gnn.graphs import planted_export
from tests.support import Planted, make_planted

SMALL = dict(hidden=16, out=8, code_dim=4, epochs=6, eval_every=2, patience=10, seed=3)


@pytest.fixture(scope="module")
def planted() -> Planted:
    return make_planted()


@pytest.fixture(scope="module")
def graph(planted: Planted) -> GraphInputs:
    return build_inputs(planted_export(planted))


def _model(graph: GraphInputs, **overrides: object):
    config = TrainConfig(**{**SMALL, **overrides})  # type: ignore[arg-type]
    torch.manual_seed(config.seed)
    model = build_model(config.to_dict(), graph.x_raw.shape[1], len(graph.genre_keys))
    model.features.fit(graph.x_raw)
    model.genre_keys = list(graph.genre_keys)
    return model, config


def test_sum_over_normalised_csr_equals_edge_index_mean():
    """SAGEConv(aggr="sum") on a row-normalised CSR adjacency computes what
    SAGEConv(aggr="mean") computes from the edge_index (values and gradients), isolated
    destinations included."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pairs = np.unique(np.stack([rng.integers(0, 40, 300), rng.integers(0, 50, 300)], 1), axis=0)
    dst, src = pairs[:, 0], pairs[:, 1]  # destinations 40..59 have no neighbour
    x_src = torch.randn(50, 16, requires_grad=True)
    x_dst = torch.randn(60, 8)
    mean_conv = SAGEConv((16, 8), 32, aggr="mean")
    sum_conv = SAGEConv((16, 8), 32, aggr="sum")
    sum_conv.load_state_dict(mean_conv.state_dict())
    edge_index = torch.from_numpy(np.stack([src, dst]))
    expected = mean_conv((x_src, x_dst), edge_index, size=(50, 60))
    adj = mean_adjacency(binary_csr(dst, src, (60, 50)))
    got = sum_conv((x_src, x_dst), adj)
    assert torch.allclose(got, expected, atol=1e-5)
    (g_expected,) = torch.autograd.grad(expected.square().sum(), x_src)
    (g_got,) = torch.autograd.grad(got.square().sum(), x_src)
    assert torch.allclose(g_got, g_expected, atol=1e-4)


def test_layer_is_one_linear_over_the_concatenation():
    torch.manual_seed(1)
    segments = [("root", 5), ("a", 3), ("b", 0), ("root", 1), ("c", 4)]
    layer = SumSageLayer(segments, 7)
    state = torch.get_rng_state()
    layer.reset_like_linear()
    torch.set_rng_state(state)
    ref = nn.Linear(5 + 3 + 1 + 4, 7)
    adj = {"a": mean_adjacency(sp.random(6, 9, 0.4, random_state=1)),
           "c": mean_adjacency(sp.random(6, 2, 0.5, random_state=2))}
    xs = {"a": torch.randn(9, 3), "c": torch.randn(2, 4)}
    x_dst = torch.randn(6, 6)
    concat = torch.cat([x_dst[:, :5], adj["a"] @ xs["a"], x_dst[:, 5:], adj["c"] @ xs["c"]], 1)
    assert torch.allclose(layer(xs, adj, x_dst), ref(concat), atol=1e-5)


def test_vectors_do_not_depend_on_playlist_or_genre_numbering(graph: GraphInputs):
    """Playlist codes are hashes of the keys and genres map by name: renumbering both
    gives the same song vectors."""
    model, _ = _model(graph)
    p = graph.num_playlists
    renumbered = dataclasses.replace(
        graph, playlist_keys=graph.playlist_keys[::-1], genre_keys=graph.genre_keys[::-1],
        memberships=np.stack([graph.memberships[:, 0], p - 1 - graph.memberships[:, 1]], 1),
        song_genre=sp.csr_matrix(graph.song_genre[:, ::-1]), _static={}, _codes={})
    assert torch.allclose(encode(model, graph), encode(model, renumbered), atol=1e-5)


def test_checkpoint_round_trip(graph: GraphInputs, tmp_path: Path):
    model, config = _model(graph)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, config.to_dict(), {"data_hash": "abc", "audio_features": []})
    ckpt = torch.load(path, weights_only=True)  # tensors and plain data only
    assert ckpt["version"] == CHECKPOINT_VERSION and ckpt["config"]["codes"] == ["playlist"]
    loaded, ckpt = load_checkpoint(path)
    assert ckpt["data_hash"] == "abc" and loaded.genre_keys == graph.genre_keys
    assert torch.equal(encode(loaded, graph), encode(model, graph))
    torch.save({**ckpt, "version": CHECKPOINT_VERSION - 1}, path)
    with pytest.raises(ModelError, match="version"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="can't read"):
        load_checkpoint(path)


def test_inner_split_depends_on_keys_and_seed_only(graph: GraphInputs):
    m = graph.memberships
    hide = inner_split(m, graph.song_ids, graph.playlist_keys, 0.2, seed=5)
    assert hide.sum() == round(0.2 * len(m))

    def hidden_keys(mem: np.ndarray, songs: list[str], lists: list[str], h: np.ndarray):
        return {(songs[s], lists[p]) for s, p in mem[h]}

    expected = hidden_keys(m, graph.song_ids, graph.playlist_keys, hide)
    rng = np.random.default_rng(0)
    song_perm = rng.permutation(graph.num_songs)  # new index of each old index
    pl_perm = rng.permutation(graph.num_playlists)
    songs = [""] * graph.num_songs
    for old, new in enumerate(song_perm):
        songs[new] = graph.song_ids[old]
    lists = [""] * graph.num_playlists
    for old, new in enumerate(pl_perm):
        lists[new] = graph.playlist_keys[old]
    shuffled = np.stack([song_perm[m[:, 0]], pl_perm[m[:, 1]]], 1)[rng.permutation(len(m))]
    hide2 = inner_split(shuffled, songs, lists, 0.2, seed=5)
    assert hidden_keys(shuffled, songs, lists, hide2) == expected
    other = inner_split(m, graph.song_ids, graph.playlist_keys, 0.2, seed=6)
    assert hidden_keys(m, graph.song_ids, graph.playlist_keys, other) != expected


@pytest.mark.parametrize(("field", "value", "message"), [
    ("lr", 0.0, "lr"), ("inner_fraction", 1.0, "inner_fraction"),
    ("codes", ("genre",), "codes"), ("mask_frac", 0.0, "mask_frac"),
    ("eval_every", 0, "eval_every"), ("ema", 1.0, "ema"), ("epochs", 0, "epochs"),
])
def test_bad_config_raises(field: str, value: object, message: str):
    with pytest.raises(ModelError, match=message):
        TrainConfig(**{field: value}).validate()  # type: ignore[arg-type]


def _fit(graph: GraphInputs, **overrides: object):
    model, config = _model(graph, **overrides)
    hide = inner_split(graph.memberships, graph.song_ids, graph.playlist_keys,
                       config.inner_fraction, config.seed)
    visible = graph.membership_matrix(~hide)
    task = inner_task(visible, graph.memberships[hide], config)
    gen = torch.Generator().manual_seed(config.seed)
    result = fit(model, graph, graph.memberships[~hide], task, graph_view(graph, visible),
                 config, gen)
    return model, result


def test_fit_is_deterministic(graph: GraphInputs):
    model_a, result_a = _fit(graph)
    model_b, result_b = _fit(graph)
    assert result_a.history == result_b.history
    assert result_a.best_recall is not None
    assert torch.equal(encode(model_a, graph), encode(model_b, graph))


@pytest.mark.parametrize("keep", [0, 2])
def test_fit_survives_a_graph_without_targets_or_queries(planted: Planted, keep: int):
    """No memberships at all, or two: epochs without a target are skipped, and with no
    inner query the last epoch's weights are kept."""
    pairs = sorted((s["id"], p) for s in planted.songs for p in s["playlists"])
    tiny = build_inputs(planted_export(planted, drop_memberships=set(pairs[keep:])))
    model, result = _fit(tiny, epochs=4)
    assert result.best_recall is None and result.best_epoch == 4
    assert len(result.history) == 4
    assert torch.isfinite(encode(model, tiny)).all()


def test_divergence_raises(graph: GraphInputs):
    with pytest.raises(ModelError, match="diverged"):
        _fit(graph, lr=1e30, epochs=20, eval_every=20)
