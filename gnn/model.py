"""Stage 2: the heterogeneous GraphSAGE encoder, its inputs, and the checkpoint format.

The encoder is trained for the served task (playlist continuation from cold songs, see
:mod:`gnn.train`). It has two layers over four node kinds:

- layer 1 embeds songs, artists, albums and playlists from their own inputs and the mean
  of each related kind's inputs (song↔song SIMILAR, song↔artist, song↔album,
  song↔playlist, artist↔playlist and album↔playlist through the songs);
- layer 2 embeds songs from their layer-1 state and the mean of each related kind's
  layer-1 states.

Each node kind's update is a sum over relations of PyTorch Geometric ``SAGEConv`` layers
(bipartite ``(in_src, in_dst)``), as ``HeteroConv(aggr="sum")`` sums them; the root term
(``lin_r``) and the bias are carried by one relation's conv, so the update equals one
linear map over the concatenation [own inputs, mean per relation]. The adjacency of each
relation is a row-normalised torch sparse CSR matrix and the convs aggregate with
``aggr="sum"``: a row-normalised sum is the mean. (``SAGEConv(aggr="mean")`` given a CSR
``adj_t`` does not divide by the degree the way the ``edge_index`` path does;
``tests/gnn/test_model.py`` checks the sum-over-normalised-rows layer against
``edge_index`` with ``aggr="mean"``.) Full-batch, sparse matrix products only: no
per-edge message tensors, so the cost grows with the edges, not with their features.

Inputs (no learned per-node tables, so a node first seen after training is embedded
like any other):

- songs: 12 audio features, popularity/100 and release year, standardised with the
  training graph's mean and deviation (missing values: 0), plus Gaussian bumps on the
  standardised year (``year_rbf``) and optionally popularity (``pop_rbf``);
- playlists: an identity code (``code_dim`` N(0, 1) values) and a one-hot of the genres
  that *every* member song carries (from the ``HAS_GENRE`` edges); during training the
  codes are redrawn every epoch, so the model can use a code only to tell playlists
  apart, never to memorise one; when a graph is encoded for use, the code is a hash of
  the playlist's key (:func:`key_codes`), so the same playlist gets the same code in
  every export whatever its index;
- every kind: the log of its degree(s).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv

from gnn.export import GraphExport
from musicgraph.config import models_dir
from musicgraph.errors import ModelError
from musicgraph.schema import MODEL_ARTIFACTS, MODEL_CHECKPOINT

CHECKPOINT_NAME = MODEL_CHECKPOINT
#: Subfolder of the models folder that holds the GraphSAGE artifacts.
ARTIFACT_SUBDIR = MODEL_ARTIFACTS
#: Bumped when the checkpoint's contents change incompatibly (2: the task-trained
#: heterogeneous encoder).
CHECKPOINT_VERSION = 2
#: Node kinds that may carry identity codes.
CODE_KINDS = ("playlist", "artist", "album")
#: Centres of the year bumps, in standard deviations, and their width.
_YEAR_RANGE, _YEAR_WIDTH = (-2.5, 1.5), 0.4


def artifacts_dir(root: Path | None = None) -> Path:
    """Where the GraphSAGE artifacts live: ``<models>/graphsage``."""
    return (root or models_dir()) / ARTIFACT_SUBDIR


# --------------------------------------------------------------------------- sparse
def binary_csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1 scipy CSR matrix with ones at ``(rows, cols)`` (duplicates count once)."""
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def mean_adjacency(m: sp.spmatrix) -> Tensor:
    """Row-normalised torch sparse CSR of a 0/1 pattern: ``A @ x`` is the mean over each
    row's neighbours (0 for a row with none).

    Shapes:
        ``m`` ``[dst, src]`` → ``[dst, src]`` float32 CSR
    """
    r = sp.csr_matrix(m, dtype=np.float32, copy=True)  # never scale the caller's matrix
    r.sum_duplicates()
    r.data[:] = 1.0
    deg = np.diff(r.indptr)
    r.data /= np.repeat(np.maximum(deg, 1), deg).astype(np.float32)
    r.sort_indices()
    with warnings.catch_warnings():  # "CSR support is in beta": what it needs works
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
        return torch.sparse_csr_tensor(torch.from_numpy(r.indptr.astype(np.int64)),
                                       torch.from_numpy(r.indices.astype(np.int64)),
                                       torch.from_numpy(r.data), size=r.shape,
                                       check_invariants=False)


