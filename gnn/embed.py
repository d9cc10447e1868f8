"""Stage 5: embed songs added after training, without retraining (inductive).

GraphSAGE learns functions of a node's features and its neighbours' features, not a
table of per-node vectors, so a song the model never saw is embedded by running the
trained encoder over the current graph. Its features are standardised with the scaler
saved in the checkpoint (not the graph's current Meta scaler, which a later load may have
refitted), so the encoder sees inputs on the scale it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gnn.export import FeatureSpec, export_graph
from gnn.model import CHECKPOINT_NAME, artifacts_dir, load_checkpoint
from gnn.writeback import WriteReport, write_embeddings
from musicgraph.db import Database


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
    export = export_graph(db, progress=progress)
    selected = ~export.has_embedding if missing_only else torch.ones(export.num_songs, dtype=torch.bool)
    n_selected = int(selected.sum())
    if n_selected == 0:
        return EmbedResult(checkpoint=path, songs=export.num_songs, selected=0, write=None)

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
    return EmbedResult(checkpoint=path, songs=export.num_songs, selected=n_selected, write=write)
