"""Stage 5: embed songs added after training, without retraining (inductive).

GraphSAGE learns functions of a node's features and its neighbours' features, not a
table of per-node vectors, so a song the model never saw is embedded by running the
trained encoder over the current graph. Its features are standardised with the scaler
saved in the checkpoint (not the graph's current Meta scaler, which a later load may have
refitted), so the encoder sees inputs on the scale it was trained on.

New songs are few next to a catalogue, and an encoder of L layers reads only their
L-hop neighbourhood: ``embed --missing`` exports that part of the graph
(:func:`gnn.export.export_neighbourhood`) when the songs to embed are under
:data:`NEIGHBOURHOOD_SHARE` of the catalogue, and the whole graph otherwise (``--all``,
or a first embedding of most songs), where one export is cheaper than many hops. Both
give the same vectors: the neighbourhood holds every node and edge the layers read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from gnn.export import FeatureSpec, GraphExport, export_graph, export_neighbourhood
from gnn.model import CHECKPOINT_NAME, artifacts_dir, load_checkpoint
from gnn.writeback import WriteReport, write_embeddings
from musicgraph.db import Database

#: Below this share of the catalogue, songs are embedded from their neighbourhood only.
NEIGHBOURHOOD_SHARE = 0.2


@dataclass
class EmbedResult:
    """What an ``embed`` run did.

    Attributes:
        checkpoint: the checkpoint used.
        songs: songs in the graph.
        selected: songs chosen for embedding (missing ones, or all).
        write: the write-back report, None when nothing needed embedding.
    """

    checkpoint: Path
    songs: int
    selected: int
    write: WriteReport | None

    def summary(self) -> str:
        """One line for the CLI."""
        if self.write is None:
            return f"every one of {self.songs} songs already has an embedding"
        return (f"embedded {self.write.written} of {self.songs} songs "
                f"({self.write.dimensions}-d, index {self.write.index_state}) "
                f"with {self.checkpoint}")


def embed(db: Database, *, missing_only: bool = True, models: Path | None = None,
          batch_size: int = 2000, progress: bool = True) -> EmbedResult:
    """Embed songs with the trained encoder and store the vectors.

    Args:
        db: the database.
        missing_only: embed only songs without an ``embedding`` (False: rewrite all).
        models: the models folder (default ``musicgraph.config.models_dir()``).
        batch_size: songs per write transaction.
        progress: show tqdm progress bars.

    Raises:
        ModelError: no checkpoint, a graph whose features don't match the model, or
            existing embeddings of another size (with ``missing_only``).
    """
    path = artifacts_dir(models) / CHECKPOINT_NAME
    model, ckpt = load_checkpoint(path)
    config = ckpt.get("config", {})
    if missing_only:
        state = db.read("gnn/missing_song_ids")[0]
        missing, total = list(state["missing"]), int(state["songs"])
        if not missing:
            return EmbedResult(checkpoint=path, songs=total, selected=0, write=None)
        if len(missing) < NEIGHBOURHOOD_SHARE * total:
            # Message passing reaches as far as the encoder has layers.
            hops = int(config.get("layers", len(getattr(model, "convs", [])) or 2))
            export = export_neighbourhood(db, missing, hops, progress=progress)
            return _embed_export(db, model, ckpt, path, export, missing_only, batch_size,
                                 progress, total)
    export = export_graph(db, progress=progress)
    return _embed_export(db, model, ckpt, path, export, missing_only, batch_size, progress,
                         export.num_songs)


class _Encoder(Protocol):
    """What embedding needs of the trained model: its encoder."""

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor: ...


def _embed_export(db: Database, model: _Encoder, ckpt: dict[str, Any], path: Path,
                  export: GraphExport, missing_only: bool, batch_size: int, progress: bool,
                  total: int) -> EmbedResult:
    """Encode an export and write the selected songs' vectors."""
    selected = ~export.has_embedding if missing_only else torch.ones(export.num_songs, dtype=torch.bool)
    n_selected = int(selected.sum())
    if n_selected == 0:
        return EmbedResult(checkpoint=path, songs=total, selected=0, write=None)

    spec = FeatureSpec(**ckpt["features"])
    x = spec.transform(export)
    edge_index = export.undirected_edge_index(
        export.graph_mask(ckpt["config"]["similar_min_score"]))
    with torch.no_grad():
        z = model.encode(x, edge_index)[: export.num_songs]
    idx = torch.nonzero(selected).flatten()
    ids = [export.song_ids[i] for i in idx.tolist()]
    write = write_embeddings(db, ids, z[idx], full=not missing_only, batch_size=batch_size,
                             progress=progress)
    return EmbedResult(checkpoint=path, songs=total, selected=n_selected, write=write)