def _log_degree(counts: np.ndarray) -> Tensor:
    return torch.from_numpy(np.log1p(np.asarray(counts, dtype=np.float64))).float()


# --------------------------------------------------------------------------- inputs
@dataclass
class GraphInputs:
    """Everything the encoder reads from an exported graph (no learned state).

    Node indices: songs, artists, albums, playlists and genres are numbered within their
    kind in the export's order (sorted by key).

    Attributes:
        song_ids: song ids, in index order.
        x_raw: ``[N, 14]`` float64: the audio features (``audio_features`` order),
            popularity/100 and release year; NaN where missing.
        audio_features: names of the audio columns.
        song_artist: ``[N, A]`` 0/1 CSR.
        song_album: ``[N, Al]`` 0/1 CSR.
        similar: ``[N, N]`` symmetric 0/1 CSR (SIMILAR, both directions).
        song_genre: ``[N, G]`` 0/1 CSR (HAS_GENRE).
        memberships: ``[M, 2]`` int64 (song index, playlist index) of every IN_PLAYLIST
            relationship, sorted.
        artist_keys, album_keys, playlist_keys, genre_keys: node keys per kind.
    """

    song_ids: list[str]
    x_raw: np.ndarray
    audio_features: list[str]
    song_artist: sp.csr_matrix
    song_album: sp.csr_matrix
    similar: sp.csr_matrix
    song_genre: sp.csr_matrix
    memberships: np.ndarray
    artist_keys: list[str]
    album_keys: list[str]
    playlist_keys: list[str]
    genre_keys: list[str]
    _static: dict[str, Tensor] = field(default_factory=dict, repr=False)
    _codes: dict[tuple[str, int], Tensor] = field(default_factory=dict, repr=False)

    @property
    def num_songs(self) -> int:
        return len(self.song_ids)

    @property
    def num_playlists(self) -> int:
        return len(self.playlist_keys)

    def keys_of(self, kind: str) -> list[str]:
        """Node keys of ``kind`` (``playlist``, ``artist``, ``album`` or ``genre``)."""
        return {"playlist": self.playlist_keys, "artist": self.artist_keys,
                "album": self.album_keys, "genre": self.genre_keys}[kind]

    def membership_matrix(self, keep: np.ndarray | None = None) -> sp.csr_matrix:
        """``[N, P]`` 0/1 CSR of the memberships (only the rows of ``keep`` if given)."""
        m = self.memberships if keep is None else self.memberships[keep]
        return binary_csr(m[:, 0], m[:, 1], (self.num_songs, self.num_playlists))

    def static(self) -> dict[str, Tensor]:
        """The membership-independent mean adjacencies (cached)."""
        if not self._static:
            self._static.update({
                "ss": mean_adjacency(self.similar),
                "sa": mean_adjacency(self.song_artist),
                "as": mean_adjacency(self.song_artist.T),
                "sal": mean_adjacency(self.song_album),
                "als": mean_adjacency(self.song_album.T),
            })
        return self._static

    def eval_codes(self, kinds: Sequence[str], dim: int) -> dict[str, Tensor]:
        """The fixed identity codes used whenever the graph is encoded for use: hashes of
        the node keys (:func:`key_codes`), cached."""
        out = {}
        for kind in kinds:
            if (kind, dim) not in self._codes:
                self._codes[(kind, dim)] = torch.from_numpy(key_codes(self.keys_of(kind), dim,
                                                                      kind))
            out[kind] = self._codes[(kind, dim)]
        return out

    def random_codes(self, kinds: Sequence[str], dim: int,
                     gen: torch.Generator) -> dict[str, Tensor]:
        """Fresh N(0, 1) identity codes (one draw per training epoch)."""
        return {k: torch.randn(len(self.keys_of(k)), dim, generator=gen) for k in kinds}


