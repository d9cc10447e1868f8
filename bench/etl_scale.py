"""How the ETL's CPU-side stages scale toward 1,000,000 songs (no database needed).

Times, per catalogue size: CSV parsing + validation (rows/s) on rows shaped like the
bundled data, and the similarity build (standardise, KD-tree kNN, degree stats), with
peak resident memory. Prints one JSON object. The Neo4j write side is measured by the
real ETL on the bundled data (see the README); its cost is linear in rows and edges.

Usage: python bench/etl_scale.py [--sizes 28356,100000,1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etl import similarity  # noqa: E402
from etl.features import SIMILARITY_FEATURES  # noqa: E402
from etl.reader import SongReader  # noqa: E402
from musicgraph.schema import AUDIO_FEATURES  # noqa: E402
from tests.support import song, write_csv  # noqa: E402


def synthetic_features(n: int, seed: int = 0) -> np.ndarray:
    """Features drawn like the bundled data's marginals (clusters of genres)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1, 0.9, size=(24, len(AUDIO_FEATURES)))
    x = centres[rng.integers(0, 24, n)] + rng.normal(0, 0.12, (n, len(AUDIO_FEATURES)))
    x[:, AUDIO_FEATURES.index("tempo")] = 60 + 120 * x[:, AUDIO_FEATURES.index("tempo")]
    x[:, AUDIO_FEATURES.index("loudness")] = -30 * x[:, AUDIO_FEATURES.index("loudness")]
    return x


def time_similarity(n: int, k: int, threshold: float) -> dict[str, float]:
    x = synthetic_features(n)
    t0 = time.perf_counter()
    scaler = similarity.fit_scaler(x)
    cols = [AUDIO_FEATURES.index(f) for f in SIMILARITY_FEATURES]
    z = scaler.transform(x)[:, cols]
    edges = similarity.knn_edges(z, k, threshold, n_jobs=-1)
    stats = similarity.graph_stats(n, edges)
    return {"seconds": time.perf_counter() - t0, "edges": stats.edges,
            "components": stats.components}


def time_parse(rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / "s.csv", [song(i) for i in range(rows)])
        t0 = time.perf_counter()
        with SongReader(path) as reader:
            n = sum(1 for _ in reader)
        assert n == rows
        return rows / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="28356,100000,300000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()
    out: dict[str, object] = {"k": args.k, "threshold": args.threshold}
    out["parse_rows_per_s_median"] = statistics.median(time_parse(50_000) for _ in range(args.repeats))
    runs = {}
    for n in (int(s) for s in args.sizes.split(",")):
        reps = [time_similarity(n, args.k, args.threshold) for _ in range(args.repeats if n < 500_000 else 1)]
        runs[str(n)] = {"similarity_seconds_median": statistics.median(r["seconds"] for r in reps),
                        "edges": reps[0]["edges"], "components": reps[0]["components"],
                        "repeats": len(reps)}
    out["similarity"] = runs
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
