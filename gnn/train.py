"""Stage 3: train GraphSAGE by link prediction, save artifacts, write embeddings back.

Objective (unsupervised link prediction with negative sampling, BCE on decoder logits):

- Positives are song–song pairs: the two ends of a SIMILAR edge, and songs that share an
  artist, an album or a playlist. A shared-entity pair is drawn per song–entity edge
  ("anchor") by picking a random other song of that entity among the edges training
  may see. Genres are left out as positives (six genres split 28k songs: sharing one says
  little) but stay in the graph for message passing.
- Negatives are random song pairs: each positive ``(u, v)`` gets ``neg_ratio`` pairs
  ``(u, w)`` with ``w`` a uniformly drawn song.
- Similarity scores count through the loss: a SIMILAR positive is weighted by its score
  (clipped to [0, 1]), so strongly similar pairs pull harder than weak ones. SAGEConv
  ignores edge weights, so in message passing a score can only act as a filter:
  ``similar_min_score`` drops weaker SIMILAR edges from the graph (off by default: the
  ETL already keeps only each song's nearest, thresholded neighbours).
- Each relation contributes at most ``max_positives_per_relation`` positives per epoch, so
  the k-NN SIMILAR edges (k per song) don't drown the playlist and artist signal.

Target masking (option, off by default, see ``TrainConfig.mask_playlist_rate``): songs
without playlists must still embed well (a new song, a song only known by its audio).
Each epoch can hide a random share of the visible IN_PLAYLIST edges from message passing;
their songs must then find their playlist mates from audio, artist, album and similarity
alone, while the loss still asks for it.

Validation: ``val_fraction`` of the SIMILAR and of the IN_PLAYLIST edges are held out:
removed from message passing and from training positives for the whole run. A held-out
playlist edge ``(s, p)`` becomes the pair (s, a random visible song of p), which measures
exactly the playlist-less case. Each positive gets one random-song negative, fixed for
the run. The mean of the two kinds' AUCs drives early stopping (best weights kept).

Determinism: one seed feeds ``torch.manual_seed`` (weights, dropout) and a separate
generator (splits and sampling); deterministic algorithms are switched on during
training. On one machine with one thread count, the same seed gives identical embeddings.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import Tensor
from tqdm import tqdm

from gnn.export import EDGE_TYPES, FeatureSpec, GraphExport, export_graph
from gnn.model import (
    CHECKPOINT_NAME,
    GraphSageEncoder,
    artifacts_dir,
    build_model,
    save_checkpoint,
)
from gnn.writeback import WriteReport, write_embeddings
from musicgraph.db import Database
from musicgraph.errors import ModelError
from musicgraph.schema import MODEL_DATA_HASH

log = logging.getLogger(__name__)

#: Relations whose shared entity makes two songs a positive pair.
CO_MEMBERSHIP = ("BY", "ON", "IN_PLAYLIST")


@dataclass
class TrainConfig:
    """Training configuration, saved as ``config.json`` and in the checkpoint.

    Attributes:
        hidden: hidden layer width.
        out: embedding width (the vector index's dimensions).
        layers: SAGEConv layers.
        aggr: neighbourhood aggregation.
        dropout: dropout between layers.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        epochs: maximum epochs; one epoch is one full-batch optimiser step.
        patience: epochs without validation AUC improvement before stopping.
        val_every: validate (and consider a checkpoint) every this many epochs, and at
            the last: a validation is a full forward pass plus two AUCs, a large share of
            a training step.
        min_delta: smallest AUC gain that counts as an improvement.
        seed: seeds weights, splits and sampling.
        neg_ratio: random negatives per positive.
        val_fraction: share of SIMILAR and IN_PLAYLIST edges held out for validation.
        mask_playlist_rate: share of visible IN_PLAYLIST edges hidden from message passing
            each epoch (target masking); 0 turns it off (the default: see
            docs/design-notes.md for what it was measured to do).
        similar_min_score: SIMILAR edges scored below this leave the graph (None keeps all).
        max_positives_per_relation: cap on positives per relation per epoch.
        threads: torch intra-op threads during training (0: leave torch's setting).
        batch_size: songs per write-back transaction.
        write_back: store the embeddings in Neo4j after training.
    """

    hidden: int = 64
    out: int = 64
    layers: int = 2
    aggr: str = "mean"
    dropout: float = 0.0
    lr: float = 0.02
    weight_decay: float = 0.0
    epochs: int = 150
    patience: int = 15
    val_every: int = 5
    min_delta: float = 1e-4
    seed: int = 42
    neg_ratio: int = 1
    val_fraction: float = 0.05
    mask_playlist_rate: float = 0.0
    similar_min_score: float | None = None
    max_positives_per_relation: int = 40_000
    threads: int = 0
    batch_size: int = 2000
    write_back: bool = True

    def validate(self) -> None:
        """Raise ModelError for values training can't use."""
        checks = [
            (self.hidden >= 1 and self.out >= 1, "hidden and out must be positive"),
            (self.layers >= 1, "layers must be at least 1"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.patience >= 1, "patience must be at least 1"),
            (self.val_every >= 1, "val_every must be at least 1"),
            (self.lr > 0, "lr must be positive"),
            (self.neg_ratio >= 1, "neg_ratio must be at least 1"),
            (0 < self.val_fraction < 1, "val_fraction must lie in (0, 1)"),
            (0 <= self.mask_playlist_rate < 1, "mask_playlist_rate must lie in [0, 1)"),
            (0 <= self.dropout < 1, "dropout must lie in [0, 1)"),
            (self.max_positives_per_relation >= 1, "max_positives_per_relation must be >= 1"),
            (self.threads >= 0, "threads must be >= 0"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ModelError(f"bad training configuration: {message}")


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        config: the configuration used.
        history: one dict per epoch (``epoch``, ``loss``; on validated epochs also
            ``val_auc`` and the per-kind AUCs).
        best_epoch: epoch of the kept weights.
        best_val_auc: validation AUC of the kept weights (mean over held-out kinds).
        val_auc_by_kind: validation AUC per held-out kind at the best epoch.
        seconds: wall time of the training loop.
        total_seconds: wall time of the whole run (export, training, artifacts, write-back).
        artifacts: folder with the checkpoint, config, stats, hash and curve.
        data_hash: sha256 of the exported data.
        stats: graph statistics.
        song_ids: song ids, aligned with ``embeddings``.
        embeddings: ``[num_songs, out]`` final embeddings (before write-back's normalisation).
        write: the write-back report (None when ``write_back`` is off).
    """

    config: TrainConfig
    history: list[dict[str, float]]
    best_epoch: int
    best_val_auc: float
    val_auc_by_kind: dict[str, float]
    seconds: float
    total_seconds: float
    artifacts: Path
    data_hash: str
    stats: dict[str, Any]
    song_ids: list[str]
    embeddings: Tensor
    write: WriteReport | None = None

    def summary(self) -> str:
        """A few lines for the CLI."""
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in self.val_auc_by_kind.items())
        lines = [
            f"trained {len(self.history)} epochs in {self.seconds:.1f}s "
            f"(total {self.total_seconds:.1f}s); best epoch {self.best_epoch}",
            f"validation AUC {self.best_val_auc:.4f} (mean of: {kinds})",
            f"artifacts in {self.artifacts}",
        ]
        if self.write is not None:
            lines.append(f"wrote {self.write.written} embeddings ({self.write.dimensions}-d); "
                         f"index song_embedding {self.write.index_state}"
                         + (" (rebuilt)" if self.write.index_rebuilt else ""))
        return "\n".join(lines)


@dataclass
class _Members:
    """Song–entity edges of one relation, grouped by entity (CSR) to draw co-members."""

    songs: Tensor  # [A] song of each anchor edge
    entities: Tensor  # [A] entity of each anchor edge
    ptr: Tensor  # [num_nodes + 1] members of entity e are members[ptr[e]:ptr[e + 1]]
    members: Tensor  # [A] songs, grouped by entity

    @classmethod
    def build(cls, songs: Tensor, entities: Tensor, num_nodes: int) -> _Members:
        # Edges come sorted by song, so a stable sort by entity keeps members sorted too.
        order = torch.argsort(entities, stable=True)
        ptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        ptr[1:] = torch.cumsum(torch.bincount(entities, minlength=num_nodes), 0)
        return cls(songs=songs, entities=entities, ptr=ptr, members=songs[order])

    def draw(self, songs: Tensor, entities: Tensor, gen: torch.Generator,
             is_member: bool) -> Tensor:
        """Pair each ``(song, entity)`` with a uniformly drawn other member of the entity.

        Args:
            songs, entities: ``[P]`` each.
            gen: the sampling generator.
            is_member: the songs are members themselves (training anchors: draw among the
                others) or not (held-out edges: draw among all members).

        Returns:
            ``[2, P']`` pairs, for the entities that have someone to draw.
        """
        start = self.ptr[entities]
        count = self.ptr[entities + 1] - start
        span = count - 1 if is_member else count
        ok = span >= 1
        songs, start, count, span = songs[ok], start[ok], count[ok], span[ok]
        r = (torch.rand(len(songs), generator=gen, dtype=torch.float64) * span).long()
        partner = self.members[start + r]
        if is_member:
            # Drawing in [0, count-1) and replacing a hit on the song itself by the last
            # member is uniform over the count-1 others.
            partner = torch.where(partner == songs, self.members[start + count - 1], partner)
        return torch.stack([songs, partner])


@dataclass
class _Split:
    """The fixed train/validation split."""

    graph_mask: Tensor  # [E] edges in the graph at all
    train_mp_mask: Tensor  # [E] edges training may pass messages over
    playlist_cols: Tensor  # [Ep] columns of visible IN_PLAYLIST edges (maskable)
    similar_pairs: Tensor  # [2, S] training SIMILAR positives
    similar_weight: Tensor  # [S] their loss weights
    members: dict[str, _Members]
    val_pos: Tensor  # [2, V]
    val_neg: Tensor  # [2, V]
    val_kind: Tensor  # [V] index into _VAL_KINDS


_VAL_KINDS = ("similar", "playlist")


def _make_split(export: GraphExport, config: TrainConfig, gen: torch.Generator) -> _Split:
    ei, scores = export.data.edge_index, export.data.edge_score
    graph_mask = export.graph_mask(config.similar_min_score)

    def hold_out(mask: Tensor) -> Tensor:
        cols = torch.nonzero(mask & graph_mask).flatten()
        n_val = int(round(len(cols) * config.val_fraction))
        return cols[torch.randperm(len(cols), generator=gen)[:n_val]].sort().values

    val_similar = hold_out(export.edge_mask("SIMILAR"))
    val_playlist = hold_out(export.edge_mask("IN_PLAYLIST"))
    train_mp = graph_mask.clone()
    train_mp[val_similar] = False
    train_mp[val_playlist] = False

    members = {}
    for rel in CO_MEMBERSHIP:
        cols = torch.nonzero(export.edge_mask(rel) & train_mp).flatten()
        members[rel] = _Members.build(ei[0, cols], ei[1, cols], export.num_nodes)
    sim_cols = torch.nonzero(export.edge_mask("SIMILAR") & train_mp).flatten()

    # Validation positives: held-out SIMILAR pairs, and held-out playlist edges (s, p)
    # turned into (s, a visible song of p): the "song without its playlist" case.
    playlist_pairs = members["IN_PLAYLIST"].draw(ei[0, val_playlist], ei[1, val_playlist],
                                                 gen, is_member=False)
    val_pos = torch.cat([ei[:, val_similar], playlist_pairs], dim=1)
    val_kind = torch.cat([torch.zeros(len(val_similar), dtype=torch.long),
                          torch.ones(playlist_pairs.size(1), dtype=torch.long)])
    if val_pos.size(1) < 2:
        raise ModelError("too few SIMILAR and IN_PLAYLIST edges to hold out a validation set",
                         f"{val_pos.size(1)} pairs with val_fraction={config.val_fraction}")
    val_neg = torch.stack([val_pos[0], torch.randint(0, export.num_songs, (val_pos.size(1),),
                                                     generator=gen)])
    return _Split(
        graph_mask=graph_mask,
        train_mp_mask=train_mp,
        playlist_cols=torch.nonzero(export.edge_mask("IN_PLAYLIST") & train_mp).flatten(),
        similar_pairs=ei[:, sim_cols],
        similar_weight=scores[sim_cols].clamp(0.0, 1.0),
        members=members,
        val_pos=val_pos,
        val_neg=val_neg,
        val_kind=val_kind,
    )


def _cap(n: int, cap: int, gen: torch.Generator) -> Tensor:
    """Indices of at most ``cap`` of ``n`` items, drawn without replacement."""
    if n <= cap:
        return torch.arange(n)
    return torch.randperm(n, generator=gen)[:cap]


def _epoch_batch(export: GraphExport, split: _Split, config: TrainConfig,
                 gen: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """One epoch's message-passing edges, positive pairs and their loss weights.

    Returns:
        ``edge_index`` ``[2, E']`` (undirected), ``pos`` ``[2, P]``, ``weight`` ``[P]``.
    """
    keep = split.train_mp_mask.clone()
    if config.mask_playlist_rate > 0 and len(split.playlist_cols):
        hide = torch.rand(len(split.playlist_cols), generator=gen) < config.mask_playlist_rate
        keep[split.playlist_cols[hide]] = False
    edge_index = export.undirected_edge_index(keep)

    cap = config.max_positives_per_relation
    sim_idx = _cap(split.similar_pairs.size(1), cap, gen)
    pos_parts = [split.similar_pairs[:, sim_idx]]
    weights = [split.similar_weight[sim_idx]]
    for rel in CO_MEMBERSHIP:
        m = split.members[rel]
        idx = _cap(len(m.songs), cap, gen)
        pairs = m.draw(m.songs[idx], m.entities[idx], gen, is_member=True)
        pos_parts.append(pairs)
        weights.append(torch.ones(pairs.size(1)))
    return edge_index, torch.cat(pos_parts, dim=1), torch.cat(weights)


def _loss(model: GraphSageEncoder, z: Tensor, pos: Tensor, weight: Tensor, num_songs: int,
          neg_ratio: int, gen: torch.Generator) -> Tensor:
    """Weighted BCE on positives plus BCE on ``neg_ratio`` random-song negatives each."""
    src = pos[0].repeat(neg_ratio)
    neg = torch.stack([src, torch.randint(0, num_songs, (len(src),), generator=gen)])
    pos_logit = model.decode(z, pos)
    neg_logit = model.decode(z, neg)
    pos_loss = F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit),
                                                  weight=weight, reduction="sum") / weight.sum()
    neg_loss = F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit))
    return pos_loss + neg_loss


def _auc(pos: Tensor, neg: Tensor) -> float:
    labels = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]).numpy()
    return float(roc_auc_score(labels, torch.cat([pos, neg]).numpy()))


@torch.no_grad()
def evaluate(model: GraphSageEncoder, x: Tensor, edge_index: Tensor,
             split: _Split) -> dict[str, float]:
    """Validation AUC per held-out kind (similar, playlist), their mean, and pooled.

    Shapes:
        ``x`` ``[N, F]``, ``edge_index`` ``[2, E]`` (training graph, held-out edges absent)
    """
    model.eval()
    z = model.encode(x, edge_index)
    pos = model.decode(z, split.val_pos)
    neg = model.decode(z, split.val_neg)
    out = {"val_auc_pooled": _auc(pos, neg)}
    for code, kind in enumerate(_VAL_KINDS):
        sel = split.val_kind == code
        if sel.sum() >= 1:
            out[f"val_auc_{kind}"] = _auc(pos[sel], neg[sel])
    # The mean over kinds, not the pooled AUC, drives early stopping: k-NN SIMILAR pairs
    # outnumber held-out playlist pairs about 5:1 and are easy from audio alone, so the
    # pooled figure would stop training while the playlist-less case still improves.
    kinds = [v for k, v in out.items() if k != "val_auc_pooled"]
    out["val_auc"] = sum(kinds) / len(kinds)
    return out


def train_step(model: GraphSageEncoder, optimizer: torch.optim.Optimizer, x: Tensor,
               export: GraphExport, split: _Split, config: TrainConfig,
               gen: torch.Generator) -> float:
    """One full-batch optimiser step on a fresh sample of positives and negatives."""
    model.train()
    edge_index, pos, weight = _epoch_batch(export, split, config, gen)
    optimizer.zero_grad()
    z = model.encode(x, edge_index)
    loss = _loss(model, z, pos, weight, export.num_songs, config.neg_ratio, gen)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@contextmanager
def _deterministic(threads: int) -> Iterator[None]:
    """Deterministic kernels (and a fixed thread count if given) for the block only."""
    was = torch.are_deterministic_algorithms_enabled()
    old_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was)
        torch.set_num_threads(old_threads)


def _plot_curve(history: list[dict[str, float]], path: Path, best_epoch: int) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    validated = [h for h in history if "val_auc" in h]  # every val_every-th epoch
    fig, ax_loss = plt.subplots(figsize=(7, 4))
    ax_loss.plot(epochs, [h["loss"] for h in history], color="tab:blue", label="training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss", color="tab:blue")
    ax_auc = ax_loss.twinx()
    val_epochs = [h["epoch"] for h in validated]
    ax_auc.plot(val_epochs, [h["val_auc"] for h in validated], color="tab:orange",
                label="validation AUC (mean of kinds)")
    for kind, style in zip(_VAL_KINDS, (":", "--"), strict=True):
        if f"val_auc_{kind}" in validated[0]:
            ax_auc.plot(val_epochs, [h[f"val_auc_{kind}"] for h in validated],
                        color="tab:orange", linestyle=style, linewidth=1,
                        label=f"validation AUC, {kind}")
    ax_auc.set_ylabel("validation AUC", color="tab:orange")
    ax_auc.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch {best_epoch}")
    lines = ax_loss.get_legend_handles_labels()
    more = ax_auc.get_legend_handles_labels()
    ax_loss.legend(lines[0] + more[0], lines[1] + more[1], loc="center right")
    ax_loss.set_title("GraphSAGE link prediction")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(db: Database, config: TrainConfig | None = None, *, models: Path | None = None,
          progress: bool = True) -> TrainResult:
    """Export the graph, train GraphSAGE, save artifacts and write embeddings back.

    Args:
        db: the database.
        config: training configuration (defaults: :class:`TrainConfig`).
        models: the models folder (default ``musicgraph.config.models_dir()``); artifacts
            go to its ``graphsage`` subfolder, replacing the previous run's.
        progress: show tqdm progress bars.

    Returns:
        The run's history, metrics, artifact folder and embeddings.

    Raises:
        ModelError: bad configuration, an unusable graph, or training that diverged.
    """
    config = config or TrainConfig()
    config.validate()
    t_total = time.perf_counter()
    export = export_graph(db, progress=progress)
    spec = FeatureSpec.fit(export)
    x = spec.transform(export)
    data_hash = export.data_hash()
    stats = export.stats()
    log.info("graph: %s nodes, %s edges, hash %s", stats["num_nodes"], stats["num_edges"],
             data_hash[:12])

    with _deterministic(config.threads):
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        split = _make_split(export, config, gen)
        model = build_model(spec.dim, asdict(config))
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                     weight_decay=config.weight_decay)
        eval_edges = export.undirected_edge_index(split.train_mp_mask)

        history: list[dict[str, float]] = []
        best_auc, best_epoch, best_state, best_metrics = -1.0, 0, None, {}
        t_train = time.perf_counter()
        bar = tqdm(range(1, config.epochs + 1), desc="train", unit=" epoch", disable=not progress)
        for epoch in bar:
            loss = train_step(model, optimizer, x, export, split, config, gen)
            if not torch.isfinite(torch.tensor(loss)):
                raise ModelError(f"training diverged at epoch {epoch} (loss {loss}): "
                                 "lower the learning rate")
            if epoch % config.val_every and epoch != config.epochs:
                history.append({"epoch": epoch, "loss": loss})
                continue
            metrics = evaluate(model, x, eval_edges, split)
            history.append({"epoch": epoch, "loss": loss, **metrics})
            log.info("epoch %d loss %.4f val_auc %.4f", epoch, loss, metrics["val_auc"])
            bar.set_postfix(loss=f"{loss:.4f}", val_auc=f"{metrics['val_auc']:.4f}",
                            best=f"{max(best_auc, metrics['val_auc']):.4f}")
            if metrics["val_auc"] > best_auc + config.min_delta:
                best_auc, best_epoch, best_metrics = metrics["val_auc"], epoch, metrics
                best_state = copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= config.patience:
                log.info("early stop at epoch %d (best %d)", epoch, best_epoch)
                break
        bar.close()
        seconds = time.perf_counter() - t_train
        assert best_state is not None  # at least one epoch ran
        model.load_state_dict(best_state)
        model.eval()
        with torch.no_grad():
            # Final embeddings see the whole graph, held-out edges included, exactly as
            # inductive embedding later will.
            z = model.encode(x, export.undirected_edge_index(split.graph_mask))
        embeddings = z[: export.num_songs].clone()

    out_dir = artifacts_dir(models)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_kind = {k.removeprefix("val_auc_"): v for k, v in best_metrics.items()
               if k.startswith("val_auc_") and k != "val_auc_pooled"}
    config_dict = asdict(config)
    save_checkpoint(out_dir / CHECKPOINT_NAME, model, config_dict, spec.to_dict(), {
        "node_types": list(export.node_types),
        "edge_types": list(EDGE_TYPES),
        "data_hash": data_hash,
        "best_epoch": best_epoch,
        "best_val_auc": best_auc,
    })
    (out_dir / "config.json").write_text(json.dumps(config_dict, indent=2) + "\n")
    (out_dir / "graph_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    (out_dir / MODEL_DATA_HASH).write_text(data_hash + "\n")
    (out_dir / "features.json").write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
    (out_dir / "metrics.json").write_text(json.dumps({
        "best_epoch": best_epoch, "best_val_auc": best_auc, "val_auc_by_kind": by_kind,
        "epochs_run": len(history), "train_seconds": round(seconds, 3),
        "data_hash": data_hash, "history": history,
    }, indent=2) + "\n")
    _plot_curve(history, out_dir / "training_curve.png", best_epoch)

    write = None
    if config.write_back:
        write = write_embeddings(db, export.song_ids, embeddings, full=True,
                                 batch_size=config.batch_size, progress=progress)
    return TrainResult(
        config=config, history=history, best_epoch=best_epoch, best_val_auc=best_auc,
        val_auc_by_kind=by_kind, seconds=seconds,
        total_seconds=time.perf_counter() - t_total, artifacts=out_dir, data_hash=data_hash,
        stats=stats, song_ids=list(export.song_ids), embeddings=embeddings, write=write,
    )
