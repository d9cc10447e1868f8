"""Shared fixtures: a real Neo4j server for the tests, never a mock.

The session starts its own local Neo4j instance (``musicgraph.neo4j_local``) in a
temporary home on free ports, unless ``NEO4J_URI`` is set in the environment, in
which case that server is used (and emptied: never point it at data you keep).
Each test that takes ``db`` gets an empty database.

Every test that needs the server carries the ``neo4j`` marker, so ``make check``
(``-m "not neo4j and not browser"``) runs the rest with no server at all; a test that
reaches the server fixtures without the marker is refused at collection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from musicgraph.config import Neo4jSettings
from musicgraph.db import Database, reset_database
from musicgraph.neo4j_local import Instance, free_port
from tests import support
from tests.support import LoadedGraph

TEST_PASSWORD = "musicgraph-test-pw"
#: Fixtures that start or use the test server.
_SERVER_FIXTURES = {"neo4j_instance", "neo4j_settings", "database", "private_neo4j"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test that uses the server without the ``neo4j`` marker: the fast loop
    would start a server for it, or fail for lack of one."""
    unmarked = [item.nodeid for item in items
                if _SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("neo4j") is None]
    if unmarked:
        raise pytest.UsageError("tests that use Neo4j must carry @pytest.mark.neo4j:\n  "
                                + "\n  ".join(unmarked))


@pytest.fixture(scope="session", autouse=True)
def fixture_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """MUSICGRAPH_MODELS for the session: a folder holding the fixture ranker
    (tests/support), so apps and servers started by tests never read ./models."""
    models = tmp_path_factory.mktemp("models")
    support.write_fixture_ranker(models)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSICGRAPH_MODELS", str(models))
        yield models


@pytest.fixture(scope="session")
def neo4j_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance | None]:
    """The local test server started for this session (None when NEO4J_URI is set).

    Its ``browser_url`` serves Neo4j Browser, for the Browser workflow test.
    """
    if os.environ.get("NEO4J_URI"):
        yield None
        return
    home = tmp_path_factory.mktemp("neo4j-test")
    inst = Instance(home=home, bolt_port=free_port(), http_port=free_port())
    inst.start(TEST_PASSWORD)
    try:
        yield inst
    finally:
        inst.stop()


@pytest.fixture(scope="session")
def private_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.PrivateNeo4j]:
    """A second server of this session, always local, that fault tests may kill.

    Never the session's own server (nor NEO4J_URI's): the fault tests SIGKILL and restart
    this one. Every test that kills it starts it again before it ends.
    """
    home = tmp_path_factory.mktemp("neo4j-private")
    inst = Instance(home=home, bolt_port=free_port(), http_port=free_port())
    inst.start(support.PRIVATE_PASSWORD)
    try:
        yield support.PrivateNeo4j(inst)
    finally:
        inst.stop()


@pytest.fixture(scope="session")
def neo4j_settings(neo4j_instance: Instance | None) -> Neo4jSettings:
    """Connection settings of the test server (started here unless NEO4J_URI is set)."""
    if neo4j_instance is None:
        return Neo4jSettings.from_env()
    return Neo4jSettings(uri=neo4j_instance.bolt_uri, user="neo4j", password=TEST_PASSWORD)


@pytest.fixture(scope="session")
def database(neo4j_settings: Neo4jSettings) -> Iterator[Database]:
    """One driver for the whole test session, as the app has one per process."""
    with Database(neo4j_settings) as db:
        yield db


@pytest.fixture
def db(database: Database) -> Database:
    """An empty database: no nodes, relationships, constraints or indexes."""
    reset_database(database)
    return database


@pytest.fixture
def neo4j_env(neo4j_settings: Neo4jSettings, monkeypatch: pytest.MonkeyPatch) -> Neo4jSettings:
    """Point NEO4J_* at the test server, for code that reads the environment (the CLI)."""
    monkeypatch.setenv("NEO4J_URI", neo4j_settings.uri)
    monkeypatch.setenv("NEO4J_USER", neo4j_settings.user)
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_settings.password)
    monkeypatch.setenv("NEO4J_DATABASE", neo4j_settings.database)
    return neo4j_settings


@pytest.fixture
def data_dir() -> Path:
    """The project's data folder (the bundled dataset)."""
    return support.ROOT / "data"


# --- web app (issue 4) --------------------------------------------------------------------
def _test_app(settings: Neo4jSettings) -> Iterator[Flask]:
    """A Flask app in testing mode on ``settings``; its driver is closed afterwards."""
    from app import close_db, create_app

    # A long deadline: a slow CI machine can take seconds to plan a query the first time,
    # and these tests are about answers, not time (the fault tests run the default).
    # No background plan warming: it would run beside each test (tests/app/test_recovery.py
    # and the gunicorn fault tests cover it).
    application = create_app({"TESTING": True, "NEO4J": settings,
                              "NEO4J_DEADLINE_SECONDS": 120.0, "WARM_QUERY_PLANS": False})
    yield application
    close_db(application)


@pytest.fixture
def app(neo4j_settings: Neo4jSettings) -> Iterator[Flask]:
    """The Flask app pointed at the test server (its driver closed afterwards)."""
    yield from _test_app(neo4j_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner of ``app``."""
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def loaded_graph(database: Database, tmp_path_factory: pytest.TempPathFactory) -> LoadedGraph:
    """The small generated dataset (tests/support) loaded by the ETL, with embeddings.

    Module-scoped: loaded once for a test module whose tests only read it (do not mix
    with the ``db`` fixture in the same module: that one empties the database).
    """
    return support.load_app_graph(database, tmp_path_factory.mktemp("app-data"))


@pytest.fixture(scope="module")
def loaded_app(loaded_graph: LoadedGraph, neo4j_settings: Neo4jSettings) -> Iterator[Flask]:
    """The Flask app over ``loaded_graph``."""
    yield from _test_app(neo4j_settings)


@pytest.fixture
def loaded_client(loaded_app: Flask) -> FlaskClient:
    """A test client of ``loaded_app``."""
    return loaded_app.test_client()
