"""In-memory exports for the tests that need no Neo4j: the planted graph (tests/support)
as :func:`gnn.export.export_graph` would number it after loading."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from gnn.export import EDGE_TYPES, NODE_TYPES, GraphExport
from musicgraph.schema import AUDIO_FEATURES
from tests.support import Planted


def planted_export(planted: Planted, drop_memberships: set[tuple[str, str]] | None = None,
                   genres_follow_playlists: bool = False) -> GraphExport:
    """The export of the planted graph (minus ``drop_memberships``, (song, playlist)).

    With ``genres_follow_playlists``, a song the dropped memberships leave without a
    playlist also loses its genres, as a CSV row loaded without its playlist would.
    """
    drop = drop_memberships or set()
    songs = sorted(planted.songs, key=lambda s: s["id"])
    keys: dict[str, list[str]] = {
        "Song": [s["id"] for s in songs],
        "Artist": sorted({s["artist"] for s in songs}),
        "Album": sorted({s["album"] for s in songs}),
        "Playlist": sorted({p for s in songs for p in s["playlists"]
                            if (s["id"], p) not in drop}),
        "Genre": sorted({g["name"] for s in songs for g in s["genres"]}),
    }
    offsets, start = {}, 0
    for t in NODE_TYPES:
        offsets[t] = start
        start += len(keys[t])
    index = {t: {k: offsets[t] + i for i, k in enumerate(keys[t])} for t in NODE_TYPES}
    edges: list[tuple[int, int, int]] = []
    for e in planted.similar:
        edges.append((EDGE_TYPES.index("SIMILAR"), index["Song"][e["a"]], index["Song"][e["b"]]))
    for s in songs:
        i = index["Song"][s["id"]]
        edges.append((EDGE_TYPES.index("BY"), i, index["Artist"][s["artist"]]))
        edges.append((EDGE_TYPES.index("ON"), i, index["Album"][s["album"]]))
        edges += [(EDGE_TYPES.index("IN_PLAYLIST"), i, index["Playlist"][p])
                  for p in s["playlists"] if (s["id"], p) not in drop]
        emptied = bool(s["playlists"]) and all((s["id"], p) in drop for p in s["playlists"])
        if not (genres_follow_playlists and emptied):
            edges += [(EDGE_TYPES.index("HAS_GENRE"), i, index["Genre"][g["name"]])
                      for g in s["genres"]]
    for sg in planted.subgenres:
        edges.append((EDGE_TYPES.index("SUBGENRE_OF"), index["Genre"][sg["sub"]],
                      index["Genre"][sg["genre"]]))
    edges.sort()
    arr = np.asarray(edges, dtype=np.int64)

    def prop(name: str) -> torch.Tensor:
        return torch.tensor([np.nan if s["props"][name] is None else float(s["props"][name])
                             for s in songs], dtype=torch.float64)

    return GraphExport(
        data=Data(edge_index=torch.from_numpy(arr[:, 1:].T.copy()),
                  edge_type=torch.from_numpy(arr[:, 0].copy()),
                  edge_score=torch.ones(len(arr)),
                  node_type=torch.repeat_interleave(
                      torch.arange(len(NODE_TYPES)),
                      torch.tensor([len(keys[t]) for t in NODE_TYPES])),
                  num_nodes=start),
        keys=keys, offsets=offsets,
        audio=torch.tensor([[s["props"][f] for f in AUDIO_FEATURES] for s in songs],
                           dtype=torch.float64),
        popularity=prop("popularity"), year=prop("release_year"),
        has_embedding=torch.zeros(len(songs), dtype=torch.bool),
        audio_features=list(AUDIO_FEATURES), scaler=None,
    )
