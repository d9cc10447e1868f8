"""Stage 5: embed songs added after training, without retraining (inductive).

The encoder learns functions of a node's inputs and its neighbours' inputs, not a table
of per-node vectors, so a song the model never saw is embedded by running the trained
encoder over the current graph. Its inputs are standardised with the scaler saved in the
checkpoint, and playlists get the key-hash identity codes training's evaluation used, so
the vectors do not depend on the order of the export.

A song's vector reads further than its direct neighbours: through its playlists it sees
their genre input, which every member song shapes, and through its artists their
playlists. ``embed`` therefore encodes the whole graph, exactly as training's final
encode does, and writes the selected songs' vectors: a song gets the vector a full
retrain-free encode gives it, whichever songs are selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gnn.export import export_graph
from gnn.model import CHECKPOINT_NAME, artifacts_dir, build_inputs, encode, load_checkpoint
from gnn.writeback import WriteReport, record_model_version, write_embeddings
from musicgraph.db import Database
from musicgraph.errors import ModelError


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
    if missing_only:
        state = db.read("gnn/missing_song_ids")[0]
        if not state["missing"]:
            return EmbedResult(checkpoint=path, songs=int(state["songs"]), selected=0,
                               write=None)
    export = export_graph(db, progress=progress)
    if list(export.audio_features) != list(ckpt["audio_features"]):
        raise ModelError("the graph's audio features differ from the model's",
                         f"graph: {export.audio_features}, model: {ckpt['audio_features']}")
    selected = (~export.has_embedding if missing_only
                else torch.ones(export.num_songs, dtype=torch.bool))
    n_selected = int(selected.sum())
    if n_selected == 0:
        return EmbedResult(checkpoint=path, songs=export.num_songs, selected=0, write=None)
    z = encode(model, build_inputs(export))
    idx = torch.nonzero(selected).flatten()
    ids = [export.song_ids[i] for i in idx.tolist()]
    write = write_embeddings(db, ids, z[idx], full=not missing_only, batch_size=batch_size,
                             progress=progress)
    # The same model's vectors (its ranker still applies); the new write time tells the
    # app's result cache that answers may have changed.
    record_model_version(db, str(ckpt["model_version"]), str(ckpt["data_hash"]))
    return EmbedResult(checkpoint=path, songs=export.num_songs, selected=n_selected,
                       write=write)
