"""Neo4j killed (SIGKILL) in the middle of an ETL load, restarted, the ETL run again: the
graph ends exactly as a clean load leaves it. Runs on the session's private server, never
the shared one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl import pipeline
from musicgraph.db import Database, graph_counts, reset_database
from musicgraph.errors import DatabaseUnavailableError
from tests import support
from tests.support import PrivateNeo4j

pytestmark = pytest.mark.neo4j

SONGS = 1000
#: Small transactions, so the load is many commits long and a kill lands between them.
BATCH = 20


def shape(db: Database) -> dict[str, object]:
    """Everything compared: counts per label and type, per property, and the indexes."""
    return {"counts": graph_counts(db), "properties": support.property_counts(db),
            "indexes": sorted((r["name"], r["state"]) for r in db.read("admin/list_indexes"))}


def songs_loaded(db: Database) -> int:
    return graph_counts(db).get("Song", 0)


def test_etl_killed_mid_load_then_rerun_matches_a_clean_load(
        db: Database, private_neo4j: PrivateNeo4j, tmp_path: Path) -> None:
    csv_path = support.write_csv(tmp_path / "songs.csv", support.fault_songs(SONGS))
    options = pipeline.EtlOptions(batch_size=BATCH, progress=False)
    pipeline.run(db, csv_path=csv_path, rejects_path=tmp_path / "clean.rejects.csv",
                 options=options)
    clean = shape(db)
    assert clean["counts"]["Song"] == SONGS and clean["counts"]["SIMILAR"] > 0

    with Database(private_neo4j.settings, retry_seconds=5.0) as private:
        reset_database(private)
        etl = subprocess.Popen(
            [sys.executable, "-m", "musicgraph.cli", "etl", "--csv", str(csv_path),
             "--rejects", str(tmp_path / "killed.rejects.csv"), "--batch-size", str(BATCH)],
            env={**os.environ, **private_neo4j.env()}, cwd=support.ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            at_kill = support.wait_until(lambda: songs_loaded(private), 120,
                                         "the ETL's first commits")
            killed = private_neo4j.kill()
        except BaseException:
            etl.kill()
            raise
        # Neo4j stays down until the ETL gives up: it can't finish on a restarted server.
        output, _ = etl.communicate(timeout=120)
        gave_up = time.monotonic() - killed
        assert 0 < at_kill < SONGS, at_kill
        assert etl.returncode == DatabaseUnavailableError.exit_code, output[-2000:]
        assert "can't be reached" in output

        restarted = private_neo4j.start()
        partial = shape(private)
        started = time.monotonic()
        pipeline.run(private, csv_path=csv_path, rejects_path=tmp_path / "rerun.rejects.csv",
                     options=options)
        rerun_seconds = time.monotonic() - started
        recovered = shape(private)

    support.write_artifact("etl_sigkill", {
        "songs": SONGS, "batch_size": BATCH, "songs_at_kill": at_kill,
        "etl_exit_code": etl.returncode, "etl_gave_up_after_s": round(gave_up, 1),
        "restart_s": round(restarted - killed - gave_up, 1),
        "partial_counts_after_restart": partial["counts"], "rerun_s": round(rerun_seconds, 1),
        "counts_after_rerun": recovered["counts"], "same_as_clean": recovered == clean})
    assert partial["counts"].get("Song", 0) < SONGS  # the kill did interrupt the load
    assert recovered == clean
