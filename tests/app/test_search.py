"""Search ranks songs that match more of the query's terms first (real Neo4j, real ETL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import recommend
from etl import pipeline
from musicgraph.db import Database
from tests.support import song, write_csv

pytestmark = pytest.mark.neo4j


def test_matching_more_terms_beats_one_exact_artist_hit(db: Database, tmp_path: Path) -> None:
    # Every song by "Rapsody" is one exact hit on a one-word name: each alone outscores two
    # fuzzy title hits, so ranking by summed score alone would bury Bohemian Rhapsody.
    rows = [song(i, track_name=f"Track {i}", track_artist="Rapsody") for i in range(30)]
    rows.append(song(99, track_name="Bohemian Rhapsody", track_artist="Queen"))
    pipeline.run(db, csv_path=write_csv(tmp_path / "s.csv", rows),
                 options=pipeline.EtlOptions(progress=False))
    results = recommend.search(db, "bohemian rapsody", 5)
    assert results[0]["title"] == "Bohemian Rhapsody"
    assert [r["artist"] for r in results[1:]] == ["Rapsody"] * 4
    # One term that is both a title word and an artist name: the artist's songs come too.
    assert {r["artist"] for r in recommend.search(db, "rapsody", 31)} == {"Rapsody", "Queen"}


def test_terms_spread_over_title_and_artist_count_together(db: Database,
                                                          tmp_path: Path) -> None:
    rows = [song(1, track_name="Hotline Bling", track_artist="Drake"),
            song(2, track_name="Hotline", track_artist="Someone Else"),
            song(3, track_name="Started From the Bottom", track_artist="Drake")]
    pipeline.run(db, csv_path=write_csv(tmp_path / "d.csv", rows),
                 options=pipeline.EtlOptions(progress=False))
    assert [r["title"] for r in recommend.search(db, "drake hotlne", 3)][0] == "Hotline Bling"