def build_inputs(export: GraphExport) -> GraphInputs:
    """The encoder's inputs from an export (the whole graph's memberships included)."""
    n = export.num_songs
    ei = export.data.edge_index.numpy()

    def pairs(edge_type: str, dst_type: str) -> tuple[np.ndarray, np.ndarray]:
        cols = export.edge_mask(edge_type).numpy()
        return ei[0, cols], ei[1, cols] - export.offsets[dst_type]

    def incidence(edge_type: str, dst_type: str) -> sp.csr_matrix:
        s, d = pairs(edge_type, dst_type)
        return binary_csr(s, d, (n, len(export.keys[dst_type])))

    s, d = pairs("SIMILAR", "Song")
    similar = binary_csr(np.concatenate([s, d]), np.concatenate([d, s]), (n, n))
    ms, mp = pairs("IN_PLAYLIST", "Playlist")
    memberships = np.unique(np.stack([ms, mp], axis=1).astype(np.int64), axis=0)
    x_raw = np.concatenate([export.audio.numpy().astype(np.float64),
                            export.popularity.numpy()[:, None] / 100.0,
                            export.year.numpy()[:, None]], axis=1)
    return GraphInputs(
        song_ids=list(export.song_ids), x_raw=x_raw, audio_features=list(export.audio_features),
        song_artist=incidence("BY", "Artist"), song_album=incidence("ON", "Album"),
        similar=similar, song_genre=incidence("HAS_GENRE", "Genre"),
        memberships=memberships.reshape(-1, 2),
        artist_keys=list(export.keys["Artist"]), album_keys=list(export.keys["Album"]),
        playlist_keys=list(export.keys["Playlist"]), genre_keys=list(export.keys["Genre"]),
    )


@dataclass
class GraphView:
    """The membership-dependent part of the inputs: one set of visible memberships.

    Attributes:
        adj: row-normalised CSR per relation: ``sp`` song←playlist ``[N, P]``, ``ps``
            playlist←song, ``ap`` artist←playlist (through the artist's songs), ``pa``
            playlist←artist, ``alp`` album←playlist, plus the static ones of
            :meth:`GraphInputs.static`.
        deg: log1p degree inputs per kind: ``song`` ``[N, 1]`` (playlists), ``artist``
            ``[A, 2]`` (songs, playlists), ``album`` ``[Al, 1]`` (playlists),
            ``playlist`` ``[P, 1]`` (songs).
        playlist_genre: ``[P, G]`` float32 0/1, the genres every member song carries.
    """

    adj: dict[str, Tensor]
    deg: dict[str, Tensor]
    playlist_genre: np.ndarray


def graph_view(graph: GraphInputs, membership: sp.csr_matrix) -> GraphView:
    """Adjacencies, degrees and playlist genres for the memberships ``membership``
    (``[N, P]`` 0/1)."""
    memb = sp.csr_matrix(membership, dtype=np.float32)
    ap = (graph.song_artist.T @ memb).tocsr()
    alp = (graph.song_album.T @ memb).tocsr()
    adj = dict(graph.static())
    adj.update({"sp": mean_adjacency(memb), "ps": mean_adjacency(memb.T),
                "ap": mean_adjacency(ap), "pa": mean_adjacency(ap.T),
                "alp": mean_adjacency(alp)})
    size = np.asarray(memb.sum(axis=0)).ravel()
    counts = np.asarray((memb.T @ graph.song_genre).todense())
    pg = (counts >= np.maximum(size, 1)[:, None] - 1e-6) & (counts > 0)
    deg = {
        "song": _log_degree(np.asarray(memb.sum(axis=1)).ravel())[:, None],
        "artist": _log_degree(np.stack([np.asarray(graph.song_artist.sum(axis=0)).ravel(),
                                        np.diff(ap.indptr)], axis=1)),
        "album": _log_degree(np.diff(alp.indptr))[:, None],
        "playlist": _log_degree(size)[:, None],
    }
    return GraphView(adj=adj, deg=deg, playlist_genre=pg.astype(np.float32))


