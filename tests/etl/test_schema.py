"""The schema: constraints on every key, the full-text index, applied idempotently."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from neo4j.exceptions import ConstraintError

from etl import pipeline
from musicgraph.cli import cli
from musicgraph.db import Database

pytestmark = pytest.mark.neo4j

KEYS = {("Song", "id"), ("Artist", "name"), ("Album", "id"), ("Playlist", "id"),
        ("Genre", "name"), ("Meta", "key")}


def _constraints(db: Database) -> set[tuple[str, str]]:
    return {(r["labelsOrTypes"][0], r["properties"][0]) for r in db.read("admin/list_constraints")
            if r["type"] == "UNIQUENESS"}


def test_schema_applies_twice_and_enforces_unique_keys(db: Database) -> None:
    pipeline.apply_schema(db)
    pipeline.apply_schema(db)  # IF NOT EXISTS: a second run is harmless
    assert _constraints(db) == KEYS
    fulltext = [r for r in db.read("admin/list_indexes") if r["type"] == "FULLTEXT"]
    assert len(fulltext) == 1 and fulltext[0]["name"] == "song_search"
    assert set(fulltext[0]["labelsOrTypes"]) == {"Song", "Artist"}
    assert set(fulltext[0]["properties"]) == {"title", "name"}
    db.run_auto("CREATE (:Song {id: 'dup'})")
    with pytest.raises(ConstraintError):
        db.run_auto("CREATE (:Song {id: 'dup'})")


@pytest.mark.usefixtures("neo4j_env")
def test_cli_schema_only_loads_nothing(db: Database) -> None:
    result = CliRunner().invoke(cli, ["etl", "--schema-only"])
    assert result.exit_code == 0, result.output
    assert _constraints(db) == KEYS
    assert db.run_auto("MATCH (n) RETURN count(n) AS n")[0]["n"] == 0
