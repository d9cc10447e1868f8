"""The app through a ``neo4j://`` (routing) URI against the single local server: what a
cluster deployment changes is the URI, and reads route to readers by themselves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from musicgraph.config import Neo4jSettings
from musicgraph.db import Database
from tests.support import LoadedGraph

pytestmark = pytest.mark.neo4j


@pytest.fixture
def routed(neo4j_settings: Neo4jSettings) -> Neo4jSettings:
    if not neo4j_settings.uri.startswith("bolt://"):
        pytest.skip(f"the test server's URI is {neo4j_settings.uri}, not bolt://")
    return replace(neo4j_settings, uri="neo4j://" + neo4j_settings.uri.removeprefix("bolt://"))


@pytest.fixture
def routed_app(loaded_graph: LoadedGraph, routed: Neo4jSettings) -> Iterator[Flask]:
    from app import close_db, create_app

    application = create_app({"TESTING": True, "NEO4J": routed})
    yield application
    close_db(application)


def test_the_app_answers_through_a_routing_uri(routed_app: Flask, loaded_graph: LoadedGraph,
                                               routed: Neo4jSettings) -> None:
    client = routed_app.test_client()
    assert client.get("/healthz").status_code == 200
    r = client.get(f"/api/songs/{loaded_graph.ids[0]}/recommendations?k=3")
    assert r.status_code == 200, r.get_json()
    assert len(r.get_json()["recommendations"]) == 3
    assert client.get("/api/songs?q=song&limit=2").status_code == 200
    # The shared Database helper too: its reads go to a reader, here the one server.
    with Database(routed) as db:
        db.verify()
        assert {r["name"] for r in db.read("admin/counts")} >= {"Song", "SIMILAR"}
