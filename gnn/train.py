"""Stage 3: train the encoder for the served task, save artifacts, write embeddings back.

The served task is playlist continuation with cold songs: given some songs of a
playlist, rank songs that sit in no playlist yet. Training asks exactly that:

- **Inner split.** A seeded ``inner_fraction`` of the graph's IN_PLAYLIST memberships is
  hidden for the whole run (:func:`inner_split`; memberships are ordered by (song id,
  playlist id) first, so the split depends on the graph only, never on row order).
  Training sees the rest; the hidden part is only the early-stopping target.
- **Objective.** Each epoch hides a random ``mask_frac`` of the visible memberships from
  message passing. A hidden membership whose song is left with no visible playlist is a
  target: its playlist's visible songs (at most ``max_seeds``) form the query (the mean
  of their unit embeddings), and a sampled softmax over the cold songs (the targets and
  up to ``max_candidates`` others) asks the target to rank first, with a learned logit
  scale on the cosines (the served index ranks by cosine). A second term
  (``task2_weight``) asks the same from one visible song of the playlist as the query
  (a song page's "more like this"). Playlist identity codes are redrawn every epoch.
- **Early stopping** on the served task over the inner split every ``eval_every``
  epochs: the inner-hidden memberships of songs left with no inner-visible playlist
  (the inner cold pool) are ranked for each playlist by cosine to the mean of its
  inner-visible songs; Recall@10 over those playlists picks the weights (of the
  exponential moving average of the weights, ``ema``). No improvement for ``patience``
  epochs ends the run.
- **Final embeddings** are encoded on the whole graph (every membership), as serving
  and ``musicgraph embed`` will; the run also returns the embeddings of the graph
  without the inner-hidden memberships (what serving would compute had they been
  hidden), for fitting a ranker on the inner split.

Determinism: one seed feeds ``torch.manual_seed`` (weights) and a generator (masks,
codes, sampling); the inner split uses its own ``numpy`` generator from the same seed.
On one machine with one thread count, the same seed and graph give identical embeddings.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from gnn.export import GraphExport, export_graph
from gnn.model import (
    CHECKPOINT_NAME,
    CODE_KINDS,
    GraphInputs,
    GraphView,
    HeteroSage,
    artifacts_dir,
    build_inputs,
    build_model,
    encode,
    graph_view,
    mean_adjacency,
    save_checkpoint,
)
from gnn.ranker import RankerFitConfig, fit_ranker
from gnn.writeback import WriteReport, record_model_version, write_embeddings
from musicgraph.db import Database
from musicgraph.errors import ModelError
from musicgraph.ranking import RANKER_FILE, Ranker
from musicgraph.schema import MODEL_DATA_HASH

log = logging.getLogger(__name__)

#: Offset of the inner split's generator from the training seed (a split of its own,
#: not the stream that draws the weights).
INNER_SEED_OFFSET = 1000
#: Offset of the generator that samples the inner task's seeds.
TASK_SEED_OFFSET = 1
#: Rank cutoff of the early-stopping metric.
RECALL_K = 10


@dataclass
class TrainConfig:
    """Training configuration, saved as ``config.json`` and in the checkpoint.

    The defaults are the tuned configuration (docs/design-notes.md); seeds 42 and 7 are
    the evaluation's reporting seeds and choose nothing.

    Attributes:
        hidden: layer-1 width.
        out: embedding width (the vector index's dimensions).
        code_dim: width of the random identity codes (0: none).
        codes: node kinds with codes (``playlist``, ``artist``, ``album``).
        use_similar: SIMILAR edges in message passing.
        use_genre: playlists get the genres every member song carries as input.
        genre_codes: genre as random identity codes instead of a one-hot.
        year_rbf: Gaussian bumps on the release year (0: the standardised year only).
        pop_rbf: Gaussian bumps on popularity (0: popularity only).
        epochs: maximum epochs; one epoch is one full-batch optimiser step.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        dropout: dropout on layer-1 outputs.
        mask_frac: share of the visible memberships hidden each epoch (the positives).
        init_scale: initial softmax logit scale (learned).
        task2_weight: weight of the one-song query term (0: off).
        task2_queries: one-song queries per epoch.
        max_candidates: cold candidates per epoch besides the targets (all when fewer).
        max_seeds: visible songs per playlist query (training and early stopping).
        max_queries: playlists in the loss per epoch (0: all with targets).
        eval_max_queries: inner-task playlists for early stopping (0: all).
        ema: exponential moving average of the weights (0: off); early stopping and
            the saved model use the average.
        eval_every: evaluate the inner task every this many epochs, and at the last.
        patience: epochs without inner Recall@10 gain before stopping.
        threads: torch intra-op threads during training (0: leave torch's setting).
        seed: seeds weights, the inner split and sampling.
        inner_fraction: share of the memberships hidden for early stopping.
        batch_size: songs per write-back transaction.
        write_back: store the embeddings in Neo4j after training.
    """

    hidden: int = 128
    out: int = 64
    code_dim: int = 32
    codes: tuple[str, ...] = ("playlist",)
    use_similar: bool = True
    use_genre: bool = True
    genre_codes: bool = False
    year_rbf: int = 8
    pop_rbf: int = 0
    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 0.0
    dropout: float = 0.0
    mask_frac: float = 0.2
    init_scale: float = 10.0
    task2_weight: float = 0.5
    task2_queries: int = 1024
    max_candidates: int = 20000
    max_seeds: int = 100
    # Bounds that only large catalogues reach (the bundled data has 471 playlists): every
    # epoch's targets join the candidates, so with all 15.5k playlists of a 1M-song
    # catalogue the logits were [15.5k, 200k] and the first epoch needed over 21 GB.
    max_queries: int = 2048
    eval_max_queries: int = 2048
    ema: float = 0.9
    eval_every: int = 10
    patience: int = 60
    threads: int = 1
    seed: int = 42
    inner_fraction: float = 0.2
    batch_size: int = 2000
    write_back: bool = True

    def __post_init__(self) -> None:
        # From JSON (config.json, the checkpoint) the codes come back as a list.
        self.codes = tuple(self.codes)

    def validate(self) -> None:
        """Raise ModelError for values training can't use."""
        checks = [
            (self.hidden >= 1 and self.out >= 1, "hidden and out must be positive"),
            (self.code_dim >= 0, "code_dim must be >= 0"),
            (set(self.codes) <= set(CODE_KINDS), f"codes must be among {CODE_KINDS}"),
            (not self.genre_codes or self.code_dim > 0, "genre_codes needs code_dim > 0"),
            (self.year_rbf >= 0 and self.pop_rbf >= 0, "year_rbf and pop_rbf must be >= 0"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.lr > 0 and math.isfinite(self.lr), "lr must be positive"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.dropout < 1, "dropout must lie in [0, 1)"),
            (0 < self.mask_frac < 1, "mask_frac must lie in (0, 1)"),
            (self.init_scale > 0, "init_scale must be positive"),
            (self.task2_weight >= 0, "task2_weight must be >= 0"),
            (self.task2_queries >= 1, "task2_queries must be at least 1"),
            (self.max_candidates >= 1, "max_candidates must be at least 1"),
            (self.max_seeds >= 1, "max_seeds must be at least 1"),
            (self.max_queries >= 0 and self.eval_max_queries >= 0,
             "max_queries and eval_max_queries must be >= 0"),
            (0 <= self.ema < 1, "ema must lie in [0, 1)"),
            (self.eval_every >= 1, "eval_every must be at least 1"),
            (self.patience >= 1, "patience must be at least 1"),
            (self.threads >= 0, "threads must be >= 0"),
            (0 < self.inner_fraction < 1, "inner_fraction must lie in (0, 1)"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ModelError(f"bad training configuration: {message}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON and the checkpoint (``codes`` as a list)."""
        out = asdict(self)
        out["codes"] = list(self.codes)
        return out


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        config: the configuration used.
        history: one dict per epoch (``epoch``, ``loss``, None for an epoch with no
            target; on evaluated epochs also ``inner_recall``).
        best_epoch: epoch of the kept weights.
        best_inner_recall: inner-split Recall@10 of the kept weights (None when the
            graph had no inner query: the last epoch's weights are kept).
        seconds: wall time of the training loop.
        total_seconds: wall time of the whole run (export, training, artifacts, write-back).
        artifacts: folder with the checkpoint, config, stats, hash, metrics and curve.
        data_hash: sha256 of the exported data.
        model_version: short stable id of the trained model (data hash, config, weights),
            also in the checkpoint and ``metrics.json``.
        stats: graph statistics.
        song_ids: song ids, aligned with ``embeddings`` and ``inner_embeddings``.
        embeddings: ``[num_songs, out]`` final embeddings, encoded on the whole graph
            (before write-back's normalisation).
        export: the exported graph training read.
        inner_hidden: ``[H, 2]`` int64 (song index, playlist index into
            ``export.keys["Playlist"]``) of the memberships hidden by the inner split,
            sorted.
        inner_embeddings: ``[num_songs, out]`` embeddings of the final model on the
            graph without the inner-hidden memberships.
        ranker: the served ranker fit on the inner split (saved as ``ranker.json``).
        write: the write-back report (None when ``write_back`` is off).
    """

    config: TrainConfig
    history: list[dict[str, Any]]
    best_epoch: int
    best_inner_recall: float | None
    seconds: float
    total_seconds: float
    artifacts: Path
    data_hash: str
    model_version: str
    stats: dict[str, Any]
    song_ids: list[str]
    embeddings: Tensor
    export: GraphExport
    inner_hidden: np.ndarray
    inner_embeddings: Tensor
    ranker: Ranker
    write: WriteReport | None = None

    def summary(self) -> str:
        """A few lines for the CLI."""
        recall = ("no inner query (last epoch kept)" if self.best_inner_recall is None
                  else f"{self.best_inner_recall:.4f}")
        lines = [
            f"trained {len(self.history)} epochs in {self.seconds:.1f}s "
            f"(total {self.total_seconds:.1f}s); best epoch {self.best_epoch}",
            f"inner-split Recall@{RECALL_K} {recall}; model {self.model_version}",
            f"ranker: C={self.ranker.report.get('c')}, inner validation Recall@10 "
            f"{self.ranker.report.get('validation_recall_at_10')}, "
            f"{self.ranker.report.get('queries')} queries",
            f"artifacts in {self.artifacts}",
        ]
        if self.write is not None:
            lines.append(f"wrote {self.write.written} embeddings ({self.write.dimensions}-d); "
                         f"index song_embedding {self.write.index_state}"
                         + (" (rebuilt)" if self.write.index_rebuilt else ""))
        return "\n".join(lines)


# --------------------------------------------------------------------------- inner split
def inner_split(memberships: np.ndarray, song_keys: list[str], playlist_keys: list[str],
                fraction: float, seed: int) -> np.ndarray:
    """Which memberships the inner split hides.

    The memberships are ordered by (song id, playlist id) before a seeded permutation
    picks ``round(fraction * M)`` of them, so the choice depends on the keys and the
    seed only: not on the order of the rows, of the export or of the indices.

    Args:
        memberships: ``[M, 2]`` (song index, playlist index).
        song_keys, playlist_keys: the keys the indices stand for.
        fraction: share to hide.
        seed: the training seed (the generator is seeded with ``seed +``
            :data:`INNER_SEED_OFFSET`).

    Returns:
        ``[M]`` bool, True for a hidden membership (aligned with ``memberships``).
    """
    m = len(memberships)

    def rank(keys: list[str]) -> np.ndarray:
        out = np.empty(len(keys), dtype=np.int64)
        out[np.argsort(np.asarray(keys, dtype=object), kind="stable")] = np.arange(len(keys))
        return out

    order = np.lexsort((rank(playlist_keys)[memberships[:, 1]],
                        rank(song_keys)[memberships[:, 0]]))
    rng = np.random.default_rng(seed + INNER_SEED_OFFSET)
    n_hide = int(round(m * fraction))
    hide = np.zeros(m, dtype=bool)
    hide[order[rng.permutation(m)[:n_hide]]] = True
    return hide


@dataclass
class InnerTask:
    """The served task on the inner split.

    Attributes:
        seeds: ``[Q, N]`` 0/1 CSR, each query's inner-visible songs (at most
            ``max_seeds``, a seeded sample).
        relevant: per query, the pool positions of its inner-hidden cold songs.
        pool: ``[C]`` song indices with no inner-visible membership.
    """

    seeds: sp.csr_matrix
    relevant: list[np.ndarray]
    pool: np.ndarray

    @property
    def num_queries(self) -> int:
        return int(self.seeds.shape[0])


def inner_task(visible: sp.csr_matrix, hidden: np.ndarray, config: TrainConfig) -> InnerTask:
    """Playlists with inner-visible songs and inner-hidden songs in the inner cold pool.

    Args:
        visible: ``[N, P]`` inner-visible memberships.
        hidden: ``[H, 2]`` inner-hidden (song, playlist).
        config: ``max_seeds``, ``eval_max_queries`` and ``seed``.
    """
    n, p = visible.shape
    pool = np.flatnonzero(np.diff(visible.indptr) == 0)
    pool_pos = np.full(n, -1)
    pool_pos[pool] = np.arange(len(pool))
    by_playlist = visible.T.tocsr()
    targets: dict[int, list[int]] = {}
    for s, pl in hidden:
        if pool_pos[s] >= 0:
            targets.setdefault(int(pl), []).append(int(pool_pos[s]))
    queries = [pl for pl in sorted(targets)
               if by_playlist.indptr[pl + 1] > by_playlist.indptr[pl]]
    if config.eval_max_queries and len(queries) > config.eval_max_queries:
        pick = np.random.default_rng(config.seed).choice(len(queries), config.eval_max_queries,
                                                         replace=False)
        queries = [queries[i] for i in np.sort(pick)]
    rng = np.random.default_rng(config.seed + TASK_SEED_OFFSET)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    relevant = []
    for q, pl in enumerate(queries):
        seeds = by_playlist.indices[by_playlist.indptr[pl]:by_playlist.indptr[pl + 1]]
        if len(seeds) > config.max_seeds:
            seeds = np.sort(rng.choice(seeds, config.max_seeds, replace=False))
        rows.append(np.full(len(seeds), q))
        cols.append(seeds)
        relevant.append(np.unique(np.asarray(targets[pl])))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    seeds_m = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(queries), n))
    return InnerTask(seeds=seeds_m, relevant=relevant, pool=pool)


def pool_recall(z: Tensor, task: InnerTask, k: int = RECALL_K, block: int = 512) -> float:
    """Mean Recall@k of the task: the pool ranked by cosine to the mean of each query's
    unit seed vectors (seeds are never in the pool)."""
    unit = F.normalize(z.double(), dim=1).numpy()
    cand = unit[task.pool].astype(np.float32)
    recalls = []
    for start in range(0, task.num_queries, block):
        q = np.asarray(task.seeds[start:start + block] @ unit)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        scores = q.astype(np.float32) @ cand.T
        kk = min(k, scores.shape[1])
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        for i, row in enumerate(top):
            rel = task.relevant[start + i]
            recalls.append(np.isin(rel, row).sum() / len(rel))
    return float(np.mean(recalls))


# --------------------------------------------------------------------------- objective
@dataclass
class _Batch:
    """One epoch's visible graph and targets."""

    visible: sp.csr_matrix  # [N, P]
    cold: np.ndarray  # [N] bool: no visible membership this epoch
    t_song: np.ndarray  # [T] target songs (cold)
    t_playlist: np.ndarray  # [T] their playlists


def _epoch_batch(memberships: np.ndarray, shape: tuple[int, int], config: TrainConfig,
                 gen: torch.Generator) -> _Batch:
    """Hide a random ``mask_frac`` of the memberships: the masked graph and the targets
    whose song is left with no visible membership."""
    r, c = memberships[:, 0], memberships[:, 1]
    hide = (torch.rand(len(r), generator=gen) < config.mask_frac).numpy()
    vis = sp.csr_matrix((np.ones(int((~hide).sum()), np.float32), (r[~hide], c[~hide])),
                        shape=shape)
    cold = np.diff(vis.indptr) == 0
    keep = cold[r[hide]]
    return _Batch(visible=vis, cold=cold, t_song=r[hide][keep], t_playlist=c[hide][keep])


def _pick(n: int, cap: int, gen: torch.Generator) -> np.ndarray:
    """Positions of ``cap`` of ``n`` items drawn without replacement (all when fewer)."""
    return torch.randperm(n, generator=gen)[:cap].numpy() if n > cap else np.arange(n)


def _loss(model: HeteroSage, z: Tensor, batch: _Batch, config: TrainConfig,
          gen: torch.Generator) -> Tensor | None:
    """Sampled softmax of the cold targets against the cold candidates, per playlist
    query (mean of its visible songs) plus ``task2_weight`` times the same per one-song
    query. None when the epoch has no usable target (a tiny graph)."""
    t_song, t_pl = batch.t_song, batch.t_playlist
    if len(t_song) == 0:
        return None
    zn = F.normalize(z, dim=1)
    n = z.shape[0]
    pls = np.unique(t_pl)
    if config.max_queries and len(pls) > config.max_queries:
        pls = np.sort(pls[_pick(len(pls), config.max_queries, gen)])
        sel = np.isin(t_pl, pls)
        t_song, t_pl = t_song[sel], t_pl[sel]
    vis_t = batch.visible.T.tocsr()
    rows, cols = [], []
    for qi, p in enumerate(pls):
        s = vis_t.indices[vis_t.indptr[p]:vis_t.indptr[p + 1]]
        if len(s) > config.max_seeds:
            s = s[_pick(len(s), config.max_seeds, gen)]
        rows.append(np.full(len(s), qi))
        cols.append(s)
    r, c = np.concatenate(rows), np.concatenate(cols)
    has = np.bincount(r, minlength=len(pls)) > 0
    qpos = np.searchsorted(pls, t_pl)
    ok = has[qpos]
    if not ok.any():
        return None
    qm = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(pls), n))
    q = F.normalize(mean_adjacency(qm) @ zn, dim=1)
    cand = np.flatnonzero(batch.cold)
    if len(cand) > config.max_candidates:
        extra = np.setdiff1d(cand, t_song)
        pick = extra[torch.randperm(len(extra), generator=gen)[: config.max_candidates].numpy()]
        cand = np.union1d(pick, np.unique(t_song))
    cpos = np.full(n, -1)
    cpos[cand] = np.arange(len(cand))
    zc = zn[torch.from_numpy(cand)]
    scale = model.log_scale.exp()
    lsm = torch.log_softmax(scale * (q @ zc.T), dim=1)
    loss = -lsm[torch.from_numpy(qpos[ok]), torch.from_numpy(cpos[t_song[ok]])].mean()
    if config.task2_weight > 0:
        sel_all = np.flatnonzero(ok)
        sel = sel_all[_pick(len(sel_all), config.task2_queries, gen)]
        src = []
        for i in sel:
            s = vis_t.indices[vis_t.indptr[t_pl[i]]:vis_t.indptr[t_pl[i] + 1]]
            src.append(s[int(torch.randint(len(s), (1,), generator=gen))])
        l2 = torch.log_softmax(scale * (zn[torch.from_numpy(np.asarray(src))] @ zc.T), dim=1)
        loss = loss + config.task2_weight * -l2[torch.arange(len(sel)),
                                                torch.from_numpy(cpos[t_song[sel]])].mean()
    return loss


@contextmanager
def _threads(threads: int) -> Iterator[None]:
    """A fixed torch thread count (if given) for the block only."""
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)


def _plot_curve(history: list[dict[str, Any]], path: Path, best_epoch: int) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax_loss = plt.subplots(figsize=(7, 4))
    with_loss = [h for h in history if h["loss"] is not None]
    ax_loss.plot([h["epoch"] for h in with_loss], [h["loss"] for h in with_loss],
                 color="tab:blue", label="training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss", color="tab:blue")
    ax_rec = ax_loss.twinx()
    evaluated = [h for h in history if h.get("inner_recall") is not None]
    ax_rec.plot([h["epoch"] for h in evaluated], [h["inner_recall"] for h in evaluated],
                color="tab:orange", marker=".", label=f"inner-split Recall@{RECALL_K}")
    ax_rec.set_ylabel(f"inner Recall@{RECALL_K}", color="tab:orange")
    ax_rec.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch {best_epoch}")
    lines = ax_loss.get_legend_handles_labels()
    more = ax_rec.get_legend_handles_labels()
    ax_loss.legend(lines[0] + more[0], lines[1] + more[1], loc="center right")
    ax_loss.set_title("GraphSAGE, playlist continuation with cold songs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def model_version(data_hash: str, config: dict[str, Any], state: dict[str, Tensor]) -> str:
    """First 16 hex digits of sha256 over the data hash, the config and the weights."""
    h = hashlib.sha256()
    h.update(data_hash.encode())
    h.update(json.dumps(config, sort_keys=True).encode())
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class _Fit:
    """The outcome of the training loop."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_recall: float | None = None
    seconds: float = 0.0


def fit(model: HeteroSage, graph: GraphInputs, visible: np.ndarray, task: InnerTask,
        inner_view: GraphView, config: TrainConfig, gen: torch.Generator,
        progress: bool = False) -> _Fit:
    """The training loop: leaves ``model`` holding the kept (averaged) weights.

    Args:
        model: the encoder, initialised, its feature scaler fitted.
        graph: the inputs.
        visible: ``[V, 2]`` the memberships training may see (inner-visible).
        task: the inner task (early stopping).
        inner_view: the graph with the inner-visible memberships.
        config: the configuration.
        gen: the sampling generator.
        progress: a tqdm bar.

    Raises:
        ModelError: the loss went non-finite.
    """
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    shadow = copy.deepcopy(model.state_dict()) if config.ema else None
    out = _Fit()
    best_state: dict[str, Tensor] | None = None
    shape = (graph.num_songs, graph.num_playlists)
    t0 = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc="train", unit=" epoch", disable=not progress)
    for epoch in bar:
        model.train()
        batch = _epoch_batch(visible, shape, config, gen)
        codes = (graph.random_codes(model.code_kinds, config.code_dim, gen)
                 if config.code_dim else {})
        z = model(graph, graph_view(graph, batch.visible), codes)
        loss = _loss(model, z, batch, config, gen)
        record: dict[str, Any] = {"epoch": epoch, "loss": None}
        if loss is not None:
            if not torch.isfinite(loss):
                raise ModelError(f"training diverged at epoch {epoch} (loss {float(loss.detach())}): "
                                 "lower the learning rate")
            opt.zero_grad()
            loss.backward()
            opt.step()
            record["loss"] = float(loss.detach())
            if shadow is not None:
                with torch.no_grad():
                    for k, v in model.state_dict().items():
                        if v.dtype.is_floating_point:
                            shadow[k].mul_(config.ema).add_(v, alpha=1 - config.ema)
        out.history.append(record)
        if epoch % config.eval_every and epoch != config.epochs:
            continue
        live = copy.deepcopy(model.state_dict()) if shadow is not None else None
        if shadow is not None:
            model.load_state_dict(shadow)
        recall = (pool_recall(encode(model, graph, inner_view), task)
                  if task.num_queries else None)
        record["inner_recall"] = recall
        # Without inner queries (a tiny graph) every evaluation replaces the kept weights:
        # the last epoch's are kept.
        if recall is None or out.best_recall is None or recall > out.best_recall:
            out.best_recall, out.best_epoch = recall, epoch
            best_state = copy.deepcopy(model.state_dict())
        if live is not None:
            model.load_state_dict(live)
        log.info("epoch %d loss %s inner R@%d %s", epoch, record["loss"], RECALL_K, recall)
        bar.set_postfix(loss=record["loss"], inner_recall=recall, best=out.best_recall)
        if recall is not None and epoch - out.best_epoch >= config.patience:
            log.info("early stop at epoch %d (best %d)", epoch, out.best_epoch)
            break
    bar.close()
    assert best_state is not None  # the last epoch is always evaluated
    model.load_state_dict(best_state)
    model.eval()
    out.seconds = time.perf_counter() - t0
    return out


def train(db: Database, config: TrainConfig | None = None, *, models: Path | None = None,
          progress: bool = True) -> TrainResult:
    """Export the graph, train the encoder, save artifacts and write embeddings back.

    Args:
        db: the database.
        config: training configuration (defaults: :class:`TrainConfig`).
        models: the models folder (default ``musicgraph.config.models_dir()``); artifacts
            go to its ``graphsage`` subfolder, replacing the previous run's.
        progress: show tqdm progress bars.

    Returns:
        The run's history, metrics, artifact folder, embeddings and inner split.

    Raises:
        ModelError: bad configuration, an unusable graph, or training that diverged.
    """
    config = config or TrainConfig()
    config.validate()
    t_total = time.perf_counter()
    export = export_graph(db, progress=progress)
    data_hash = export.data_hash()
    stats = export.stats()
    log.info("graph: %s nodes, %s edges, hash %s", stats["num_nodes"], stats["num_edges"],
             data_hash[:12])
    graph = build_inputs(export)
    hide = inner_split(graph.memberships, graph.song_ids, graph.playlist_keys,
                       config.inner_fraction, config.seed)
    inner_hidden = graph.memberships[hide]
    inner_visible = graph.memberships[~hide]
    inner_matrix = graph.membership_matrix(~hide)
    inner_view = graph_view(graph, inner_matrix)
    task = inner_task(inner_matrix, inner_hidden, config)
    log.info("inner split: %d hidden of %d memberships, %d queries, pool %d",
             len(inner_hidden), len(graph.memberships), task.num_queries, len(task.pool))

    config_dict = config.to_dict()
    with _threads(config.threads):
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        model = build_model(config_dict, graph.x_raw.shape[1], len(graph.genre_keys))
        model.features.fit(graph.x_raw)
        model.genre_keys = list(graph.genre_keys)
        result = fit(model, graph, inner_visible, task, inner_view, config, gen, progress)
        embeddings = encode(model, graph).clone()
        inner_embeddings = encode(model, graph, inner_view).clone()

    version = model_version(data_hash, config_dict, model.state_dict())
    out_dir = artifacts_dir(models)
    out_dir.mkdir(parents=True, exist_ok=True)
    features = {"columns": list(graph.audio_features) + ["popularity/100", "release_year"],
                "mean": model.features.mean.tolist(), "std": model.features.std.tolist(),
                "year_rbf": config.year_rbf, "pop_rbf": config.pop_rbf}
    save_checkpoint(out_dir / CHECKPOINT_NAME, model, config_dict, {
        "audio_features": list(graph.audio_features),
        "features": features,
        "data_hash": data_hash,
        "model_version": version,
        "best_epoch": result.best_epoch,
        "best_inner_recall": result.best_recall,
    })
    (out_dir / "config.json").write_text(json.dumps(config_dict, indent=2) + "\n")
    (out_dir / "graph_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    (out_dir / MODEL_DATA_HASH).write_text(data_hash + "\n")
    (out_dir / "features.json").write_text(json.dumps(features, indent=2) + "\n")
    (out_dir / "metrics.json").write_text(json.dumps({
        "best_epoch": result.best_epoch, "best_inner_recall": result.best_recall,
        "model_version": version, "epochs_run": len(result.history),
        "train_seconds": round(result.seconds, 3), "data_hash": data_hash,
        "inner_split": {"hidden": len(inner_hidden), "memberships": len(graph.memberships),
                        "queries": task.num_queries, "pool": len(task.pool)},
        "history": result.history,
    }, indent=2) + "\n")
    _plot_curve(result.history, out_dir / "training_curve.png", result.best_epoch)

    # The ranker learns from the same hidden memberships, with features computed on the
    # graph without them and the embeddings that graph gives (gnn.ranker).
    ranker = fit_ranker(export, inner_hidden, inner_embeddings.numpy(), model_version=version,
                        data_hash=data_hash, config=RankerFitConfig(seed=config.seed),
                        progress=progress)
    (out_dir / "ranker_report.json").write_text(json.dumps(ranker.report, indent=2) + "\n")

    write = None
    if config.write_back:
        # While the vectors change, the graph's model version names none: the app answers
        # 503 rather than scoring new embeddings with the old ranker (or the reverse).
        record_model_version(db, f"writing:{version}", data_hash)
        write = write_embeddings(db, export.song_ids, embeddings, full=True,
                                 batch_size=config.batch_size, progress=progress)
        ranker.save(out_dir / RANKER_FILE)
        record_model_version(db, version, data_hash)
    else:
        ranker.save(out_dir / RANKER_FILE)
    return TrainResult(
        config=config, history=result.history, best_epoch=result.best_epoch,
        best_inner_recall=result.best_recall, seconds=result.seconds,
        total_seconds=time.perf_counter() - t_total, artifacts=out_dir, data_hash=data_hash,
        model_version=version, stats=stats, song_ids=list(export.song_ids),
        embeddings=embeddings, export=export, inner_hidden=inner_hidden,
        inner_embeddings=inner_embeddings, ranker=ranker, write=write,
    )
