"""SIMILAR edges after later loads: only the difference is written, and the result is
the graph a single load of everything gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl import pipeline
from musicgraph.db import Database, reset_database
from tests import support
from tests.support import song, write_csv

pytestmark = pytest.mark.neo4j

QUIET = pipeline.EtlOptions(progress=False, batch_size=50, similarity_batch=40)


def _similar(db: Database) -> list[tuple[str, str, float]]:
    return sorted((r["a_key"], r["b_key"], r["props"]["score"])
                  for r in support.read(db, "canonical_relationships") if r["type"] == "SIMILAR")


def test_a_later_load_writes_the_difference_and_ends_like_one_load(
        db: Database, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [song(i) for i in range(0, 120, 2)])
    later = write_csv(tmp_path / "b.csv", [song(i) for i in range(1, 40, 2)])
    both = write_csv(tmp_path / "ab.csv", [song(i) for i in range(0, 120, 2)]
                     + [song(i) for i in range(1, 40, 2)])
    pipeline.run(db, csv_path=first, options=QUIET)
    report = pipeline.run(db, csv_path=later, options=QUIET)
    note = next(n for n in report.notes if n.startswith("SIMILAR:"))
    assert "unchanged" in note and "removed" in note
    incremental = _similar(db)

    reset_database(db)
    pipeline.run(db, csv_path=both, options=QUIET)
    assert _similar(db) == incremental
    assert len(incremental) > 100

    # The same file again: the stored build is current, nothing is rewritten.
    again = pipeline.run(db, csv_path=both, options=QUIET)
    assert any("unchanged (same build)" in n for n in again.notes)
    assert "similar_write" not in again.phases
    assert _similar(db) == incremental