def key_codes(keys: Sequence[str], dim: int, salt: str) -> np.ndarray:
    """A fixed pseudo-random N(0, 1) code per key, from a hash of the key (never its
    index): the same node gets the same code in every export, a new node a fresh one.

    Shapes:
        returns ``[len(keys), dim]`` float32
    """
    out = np.empty((len(keys), dim), dtype=np.float32)
    for i, key in enumerate(keys):
        digest = hashlib.blake2b((salt + "\x00" + key).encode(), digest_size=8).digest()
        out[i] = np.random.default_rng(int.from_bytes(digest, "little")).standard_normal(dim)
    return out


# --------------------------------------------------------------------------- model
class SongFeatures(nn.Module):
    """Standardisation of the raw song inputs, fitted on the training graph.

    Args:
        dim: raw input columns (audio features, popularity/100, year; year last,
            popularity second to last).
        year_rbf: Gaussian bumps on the standardised year (0: none).
        pop_rbf: Gaussian bumps on the standardised popularity (0: none).

    Shapes:
        ``x_raw`` ``[N, dim]`` (NaN where missing) → ``[N, dim + year_rbf + pop_rbf]``
    """

    mean: Tensor
    std: Tensor

    def __init__(self, dim: int, year_rbf: int, pop_rbf: int = 0) -> None:
        super().__init__()
        self.year_rbf = year_rbf
        self.pop_rbf = pop_rbf
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @property
    def out_dim(self) -> int:
        return len(self.mean) + self.year_rbf + self.pop_rbf

    def fit(self, x_raw: np.ndarray) -> None:
        """Mean and deviation per column over the values present (1.0 for a constant or
        empty column)."""
        present = ~np.isnan(x_raw)
        count = present.sum(axis=0)
        filled = np.where(present, x_raw, 0.0)
        mean = filled.sum(axis=0) / np.maximum(count, 1)
        var = (np.where(present, x_raw - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt(var)
        self.mean.copy_(torch.from_numpy(mean).float())
        self.std.copy_(torch.from_numpy(np.where(std > 1e-12, std, 1.0)).float())

    def forward(self, x_raw: np.ndarray) -> Tensor:
        z = (torch.from_numpy(x_raw).float() - self.mean) / self.std
        z = torch.nan_to_num(z, nan=0.0)
        parts = [z]
        if self.year_rbf:
            centres = torch.linspace(*_YEAR_RANGE, self.year_rbf)
            parts.append(torch.exp(-0.5 * ((z[:, -1:] - centres) / _YEAR_WIDTH) ** 2))
        if self.pop_rbf:
            col = len(self.mean) - 2
            centres = torch.linspace(-2.0, 2.0, self.pop_rbf)
            width = 4.0 / max(self.pop_rbf - 1, 1)
            parts.append(torch.exp(-0.5 * ((z[:, col:col + 1] - centres) / width) ** 2))
        return torch.cat(parts, dim=1)


#: A layer's inputs in the order of the concatenation they stand for: ``("root", w)``
#: is a slice of the destination's own input, any other name a relation whose source
#: input is ``w`` wide.
Segments = list[tuple[str, int]]


class SumSageLayer(nn.Module):
    """One node kind's update: ``SAGEConv`` per relation, summed (``HeteroConv(aggr="sum")``).

    The first relation's conv carries the root weight (the destination's own input) and
    the bias; the others carry neither, so the sum equals one ``Linear`` over
    [own input, mean per relation]. Relations whose source input is 0 wide are left out.

    Args:
        segments: the layer's input segments (see :data:`Segments`).
        out_channels: output width.

    Shapes:
        - ``x_src[r]``: ``[num_src_r, w_r]``; ``adj[r]``: ``[num_dst, num_src_r]``
          row-normalised CSR; ``x_dst``: ``[num_dst, sum of root widths]``
        - returns ``[num_dst, out_channels]``
    """

    def __init__(self, segments: Segments, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.segments = [(name, width) for name, width in segments if width > 0]
        self.root_dim = sum(w for name, w in self.segments if name == "root")
        self.relations = [name for name, _ in self.segments if name != "root"]
        self.convs = nn.ModuleDict()
        for i, (name, width) in enumerate((n, w) for n, w in self.segments if n != "root"):
            self.convs[name] = SAGEConv((width, max(self.root_dim, 1)), out_channels,
                                        aggr="sum", root_weight=i == 0 and self.root_dim > 0,
                                        bias=i == 0)
        # No relation at all (a degenerate configuration): the root alone.
        self.root = nn.Linear(self.root_dim, out_channels) if not self.relations else None

    def reset_like_linear(self) -> None:
        """Initialise as ``nn.Linear(total_in, out)`` over the concatenation would be
        (same draws, same bounds), split into the convs' weights."""
        total = sum(w for _, w in self.segments)
        ref = nn.Linear(total, self.out_channels)
        with torch.no_grad():
            col = 0
            root_cols: list[Tensor] = []
            for name, width in self.segments:
                block = ref.weight[:, col:col + width]
                col += width
                if name == "root":
                    root_cols.append(block)
                else:
                    self.conv(name).lin_l.weight.copy_(block)
            if self.root is not None:
                self.root.weight.copy_(torch.cat(root_cols, dim=1))
                self.root.bias.copy_(ref.bias)
                return
            first = self.conv(self.relations[0])
            first.lin_l.bias.copy_(ref.bias)
            if self.root_dim:
                first.lin_r.weight.copy_(torch.cat(root_cols, dim=1))

    def conv(self, relation: str) -> SAGEConv:
        """The ``SAGEConv`` of one relation."""
        conv = self.convs[relation]
        assert isinstance(conv, SAGEConv)
        return conv

    def forward(self, x_src: Mapping[str, Tensor], adj: Mapping[str, Tensor],
                x_dst: Tensor) -> Tensor:
        if self.root is not None:
            return self.root(x_dst)
        out: Tensor | None = None
        for name in self.relations:
            h = self.conv(name)((x_src[name], x_dst), adj[name])
            out = h if out is None else out + h
        assert out is not None
        return out


class HeteroSage(nn.Module):
    """Two-layer heterogeneous GraphSAGE for songs, artists, albums and playlists.

    Args:
        n_feat: raw song input columns (see :class:`SongFeatures`).
        n_genre: genre vocabulary size (the playlist genre one-hot).
        hidden: layer-1 width.
        out: embedding width (the vector index's dimensions).
        code_dim: width of the identity codes (0: none).
        codes: node kinds with codes (``playlist``, ``artist``, ``album``).
        use_similar: pass messages over SIMILAR.
        use_genre: give playlists their genre input.
        genre_codes: the playlist genre as the mean of random genre codes instead of a
            one-hot.
        year_rbf, pop_rbf: see :class:`SongFeatures`.
        dropout: dropout on layer-1 outputs during training.
        init_scale: initial softmax logit scale (learned, log-parametrised).

    Shapes:
        - ``forward(graph, view, codes)``: ``codes[kind]`` ``[num_kind, code_dim]``;
          returns ``[num_songs, out]``
    """

    def __init__(self, n_feat: int, n_genre: int, *, hidden: int = 128, out: int = 64,
                 code_dim: int = 32, codes: Sequence[str] = ("playlist",),
                 use_similar: bool = True, use_genre: bool = True, genre_codes: bool = False,
                 year_rbf: int = 8, pop_rbf: int = 0, dropout: float = 0.0,
                 init_scale: float = 10.0) -> None:
        super().__init__()
        self.features = SongFeatures(n_feat, year_rbf, pop_rbf)
        self.code_dim = code_dim
        self.active = tuple(codes) if code_dim else ()
        self.use_similar = use_similar
        self.use_genre = use_genre
        self.genre_codes = genre_codes
        self.dropout = dropout
        self.code_kinds = self.active + (("genre",) if use_genre and genre_codes else ())
        self.genre_keys: list[str] = []
        f = self.features.out_dim
        c = code_dim
        cp = c if "playlist" in self.active else 0
        ca = c if "artist" in self.active else 0
        cal = c if "album" in self.active else 0
        g = (c if genre_codes else n_genre) if use_genre else 0
        pin = cp + g
        sim = f if use_similar else 0
        h = hidden
        rng_state = torch.get_rng_state()
        self.song1 = SumSageLayer([("root", f), ("ss", sim), ("sp", pin), ("sa", ca),
                                   ("sal", cal), ("root", 1)], h)
        self.artist1 = SumSageLayer([("as", f), ("ap", pin), ("root", ca + 2)], h)
        self.album1 = SumSageLayer([("als", f), ("alp", pin), ("root", cal + 1)], h)
        self.playlist1 = SumSageLayer([("ps", f), ("root", pin), ("pa", ca), ("root", 1)], h)
        self.song2 = SumSageLayer([("root", h), ("ss", h if use_similar else 0), ("sa", h),
                                   ("sal", h), ("sp", h)], out)
        # The weights are drawn as one Linear over each layer's concatenation would draw
        # them, from the generator's state before the convs were built.
        torch.set_rng_state(rng_state)
        for layer in (self.song1, self.artist1, self.album1, self.playlist1, self.song2):
            layer.reset_like_linear()
        self.log_scale = nn.Parameter(torch.tensor(float(math.log(init_scale))))

    @property
    def out_channels(self) -> int:
        return self.song2.out_channels

    def _genre_input(self, graph: GraphInputs, view: GraphView) -> np.ndarray:
        """The playlist genre one-hot in the model's vocabulary (a genre it never saw
        gets no column)."""
        if not self.genre_keys or self.genre_keys == graph.genre_keys:
            return view.playlist_genre
        col = {g: j for j, g in enumerate(self.genre_keys)}
        out = np.zeros((view.playlist_genre.shape[0], len(self.genre_keys)), dtype=np.float32)
        for j, genre in enumerate(graph.genre_keys):
            if genre in col:
                out[:, col[genre]] = view.playlist_genre[:, j]
        return out

    def forward(self, graph: GraphInputs, view: GraphView,
                codes: Mapping[str, Tensor]) -> Tensor:
        x = self.features(graph.x_raw)
        adj = view.adj
        n_pl, n_ar, n_al = graph.num_playlists, len(graph.artist_keys), len(graph.album_keys)
        pin_parts: list[Tensor] = []
        if "playlist" in self.active:
            pin_parts.append(codes["playlist"])
        if self.use_genre and self.genre_codes:
            pin_parts.append(mean_adjacency(sp.csr_matrix(view.playlist_genre))
                             @ codes["genre"])
        elif self.use_genre:
            pin_parts.append(torch.from_numpy(self._genre_input(graph, view)))
        pin = torch.cat(pin_parts, 1) if pin_parts else torch.zeros(n_pl, 0)
        acode = codes["artist"] if "artist" in self.active else torch.zeros(n_ar, 0)
        alcode = codes["album"] if "album" in self.active else torch.zeros(n_al, 0)
        deg = view.deg

        def drop(t: Tensor) -> Tensor:
            return F.dropout(t, self.dropout, self.training)

        src1 = {"ss": x, "sp": pin, "sa": acode, "sal": alcode, "as": x, "ap": pin,
                "als": x, "alp": pin, "ps": x, "pa": acode}
        hs = drop(F.relu(self.song1(src1, adj, torch.cat([x, deg["song"]], 1))))
        ha = drop(F.relu(self.artist1(src1, adj, torch.cat([acode, deg["artist"]], 1))))
        hal = drop(F.relu(self.album1(src1, adj, torch.cat([alcode, deg["album"]], 1))))
        hp = drop(F.relu(self.playlist1(src1, adj, torch.cat([pin, deg["playlist"]], 1))))
        src2 = {"ss": hs, "sa": ha, "sal": hal, "sp": hp}
        return self.song2(src2, adj, hs)


def build_model(config: Mapping[str, Any], n_feat: int, n_genre: int) -> HeteroSage:
    """The encoder a training configuration (``TrainConfig`` as a dict) describes."""
    return HeteroSage(
        n_feat, n_genre, hidden=int(config["hidden"]), out=int(config["out"]),
        code_dim=int(config["code_dim"]), codes=tuple(config["codes"]),
        use_similar=bool(config["use_similar"]), use_genre=bool(config["use_genre"]),
        genre_codes=bool(config["genre_codes"]), year_rbf=int(config["year_rbf"]),
        pop_rbf=int(config["pop_rbf"]), dropout=float(config["dropout"]),
        init_scale=float(config["init_scale"]),
    )


@torch.no_grad()
def encode(model: HeteroSage, graph: GraphInputs, view: GraphView | None = None) -> Tensor:
    """Song embeddings with the fixed (key-hash) identity codes.

    Args:
        model: the encoder (put in eval mode).
        graph: the inputs.
        view: the memberships to use (default: all of ``graph``'s).

    Shapes:
        returns ``[num_songs, out]`` float32, songs in ``graph.song_ids`` order
    """
    model.eval()
    if view is None:
        view = graph_view(graph, graph.membership_matrix())
    codes = graph.eval_codes(model.code_kinds, model.code_dim) if model.code_dim else {}
    return model(graph, view, codes)


# --------------------------------------------------------------------------- checkpoint
def save_checkpoint(path: Path, model: HeteroSage, config: dict[str, Any],
                    extra: dict[str, Any]) -> None:
    """Write everything embedding needs: weights (the feature mean and deviation are
    buffers among them), config, input widths and the genre vocabulary.

    Only tensors and plain Python data go in, so :func:`load_checkpoint` can use
    ``torch.load(weights_only=True)`` and never unpickles code.
    """
    torch.save({
        "version": CHECKPOINT_VERSION,
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "config": config,
        "n_feat": len(model.features.mean),
        "n_genre": len(model.genre_keys),
        "genre_keys": list(model.genre_keys),
        **extra,
    }, path)


def load_checkpoint(path: Path) -> tuple[HeteroSage, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Returns:
        The encoder in eval mode, and the checkpoint dict (config, data_hash, ...).

    Raises:
        ModelError: no checkpoint there, another version, or it can't be read.
    """
    if not path.is_file():
        raise ModelError(f"no trained model at {path}: run `musicgraph train` first")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("version") != CHECKPOINT_VERSION:
            raise ModelError(f"checkpoint {path} has version {ckpt.get('version')}, "
                             f"expected {CHECKPOINT_VERSION}: retrain")
        model = build_model(ckpt["config"], int(ckpt["n_feat"]), int(ckpt["n_genre"]))
        model.load_state_dict(ckpt["state_dict"])
        model.genre_keys = [str(g) for g in ckpt["genre_keys"]]
    except ModelError:
        raise
    except Exception as exc:  # a corrupt or foreign file: say which, keep the cause
        raise ModelError(f"can't read the checkpoint {path}", str(exc)) from exc
    model.eval()
    return model, ckpt

