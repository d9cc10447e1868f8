"""gunicorn's settings for MusicGraph: ``gunicorn -c python:app.gunicorn_conf app.wsgi:app``.

The Dockerfile, docker-compose.yml and the README use this file; ``-b``, ``-w`` and other
command-line options still win over it. Plain ``musicgraph serve`` and the tests don't
need it.

Metrics: each worker is its own process, so prometheus_client's multiprocess mode is on.
The master names one folder in ``PROMETHEUS_MULTIPROC_DIR`` before it forks (workers
inherit it and write their samples there), empties it at start (files of an earlier
run would count again), and marks a worker's files dead when the worker exits, so a
replaced worker's gauges stop counting. Importing this module changes nothing.
"""

from __future__ import annotations

import os
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


def child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker exits: its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
