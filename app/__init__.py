"""The MusicGraph web app: ``create_app()`` builds it (Flask's application factory).

Configuration comes from the defaults below, then ``MUSICGRAPH_*`` environment
variables (``app.config.from_prefixed_env``), then ``test_config``. Neo4j settings come
from ``NEO4J_*`` (``Neo4jSettings.from_env``) unless ``test_config["NEO4J"]`` gives them.

One Neo4j driver per process: created on first use (so a gunicorn worker opens its own
after the fork), kept in ``app.extensions["musicgraph_db"]`` and closed at exit. The
driver reconnects by itself, so the app recovers when Neo4j comes back.

The app is a flask-openapi3 ``OpenAPI`` (a Flask subclass): it validates the JSON API's
parameters against :mod:`app.contract` and serves the OpenAPI document at
``/openapi.json`` (a page for people at ``/api/docs``). Metrics, request logs and security
headers come from :mod:`app.telemetry`.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_openapi3 import Info, OpenAPI
from neo4j.exceptions import Neo4jError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from musicgraph.config import Neo4jSettings, models_dir, require_private_dir
from musicgraph.db import Database, set_work_deadline
from musicgraph.errors import DatabaseUnavailableError, InputError, MusicGraphError
from musicgraph.ranking import Ranker

if TYPE_CHECKING:
    from app.recommend import ResultCache

DEFAULTS: dict[str, Any] = {
    # Seconds a query may be retried while Neo4j is away before the app answers 503.
    # The library default (15 s) suits batch jobs, not a person waiting for a page.
    "NEO4J_RETRY_SECONDS": 3.0,
    # The longest a request waits on Neo4j, all its queries together, before it answers
    # 503; below gunicorn's request timeout (30 s), so no answer hangs while Neo4j restarts.
    "NEO4J_DEADLINE_SECONDS": 10.0,
    # Recommendations on the song page (and in its graph).
    "PAGE_RECOMMENDATIONS": 10,
    "POPULAR_SONGS": 12,
    "JSON_SORT_KEYS": False,
    # One JSON line per request on stderr (app.telemetry).
    "REQUEST_LOG": True,
    # Recent recommendation answers kept per process (0: none), and how long a read of
    # the graph's model state is trusted before a retrain or embed run is noticed. An
    # answer (10 songs with their paths) is kept compressed, about 2 KB: 2,000 take about
    # 4 MB per worker.
    "RESULT_CACHE_SIZE": 2_000,
    "RESULT_CACHE_SECONDS": 1.0,
    # A folder for the answers shared by the server's processes (None: each keeps its
    # own). app.gunicorn_conf names one for its workers; its size limit in bytes (0: each
    # worker keeps its own answers only).
    "RESULT_CACHE_DIR": None,
    "RESULT_CACHE_SHARED_BYTES": 64 * 2**20,
    # Plan the recommendation queries in the background as soon as Neo4j answers (at
    # start and after an outage): a restarted Neo4j takes seconds of CPU to plan them,
    # which a request would otherwise wait for, and under load give up on (the deadline).
    "WARM_QUERY_PLANS": True,
}

_lock = threading.Lock()
T = TypeVar("T")


def get_ranker() -> Ranker:
    """The ranker saved by ``musicgraph train`` under the app's models folder (``MODELS_DIR``,
    default ``MUSICGRAPH_MODELS``); a ModelError (503) when there is none."""
    from app.recommend import load_ranker

    return load_ranker(Path(current_app.config.get("MODELS_DIR") or models_dir()))


def _per_app(name: str, make: Callable[[Flask], T]) -> T:
    """The current app's ``name`` extension, made by ``make(app)`` on first use (once, even
    when several threads ask at the same time)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    value = app.extensions.get(name)
    if value is None:
        with _lock:
            value = app.extensions.get(name)
            if value is None:
                value = make(app)
                app.extensions[name] = value
    return value


def get_cache() -> ResultCache:
    """This process's cache of recent recommendation answers for the current app."""
    from app.recommend import ResultCache

    def make(app: Flask) -> ResultCache:
        shared = app.config["RESULT_CACHE_DIR"]
        return ResultCache(int(app.config["RESULT_CACHE_SIZE"]),
                           float(app.config["RESULT_CACHE_SECONDS"]),
                           shared_dir=Path(shared) if shared else None,
                           shared_bytes=int(app.config["RESULT_CACHE_SHARED_BYTES"]))

    return _per_app("musicgraph_cache", make)


def get_db() -> Database:
    """This process's database handle for the current app, created on first use."""

    def make(app: Flask) -> Database:
        db = Database(app.config["NEO4J"],
                      retry_seconds=float(app.config["NEO4J_RETRY_SECONDS"]),
                      deadline_seconds=float(app.config["NEO4J_DEADLINE_SECONDS"]))
        atexit.register(db.close)
        if app.config["WARM_QUERY_PLANS"]:
            from app.recommend import warm_other_plans

            db.on_available(lambda: _warm_query_plans(app))
            db.on_available(lambda: warm_other_plans(db), hold=False)
        return db

    return _per_app("musicgraph_db", make)


