"""Stage 2b: fit the served ranker on memberships hidden from the training graph itself.

``musicgraph train`` hides a share of the graph's playlist memberships (the *inner*
split) to early-stop GraphSAGE; this module uses the same hidden memberships as ranker
labels. For each inner query (a playlist's visible songs, or one of them), the
candidates are drawn as serving draws them, among the songs the inner split leaves with
no playlist (the cold pool, the task the evaluation measures), and each candidate's
features are computed here in numpy *as serving would compute them with those
memberships hidden*: the artist and album statistics, the affinities and the
embeddings are all taken from the inner graph. The feature definitions are the ones of
:mod:`musicgraph.ranking` and ``cypher/recommend/features.cypher``; a test checks that
this path and the Cypher path give the same vector for the same candidate.

The model is a logistic regression (scikit-learn) on standardised features, pointwise
(a candidate is or is not a hidden member) or pairwise (which of a positive and a
negative of one query is the member); the kind and the regularisation are chosen on a
share of the inner playlists held out from the fit, by Recall@10 among the candidates. The evaluation's hidden memberships are never seen:
they are not in the graph ``musicgraph train`` reads.

Public entry: :func:`fit_ranker`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from gnn.export import EDGE_TYPES, GraphExport
from gnn.model import build_inputs
from gnn.writeback import guard_vectors
from musicgraph.errors import ModelError
from musicgraph.ranking import FEATURE_NAMES, Ranker, RankingConfig, seed_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankerFitConfig:
    """Tunables of the ranker's fit (the served candidates' live in RankingConfig).

    Attributes:
        seed: seeds the query sampling and the fit/validation split.
        max_seeds: a playlist query's seeds are at most this many (the API's limit).
        song_queries: at most this many one-seed queries (a hidden membership queried by
            one visible song of its playlist, as the evaluation's task 2).
        playlist_queries: at most this many playlist queries (a large catalogue's 15k
            playlists add fit time, not a better fit).
        val_share: share of playlists whose queries choose the kind and regularisation.
        c_grid: inverse regularisation strengths tried.
        kinds: logistic regressions tried: ``pointwise`` (is this candidate a hidden
            member?) and ``pairwise`` (which of two candidates is?); the inner validation
            chooses.
        pairs_per_positive: negatives paired with each positive (pairwise).
    """

    seed: int = 42
    max_seeds: int = 100
    song_queries: int = 3000
    playlist_queries: int = 3000
    val_share: float = 0.25
    c_grid: tuple[float, ...] = (0.01, 1.0)
    kinds: tuple[str, ...] = ("pointwise", "pairwise")
    pairs_per_positive: int = 50


class RankTables:
    """The graph as the ranker's features read it, for one set of visible memberships.

    Args:
        export: the exported graph (songs, artists, albums, playlists, genres, edges).
        embeddings: ``[num_songs, d]`` song embeddings, as stored (unit rows).
        hidden: ``[H, 2]`` (song index, playlist index) memberships to treat as absent.

    Shapes:
        ``song_artist`` ``[N, A]``, ``song_album`` ``[N, Al]``, ``membership`` ``[N, P]``,
        ``song_genre`` ``[N, G]``, ``similar`` ``[N, N]`` (symmetric, SIMILAR scores).
    """

    def __init__(self, export: GraphExport, embeddings: np.ndarray,
                 hidden: np.ndarray | None = None) -> None:
        n = export.num_songs
        self.song_ids = export.song_ids
        self.artist_names = export.keys["Artist"]
        ei = export.data.edge_index.numpy()
        et = export.data.edge_type.numpy()
        score = export.data.edge_score.numpy().astype(np.float64)
        off = export.offsets

        # The incidence matrices are the encoder's (gnn.model.build_inputs), built once.
        inputs = build_inputs(export)
        self.song_artist = inputs.song_artist
        self.song_album = inputs.song_album
        self.song_genre = inputs.song_genre
        n_pl = len(export.keys["Playlist"])
        pair = inputs.memberships[:, 0] * n_pl + inputs.memberships[:, 1]
        hidden_pair = (np.asarray(hidden).reshape(-1, 2) @ np.array([n_pl, 1])
                       if hidden is not None else np.zeros(0, dtype=np.int64))
        self.membership = inputs.membership_matrix(~np.isin(pair, hidden_pair))
        if hidden is not None and len(hidden):
            # A song's genres come with its playlist rows (the CSV's playlist_genre and
            # playlist_subgenre): a graph that never had the hidden memberships has no
            # genre for a song they leave without a playlist, as the evaluation's split and
            # a new song loaded without a playlist have none. (A song that keeps a
            # playlist keeps its genres: which row gave which genre is not in the graph.)
            had = np.asarray(inputs.membership_matrix().sum(axis=1)).ravel() > 0
            now = np.asarray(self.membership.sum(axis=1)).ravel() > 0
            keep = sp.diags((~(had & ~now)).astype(np.float64))
            self.song_genre = sp.csr_matrix(keep @ self.song_genre)
            self.song_genre.eliminate_zeros()
        sel = et == EDGE_TYPES.index("SUBGENRE_OF")
        self.is_subgenre = np.zeros(len(export.keys["Genre"]), dtype=bool)
        self.is_subgenre[ei[0, sel] - off["Genre"]] = True
        self.genre_names = export.keys["Genre"]
        sel = et == EDGE_TYPES.index("SIMILAR")
        a, b, w = ei[0, sel], ei[1, sel], score[sel]
        sim = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                            shape=(n, n))
        # Stored once per pair; max() keeps one score if a pair were stored both ways.
        self.similar = sp.csr_matrix(sim.tocsr().maximum(sim.T.tocsr()))
        self.year = export.year.numpy().astype(np.float64)
        self.popularity = export.popularity.numpy().astype(np.float64)
        # What the ETL stores, recomputed for these memberships (artist_stats, album_stats).
        placed = (np.asarray(self.membership.sum(axis=1)).ravel() > 0).astype(np.float64)
        self.placed = placed.astype(bool)
        self.artist_placed = self.song_artist.T @ placed
        self.album_placed = self.song_album.T @ placed
        ap = (self.song_artist.T @ self.membership).tocsr()
        ap.data[:] = 1.0
        self.artist_playlist = ap
        self.artist_playlists = np.asarray(ap.sum(axis=1)).ravel()
        z = guard_vectors(torch.as_tensor(embeddings))[0].numpy().astype(np.float64)
        self.z = z
        # Artist name order breaks affinity ties, and song id order similarity ties, as the
        # Cypher's ORDER BY does; as integer ranks, computed once (sorting a million ids as
        # strings for every query cost a training on 1M songs hours).
        self.artist_rank_key = _rank_key(self.artist_names)
        self.song_rank_key = _rank_key(self.song_ids)

    # --- the per-request context (recommend/context) ---------------------------------
    def affinity(self, seeds: np.ndarray) -> np.ndarray:
        """``[A]`` artist affinity with the seeds (0 where the Cypher returns no row)."""
        wb = np.asarray(self.song_artist[seeds].sum(axis=0)).ravel()
        wb = np.where(self.artist_playlists > 0, wb, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            wnorm = np.where(self.artist_playlists > 0, wb / np.sqrt(self.artist_playlists), 0.0)
            wp = self.artist_playlist.T @ wnorm
            partial = self.artist_playlist @ wp
            aff = np.where(self.artist_playlists > 0,
                           partial / np.sqrt(self.artist_playlists), 0.0) / len(seeds)
        return aff

    def context(self, seeds: np.ndarray) -> dict[str, Any]:
        """What serving computes once per request before scoring candidates."""
        aff = self.affinity(seeds)
        genre_hits = np.asarray(self.song_genre[seeds].sum(axis=0)).ravel()
        return {"affinity": aff,
                **seed_context([None if np.isnan(v) else float(v) for v in self.year[seeds]],
                               [None if np.isnan(v) else float(v) for v in self.popularity[seeds]]),
                "genre_share": genre_hits / len(seeds)}

    # --- candidates and features -------------------------------------------------------
    def candidates(self, seeds: np.ndarray, ctx: dict[str, Any], allowed: np.ndarray,
                   config: RankingConfig, allowed_z: np.ndarray | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates as ``recommend/candidates_among`` draws them from ``allowed`` songs:
        the ``n_vector`` nearest to the seeds' mean embedding, and up to ``n_graph`` graph
        candidates not already nearest (songs by a seed's artist, on a seed's album, or by
        one of the ``affinity_artists`` best-affinity artists), best similarity first.

        Args:
            allowed_z: ``self.z[allowed]`` when the caller keeps it for many queries (a
                copy of the pool's vectors per query is most of a query's time at 1M songs).

        Returns:
            candidate song indices and their ``emb_sim``.
        """
        q = self.z[seeds].mean(axis=0)
        rows = self.z[allowed] if allowed_z is None else allowed_z
        sims = (1.0 + rows @ q / max(np.linalg.norm(q), 1e-12)) / 2.0
        ok = ~np.isin(allowed, seeds)
        cand, sims = allowed[ok], sims[ok]
        near = cand[_top(sims, self.song_rank_key[cand], config.n_vector)]
        aff = ctx["affinity"]
        top = np.flatnonzero(aff > 0)
        top = top[np.lexsort((self.artist_rank_key[top], -aff[top]))][: config.affinity_artists]
        seed_artists = np.unique(self.song_artist[seeds].indices)
        seed_albums = np.unique(self.song_album[seeds].indices)
        linked = ((self.song_artist[:, np.union1d(seed_artists, top)].sum(axis=1) > 0).A.ravel()
                  | (self.song_album[:, seed_albums].sum(axis=1) > 0).A.ravel())
        g = linked[cand] & ~np.isin(cand, near)
        gc, gs = cand[g], sims[g]
        graph = gc[_top(gs, self.song_rank_key[gc], config.n_graph)]
        out = np.concatenate([near, graph])
        qn = q / max(np.linalg.norm(q), 1e-12)
        return out, (1.0 + self.z[out] @ qn) / 2.0

    def features(self, seeds: np.ndarray, cands: np.ndarray, emb_sim: np.ndarray,
                 ctx: dict[str, Any]) -> np.ndarray:
        """``[C, F]`` features of ``cands`` for ``seeds`` (see musicgraph.ranking.FEATURES).

        Shapes:
            ``seeds`` ``[n]``, ``cands`` ``[C]``, ``emb_sim`` ``[C]`` → ``[C, len(FEATURE_NAMES)]``
        """
        n = float(len(seeds))
        ca = self.song_artist[cands]
        k_a = np.asarray(self.song_artist[seeds].sum(axis=0)).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            r_a = np.where(k_a > 0, k_a / np.maximum(self.artist_placed, k_a), 0.0)
        k_al = np.asarray(self.song_album[seeds].sum(axis=0)).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            r_al = np.where(k_al > 0, k_al / np.maximum(self.album_placed, k_al), 0.0)
        artist_share = np.asarray(((ca @ self.song_artist[seeds].T) > 0).sum(axis=1)).ravel() / n
        aff = ctx["affinity"]
        share = ctx["genre_share"]
        cg = self.song_genre[cands]
        sub = sp.csr_matrix(cg.multiply(self.is_subgenre[None, :]))
        top = sp.csr_matrix(cg.multiply(~self.is_subgenre[None, :]))

        def best(m: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
            return np.asarray(sp.csr_matrix(m.multiply(values[None, :])).max(axis=1).todense()).ravel()

        shared_pl = np.asarray(((self.membership[cands] @ self.membership[seeds].T) > 0)
                               .sum(axis=1)).ravel() > 0
        year, pop = self.year[cands], self.popularity[cands]

        def gap(v: np.ndarray, mean: float | None, sd: float | None) -> np.ndarray:
            if mean is None or sd is None:
                return np.zeros(len(v))
            return np.where(np.isnan(v), 0.0, np.abs(v - mean) / (sd + 1.0))

        cols = {
            "emb_sim": emb_sim,
            "artist_ratio": best(ca, r_a),
            "artist_share": artist_share,
            "album_ratio": best(self.song_album[cands], r_al),
            "affinity": best(ca, aff),
            "artist_known": (best(ca, (self.artist_placed > 0).astype(np.float64)) > 0).astype(np.float64),
            "similar_max": np.asarray(self.similar[cands][:, seeds].max(axis=1).todense()).ravel(),
            "shared_playlist": shared_pl.astype(np.float64),
            "subgenre_fit": best(sub, share),
            "genre_fit": best(top, share),
            "year_gap": gap(year, ctx["year_mean"], ctx["year_sd"]),
            "pop_gap": gap(pop, ctx["pop_mean"], ctx["pop_sd"]),
            "popularity": np.where(np.isnan(pop), 0.0, pop / 100.0),
        }
        return np.stack([np.asarray(cols[name], dtype=np.float64) for name in FEATURE_NAMES],
                        axis=1)


@dataclass
class _Query:
    seeds: np.ndarray
    targets: np.ndarray
    group: int  # the playlist: queries of one playlist stay on one side of the val split


def _rank_key(keys: Sequence[str]) -> np.ndarray:
    """Each key's position in string order, as an integer sort key."""
    return np.argsort(np.argsort(np.asarray(keys, dtype=object)))


def _top(values: np.ndarray, tiebreak: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``values``, ties by ascending ``tiebreak``, in that
    order: ``np.lexsort((tiebreak, -values))[:k]``, sorting only the values that can be
    among them."""
    if len(values) > k > 0:
        kth = np.partition(-values, k - 1)[k - 1]
        within = np.flatnonzero(-values <= kth)
        return within[np.lexsort((tiebreak[within], -values[within]))][:k]
    return np.lexsort((tiebreak, -values))[:k]


def _queries(tables: RankTables, hidden: np.ndarray, config: RankerFitConfig,
             rng: np.random.Generator) -> list[_Query]:
    """Playlist queries (visible songs → hidden songs left without a playlist) and one-seed
    queries (one visible song of the playlist → one such hidden song)."""
    cold = ~tables.placed
    memb_t = tables.membership.T.tocsr()
    by_pl: dict[int, list[int]] = {}
    for s, p in sorted((int(s), int(p)) for s, p in hidden):
        if cold[s]:
            by_pl.setdefault(p, []).append(s)
    out: list[_Query] = []
    singles: list[_Query] = []
    for p in sorted(by_pl):
        vis = memb_t.indices[memb_t.indptr[p]:memb_t.indptr[p + 1]]
        if len(vis) == 0:
            continue
        seeds = np.sort(rng.choice(vis, config.max_seeds, replace=False)) \
            if len(vis) > config.max_seeds else np.sort(vis)
        targets = np.asarray(sorted(set(by_pl[p])))
        out.append(_Query(seeds, targets, p))
        for t in targets:
            singles.append(_Query(np.asarray([rng.choice(vis)]), np.asarray([t]), p))
    if len(singles) > config.song_queries:
        pick = np.sort(rng.choice(len(singles), config.song_queries, replace=False))
        singles = [singles[i] for i in pick]
    if len(out) > config.playlist_queries:  # drawn last: fewer playlists draw nothing
        pick = np.sort(rng.choice(len(out), config.playlist_queries, replace=False))
        out = [out[i] for i in pick]
    return out + singles


def _recall_at_10(scores: list[np.ndarray], labels: list[np.ndarray],
                  n_targets: list[int]) -> float:
    vals = []
    for s, y, t in zip(scores, labels, n_targets, strict=True):
        top = np.argsort(-s, kind="stable")[:10]
        vals.append(y[top].sum() / min(t, 10))
    return float(np.mean(vals)) if vals else 0.0


def fit_pairwise(z: np.ndarray, labels: Sequence[np.ndarray], queries: np.ndarray, *,
                 c: float, pairs_per_positive: int, seed: int) -> LogisticRegression:
    """A linear scorer that orders each query's positives above its negatives.

    Each example is the difference of a positive's and a sampled negative's features
    within one query, both ways round, with no intercept; every query weighs the same.

    Args:
        z: ``[E, F]`` standardised features of every query's candidates, query after query.
        labels: one ``[C_q]`` 0/1 array per query (its candidates' rows in ``z``, in order).
        queries: the queries to fit on (positions in ``labels``).
        c: inverse regularisation strength.
        pairs_per_positive: negatives sampled for each positive.
        seed: seeds the negatives' sampling.

    Returns:
        The fitted model; ``coef_[0]`` is the scorer's ``[F]`` weights.
    """
    starts = np.cumsum([0] + [len(y) for y in labels])
    rng = np.random.default_rng(seed)
    diffs, wts = [], []
    for q in queries:
        zq, yq = z[starts[q]:starts[q + 1]], labels[q]
        pos, neg = np.flatnonzero(yq == 1), np.flatnonzero(yq == 0)
        if len(pos) == 0 or len(neg) == 0:
            continue
        n = min(len(neg), pairs_per_positive)
        for p in pos:
            diffs.append(zq[p] - zq[rng.choice(neg, n, replace=False)])
            wts.append(np.full(n, 1.0 / (n * len(pos))))
    if not diffs:
        raise ModelError("no query to fit the pairwise ranker on has both a positive and a "
                         "negative candidate")
    d_all = np.concatenate(diffs)
    w_all = np.concatenate(wts)
    model = LogisticRegression(C=c, max_iter=2000, fit_intercept=False)
    model.fit(np.concatenate([d_all, -d_all]),
              np.concatenate([np.ones(len(d_all)), np.zeros(len(d_all))]),
              sample_weight=np.concatenate([w_all, w_all]) * len(labels))
    return model


def fit_ranker(export: GraphExport, inner_hidden: np.ndarray, inner_embeddings: np.ndarray, *,
               model_version: str, data_hash: str,
               ranking: RankingConfig | None = None, config: RankerFitConfig | None = None,
               progress: bool = True) -> Ranker:
    """Fit the served ranker on the inner split's hidden memberships.

    Args:
        export: the training graph (all memberships, as stored).
        inner_hidden: ``[H, 2]`` (song index, playlist index) memberships hidden while
            training GraphSAGE; they become the labels and are absent from every feature.
        inner_embeddings: ``[num_songs, d]`` embeddings computed without those memberships.
        model_version: the GraphSAGE model's version (the app checks it against Neo4j's).
        data_hash: the training graph's hash.
        ranking: the served candidate settings (default :class:`RankingConfig`).
        config: the fit's settings (default :class:`RankerFitConfig`).
        progress: show a tqdm bar while computing features.

    Raises:
        ModelError: no usable query (no hidden membership of a song left without a
            playlist whose playlist keeps a visible song) or a single class.
    """
    ranking = ranking or RankingConfig()
    config = config or RankerFitConfig()
    rng = np.random.default_rng(config.seed)
    tables = RankTables(export, np.asarray(inner_embeddings), np.asarray(inner_hidden))
    queries = _queries(tables, np.asarray(inner_hidden), config, rng)
    if not queries:
        raise ModelError("the ranker has no training query: too few playlist memberships "
                         "to hide (a playlist needs a visible song and a hidden one)")
    pool = np.flatnonzero(~tables.placed)
    pool_z = tables.z[pool]
    xs, ys, groups, ntargets, qids = [], [], [], [], []
    for qi, q in enumerate(tqdm(queries, desc="ranker features", unit=" query",
                                disable=not progress, leave=False)):
        ctx = tables.context(q.seeds)
        cands, sims = tables.candidates(q.seeds, ctx, pool, ranking, pool_z)
        if len(cands) == 0:
            continue
        xs.append(tables.features(q.seeds, cands, sims, ctx))
        ys.append(np.isin(cands, q.targets).astype(np.int8))
        groups.append(q.group)
        ntargets.append(len(q.targets))
        qids.append(np.full(len(cands), qi))
    x_all = np.concatenate(xs)
    y_all = np.concatenate(ys)
    if y_all.min() == y_all.max():
        raise ModelError("the ranker's candidates hold only one class: the graph is too small "
                         "to fit it")
    # Each query weighs the same, however many candidates it has.
    weight = np.concatenate([np.full(len(y), 1.0 / len(y)) for y in ys])
    mean = x_all.mean(axis=0)
    scale = np.where(x_all.std(axis=0) > 1e-12, x_all.std(axis=0), 1.0)

    z_all = (x_all - mean) / scale
    starts = np.cumsum([0] + [len(y) for y in ys])

    def fit(queries_in: np.ndarray, kind: str, c: float) -> LogisticRegression:
        """Pointwise: candidates labelled 1 (a hidden member) or 0, each query weighing
        the same. Pairwise: the difference of a positive's and a negative's features of
        one query, both ways round, no intercept (a linear scorer that orders pairs)."""
        if kind == "pointwise":
            rows = np.concatenate([np.arange(starts[q], starts[q + 1]) for q in queries_in])
            model = LogisticRegression(C=c, max_iter=2000)
            model.fit(z_all[rows], y_all[rows], sample_weight=weight[rows] * len(ys))
            return model
        return fit_pairwise(z_all, ys, queries_in, c=c,
                            pairs_per_positive=config.pairs_per_positive, seed=config.seed)

    # Kind and regularisation chosen on held-out playlists (their one-seed queries too).
    playlists = np.unique(groups)
    val_pl = set(rng.choice(playlists, max(1, int(round(config.val_share * len(playlists)))),
                            replace=False).tolist())
    is_val = np.array([g in val_pl for g in groups])
    val_q, fit_q = np.flatnonzero(is_val), np.flatnonzero(~is_val)
    val_scores: dict[str, float] = {}
    best = ("pointwise", 1.0)
    if len(val_q) and len(fit_q) and any(ys[q].any() for q in fit_q):
        trials = {}
        for kind in config.kinds:
            for c in config.c_grid:
                m = fit(fit_q, kind, c)
                s = [z_all[starts[q]:starts[q + 1]] @ m.coef_[0] for q in val_q]
                trials[(kind, c)] = _recall_at_10(s, [ys[q] for q in val_q],
                                                  [ntargets[q] for q in val_q])
                val_scores[f"{kind} C={c}"] = round(trials[(kind, c)], 4)
        # Ties go to the first kind listed and the C nearest 1.
        best = max(trials, key=lambda t: (trials[t], -config.kinds.index(t[0]),
                                          -abs(np.log10(t[1]))))
    model = fit(np.arange(len(ys)), *best)
    ranker = Ranker(feature_names=list(FEATURE_NAMES), mean=mean.tolist(), scale=scale.tolist(),
                    coef=model.coef_[0].tolist(),
                    intercept=float(model.intercept_[0]) if best[0] == "pointwise" else 0.0,
                    model_version=model_version, data_hash=data_hash, config=asdict(ranking))
    ranker.report = {
        "fit": asdict(config), "kind": best[0], "c": best[1],
        "validation_recall_at_10": val_scores,
        "queries": len(ys), "playlist_queries": sum(1 for q in queries if len(q.seeds) > 1),
        "examples": int(len(y_all)), "positives": int(y_all.sum()),
        "candidate_recall": round(float(np.mean([y.sum() / t for y, t in
                                                 zip(ys, ntargets, strict=True)])), 4),
        "importances": ranker.importances(),
    }
    log.info("ranker: %d queries, %d examples, %s, val R@10 %s", len(ys), len(y_all), best,
             val_scores)
    return ranker


def features_for(tables: RankTables, seed_ids: Sequence[str], cand_ids: Sequence[str]) -> np.ndarray:
    """``[C, F]`` features of the candidates ``cand_ids`` for the seeds ``seed_ids`` (ids as
    in the export): the training path's vector, for comparison with the Cypher path's."""
    pos = {s: i for i, s in enumerate(tables.song_ids)}
    seeds = np.asarray([pos[s] for s in seed_ids])
    cands = np.asarray([pos[c] for c in cand_ids])
    ctx = tables.context(seeds)
    q = tables.z[seeds].mean(axis=0)
    q = q / max(np.linalg.norm(q), 1e-12)
    return tables.features(seeds, cands, (1.0 + tables.z[cands] @ q) / 2.0, ctx)
