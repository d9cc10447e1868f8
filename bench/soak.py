"""Soak: a long run of the app under gunicorn with a realistic mix, watching for errors,
latency, memory growth and leaked Neo4j connections.

Usage (against a loaded database with embeddings, named by NEO4J_*)::

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... python -m bench.soak

100,000 requests (``--requests``) over 64 keep-alive connections (``--connections``) on
loopback, bounded by ``--max-seconds``: 70% one song's recommendations, 15% search, 10%
song pages, 5% recommendations for three seeds, drawn from 500 embedded songs. The load
comes from wrk (Debian's package, installed here when missing) driven by a Lua script,
so the client is compiled code and not the bottleneck. gunicorn runs with the production
config (``app/gunicorn_conf.py``). The JSON printed holds the errors, p50 and p99, the
workers' RSS after warm-up and at the end, and Neo4j's open Bolt connections after
warm-up, at the end and once idle, beside the most the workers' pools may hold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil
from neo4j import GraphDatabase, RoutingControl

import cypher
from bench import statement
from bench.bench_recommend import wait_for_http
from musicgraph.config import Neo4jSettings
from musicgraph.neo4j_local import free_port

ROOT = Path(__file__).resolve().parent.parent

LUA = """
-- Written by bench/soak.py: the request mix, and a stop after a number of responses.
local ids = {%(ids)s}
local terms = {%(terms)s}
local limit = %(limit)d
local marker = %(marker)s
local done_count = 0
-- Globals: setup() hands each thread its seed, done() collects each thread's statuses.
seed = 0
statuses = {}

function init(args)
  math.randomseed(seed * 7919)
end