def _warm_query_plans(app: Flask) -> None:
    """Run what the pages ask Neo4j most, once, without the request deadline, so Neo4j
    plans those queries now (on a background thread of :class:`Database`)."""
    from app.recommend import warm_query_plans

    with app.app_context():
        try:
            ranker = get_ranker()
        except MusicGraphError as exc:  # nothing to warm until training has run
            app.logger.info("query plans not warmed: %s", exc.message)
            return
        # One process at a time (gunicorn's workers warm together after an outage), and
        # a process that waited for another's run skips its own: the plans are in Neo4j's
        # cache, shared by every client. The lock file's time says when a run last ended.
        settings = app.config["NEO4J"]
        key = hashlib.sha256(f"{settings.uri} {settings.database}".encode()).hexdigest()[:16]
        asked = time.time()
        with open(Path(tempfile.gettempdir()) / f"musicgraph-warm-{key}.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                if os.fstat(fh.fileno()).st_mtime >= asked:
                    app.logger.info("query plans warmed by another process")
                    return
                seconds = warm_query_plans(get_db(), ranker,
                                           int(app.config["PAGE_RECOMMENDATIONS"]))
                os.utime(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        telemetry = app.extensions.get("musicgraph_telemetry")
        if telemetry is not None:
            telemetry.plan_warmup.observe(seconds)
        app.logger.info("query plans warmed in %.2f s", seconds)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    Args:
        test_config: settings that override the defaults and the environment (tests);
            ``NEO4J`` may hold a :class:`Neo4jSettings`.
    """
    from app import contract

    app = OpenAPI(
        __name__,
        info=Info(title="MusicGraph API", version=version("musicgraph"),
                  description="Songs, search and recommendations with the graph paths that "
                              "explain them. Errors are JSON {error, detail}."),
        # The document is served at /openapi.json below; the page for it is ours
        # (/api/docs): the library's UIs load scripts from CDNs and run inline code.
        doc_ui=False,
        security_schemes={},
        validation_error_status=400,
        validation_error_model=contract.ErrorBody,
        validation_error_callback=_reject_parameters,
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("MUSICGRAPH")
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault("NEO4J", Neo4jSettings.from_env())
    if (app.config["RESULT_CACHE_DIR"] and int(app.config["RESULT_CACHE_SIZE"]) > 0
            and int(app.config["RESULT_CACHE_SHARED_BYTES"]) > 0):
        require_private_dir(Path(app.config["RESULT_CACHE_DIR"]),  # at start, not per request
                            "MUSICGRAPH_RESULT_CACHE_DIR")
    app.json.sort_keys = bool(app.config["JSON_SORT_KEYS"])  # type: ignore[attr-defined]

    from app import api, pages, telemetry

    telemetry.init_app(app)

    @app.before_request
    def _neo4j_deadline() -> None:
        set_work_deadline(float(app.config["NEO4J_DEADLINE_SECONDS"]))

    @app.teardown_request
    def _no_neo4j_deadline(exc: BaseException | None) -> None:
        set_work_deadline(None)

    app.register_api(api.bp)
    app.register_blueprint(pages.bp)
    app.add_url_rule("/openapi.json", "openapi_json", lambda: jsonify(app.api_doc))
    _register_errors(app)
    return app


def _reject_parameters(exc: ValidationError) -> NoReturn:
    """Turn flask-openapi3's validation failure into the API's 400 ``{error, detail}``."""
    first = exc.errors(include_url=False)[0]
    name = ".".join(str(part) for part in first["loc"]) or "the request"
    if first["type"] == "missing":
        raise InputError(f"{name} is required")
    from app.contract import PATTERN_HINTS

    hint = PATTERN_HINTS.get(str((first.get("ctx") or {}).get("pattern")))
    message = str(first["msg"]).removeprefix("Value error, ")
    raise InputError(f"{name} {hint}" if hint else f"{name}: {message[:1].lower()}{message[1:]}",
                     f"got {str(first.get('input'))[:50]!r}")


def close_db(app: Flask) -> None:
    """Close the app's driver now (tests; processes rely on the atexit hook)."""
    db = app.extensions.pop("musicgraph_db", None)
    if db is not None:
        atexit.unregister(db.close)
        db.close()


def _wants_json() -> bool:
    return (request.path.startswith("/api/") and request.path != "/api/docs") or \
        request.path == "/healthz"


def _count_neo4j_error(exc: BaseException) -> None:
    telemetry = current_app.extensions.get("musicgraph_telemetry")
    if telemetry is not None:
        telemetry.count_neo4j_error(exc)


def _register_errors(app: Flask) -> None:
    """One place mapping errors to answers: JSON under /api, HTML pages elsewhere."""

    def answer(status: int, error: str, detail: str | None, extra: dict[str, Any] | None = None):
        if _wants_json():
            body: dict[str, Any] = {"error": error, "detail": detail}
            body.update(extra or {})
            return jsonify(body), status
        template = {404: "404.html", 503: "503.html"}.get(status, "error.html")
        return render_template(template, status=status, error=error, detail=detail), status

    @app.errorhandler(MusicGraphError)
    def musicgraph_error(exc: MusicGraphError):
        status = exc.http_status
        if isinstance(exc, DatabaseUnavailableError):
            status = 503
            _count_neo4j_error(exc)
        extra = {"status": exc.status} if hasattr(exc, "status") else None
        if status >= 500 and not isinstance(exc, DatabaseUnavailableError):
            app.logger.error("%s: %s (request %s)", exc.message, exc.detail,
                             g.get("request_id"))
        return answer(status, exc.message, exc.detail, extra)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return answer(exc.code or 500, exc.name, exc.description)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # A bug: log the traceback for the operator, never show it to the client.
        if isinstance(exc, Neo4jError):
            _count_neo4j_error(exc)
        app.logger.exception("unhandled error on %s (request %s)", request.path,
                             g.get("request_id"))
        return answer(500, "Internal Server Error", "an unexpected error occurred; see the server log")
