"""The whole pipeline at catalogue scale, on a fresh private Neo4j, through the real CLI.

Usage::

    python -m bench.scale --songs 1000000 [--new 10000] [--seed 0] [--epochs N]
        [--train-threads 2] [--workdir DIR --keep] [--heap 4g --pagecache 4g] [--compare]

Steps, each a subprocess of the real command (so the figures hold whatever the commands
do inside): generate the catalogue and the later songs (:mod:`bench.synth`); start a
Neo4j in a temporary home on free ports (``musicgraph neo4j start``); ``musicgraph etl``;
``musicgraph train``; ``musicgraph etl --csv`` of the later songs and ``musicgraph embed
--missing``; then the app under gunicorn, asked for recommendations over HTTP by one
client, one request at a time, for a few hundred random songs. ``--csv`` loads a given
file instead of a generated one (the bundled data, for the baseline latency).

Prints one JSON object on stdout (progress and the commands' own output go to log files
in the work folder, named on stderr):

- ``songs``: songs in the catalogue; ``etl_s``, ``etl_peak_rss_mb``: the load, wall time
  and the peak resident memory of the command (its children included); ``etl_path``:
  ``bulk`` or ``transactional``; ``admin_import_s``: the ``neo4j-admin database import
  full`` step of a bulk load (with ``--compare``, the other path is loaded into a second
  fresh Neo4j and reported as ``etl_other_s``);
- ``train_s``, ``train_peak_rss_mb``; ``train_epochs`` and ``train_epoch_s`` from the
  training's ``metrics.json`` when it has them; ``train_threads``: the torch threads it
  was given (``null``: ``musicgraph train``'s own default);
- ``index_online_s``: from the Neo4j log, the time the ``song_embedding`` index took
  to populate after training's write-back;
- ``new_etl_s``, ``embed_new_s``, ``embed_peak_rss_mb``: loading the later songs and
  embedding them;
- ``rec_p50_ms``, ``rec_p99_ms``: ``GET /api/songs/<id>/recommendations?k=10``;
- ``neo4j_store_mb``: the database folder on disk; ``neo4j_peak_rss_mb``: the server's
  peak resident memory; ``heap``, ``pagecache``: its settings; ``neo4j_stop_s``: the
  final clean stop (or ``neo4j_stop_error``, and a non-zero exit after the JSON).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from neo4j import GraphDatabase, RoutingControl

from bench import statement
from bench.bench_recommend import percentile, wait_for_http
from musicgraph.neo4j_local import Instance, free_port

ROOT = Path(__file__).resolve().parent.parent
#: How long the final stop may take: at 1M songs, Neo4j closing the vector index after
#: the later songs' embeddings took over 120 s (Lucene finishing a merge).
STOP_TIMEOUT_S = 1800
#: The keys every run prints (the CI smoke test checks them).
REQUIRED_KEYS = ("songs", "etl_s", "etl_peak_rss_mb", "train_s", "train_peak_rss_mb",
                 "index_online_s", "embed_new_s", "rec_p50_ms", "rec_p99_ms", "neo4j_store_mb")


@dataclass
class Step:
    """One finished command: wall seconds, peak RSS (MB) and its standard output."""

    seconds: float
    peak_rss_mb: float
    stdout: str


class Bench:
    """Runs the steps in one work folder against one environment."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def run(self, name: str, cmd: list[str], timeout: float,
            max_rss_mb: float | None = None) -> Step:
        """Run ``cmd``, log its stderr to ``logs/<name>.log``, and measure it.

        The peak RSS comes from ``wait4``: the command's own and that of the children it
        waited for (the JVM of ``neo4j-admin``, for instance), like ``/usr/bin/time``.

        Raises:
            RuntimeError: the command failed, ran past ``timeout``, or its resident memory
                passed ``max_rss_mb`` (it is killed then: the machine is shared).
        """
        log = self.logs / f"{name}.log"
        print(f"[scale] {name}: {' '.join(cmd)}  (log: {log})", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with open(log, "wb") as err, tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=self.env, cwd=ROOT)
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    os.wait4(proc.pid, 0)
                    raise RuntimeError(f"{name} ran past {timeout:.0f}s; see {log}")
                rss = rss_of(proc.pid)
                if max_rss_mb is not None and rss is not None and rss > max_rss_mb:
                    proc.kill()
                    os.wait4(proc.pid, 0)
                    raise RuntimeError(f"{name} passed {max_rss_mb:.0f} MB resident "
                                       f"({rss:.0f} MB) and was stopped; see {log}")
                # wait4 with a timeout does not exist; polling a child is cheap.
                time.sleep(0.2)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - started
            out.seek(0)
            stdout = out.read().decode("utf-8", errors="replace")
        (self.logs / f"{name}.out").write_text(stdout)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{stdout[-2000:]}\n{tail}")
        # ru_maxrss is in kilobytes on Linux.
        return Step(seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024, stdout=stdout)


