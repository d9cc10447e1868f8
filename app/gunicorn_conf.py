"""gunicorn's settings for MusicGraph: ``gunicorn -c python:app.gunicorn_conf app.wsgi:app``.

The Dockerfile, docker-compose.yml and the README use this file; ``-b``, ``-w`` and other
command-line options still win over it. Plain ``musicgraph serve`` and the tests don't
need it.

Metrics: each worker is its own process, so prometheus_client's multiprocess mode is on.
The master names one folder in ``PROMETHEUS_MULTIPROC_DIR`` before it forks (workers
inherit it and write their samples there), empties it at start (files of an earlier
run would count again), and marks a worker's files dead when the worker exits, so a
replaced worker's gauges stop counting. Importing this module changes nothing.

Result cache: the master also names a folder in ``MUSICGRAPH_RESULT_CACHE_DIR``, the
recommendation answers its workers share (``app.recommend.ResultCache``): made fresh
and owner-only at start, removed at exit, so no answer outlives the server that
computed it. A folder the environment names is used instead (it must be this user's
alone: the answers are unpickled), emptied at start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("MUSICGRAPH_BIND_ADDRESS", "127.0.0.1:8000")
workers = int(os.environ.get("MUSICGRAPH_WORKERS", "2"))
# Threads per worker: a request mostly waits on Neo4j.
threads = int(os.environ.get("MUSICGRAPH_THREADS", "8"))
worker_class = "gthread"
#: The request timeout: a worker silent for longer is killed and replaced. The app answers
#: 503 long before (Neo4j retries stop after NEO4J_RETRY_SECONDS, connecting after 5 s).
timeout = 30
graceful_timeout = 30
keepalive = 5
# The app logs each request as JSON (app.telemetry); gunicorn's own access log would
# repeat it without the request id.
accesslog = None
errorlog = "-"
loglevel = "info"


def on_starting(server: Any) -> None:
    """In the master, before any worker: the metrics folder, present and empty."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="musicgraph-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    cache = os.environ.get("MUSICGRAPH_RESULT_CACHE_DIR")
    if cache:
        import diskcache

        from musicgraph.config import require_private_dir

        # Refuse to start on a folder others may write in.
        require_private_dir(Path(cache), "MUSICGRAPH_RESULT_CACHE_DIR")
        with diskcache.Cache(cache) as earlier:  # its answers only, not the folder's files
            earlier.clear()
    else:
        os.environ["MUSICGRAPH_RESULT_CACHE_DIR"] = tempfile.mkdtemp(prefix="musicgraph-cache-")
        os.environ["_MUSICGRAPH_RESULT_CACHE_MADE"] = "1"


def on_exit(server: Any) -> None:
    """In the master, at shutdown: the shared result cache's folder, if it made it."""
    if os.environ.pop("_MUSICGRAPH_RESULT_CACHE_MADE", None):
        shutil.rmtree(os.environ.pop("MUSICGRAPH_RESULT_CACHE_DIR", ""), ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker exits: its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
