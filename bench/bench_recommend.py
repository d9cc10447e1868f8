"""Serving speed: the recommendation API under gunicorn, measured with a compiled load
generator (wrk) side by side with the bare vector-index query through the driver.

Usage (against a loaded, trained database named by NEO4J_*)::

    python -m bench.bench_recommend            # prints one JSON object

Each repeat measures, in this order and on the same machine:

- ``api_p50_ms``, ``api_p99_ms``: one client, ``GET /api/songs/<id>/recommendations?k=10``
  over ``--songs`` different songs (wrk, one connection);
- ``api_rps_32``, ``errors``: the same requests from 32 connections;
- ``bare_rps_32``: the bare query (``db.index.vector.queryNodes``, top k + 1, through the
  driver, 32 threads): the floor any recommendation costs;
- ``seeds50_p50_ms``: one client, ``GET /api/recommendations?seeds=<50 ids>&k=10`` (seed
  sets drawn from the largest playlists);
- ``search_p50_ms``: one client, ``GET /api/songs?q=<words of a title>``.

The app's result cache is on, as deployed: this measures repeat traffic. The workers
share it (a folder app/gunicorn_conf.py makes), so an answer is computed once per
server, not once per worker; ``--per-worker-cache`` keeps each worker's answers its own
(as before the cache was shared: a worker's first request for a song is computed even
when another worker has the answer). ``--no-cache`` turns it off, so every request
computes its answer (first-time traffic); the report says which (``result_cache``:
``shared``, ``per worker`` or ``off``).

The JSON holds the medians across repeats (``--repeats``, default 3), each repeat's raw
figures under ``repeats``, and ``api_over_bare`` = api_rps_32 / bare_rps_32. wrk (Debian's
package) is installed when missing (apt-get, as root or through sudo): a Python load
generator on the same two cores would cap what the server can show.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from neo4j import GraphDatabase, RoutingControl

import cypher
from bench import statement
from musicgraph.config import Neo4jSettings
from musicgraph.neo4j_local import free_port
from musicgraph.schema import VECTOR_INDEX

ROOT = Path(__file__).resolve().parent.parent

# wrk's report: every latency in microseconds; one JSON line from the done() hook.
_WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(sudo + cmd, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def wrk(binary: str, port: int, paths: list[str], connections: int, seconds: float,
        workdir: Path) -> dict[str, float]:
    """Run wrk over ``paths`` (cycled) with ``connections`` keep-alive connections."""
    listing = workdir / f"paths-{len(paths)}-{abs(hash(tuple(paths)))}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = workdir / "bench.lua"
    script.write_text(_WRK_SCRIPT)
    threads = min(2, connections)
    out = subprocess.run(
        [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
         "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True, env={**os.environ, "BENCH_PATHS": str(listing)})
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH "))
    result: dict[str, float] = json.loads(line.removeprefix("BENCH "))
    result["rps"] = result["requests"] / max(result["seconds"], 1e-9)
    return result


def bare_rps(settings: Neo4jSettings, songs: list[str], clients: int, k: int,
             seconds: float) -> float:
    """Requests/s of the bare vector-index query through the driver, ``clients`` threads."""
    driver = GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password),
                                  max_connection_pool_size=clients + 4)
    query = cypher.load("recommend/similar_by_embedding")
    done = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            driver.execute_query(query, {"id": rng.choice(songs), "k": k, "index": VECTOR_INDEX},
                                 database_=settings.database, routing_=RoutingControl.READ)
            done[n] += 1

    try:
        workers = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
        started = time.perf_counter()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return sum(done) / (time.perf_counter() - started)
    finally:
        driver.close()


def wait_for_http(port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
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


def draw_requests(settings: Neo4jSettings, n_songs: int, k: int,
                  seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """Song ids and the request paths: single songs, 50-song seed sets, searches."""
    driver = GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password))
    try:
        def read(text: str, **params: Any) -> list[dict[str, Any]]:
            records, _, _ = driver.execute_query(text, params,
                                                 database_=settings.database,
                                                 routing_=RoutingControl.READ)
            return [r.data() for r in records]

        embedded = sorted(r["id"] for r in read(statement("embedded_song_ids")))
        rng = random.Random(seed)
        songs = rng.sample(embedded, min(n_songs, len(embedded)))
        sets = [r["ids"] for r in read(statement("playlist_seed_sets"), size=50, limit=20)]
        titles = [r["title"] for r in read(cypher.load("app/songs"), ids=songs) if r["title"]]
    finally:
        driver.close()
    single = [f"/api/songs/{quote(s)}/recommendations?k={k}" for s in songs]
    seeds50 = [f"/api/recommendations?k={k}&seeds={quote(','.join(ids))}" for ids in sets]
    search = []
    for title in titles:
        words = [w for w in title.split() if any(c.isalnum() for c in w)][:2]
        if words:
            search.append(f"/api/songs?limit=10&q={quote(' '.join(words))}")
    return songs, single, seeds50, search


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=15.0, help="per wrk run")
    p.add_argument("--songs", type=int, default=200, help="different songs requested")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=None,
                   help="gunicorn threads per worker (default: app/gunicorn_conf.py's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cache", action="store_true",
                   help="turn the app's result cache off (every request computes its answer)")
    p.add_argument("--per-worker-cache", action="store_true",
                   help="each gunicorn worker keeps its own answers (no shared cache)")
    args = p.parse_args()

    settings = Neo4jSettings.from_env()
    binary = ensure_wrk()
    songs, single, seeds50, search = draw_requests(settings, args.songs, args.k, args.seed)
    if not seeds50:
        raise SystemExit("no playlist holds 50 songs: the 50-song seed sets need one")

    port = free_port()
    conf = ROOT / "app" / "gunicorn_conf.py"
    cmd = [sys.executable, "-m", "gunicorn", *(["-c", str(conf)] if conf.is_file() else []),
           "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "app.wsgi:app"]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    env = {**os.environ, "NEO4J_URI": settings.uri, "NEO4J_USER": settings.user,
           "NEO4J_PASSWORD": settings.password, "NEO4J_DATABASE": settings.database}
    if args.no_cache:
        env["MUSICGRAPH_RESULT_CACHE_SIZE"] = "0"
    if args.per_worker_cache:
        env["MUSICGRAPH_RESULT_CACHE_SHARED_BYTES"] = "0"
    repeats: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_for_http(port, proc)
            # Warm-up: every worker opens its driver and Neo4j compiles the queries.
            wrk(binary, port, single + seeds50 + search, 8, 5, work)
            for _ in range(args.repeats):
                one = wrk(binary, port, single, 1, args.seconds, work)
                many = wrk(binary, port, single, args.clients, args.seconds, work)
                bare = bare_rps(settings, songs, args.clients, args.k, args.seconds)
                sets = wrk(binary, port, seeds50, 1, args.seconds, work)
                found = wrk(binary, port, search, 1, args.seconds, work)
                repeats.append({
                    "api_p50_ms": one["p50_ms"], "api_p99_ms": one["p99_ms"],
                    "api_rps_32": many["rps"], "bare_rps_32": bare,
                    "api_over_bare": many["rps"] / bare,
                    "errors": one["errors"] + many["errors"] + sets["errors"] + found["errors"],
                    "seeds50_p50_ms": sets["p50_ms"], "search_p50_ms": found["p50_ms"],
                })
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    keys = list(repeats[0])
    report: dict[str, Any] = {key: round(statistics.median(r[key] for r in repeats), 3)
                              for key in keys}
    report["errors"] = int(sum(r["errors"] for r in repeats))
    report.update({"repeats": repeats, "songs": len(songs), "k": args.k,
                   "gunicorn_workers": args.workers, "clients": args.clients,
                   "seconds_per_run": args.seconds, "cpus": os.cpu_count(),
                   "result_cache": "off" if args.no_cache else
                   "per worker" if args.per_worker_cache else "shared"})
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