def musicgraph(*args: str) -> list[str]:
    """The real CLI, from this interpreter's environment."""
    return [sys.executable, "-m", "musicgraph.cli", *args]


def dir_mb(path: Path) -> float:
    """Bytes on disk under ``path``, in MB."""
    total = sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 1)


def peak_rss_of(pid: int, field: str = "VmHWM") -> float | None:
    """A running process's peak resident memory (VmHWM), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    return round(int(m.group(1)) / 1024, 1) if m else None


def rss_of(pid: int) -> float | None:
    """A running process's resident memory now (VmRSS), in MB."""
    return peak_rss_of(pid, "VmRSS")


def index_population_seconds(log_text: str) -> float | None:
    """Seconds the last ``song_embedding`` population took, from Neo4j's debug.log.

    Neo4j logs ``Index population started`` and ``Index creation finished`` for the
    index, each line stamped; the last pair is the write-back's after training.
    """
    started: datetime | None = None
    found = None
    for line in log_text.splitlines():
        if "song_embedding" not in line:
            continue
        try:
            stamp = datetime.strptime(line[:28], "%Y-%m-%d %H:%M:%S.%f%z")
        except ValueError:
            continue
        if "population started" in line:
            started = stamp
        elif "creation finished" in line and started is not None:
            found = round((stamp - started).total_seconds(), 1)
            started = None
    return found


def measure_latency(port: int, settings: dict[str, str], requests: int, k: int,
                    seed: int) -> dict[str, float]:
    """One client, sequential requests over random embedded songs (after a warm-up)."""
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"],
                                                     settings["password"])) as driver:
        ids = [r["id"] for r in driver.execute_query(
            statement("embedded_song_ids"), routing_=RoutingControl.READ).records]
    rng = random.Random(seed)
    seeds = rng.sample(ids, min(requests, len(ids)))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def ask(song_id: str) -> float:
        t0 = time.perf_counter()
        conn.request("GET", f"/api/songs/{song_id}/recommendations?k={k}")
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{resp.status}: {body[:300]!r}")
        return time.perf_counter() - t0

    for song_id in rng.sample(ids, min(20, len(ids))):  # warm-up: plans cached, pool open
        ask(song_id)
    latencies = [ask(song_id) for song_id in seeds]
    conn.close()
    return {"rec_p50_ms": round(1000 * statistics.median(latencies), 1),
            "rec_p99_ms": round(1000 * percentile(latencies, 0.99), 1),
            "rec_requests": len(latencies)}


