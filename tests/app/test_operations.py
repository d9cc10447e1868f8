"""What operators get without a database: security headers, request ids and JSON request
logs, Prometheus metrics (request counts and latencies per endpoint, Neo4j errors, the
model's version), and pages without inline code. No Neo4j: nothing listens on port 1."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from flask import Flask

from app import create_app, telemetry
from musicgraph.config import Neo4jSettings
from tests import support

TEMPLATES = support.ROOT / "app" / "templates"


def make_app(models: Path) -> Flask:
    return create_app({"TESTING": True, "MODELS_DIR": str(models),
                       "NEO4J": Neo4jSettings(uri="bolt://127.0.0.1:1", password="x"),
                       "NEO4J_RETRY_SECONDS": 0.2})


def test_security_headers_on_pages_and_api(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    for url in ("/api/docs", "/no/such/page", "/openapi.json", "/api/songs?q=((", "/"):
        r = client.get(url)
        csp = r.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", url  # no inline code, no other host
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert "unsafe" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"


def test_templates_have_no_inline_code_or_styles() -> None:
    """What the policy forbids never reaches a page: scripts load from files, data comes in
    JSON blocks, no event-handler or style attributes."""
    for path in TEMPLATES.glob("*.html"):
        html = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path.name, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), path.name
        assert not re.search(r"\sstyle\s*=", html), path.name
        assert "javascript:" not in html.lower(), path.name


def test_request_id_is_made_kept_or_replaced(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    made = client.get("/api/docs").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/api/docs").headers["X-Request-ID"] != made
    assert client.get("/api/docs", headers={"X-Request-ID": "edge-42.a"}) \
        .headers["X-Request-ID"] == "edge-42.a"
    for hostile in ('x", "status": 200', "y" * 65, "<script>"):
        replaced = client.get("/api/docs", headers={"X-Request-ID": hostile}) \
            .headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced), hostile


def test_each_request_is_one_json_log_line(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(tmp_path).test_client()
    logger = logging.getLogger(telemetry.REQUEST_LOGGER)
    logger.addHandler(caplog.handler)  # the logger keeps to its own handler
    try:
        r = client.get("/api/songs/x", headers={"X-Request-ID": "req-1"})
    finally:
        logger.removeHandler(caplog.handler)
    assert r.status_code == 503
    [record] = [rec for rec in caplog.records if rec.name == telemetry.REQUEST_LOGGER]
    assert record.request_id == "req-1" and record.status == 503  # type: ignore[attr-defined]
    assert record.endpoint == "api.song" and record.path == "/api/songs/x"  # type: ignore[attr-defined]
    assert record.duration_ms >= 0  # type: ignore[attr-defined]
    handler = logger.handlers[0]
    line = json.loads(handler.format(record))
    assert {"time", "level", "message", "request_id", "method", "path", "endpoint", "status",
            "duration_ms"} <= set(line)


def test_metrics_count_requests_errors_and_model(tmp_path: Path) -> None:
    client = make_app(tmp_path / "nothing-trained").test_client()
    for _ in range(3):
        assert client.get("/api/docs").status_code == 200
    assert client.get("/api/songs/x").status_code == 503  # Neo4j unreachable
    assert client.get("/api/songs?q=((").status_code == 400
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    count = "musicgraph_http_request_duration_seconds_count"
    assert support.metric_sample(text, count, endpoint="pages.api_docs", status="200") == 3
    assert support.metric_sample(text, count, endpoint="api.song", status="503") == 1
    assert support.metric_sample(text, count, endpoint="api.search_songs", status="400") == 1
    assert support.metric_sample(text, "musicgraph_http_request_duration_seconds_bucket",
                  endpoint="pages.api_docs", le="+Inf") == 3
    assert support.metric_sample(text, "musicgraph_neo4j_errors_total", kind="DatabaseUnavailableError") == 1
    assert support.metric_sample(text, "musicgraph_model_info", data_hash="none", trained_at="none") == 1


def test_model_version_follows_the_trained_model(tmp_path: Path) -> None:
    folder = tmp_path / "graphsage"
    folder.mkdir()
    (folder / "data_hash.txt").write_text("0123456789abcdef\n")
    (folder / "checkpoint.pt").write_bytes(b"")
    app = make_app(tmp_path)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert support.metric_sample(text, "musicgraph_model_info", data_hash="0123456789ab") == 1
    # A new training is picked up on the next refresh; the old version drops to 0.
    (folder / "data_hash.txt").write_text("fedcba9876543210\n")
    app.extensions["musicgraph_telemetry"].refresh_model(now=float("inf"))
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert support.metric_sample(text, "musicgraph_model_info", data_hash="fedcba987654") == 1
    assert support.metric_sample(text, "musicgraph_model_info", data_hash="0123456789ab") == 0
