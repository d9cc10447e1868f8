"""Where a recommendation request's time goes, stage by stage (issue 12's breakdown).

Usage (against a loaded, trained database named by NEO4J_*, models in MUSICGRAPH_MODELS)::

    python -m bench.profile_request [--songs 100] [--k 10]

For ``--songs`` different songs, one client, no result cache, it times the stages of
``GET /api/songs/<id>/recommendations`` as app.recommend runs them, each in its own
transaction so each is measured alone:

- ``context``: recommend/context (seeds, affinity, genres, model version);
- ``rank``: recommend/candidates + recommend/features (candidates and their features);
- ``score``: the ranker over the candidates' features, in Python;
- ``paths``: recommend/paths for the k shown;
- ``request``: the whole request through Flask's test client (routing, validation, JSON),
  with the cache off; ``overhead`` is ``request`` minus the stages.

For the two statements it also gives the server's share (``result_available_after`` +
``result_consumed_after`` from the driver's summary) and the rest (network, Bolt decode).
Prints one JSON object of medians (ms), the candidates per request, and under ``p90`` the
same stages' 90th percentiles (a one-client p99 is made of the slow tail that medians
hide: at 1M songs, the candidate statement's first run for a song, reading the vector
index and the candidates' neighbourhoods cold).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

import numpy as np

import cypher
from app import create_app, recommend
from bench import statement
from musicgraph.config import Neo4jSettings, models_dir
from musicgraph.db import Database
from musicgraph.schema import MODEL_META_KEY, VECTOR_INDEX


def _timed(tx: Any, query: str, **params: Any) -> tuple[list[dict[str, Any]], float, float]:
    t = time.perf_counter()
    result = tx.run(query, **params)
    rows = [dict(r.items()) for r in result]
    summary = result.consume()
    wall = (time.perf_counter() - t) * 1000
    server = float((summary.result_available_after or 0) + (summary.result_consumed_after or 0))
    return rows, wall, server


def profile(db: Database, songs: list[str], k: int) -> dict[str, Any]:
    """Per-stage medians (ms) over ``songs``."""
    ranker = recommend.load_ranker(models_dir())
    config = ranker.ranking_config()
    stages: dict[str, list[float]] = {name: [] for name in (
        "context", "context_server", "rank", "rank_server", "score", "paths", "paths_server",
        "stages", "request")}
    candidates: list[int] = []
    app = create_app({"RESULT_CACHE_SIZE": 0, "REQUEST_LOG": False})
    client = app.test_client()
    for song in songs:
        def work(tx: Any, song: str = song) -> None:
            rows, wall, server = _timed(tx, cypher.load("recommend/context"), seeds=[song],
                                        meta_key=MODEL_META_KEY)
            stages["context"].append(wall)
            stages["context_server"].append(server)
            params = recommend.context_params(rows[0], config)
            rows, wall, server = _timed(
                tx, recommend.rank_statement(restricted=False), index=VECTOR_INDEX,
                seeds=[song], candidates=None, probe=config.n_vector + 1 + config.probe_margin,
                n_vector=config.n_vector, n_graph=config.n_graph, **params)
            stages["rank"].append(wall)
            stages["rank_server"].append(server)
            candidates.append(len(rows))
            t = time.perf_counter()
            ranked = recommend.rank_rows(rows, ranker)
            stages["score"].append((time.perf_counter() - t) * 1000)
            ids = [r["id"] for r in ranked[:k]]
            _, wall, server = _timed(tx, cypher.load("recommend/paths"), seeds=[song], ids=ids)
            stages["paths"].append(wall)
            stages["paths_server"].append(server)

        db.read_tx(work)
        stages["stages"].append(stages["context"][-1] + stages["rank"][-1]
                                + stages["score"][-1] + stages["paths"][-1])
        t = time.perf_counter()
        r = client.get(f"/api/songs/{song}/recommendations?k={k}")
        stages["request"].append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"request for {song} answered {r.status_code}: {r.get_data()[:300]!r}")
    out: dict[str, Any] = {name: round(statistics.median(v), 2) for name, v in stages.items()}
    out["overhead"] = round(out["request"] - out["stages"], 2)
    out["candidates"] = int(np.median(candidates))
    out["p90"] = {name: round(float(np.percentile(v, 90)), 2) for name, v in stages.items()}
    out["p90"]["candidates"] = int(np.percentile(candidates, 90))
    out["songs"] = len(songs)
    out["config"] = {"n_vector": config.n_vector, "n_graph": config.n_graph}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with Database(Neo4jSettings.from_env()) as db:
        ids = sorted(r["id"] for r in db.read_tx(
            lambda tx: [dict(x.items()) for x in tx.run(statement("embedded_song_ids"))]))
        songs = random.Random(args.seed).sample(ids, min(args.songs, len(ids)))
        # One warm-up pass: plans cached, pages in memory, as in a serving process.
        profile(db, songs[:10], args.k)
        print(json.dumps(profile(db, songs, args.k), indent=2))


if __name__ == "__main__":
    main()
