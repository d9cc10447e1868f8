"""Latency and throughput of the recommendation endpoint under gunicorn, beside the bare
vector-index query through the driver, so the app's overhead shows as a ratio.

Usage (against a loaded database with embeddings, named by NEO4J_*)::

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... python -m bench.bench_recommend

Both sides run with the same concurrency (32 clients by default, loopback only), the
same random seed songs, a bounded request count and time, and are measured side by side
in each of 3 repeats (the app first, then the bare query, alternating per repeat); the
JSON printed holds the medians across repeats.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from neo4j import GraphDatabase, RoutingControl

import cypher
from musicgraph.config import Neo4jSettings
from musicgraph.neo4j_local import free_port
from musicgraph.schema import VECTOR_INDEX

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_load(call: Callable[[str], None], seeds: list[str], clients: int, requests: int,
             max_seconds: float) -> dict[str, float]:
    """``requests`` calls over ``clients`` threads (stopping at ``max_seconds``)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + max_seconds

    def worker(n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            t0 = time.perf_counter()
            try:
                call(rng.choice(seeds))
                ok = True
            except Exception:  # noqa: BLE001 - counted, reported
                ok = False
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError("every request failed")
    return {"p50_ms": 1000 * percentile(latencies, 0.5), "p99_ms": 1000 * percentile(latencies, 0.99),
            "rps": len(latencies) / elapsed, "requests": len(latencies), "errors": errors}


def http_caller(port: int, k: int) -> Callable[[str], None]:
    """One keep-alive connection per client thread, like a browser or an API client."""
    local = threading.local()

    def call(song_id: str) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", f"/api/songs/{song_id}/recommendations?k={k}")
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            local.conn = None
            conn.close()
            raise
        if resp.status != 200:
            raise RuntimeError(f"{resp.status}: {body[:200]!r}")

    return call


def wait_for_http(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll /healthz until the server answers 200 (a starting server has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--requests", type=int, default=1500, help="per side and repeat")
    p.add_argument("--max-seconds", type=float, default=60.0, help="per side and repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seeds", type=int, default=500, help="random seed songs to draw from")
    args = p.parse_args()

    settings = Neo4jSettings.from_env()
    driver = GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password),
                                  max_connection_pool_size=args.clients + 8)
    seeds = [r["id"] for r in driver.execute_query(
        cypher.load("app/embedded_song_ids"),
        database_=settings.database, routing_=RoutingControl.READ).records]
    seeds = random.Random(0).sample(seeds, min(args.seeds, len(seeds)))
    bare_query = cypher.load("recommend/similar_by_embedding")

    def bare(song_id: str) -> None:
        driver.execute_query(bare_query, {"id": song_id, "k": args.k, "index": VECTOR_INDEX},
                             database_=settings.database, routing_=RoutingControl.READ)

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "--threads",
                str(args.threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                "app.wsgi:app"]
    proc = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    try:
        wait_for_http(port, proc)
        call = http_caller(port, args.k)
        # Warm-up: query plans cached in Neo4j and the workers' drivers connected.
        run_load(call, seeds, args.clients, 200, 60)
        run_load(bare, seeds, args.clients, 200, 60)
        app_runs: list[dict[str, float]] = []
        bare_runs: list[dict[str, float]] = []
        for i in range(args.repeats):
            order = [("app", call), ("bare", bare)] if i % 2 == 0 else [("bare", bare), ("app", call)]
            for name, fn in order:
                res = run_load(fn, seeds, args.clients, args.requests, args.max_seconds)
                (app_runs if name == "app" else bare_runs).append(res)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        driver.close()

    def median(runs: list[dict[str, float]]) -> dict[str, float]:
        return {key: round(statistics.median(r[key] for r in runs), 2)
                for key in ("p50_ms", "p99_ms", "rps", "requests", "errors")}

    app_m, bare_m = median(app_runs), median(bare_runs)
    print(json.dumps({
        "endpoint": f"GET /api/songs/<id>/recommendations?k={args.k}",
        "server": f"gunicorn -w {args.workers} --threads {args.threads}",
        "clients": args.clients, "repeats": args.repeats, "songs_drawn": len(seeds),
        "app": app_m, "bare_vector_query": bare_m,
        "ratio": {"p50": round(app_m["p50_ms"] / bare_m["p50_ms"], 2),
                  "p99": round(app_m["p99_ms"] / bare_m["p99_ms"], 2),
                  "rps": round(bare_m["rps"] / app_m["rps"], 2)},
        "cpu_cores": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
