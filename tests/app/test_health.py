"""Readiness: the app answers 503 (JSON) until embeddings and the vector index exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from musicgraph.db import Database
from tests import support

pytestmark = pytest.mark.neo4j


def test_healthz_503_without_embeddings(db: Database, client: FlaskClient, tmp_path: Path) -> None:
    support.load_app_graph(db, tmp_path, embed=False)
    r = client.get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert "no song has an embedding" in body["error"]
    assert body["status"]["indexes"] == {"song_embedding": "MISSING", "song_search": "ONLINE"}
    assert body["status"]["embeddings"] is False
    r = client.get("/api/songs/T00001/recommendations")
    assert r.status_code == 503 and "embedding" in r.get_json()["error"]
    # Details still work, and the song page shows them with a notice instead of a list.
    assert client.get("/api/songs/T00001").status_code == 200
    r = client.get("/songs/T00001")
    assert r.status_code == 200 and "not available for this song yet" in r.get_data(as_text=True)


def test_503_when_embeddings_exist_but_the_index_does_not(db: Database, client: FlaskClient,
                                                          tmp_path: Path) -> None:
    graph = support.load_app_graph(db, tmp_path, embed=False)
    vecs = support.app_embeddings(graph.ids)
    # The write-back's own statement, without the index that training would create next.
    db.write("gnn/set_embeddings", rows=[{"id": i, "embedding": [float(x) for x in v]}
                                         for i, v in zip(graph.ids, vecs, strict=True)])
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"]["embeddings"] is True
    r = client.get("/api/songs/T00001/recommendations")
    assert r.status_code == 503
    assert "song_embedding" in r.get_json()["error"]