local function pick(list) return list[math.random(#list)] end

function request()
  local r = math.random(100)
  local path
  if r <= 70 then
    path = "/api/songs/" .. pick(ids) .. "/recommendations?k=10"
  elseif r <= 85 then
    path = "/api/songs?q=" .. pick(terms) .. "&limit=10"
  elseif r <= 95 then
    path = "/songs/" .. pick(ids)
  else
    path = "/api/recommendations?seeds=" .. pick(ids) .. "," .. pick(ids) .. "," .. pick(ids) .. "&k=10"
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  done_count = done_count + 1
  if done_count == limit then
    -- wrk runs for its whole -d duration: tell bench/soak.py this thread is done.
    local f = io.open(marker .. seed, "w")
    f:close()
    wrk.thread:stop()
  end
end

local threads = {}
function setup(thread)
  seed = seed + 1
  thread:set("seed", seed)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%%s": %%d', k, v)) end
  io.write(string.format(
    'SOAK_JSON {"requests": %%d, "duration_s": %%.1f, "connect_errors": %%d, "read_errors": %%d, '
    .. '"write_errors": %%d, "timeouts": %%d, "non_2xx_3xx": %%d, "p50_ms": %%.1f, "p90_ms": %%.1f, '
    .. '"p99_ms": %%.1f, "max_ms": %%.1f, "statuses": {%%s}}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, table.concat(parts, ", ")))
end
"""


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package (as root or through sudo) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def workers_rss(master: int) -> dict[int, int]:
    """RSS in bytes of each gunicorn worker (the master's children)."""
    return {c.pid: c.memory_info().rss for c in psutil.Process(master).children()}


def bolt_connections(port: int) -> int:
    """Established TCP connections to Neo4j's Bolt port, counted on the server's side."""
    return sum(1 for c in psutil.net_connections(kind="tcp")
               if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def run_wrk(wrk: str, script: Path, marker: Path, port: int, connections: int, threads: int,
            seconds: float) -> dict[str, object]:
    """Run wrk until every thread has had its share of responses (or ``seconds`` pass).

    wrk itself always runs for its ``-d`` duration; each thread of the script touches a
    marker file when done, and SIGINT (wrk's own way to stop early) ends the run then.
    """
    proc = subprocess.Popen(
        [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{int(seconds)}s",
         "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Polling: wrk signals nothing when its threads stop.
    while proc.poll() is None and len(list(marker.parent.glob(marker.name + "*"))) < threads:
        time.sleep(0.2)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    line = next((x for x in stdout.splitlines() if x.startswith("SOAK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout}\n{stderr}")
    return json.loads(line.removeprefix("SOAK_JSON "))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=3600.0,
                   help="bound on the measured run; it stops earlier after --requests")
    p.add_argument("--warmup", type=int, default=2000, help="requests before measuring")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--songs", type=int, default=500, help="embedded songs to draw from")
    args = p.parse_args()

    wrk = ensure_wrk()
    settings = Neo4jSettings.from_env()
    bolt_port = urlsplit(settings.uri).port or 7687
    with GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password)) as driver:
        ids = [r["id"] for r in driver.execute_query(
            statement("embedded_song_ids"), database_=settings.database,
            routing_=RoutingControl.READ).records]
        ids = random.Random(0).sample(ids, min(args.songs, len(ids)))
        titles = [r["title"] for r in driver.execute_query(
            cypher.load("app/songs"), {"ids": ids}, database_=settings.database,
            routing_=RoutingControl.READ).records if r["title"]]
    # Search terms people type: the first word of real titles (3+ letters).
    terms = sorted({m.group(0).lower() for t in titles
                    if (m := re.search(r"[^\W\d_]{3,}", t))})
    if not ids or not terms:
        raise SystemExit("the database has no embedded songs: load and train first")

    work = Path(tempfile.mkdtemp(prefix="musicgraph-soak-"))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics")}
    log = open(work / "gunicorn.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf",
         "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--threads", str(args.threads),
         "app.wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(port, proc, timeout=120)
        per_thread = -(-args.warmup // args.wrk_threads)
        warm_script = work / "warmup.lua"
        warm_marker = work / "warmup-done-"
        warm_script.write_text(LUA % {"ids": lua_list([quote(i) for i in ids]),
                                      "terms": lua_list([quote(t) for t in terms]),
                                      "limit": per_thread,
                                      "marker": json.dumps(str(warm_marker))})
        run_wrk(wrk, warm_script, warm_marker, port, args.connections, args.wrk_threads,
                args.max_seconds)
        rss_start = workers_rss(proc.pid)
        bolt_start = bolt_connections(bolt_port)

        script = work / "soak.lua"
        marker = work / "soak-done-"
        script.write_text(LUA % {"ids": lua_list([quote(i) for i in ids]),
                                 "terms": lua_list([quote(t) for t in terms]),
                                 "limit": -(-args.requests // args.wrk_threads),
                                 "marker": json.dumps(str(marker))})
        started = time.monotonic()
        result = run_wrk(wrk, script, marker, port, args.connections, args.wrk_threads,
                         args.max_seconds)
        wall = time.monotonic() - started
        rss_end = workers_rss(proc.pid)
        bolt_end = bolt_connections(bolt_port)
        # Idle connections stay in each worker's pool: wait a moment for the count to settle.
        time.sleep(5)
        bolt_idle = bolt_connections(bolt_port)
        same_workers = set(rss_end) == set(rss_start)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()

    counts = {k: int(str(result[k])) for k in ("connect_errors", "read_errors", "write_errors",
                                               "timeouts", "non_2xx_3xx", "requests")}
    errors = sum(v for k, v in counts.items() if k != "requests")
    growth = {str(pid): round(rss_end[pid] / rss_start[pid] - 1, 4)
              for pid in rss_start if pid in rss_end}
    print(json.dumps({
        "requests": result["requests"], "errors": errors, "wrk": result,
        "wall_s": round(wall, 1), "rps": round(counts["requests"] / wall, 1),
        "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"],
        "mix": "70% song recommendations, 15% search, 10% song pages, 5% three-seed",
        "connections": args.connections,
        "server": f"gunicorn -c python:app.gunicorn_conf -w {args.workers} "
                  f"--threads {args.threads}",
        "workers_rss_mb_start": {str(k): round(v / 2**20, 1) for k, v in rss_start.items()},
        "workers_rss_mb_end": {str(k): round(v / 2**20, 1) for k, v in rss_end.items()},
        "workers_rss_growth": growth, "same_workers": same_workers,
        # The driver keeps up to 100 connections per worker (its pool's maximum); a leak
        # shows as a count that grows from warm-up to the end.
        "bolt_connections": {"after_warmup": bolt_start, "end": bolt_end,
                             "idle_5s_later": bolt_idle,
                             "pool_max": args.workers * 100},
        "songs_drawn": len(ids), "search_terms": len(terms), "cpu_cores": os.cpu_count(),
        "gunicorn_log": str(work / "gunicorn.log"),
    }, indent=2))


if __name__ == "__main__":
    main()
