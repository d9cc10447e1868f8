"""What operators read: Prometheus metrics, JSON request logs with request ids, and the
security headers every answer carries.

Metrics (``/metrics``, prometheus-flask-exporter): request counts and latency histograms
per endpoint (``musicgraph_http_request_total``, ``musicgraph_http_request_duration_seconds``),
Neo4j errors by kind (``musicgraph_neo4j_errors_total``), the trained model's version
(``musicgraph_model_info``) and how long warming Neo4j's query plans took, at start and
after each outage (``musicgraph_query_plan_warmup_seconds``). Under gunicorn each worker
is its own process, so with ``PROMETHEUS_MULTIPROC_DIR`` set (``app/gunicorn_conf.py``
sets it) every worker writes its samples to files there and ``/metrics``, whichever worker
answers, adds them all up.
Without it (``musicgraph serve``, tests) the app keeps them in its own registry.

Request logs: one JSON line per request on the ``musicgraph.requests`` logger (stderr),
with the request id that the answer also carries in ``X-Request-ID``. A caller's own
``X-Request-ID`` is kept when it is a plain token, so one id follows a request across
services; otherwise the app makes one.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from pythonjsonlogger.json import JsonFormatter

from musicgraph.config import models_dir
from musicgraph.schema import MODEL_ARTIFACTS, MODEL_CHECKPOINT, MODEL_DATA_HASH

REQUEST_ID_HEADER = "X-Request-ID"
#: A caller's request id is kept only if it is this plain (no log injection, bounded).
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_LOGGER = "musicgraph.requests"
#: Seconds between two reads of the model's version (a stat and a 65-byte file).
MODEL_REFRESH_SECONDS = 30.0

#: Every page may load scripts, styles and images from this app only; data for scripts
#: travels in ``<script type="application/json">`` blocks, so no inline code is needed.
#: vis-network draws on a canvas and styles its own elements through the DOM (allowed);
#: its stylesheet's navigation icons are data: URLs.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@dataclass
class Telemetry:
    """The app's own metrics, beside the per-request ones the exporter keeps."""

    exporter: PrometheusMetrics
    neo4j_errors: Counter
    model_info: Gauge
    plan_warmup: Histogram
    models: Path
    _model_labels: tuple[str, str] | None = None
    _next_refresh: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_neo4j_error(self, exc: BaseException) -> None:
        """Count an error of Neo4j (unreachable, not ready, a driver error) by its kind."""
        self.neo4j_errors.labels(kind=type(exc).__name__).inc()

    def refresh_model(self, now: float | None = None) -> None:
        """Re-read the model's version when the last read is older than the refresh period."""
        now = time.monotonic() if now is None else now
        if now < self._next_refresh:
            return
        with self._lock:
            if now < self._next_refresh:
                return
            self._next_refresh = now + MODEL_REFRESH_SECONDS
            labels = model_version(self.models)
            if labels != self._model_labels:
                if self._model_labels is not None:
                    self.model_info.labels(*self._model_labels).set(0)
                self.model_info.labels(*labels).set(1)
                self._model_labels = labels


def model_version(models: Path) -> tuple[str, str]:
    """``(data hash, trained at)`` of the trained model in ``models``, or ``("none", "none")``.

    The data hash (its first 12 characters) names the graph the model was trained on; the
    checkpoint's time tells two trainings on the same graph apart.
    """
    folder = models / MODEL_ARTIFACTS
    try:
        data_hash = (folder / MODEL_DATA_HASH).read_text(encoding="utf-8").strip()[:12]
        mtime = (folder / MODEL_CHECKPOINT).stat().st_mtime
    except OSError:
        return ("none", "none")
    trained = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (data_hash or "none", trained)


def init_app(app: Flask) -> Telemetry:
    """Install metrics, request ids and logs, and the security headers on ``app``."""
    telemetry = _metrics(app)
    app.extensions["musicgraph_telemetry"] = telemetry
    log = _request_logger(app)

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        telemetry.refresh_model()

    @app.after_request
    def _finish(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if log is not None and "request_started" in g:
            log.info("request", extra={
                "request_id": request_id, "method": request.method, "path": request.path,
                "endpoint": request.endpoint, "status": response.status_code,
                "duration_ms": round(1000 * (time.perf_counter() - g.request_started), 2),
                "remote_addr": request.remote_addr, "pid": os.getpid(),
            })
        return response

    return telemetry


def _metrics(app: Flask) -> Telemetry:
    options = {"group_by": "endpoint", "defaults_prefix": "musicgraph",
               # The scrape itself is not traffic worth a latency histogram.
               "excluded_paths": ["^/metrics$"]}
    exporter: PrometheusMetrics
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        exporter = GunicornInternalPrometheusMetrics(app, **options)
    else:
        # One registry per app: tests build many apps in one process.
        exporter = PrometheusMetrics(app, registry=CollectorRegistry(auto_describe=True),
                                     **options)
    registry = exporter.registry
    neo4j_errors = Counter("musicgraph_neo4j_errors", "Neo4j errors answered, by kind "
                           "(DatabaseUnavailableError: unreachable; NotReadyError: up but "
                           "not ready; driver error classes otherwise)", ["kind"],
                           registry=registry)
    model_info = Gauge("musicgraph_model_info", "The trained GraphSAGE model: 1 for the "
                       "version in use (data_hash 'none' when nothing is trained)",
                       ["data_hash", "trained_at"], registry=registry,
                       multiprocess_mode="livemax")
    plan_warmup = Histogram("musicgraph_query_plan_warmup_seconds", "Seconds to warm Neo4j's "
                            "query plans once it answered (at start, after an outage); "
                            "requests wait meanwhile", registry=registry,
                            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 60))
    models = Path(app.config.get("MODELS_DIR") or models_dir())
    telemetry = Telemetry(exporter=exporter, neo4j_errors=neo4j_errors,
                          model_info=model_info, plan_warmup=plan_warmup, models=models)
    telemetry.refresh_model()
    return telemetry


def _request_logger(app: Flask) -> logging.Logger | None:
    """The JSON request logger, or None when ``REQUEST_LOG`` is off."""
    if not app.config.get("REQUEST_LOG", True):
        return None
    log = logging.getLogger(REQUEST_LOGGER)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter(
            "{asctime}{levelname}{name}{message}", style="{", datefmt="%Y-%m-%dT%H:%M:%S%z",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        # One line per request on its own handler, not twice through the root logger.
        log.propagate = False
    return log
