"""The audio-similarity graph: cosine k-nearest neighbours over standardised features.

No n×n matrix: features are standardised, L2-normalised, and searched with a
KD-tree, where Euclidean distance on unit vectors ranks exactly as cosine does
(``cos = 1 - d²/2``). The threshold bounds the search too: a neighbour below it would be
dropped anyway, so the tree never looks further than ``d = sqrt(2 (1 - threshold))``,
which prunes most of the work in nine dimensions. Memory is O(n·k).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class SimilarityEdges:
    """Undirected SIMILAR edges, each once: ``src[i] < dst[i]`` as row indices."""

    src: np.ndarray
    dst: np.ndarray
    score: np.ndarray


@dataclass(frozen=True)
class GraphStats:
    """Degree statistics and connectivity of the similarity graph."""

    songs: int
    edges: int
    degree_mean: float
    degree_median: float
    degree_min: int
    degree_max: int
    isolated: int
    components: int
    largest_component: int

    def describe(self) -> str:
        share = self.largest_component / self.songs if self.songs else 0.0
        return (
            f"SIMILAR graph: {self.edges:,} edges over {self.songs:,} songs; degree mean "
            f"{self.degree_mean:.1f}, median {self.degree_median:.0f}, min {self.degree_min}, "
            f"max {self.degree_max}; {self.isolated:,} isolated; {self.components:,} connected "
            f"components, the largest holding {self.largest_component:,} songs ({share:.1%})"
        )


def fit_scaler(x: np.ndarray) -> StandardScaler:
    """Fit the feature standardiser (kept in the database with the data)."""
    return StandardScaler().fit(x)


def knn_edges(z: np.ndarray, k: int, threshold: float, n_jobs: int | None = None) -> SimilarityEdges:
    """Cosine k-nearest-neighbour edges with a similarity threshold.

    Args:
        z: standardised features. Shape ``[n, d]``.
        k: neighbours per song (before the threshold).
        threshold: minimum cosine similarity kept.
        n_jobs: threads for the search (None = 1, -1 = all cores).

    Returns:
        Each unordered pair once, with its cosine similarity; sorted, so the same
        input always gives the same edges in the same order.
    """
    n = z.shape[0]
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return SimilarityEdges(empty, empty, np.empty(0, dtype=np.float64))
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    unit = z / np.where(norms == 0, 1.0, norms)
    kk = min(k + 1, n)  # +1: each point finds itself first
    # cos >= t  <=>  d <= sqrt(2 (1 - t)) on unit vectors; the margin keeps a pair right at
    # the threshold for the exact test below.
    radius = math.sqrt(max(0.0, 2.0 * (1.0 - threshold))) * (1 + 1e-9) + 1e-12
    tree = cKDTree(unit, leafsize=32, balanced_tree=False, compact_nodes=False)
    dist, idx = tree.query(unit, k=list(range(1, kk + 1)), distance_upper_bound=radius,
                           workers=n_jobs or 1)
    found = np.isfinite(dist)  # fewer than kk neighbours within the radius: idx == n
    dist, idx = np.where(found, dist, 2.0), np.where(found, idx, 0)
    cos = 1.0 - dist**2 / 2.0
    rows = np.repeat(np.arange(n), kk)
    cols, sims = idx.ravel(), cos.ravel()
    keep = found.ravel() & (rows != cols) & (sims >= threshold)
    a, b, s = rows[keep], cols[keep], sims[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # A pair found from both ends appears twice: keep it once.
    order = np.lexsort((hi, lo))
    lo, hi, s = lo[order], hi[order], s[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return SimilarityEdges(lo[first], hi[first], np.round(s[first], 6))


def graph_stats(n: int, edges: SimilarityEdges) -> GraphStats:
    """Degrees and connected components of the undirected similarity graph."""
    if n == 0:
        return GraphStats(0, 0, 0.0, 0.0, 0, 0, 0, 0, 0)
    deg = np.bincount(np.concatenate([edges.src, edges.dst]), minlength=n)
    adj = coo_matrix((np.ones(len(edges.src)), (edges.src, edges.dst)), shape=(n, n))
    count, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels)
    return GraphStats(
        songs=n, edges=len(edges.src), degree_mean=float(deg.mean()),
        degree_median=float(np.median(deg)), degree_min=int(deg.min()),
        degree_max=int(deg.max()), isolated=int((deg == 0).sum()), components=int(count),
        largest_component=int(sizes.max()),
    )


def fingerprint(ids: list[str], k: int, threshold: float, x: np.ndarray,
                features: Sequence[str]) -> str:
    """A stable id for one similarity build: same songs, feature values, features the
    kNN uses and settings → same id (stale edges of any other build are deleted)."""
    h = hashlib.sha256(f"{k}|{threshold}|{len(ids)}|{','.join(features)}".encode())
    for song_id in ids:
        h.update(song_id.encode())
        h.update(b"\0")
    h.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]