def serve_and_measure(bench: Bench, settings: dict[str, str], requests: int, k: int,
                      seed: int) -> dict[str, float]:
    """Start the app under gunicorn (as deployed), measure, stop it."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b",
           f"127.0.0.1:{port}", "--timeout", "180", "--log-level", "warning", "app.wsgi:app"]
    with open(bench.logs / "serve.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=bench.env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            wait_for_http(port, proc, timeout=120)
            return measure_latency(port, settings, requests, k, seed)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def etl_report(path: Path) -> dict[str, Any]:
    """The ETL's JSON report (``musicgraph etl --report``)."""
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every step; returns the figures."""
    password = secrets.token_urlsafe(16)
    home = workdir / "neo4j"
    inst = Instance(home=home, bolt_port=free_port(), http_port=free_port())
    settings = {"uri": inst.bolt_uri, "user": "neo4j", "password": password}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEO4J_URI": inst.bolt_uri,
           "NEO4J_USER": "neo4j", "NEO4J_PASSWORD": password, "NEO4J_DATABASE": "neo4j",
           "MUSICGRAPH_NEO4J_HOME": str(home), "MUSICGRAPH_MODELS": str(workdir / "models"),
           "MUSICGRAPH_NEO4J_HEAP": args.heap, "MUSICGRAPH_NEO4J_PAGECACHE": args.pagecache,
           # The benchmark measures latency, not the deadline: the first requests plan the
           # statements on a cold cache, which on a loaded machine can pass the app's 10 s.
           "MUSICGRAPH_NEO4J_DEADLINE_SECONDS": "120"}
    bench = Bench(workdir, env)
    out: dict[str, Any] = {"songs": None}
    timeout = args.step_timeout
    if args.keep:
        # A kept store is reopened with its own credentials (to profile or rerun a step):
        # the project's `.env`, which `musicgraph` reads from the folder it runs in
        # (musicgraph.config.load_dotenv). Owner-only, like any file holding a password.
        keys = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE",
                "MUSICGRAPH_NEO4J_HOME", "MUSICGRAPH_MODELS", "MUSICGRAPH_NEO4J_HEAP",
                "MUSICGRAPH_NEO4J_PAGECACHE")
        creds = workdir / ".env"
        creds.touch(mode=0o600)
        creds.chmod(0o600)  # a rerun into the same folder finds the file already there
        creds.write_text("".join(f"{k}={env[k]}\n" for k in keys))

    if args.csv:
        songs_csv, new_csv = args.csv, None
    else:
        songs_csv, new_csv = workdir / "songs.csv", workdir / "new_songs.csv"
        gen = [sys.executable, "-m", "bench.synth", "--songs", str(args.songs), "--out",
               str(songs_csv), "--seed", str(args.seed)]
        if args.new:
            gen += ["--new", str(args.new), "--new-out", str(new_csv)]
        step = bench.run("generate", gen, timeout)
        out["generate_s"] = round(step.seconds, 1)

    bench.run("neo4j-start", musicgraph("neo4j", "start", "--home", str(home), "--bolt-port",
                                        str(inst.bolt_port), "--http-port",
                                        str(inst.http_port)), timeout)
    try:
        etl_cmd = musicgraph("etl", "--csv", str(songs_csv), "--rejects",
                             str(workdir / "rejects.csv"), "--report",
                             str(workdir / "etl.json"), "--bulk", args.bulk)
        step = bench.run("etl", etl_cmd, timeout)
        report = etl_report(workdir / "etl.json")
        out.update(songs=report["counts"].get("Song", 0), rows=report["rows_read"],
                   rows_rejected=report["rows_rejected"], etl_s=round(step.seconds, 1),
                   etl_peak_rss_mb=round(step.peak_rss_mb), etl_path=report["path"],
                   etl_phases_s=report["phases"], graph=report["counts"])
        if "admin_import" in report["phases"]:
            out["admin_import_s"] = report["phases"]["admin_import"]
        if args.compare:
            out.update(compare_other_path(bench, args, songs_csv, report["path"], timeout))
        if args.only_etl:
            return out

        train_cmd = musicgraph("train", "--quiet")
        if args.epochs:
            train_cmd += ["--epochs", str(args.epochs)]
        if args.train_threads is not None:
            train_cmd += ["--threads", str(args.train_threads)]
        out["train_threads"] = args.train_threads
        step = bench.run("train", train_cmd, timeout, max_rss_mb=args.max_rss_mb)
        out.update(train_s=round(step.seconds, 1), train_peak_rss_mb=round(step.peak_rss_mb))
        metrics_path = workdir / "models" / "graphsage" / "metrics.json"
        if metrics_path.is_file():
            metrics = json.loads(metrics_path.read_text())
            epochs, seconds = metrics.get("epochs_run"), metrics.get("train_seconds")
            if epochs and seconds:
                out.update(train_epochs=epochs, train_epoch_s=round(seconds / epochs, 2),
                           train_loop_s=round(seconds, 1))
        out["index_online_s"] = index_population_seconds(
            (home / "logs" / "debug.log").read_text(errors="replace"))

        if new_csv is not None:
            step = bench.run("etl-new", musicgraph("etl", "--csv", str(new_csv), "--rejects",
                                                   str(workdir / "new_rejects.csv")), timeout)
            out["new_etl_s"] = round(step.seconds, 1)
            step = bench.run("embed", musicgraph("embed", "--missing", "--quiet"), timeout,
                             max_rss_mb=args.max_rss_mb)
            out.update(embed_new_s=round(step.seconds, 1),
                       embed_peak_rss_mb=round(step.peak_rss_mb))
        else:
            out["embed_new_s"] = None

        out.update(serve_and_measure(bench, settings, args.requests, args.k, args.seed))
        pid = inst.pid()
        out["neo4j_peak_rss_mb"] = peak_rss_of(pid) if pid else None
    finally:
        # A failed stop must neither hide the run's own error nor lose its figures: it is
        # recorded, and main() exits non-zero after printing them.
        try:
            step = bench.run("neo4j-stop", musicgraph("neo4j", "stop", "--home", str(home),
                                                      "--timeout", str(STOP_TIMEOUT_S)), timeout)
            out["neo4j_stop_s"] = round(step.seconds, 1)
        except RuntimeError as exc:
            out["neo4j_stop_error"] = str(exc).strip().splitlines()[-1][:300]
    out["neo4j_store_mb"] = dir_mb(home / "data" / "databases" / "neo4j")
    out["neo4j_tx_logs_mb"] = dir_mb(home / "data" / "transactions" / "neo4j")
    out.update(heap=args.heap, pagecache=args.pagecache, cpu_cores=os.cpu_count())
    return out


def compare_other_path(bench: Bench, args: argparse.Namespace, songs_csv: Path,
                       main_path: str, timeout: float) -> dict[str, Any]:
    """Load the same file by the other path into a second fresh Neo4j (then removed)."""
    other = "transactional" if main_path == "bulk" else "bulk"
    home = bench.workdir / "neo4j-other"
    inst = Instance(home=home, bolt_port=free_port(), http_port=free_port())
    env = {**bench.env, "NEO4J_URI": inst.bolt_uri, "MUSICGRAPH_NEO4J_HOME": str(home)}
    other_bench = Bench(bench.workdir, env)
    other_bench.run("neo4j-start-other", musicgraph(
        "neo4j", "start", "--home", str(home), "--bolt-port", str(inst.bolt_port),
        "--http-port", str(inst.http_port)), timeout)
    try:
        flag = "always" if other == "bulk" else "never"
        step = other_bench.run("etl-other", musicgraph(
            "etl", "--csv", str(songs_csv), "--rejects", str(bench.workdir / "rejects2.csv"),
            "--report", str(bench.workdir / "etl-other.json"), "--bulk", flag), timeout)
        report = etl_report(bench.workdir / "etl-other.json")
    finally:
        other_bench.run("neo4j-stop-other", musicgraph("neo4j", "stop", "--home", str(home)),
                        timeout)
        shutil.rmtree(home, ignore_errors=True)
    found: dict[str, Any] = {"etl_other_path": other, "etl_other_s": round(step.seconds, 1),
                             "etl_other_peak_rss_mb": round(step.peak_rss_mb),
                             "etl_other_phases_s": report["phases"]}
    if "admin_import" in report["phases"]:
        found["admin_import_s"] = report["phases"]["admin_import"]
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=20_000, help="catalogue size to generate")
    ap.add_argument("--csv", type=Path, default=None,
                    help="load this file instead of a generated catalogue")
    ap.add_argument("--new", type=int, default=10_000, help="later songs to load and embed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None,
                    help="training epochs (default: musicgraph train's own)")
    ap.add_argument("--train-threads", type=int, default=None,
                    help="musicgraph train --threads (default: its own, one thread); the "
                         "epochs run while Neo4j is idle, so a large catalogue can use every core")
    ap.add_argument("--bulk", choices=("auto", "always", "never"), default="auto",
                    help="musicgraph etl --bulk for the main load")
    ap.add_argument("--compare", action="store_true",
                    help="also load by the other ETL path into a second fresh Neo4j")
    ap.add_argument("--only-etl", action="store_true",
                    help="stop after the load (with --compare: both paths' figures)")
    ap.add_argument("--max-rss-mb", type=float, default=None,
                    help="stop training or embedding past this resident memory")
    ap.add_argument("--requests", type=int, default=300, help="recommendation requests")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--heap", default=os.environ.get("MUSICGRAPH_NEO4J_HEAP", "1g"))
    ap.add_argument("--pagecache", default=os.environ.get("MUSICGRAPH_NEO4J_PAGECACHE", "512m"))
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work folder (its .env reopens the store)")
    ap.add_argument("--step-timeout", type=float, default=4 * 3600.0)
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.csv:
        args.new = 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="musicgraph-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        out = run(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out["total_s"] = round(time.perf_counter() - started, 1)
    out["date"] = time.strftime("%Y-%m-%d")
    text = json.dumps(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(text)
    if "neo4j_stop_error" in out:
        sys.exit(f"Neo4j did not stop cleanly: {out['neo4j_stop_error']}")


if __name__ == "__main__":
    main()
