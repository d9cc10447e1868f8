"""Stage 4: store song embeddings and keep the ``song_embedding`` vector index in step.

Order of operations, so the index never mixes vector sizes:

1. If the index exists with another dimension, drop it (a vector index has one size).
2. A full rewrite removes embeddings of another size first; a partial write (inductive
   ``embed --missing``) refuses to add vectors of a size other songs don't share.
3. Write the vectors in batches with ``db.create.setNodeVectorProperty`` (compact float
   storage), one transaction per batch.
4. Create the index if missing and wait with ``db.awaitIndex`` until it is ONLINE.

Zero-norm guard: a cosine index rejects zero vectors, and a near-zero vector has no
meaningful direction. Rows with a norm below ``ZERO_NORM`` are replaced by a fixed unit
direction (all components equal); every vector is then L2-normalised, which leaves
cosine rankings unchanged and makes dot products equal cosines for any consumer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import neo4j
import torch
from tqdm import tqdm

import cypher
from musicgraph.db import Database
from musicgraph.errors import DatabaseUnavailableError, ModelError
from musicgraph.schema import MODEL_META_KEY, VECTOR_INDEX

#: Below this L2 norm a vector counts as zero.
ZERO_NORM = 1e-8
#: Seconds ``db.awaitIndex`` may wait for the index to come ONLINE.
INDEX_TIMEOUT_S = 300


@dataclass
class WriteReport:
    """What a write-back did.

    Attributes:
        written: songs whose embedding was set.
        dimensions: vector size.
        zero_norm: vectors that needed the zero-norm guard.
        index_rebuilt: the index existed with another size and was dropped and rebuilt.
        index_state: the index state after the write (``ONLINE``).
    """

    written: int
    dimensions: int
    zero_norm: int
    index_rebuilt: bool
    index_state: str


def guard_vectors(vectors: torch.Tensor) -> tuple[torch.Tensor, int]:
    """L2-normalise rows, replacing (near-)zero rows by a fixed unit direction.

    Shapes:
        ``vectors`` ``[n, d]`` → ``[n, d]`` float32 unit rows

    Returns:
        The guarded vectors and how many rows were (near-)zero.

    Raises:
        ModelError: a vector holds NaN or infinity (training diverged).
    """
    v = vectors.detach().to(torch.float64)
    if not torch.isfinite(v).all():
        raise ModelError("embeddings contain NaN or infinity: training diverged, retrain "
                         "with a lower learning rate")
    norms = v.norm(dim=1, keepdim=True)
    zero = norms.squeeze(1) < ZERO_NORM
    if zero.any():
        v[zero] = 1.0  # a deterministic direction; normalised below like every row
        norms = v.norm(dim=1, keepdim=True)
    return (v / norms).to(torch.float32), int(zero.sum())


def index_info(db: Database) -> dict[str, object] | None:
    """The ``song_embedding`` index's name, state, dimensions and similarity, or None."""
    rows = db.read("gnn/index_info", index_name=VECTOR_INDEX)
    return rows[0] if rows else None


def embedding_sizes(db: Database) -> dict[int, int]:
    """``{dimensions: songs}`` for the embeddings stored now."""
    return {int(r["dimensions"]): int(r["songs"]) for r in db.read("gnn/embedding_sizes")}


def ensure_index(db: Database, dimensions: int) -> str:
    """Create the index if missing and await ONLINE; return its state.

    The caller has dropped an index of another size already (before writing vectors, so
    the index never mixes sizes); a size that still differs here is an error.

    Raises:
        DatabaseUnavailableError: the index did not come ONLINE.
        ModelError: the index has another number of dimensions.
    """
    db.run_auto(cypher.load("gnn/create_index"), name=VECTOR_INDEX, dimensions=dimensions)
    db.run_auto(cypher.load("gnn/await_index"), name=VECTOR_INDEX, timeout=INDEX_TIMEOUT_S)
    info = index_info(db)
    if info is None or info["state"] != "ONLINE":
        raise DatabaseUnavailableError(f"vector index {VECTOR_INDEX} is not ONLINE",
                                       f"index: {info}")
    if int(info["dimensions"]) != dimensions:  # type: ignore[call-overload]
        raise ModelError(f"vector index {VECTOR_INDEX} has {info['dimensions']} dimensions, "
                         f"expected {dimensions}")
    return str(info["state"])


def _set_batch(tx: neo4j.ManagedTransaction, rows: list[dict[str, object]]) -> int:
    record = tx.run(cypher.load("gnn/set_embeddings"), rows=rows).single()
    return int(record["written"]) if record else 0


def _drop_if_other_size(db: Database, dimensions: int) -> bool:
    info = index_info(db)
    if info is not None and int(info["dimensions"]) != dimensions:  # type: ignore[call-overload]
        db.run_auto(cypher.load("admin/drop_index"), name=VECTOR_INDEX)
        return True
    return False


def write_embeddings(db: Database, song_ids: Sequence[str], vectors: torch.Tensor, *,
                     full: bool, batch_size: int = 2000, progress: bool = True) -> WriteReport:
    """Store one embedding per song and bring the vector index ONLINE at their size.

    Args:
        db: the database.
        song_ids: ids of the songs to write, aligned with ``vectors``' rows.
        vectors: ``[len(song_ids), d]`` embeddings (guarded and normalised here).
        full: this write covers every song (training): embeddings of another size are
            removed first. When False (embedding new songs) vectors of a size other
            songs don't share are refused instead.
        batch_size: songs per write transaction.
        progress: show a tqdm progress bar.

    Raises:
        ModelError: sizes would mix, or the vectors are not finite.
    """
    if vectors.dim() != 2 or vectors.size(0) != len(song_ids):
        raise ModelError(f"{len(song_ids)} song ids but vectors of shape {tuple(vectors.shape)}")
    dimensions = int(vectors.size(1))
    safe, zero = guard_vectors(vectors)
    others = {d: n for d, n in embedding_sizes(db).items() if d != dimensions}
    if others and not full:
        raise ModelError(
            f"songs hold embeddings of another size ({others}) than the model's {dimensions}: "
            "retrain (`musicgraph train`) or rewrite every song (`musicgraph embed --all`)")
    rebuilt = _drop_if_other_size(db, dimensions)
    if others:
        db.run_auto(cypher.load("gnn/remove_embeddings"), dimensions=dimensions)

    written = 0
    with tqdm(total=len(song_ids), desc="write embeddings", unit=" songs",
              leave=False, disable=not progress) as bar:
        for start in range(0, len(song_ids), batch_size):
            ids = song_ids[start:start + batch_size]
            rows = [{"id": sid, "embedding": vec}
                    for sid, vec in zip(ids, safe[start:start + batch_size].tolist(), strict=True)]
            written += db.write_tx(partial(_set_batch, rows=rows))
            bar.update(len(rows))

    state = ensure_index(db, dimensions)
    return WriteReport(written=written, dimensions=dimensions, zero_norm=zero,
                       index_rebuilt=rebuilt, index_state=state)


def record_model_version(db: Database, version: str, data_hash: str) -> None:
    """Mark the graph's embeddings as model ``version``'s (``Meta {key: 'model'}``), which
    the app compares with the ranker's before it serves."""
    db.write("gnn/save_model_version", key=MODEL_META_KEY, version=version, data_hash=data_hash)
