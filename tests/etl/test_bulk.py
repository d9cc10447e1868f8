"""The bulk path (neo4j-admin import into an empty local database) against the
transactional path: the same file gives the same graph, property types included."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl import bulk, pipeline
from musicgraph.config import Neo4jSettings
from musicgraph.db import Database
from musicgraph.neo4j_local import Instance, free_port
from tests import support
from tests.support import song, write_csv

pytestmark = pytest.mark.neo4j

PASSWORD = "bulk-test-pw-1"
#: Set by each load at its own time: not part of what the graph holds.
_TIMESTAMPS = {"fitted_at", "built_at"}


@pytest.fixture(scope="module")
def bulk_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """A private server the bulk path may stop and start (never the session's)."""
    inst = Instance(home=tmp_path_factory.mktemp("bulk-home"), bolt_port=free_port(),
                    http_port=free_port())
    inst.start(PASSWORD)
    yield inst
    inst.stop()


def _rows() -> list[dict[str, Any]]:
    """Every shape the reader turns into a graph, and a rejected row."""
    rows: list[dict[str, Any]] = [song(i) for i in range(60)]
    # A song in three rows whose values change: the later value wins, a missing one keeps
    # the earlier, and each row adds its playlist and genres.
    rows.append(song(5, playlist_id="PL7", playlist_name="Seven", track_popularity=77,
                     track_name="", playlist_genre="rap", playlist_subgenre="trap"))
    rows.append(song(5, playlist_id="PL8", playlist_name="", track_album_name="Renamed"))
    rows += [
        song(100, track_artist="['Earth, Wind & Fire', 'Guest']", track_name='Say "hi", ok'),
        song(101, track_artist="A;B;A", track_album_id="", track_album_name="No Id Album"),
        song(102, track_name="Line one\nline two", track_album_release_date="1999"),
        song(103, track_name="Ünïcødé ♫", playlist_id="", playlist_name="",
             playlist_genre="", playlist_subgenre="", track_popularity="NA"),
        song(104, track_artist="NA", track_album_id="", track_album_name="",
             track_album_release_date=""),
        song(105, danceability=1.5),  # rejected: out of range
    ]
    return rows


def _canonical(db: Database) -> tuple[dict[Any, Any], list[Any]]:
    """Nodes by (label, key) and sorted relationships; values carry their Python type,
    so 1 and 1.0 differ."""

    def typed(props: dict[str, Any]) -> dict[str, Any]:
        return {k: (type(v).__name__, v) for k, v in props.items() if k not in _TIMESTAMPS}

    nodes = {}
    for r in support.read(db, "canonical_nodes"):
        p = r["props"]
        nodes[(tuple(r["labels"]), p.get("id", p.get("name", p.get("key"))))] = typed(p)
    rels = sorted((r["type"], r["a_label"], r["a_key"], r["b_label"], r["b_key"],
                   sorted(typed(r["props"]).items()))
                  for r in support.read(db, "canonical_relationships"))
    return nodes, rels


def _rejects(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_bulk_and_transactional_paths_give_the_same_graph(
        db: Database, bulk_instance: Instance, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "songs.csv", _rows())
    tx = pipeline.run(db, csv_path=path, rejects_path=tmp_path / "tx.rejects.csv",
                      options=pipeline.EtlOptions(progress=False, bulk="never"))

    settings = Neo4jSettings(uri=bulk_instance.bolt_uri, password=PASSWORD)
    with Database(settings) as bulk_db:
        options = pipeline.EtlOptions(progress=False, bulk="always", home=bulk_instance.home)
        bk = pipeline.run(bulk_db, csv_path=path, rejects_path=tmp_path / "bulk.rejects.csv",
                          options=options)
        assert (tx.path, bk.path) == ("transactional", "bulk")
        assert "admin_import" in bk.phases
        assert (bk.rows_read, bk.rows_loaded, bk.rows_rejected) == (
            tx.rows_read, tx.rows_loaded, tx.rows_rejected) == (68, 67, 1)
        assert bk.reasons == tx.reasons
        assert _rejects(tmp_path / "bulk.rejects.csv") == _rejects(tmp_path / "tx.rejects.csv")
        assert bk.counts == tx.counts
        assert bk.similarity == tx.similarity
        bulk_nodes, bulk_rels = _canonical(bulk_db)
        tx_nodes, tx_rels = _canonical(db)
        assert bulk_nodes == tx_nodes
        assert bulk_rels == tx_rels
        # The constraints and indexes came with the bulk load too.
        assert {r["name"] for r in bulk_db.read("admin/list_indexes")} == {
            r["name"] for r in db.read("admin/list_indexes")}

        # A second load into the now full database takes the transactional path and, the
        # file being the same, changes nothing.
        again = pipeline.run(bulk_db, csv_path=path, rejects_path=tmp_path / "again.csv",
                             options=options)
        assert again.path == "transactional"
        assert "not empty" in again.notes[0]
        assert _canonical(bulk_db) == (tx_nodes, tx_rels)


def test_the_bulk_path_needs_the_servers_home(db: Database, tmp_path: Path) -> None:
    """No local instance answers on this URI from the given home: one note, then the
    transactional path."""
    path = write_csv(tmp_path / "songs.csv", [song(i) for i in range(10)])
    report = pipeline.run(db, csv_path=path, options=pipeline.EtlOptions(
        progress=False, bulk="always", home=tmp_path / "no-such-home"))
    assert report.path == "transactional"
    assert report.notes and "no local Neo4j runs from" in report.notes[0]
    assert report.counts["Song"] == 10


def test_rows_for_the_auto_threshold_are_counted_in_plain_and_gzipped_files(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "songs.csv", [song(i) for i in range(10)])
    assert bulk.count_lines(path) == 11
    gz = write_csv(tmp_path / "songs.csv.gz", [song(i) for i in range(10)], gz=True)
    assert bulk.count_lines(gz) == 11


def test_local_instance_is_found_by_its_port(bulk_instance: Instance) -> None:
    found, why = bulk.local_instance(bulk_instance.bolt_uri, bulk_instance.home)
    assert found is not None and found.home == bulk_instance.home, why
    other, why = bulk.local_instance(f"bolt://127.0.0.1:{free_port()}", bulk_instance.home)
    assert other is None and "listens on" in why
    remote, why = bulk.local_instance("neo4j+s://example.org:7687", None)
    assert remote is None and "not a server on this machine" in why
