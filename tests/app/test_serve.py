"""How the app is started: the CLI's ``serve``, the gunicorn entry point, configuration."""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner
from flask import Flask

from app import create_app
from musicgraph.cli import cli
from musicgraph.config import Neo4jSettings


@pytest.mark.neo4j
def test_serve_runs_the_app_on_host_and_port(monkeypatch: pytest.MonkeyPatch,
                                             neo4j_env: Neo4jSettings) -> None:
    calls: list[dict[str, object]] = []

    def fake_run(self: Flask, **kwargs: object) -> None:
        # Stands in for the blocking server loop only; the app itself is real.
        calls.append({"app": self, **kwargs})

    monkeypatch.setattr(Flask, "run", fake_run)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://0.0.0.0:8123/" in result.output
    assert calls and calls[0]["host"] == "0.0.0.0" and calls[0]["port"] == 8123
    app = calls[0]["app"]
    assert isinstance(app, Flask) and app.config["NEO4J"].uri == neo4j_env.uri


def test_serve_rejects_a_bad_port() -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "70000"])
    assert result.exit_code == 2


def test_config_defaults_then_environment_then_test_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSICGRAPH_PAGE_RECOMMENDATIONS", "7")
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    app = create_app()
    assert app.config["PAGE_RECOMMENDATIONS"] == 7
    assert app.config["NEO4J_RETRY_SECONDS"] == 3.0
    assert app.config["NEO4J"].uri == "bolt://127.0.0.1:1"
    app = create_app({"PAGE_RECOMMENDATIONS": 3})
    assert app.config["PAGE_RECOMMENDATIONS"] == 3


def test_wsgi_entry_opens_no_driver_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    import app.wsgi

    module = importlib.reload(app.wsgi)
    assert isinstance(module.app, Flask)
    # The driver is opened per worker on first use, after gunicorn forks.
    assert "musicgraph_db" not in module.app.extensions


@pytest.mark.neo4j
def test_one_driver_per_app(client: object, app: Flask) -> None:
    from app import get_db

    with app.app_context():
        first = get_db()
    with app.app_context():
        assert get_db() is first


def test_unreachable_database_is_503_json() -> None:
    # Nothing listens on port 1: the app answers 503, never a 500 or a traceback.
    app = create_app({"NEO4J": Neo4jSettings(uri="bolt://127.0.0.1:1", password="x"),
                      "NEO4J_RETRY_SECONDS": 0.5})
    client = app.test_client()
    for url in ("/healthz", "/api/songs/x", "/api/songs?q=abc"):
        r = client.get(url)
        assert r.status_code == 503, url
        assert "can't be reached" in r.get_json()["error"]
    r = client.get("/")
    assert r.status_code == 503 and "not available right now" in r.get_data(as_text=True)
