"""503 while Neo4j is stopped, 200 again once it is back: same app, no restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import close_db, create_app
from musicgraph.config import Neo4jSettings
from musicgraph.db import Database
from musicgraph.neo4j_local import Instance, free_port
from tests import support
from tests.support import metric_sample

pytestmark = pytest.mark.neo4j

PASSWORD = "recovery-test-pw"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    """A separate server (the session's is shared): this test stops and restarts it."""
    inst = Instance(home=tmp_path / "neo4j", bolt_port=free_port(), http_port=free_port())
    inst.start(PASSWORD)
    try:
        yield inst
    finally:
        inst.stop()


def test_app_recovers_after_neo4j_restart(instance: Instance, tmp_path: Path) -> None:
    settings = Neo4jSettings(uri=instance.bolt_uri, user="neo4j", password=PASSWORD)
    with Database(settings) as loader:
        support.load_app_graph(loader, tmp_path)
    # The deadline stays out of the way: a restarted Neo4j plans queries afresh, which a
    # slow machine may take longer than the default 10 s for (tests/app/test_faults.py
    # runs the default).
    app = create_app({"TESTING": True, "NEO4J": settings, "NEO4J_RETRY_SECONDS": 1.0,
                      "NEO4J_DEADLINE_SECONDS": 120.0})
    client = app.test_client()
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/songs/T00001/recommendations?k=3").status_code == 200

        instance.stop()
        for url in ("/healthz", "/api/songs/T00001", "/api/songs/T00001/recommendations"):
            r = client.get(url)
            assert r.status_code == 503, url
            body = r.get_json()
            assert set(body) >= {"error", "detail"} and "can't be reached" in body["error"]
        r = client.get("/songs/T00001")
        assert r.status_code == 503 and "Traceback" not in r.get_data(as_text=True)

        instance.start(PASSWORD)  # returns once Bolt answers
        r = client.get("/healthz")
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["embeddings"] is True
        r = client.get("/api/songs/T00001/recommendations?k=3")
        assert r.status_code == 200 and len(r.get_json()["recommendations"]) == 3
        # The app warmed Neo4j's query plans when it first answered, and again once it
        # answered after the restart, before this request was let through.
        assert _warmups(client) == 2
    finally:
        close_db(app)


def _warmups(client: object) -> float:
    text = client.get("/metrics").get_data(as_text=True)  # type: ignore[attr-defined]
    return metric_sample(text, "musicgraph_query_plan_warmup_seconds_count")
