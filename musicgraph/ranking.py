"""The learned ranking's shared parts: its tunables, its features, its score, its artifact.

Training (:mod:`gnn.ranker`) fits the ranker on memberships it hides from the training
graph and computes each example's features in numpy; serving (:mod:`app.recommend`)
computes the same features in Cypher (``cypher/recommend/features.cypher``). Both read
the names, the order and the score from here, so they cannot drift apart, and a test
(``tests/gnn/test_ranker_parity.py``) checks that the two paths give the same vector for
the same candidate.

The score is a logistic regression over standardised features: one linear function,
:meth:`Ranker.score`, used by training's model selection and by every request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from musicgraph.errors import ModelError

#: The ranker artifact, beside the GraphSAGE checkpoint in ``<models>/graphsage``.
RANKER_FILE = "ranker.json"
#: Bumped when the artifact's layout changes incompatibly.
RANKER_FORMAT = 1

#: Feature names, in the order of the vector, with what each one is. ``seeds`` are the
#: request's seed songs (n of them), ``c`` the candidate. Every count is a ratio or a
#: share, so the feature means the same whether 64% or 80% of the memberships are visible
#: (training sees fewer than serving).
FEATURES: dict[str, str] = {
    "emb_sim": "cosine of c's embedding and the mean of the seeds' embeddings, on the "
               "vector index's scale (1 + cos) / 2",
    "artist_ratio": "best over c's artists a of k_a / max(a.placed_songs, k_a): the seeds by "
                    "a over a's songs on a playlist (0 when no seed is by a)",
    "artist_share": "share of the seeds by one of c's artists",
    "album_ratio": "k_al / max(al.placed_songs, k_al) for c's album (0 when no seed is on it)",
    "affinity": "best artist affinity of c's artists with the seeds' artists "
                "(recommend/context): cosine of their sets of playlists, summed over the seeds",
    "artist_known": "1 when one of c's artists has a song on a playlist",
    "similar_max": "best SIMILAR score between c and a seed (0 when none)",
    "shared_playlist": "1 when c is on a playlist with a seed",
    "subgenre_fit": "best over c's subgenres of the share of seeds in that subgenre",
    "genre_fit": "best over c's top-level genres of the share of seeds in that genre",
    "year_gap": "|c's release year - the seeds' mean| / (the seeds' standard deviation + 1) "
                "(0 when either is unknown)",
    "pop_gap": "|c's popularity - the seeds' mean| / (the seeds' standard deviation + 1) "
               "(0 when either is unknown)",
    "popularity": "c's popularity / 100 (0 when unknown)",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


@dataclass(frozen=True)
class RankingConfig:
    """Every tunable of the served ranking, in one place; recorded in the ranker artifact,
    so serving uses the candidate counts the ranker was fit with.

    Attributes:
        n_vector: nearest songs by embedding (the seeds' mean) that join the candidates.
        n_graph: at most this many graph candidates (songs by a seed's artist, on a seed's
            album, or by one of the ``affinity_artists`` best-affinity artists), best
            embedding similarity first.
        affinity_artists: best-affinity artists whose songs join the graph candidates.
        probe_margin: the vector index is approximate and filters after its top-n: it is
            asked for ``n_vector`` plus the seeds plus this many.
        song_max_per_artist: default cap on songs by one artist for a single song's list.
        set_max_per_artist: default cap for a seed set (0: none, the playlist decides).
    """

    n_vector: int = 200
    n_graph: int = 300
    affinity_artists: int = 50
    probe_margin: int = 20
    song_max_per_artist: int = 3
    set_max_per_artist: int = 0


@dataclass
class Ranker:
    """A fitted ranker: standardisation, weights, and what it was fit against.

    Attributes:
        feature_names: the vector's layout when fit (must equal :data:`FEATURE_NAMES`).
        mean, scale: per-feature standardisation.
        coef, intercept: the logistic regression on standardised features.
        model_version: the GraphSAGE model whose embeddings the features were computed
            with; the app serves only when the stored embeddings carry the same version.
        data_hash: the training graph's hash (the checkpoint's).
        config: the :class:`RankingConfig` the candidates were drawn with.
        report: fit details (C chosen, validation figures, example counts, importances).
    """

    feature_names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    model_version: str
    data_hash: str
    config: dict[str, Any] = field(default_factory=lambda: asdict(RankingConfig()))
    report: dict[str, Any] = field(default_factory=dict)

    def score(self, features: np.ndarray) -> np.ndarray:
        """The ranking score of candidates: the logistic regression's probability.

        Shapes:
            ``features`` ``[C, F]`` (or ``[..., F]``) → ``[C]`` (or ``[...]``)
        """
        x = (np.asarray(features, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = x @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-logit))

    def ranking_config(self) -> RankingConfig:
        """The candidate settings the ranker was fit with (settings this version no longer
        has are left out)."""
        known = {f.name for f in fields(RankingConfig)}
        return RankingConfig(**{k: v for k, v in self.config.items() if k in known})

    def importances(self) -> dict[str, float]:
        """Each feature's weight on the standardised scale (a change of one standard
        deviation moves the logit by this much), largest magnitude first."""
        pairs = sorted(zip(self.feature_names, self.coef, strict=True), key=lambda p: -abs(p[1]))
        return {name: round(float(c), 4) for name, c in pairs}

    def version(self) -> str:
        """A short hash of the fitted parameters (the results cache key's part)."""
        blob = json.dumps([self.feature_names, self.mean, self.scale, self.coef,
                           self.intercept, self.model_version], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def save(self, path: Path) -> None:
        """Write the artifact as JSON (plain data: loading never runs code)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"format": RANKER_FORMAT, **asdict(self)}, indent=2) + "\n",
                       encoding="utf-8")
        tmp.replace(path)  # atomic: a running app never reads half a file

    @classmethod
    def load(cls, path: Path) -> Ranker:
        """Read an artifact written by :meth:`save`.

        Raises:
            ModelError: missing, unreadable, another format, or fit on other features.
        """
        if not path.is_file():
            raise ModelError(f"no ranker at {path}: run `musicgraph train`")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"can't read the ranker {path}", str(exc)) from exc
        if raw.pop("format", None) != RANKER_FORMAT:
            raise ModelError(f"the ranker {path} has another format: run `musicgraph train`")
        try:
            ranker = cls(**raw)
        except TypeError as exc:
            raise ModelError(f"the ranker {path} is malformed", str(exc)) from exc
        if list(ranker.feature_names) != list(FEATURE_NAMES):
            raise ModelError(f"the ranker {path} was fit on other features: run `musicgraph train`",
                             f"has {ranker.feature_names}, serving computes {list(FEATURE_NAMES)}")
        n = len(FEATURE_NAMES)
        if not (len(ranker.mean) == len(ranker.scale) == len(ranker.coef) == n):
            raise ModelError(f"the ranker {path} is malformed", "parameter lengths differ")
        return ranker


def _mean_sd(values: list[float | None]) -> tuple[float | None, float | None]:
    known = [float(v) for v in values if v is not None]
    if not known:
        return None, None
    mean = sum(known) / len(known)
    return mean, (sum((v - mean) ** 2 for v in known) / len(known)) ** 0.5


def seed_context(years: list[float | None], popularity: list[float | None]) -> dict[str, Any]:
    """The seeds' release-year and popularity mean and (population) standard deviation,
    ``None`` when no seed has the value: the reference points of ``year_gap`` and
    ``pop_gap``. One definition for training and serving."""
    year_mean, year_sd = _mean_sd(years)
    pop_mean, pop_sd = _mean_sd(popularity)
    return {"year_mean": year_mean, "year_sd": year_sd, "pop_mean": pop_mean, "pop_sd": pop_sd}
