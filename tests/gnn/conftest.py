"""Fixtures of the GraphSAGE tests: the planted graph, loaded into an empty database."""

from __future__ import annotations

import pytest

from musicgraph.db import Database
from tests.support import Planted, load_planted, make_planted


@pytest.fixture(scope="module")
def planted() -> Planted:
    """Four planted clusters of 30 songs (tests/support)."""
    return make_planted()


@pytest.fixture
def graph(db: Database, planted: Planted) -> Database:
    """The planted graph in an otherwise empty database."""
    load_planted(db, planted)
    return db
