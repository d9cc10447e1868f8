"""Readiness: the app answers 503 (JSON) until embeddings and the vector index exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from musicgraph.config import Neo4jSettings
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
    support.record_fixture_model(db)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"]["embeddings"] is True
    r = client.get("/api/songs/T00001/recommendations")
    assert r.status_code == 503
    assert "song_embedding" in r.get_json()["error"]


def _app_with_models(models: Path, settings: Neo4jSettings) -> Flask:
    from app import create_app

    return create_app({"TESTING": True, "NEO4J": settings, "MODELS_DIR": str(models)})


def test_503_without_a_ranker(db: Database, neo4j_settings: Neo4jSettings,
                              tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    support.load_app_graph(db, tmp_path / "data")
    client = _app_with_models(tmp_path / "empty", neo4j_settings).test_client()
    r = client.get("/api/songs/T00001/recommendations")
    assert r.status_code == 503
    assert "no ranker at" in r.get_json()["error"] and "musicgraph train" in r.get_json()["error"]
    r = client.get("/api/recommendations?seeds=T00001,T00002")
    assert r.status_code == 503


def test_503_when_the_ranker_was_fit_for_other_embeddings(db: Database,
                                                          neo4j_settings: Neo4jSettings,
                                                          tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    support.load_app_graph(db, tmp_path / "data")
    models = tmp_path / "models"
    path = support.write_fixture_ranker(models)
    client = _app_with_models(models, neo4j_settings).test_client()
    assert client.get("/api/songs/T00001/recommendations").status_code == 200
    # A new training run's ranker, while the graph still holds the old embeddings.
    ranker = support.fixture_ranker()
    ranker.model_version = "a-newer-model"
    ranker.save(path)
    r = client.get("/api/songs/T00001/recommendations")
    assert r.status_code == 503
    body = r.get_json()
    assert "does not match the embeddings" in body["error"]
    assert "a-newer-model" in (body.get("detail") or "")
    # A ranker file that is not one is a 503 too, not a 500.
    path.write_text("{not json")
    assert client.get("/api/songs/T00001/recommendations").status_code == 503
