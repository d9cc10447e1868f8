"""The bundled dataset end to end: counts, idempotency, an interrupted run re-run."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from etl import pipeline
from musicgraph.config import Neo4jSettings
from musicgraph.db import Database, graph_counts, reset_database

pytestmark = pytest.mark.neo4j

BUNDLED_ROWS = 32_833
BUNDLED_SONGS = 28_356


def test_bundled_data_loads_every_song_and_a_second_run_changes_nothing(
    db: Database, data_dir: Path
) -> None:
    options = pipeline.EtlOptions(progress=False)
    first = pipeline.run(db, csv_path=data_dir / "spotify_songs.csv.gz", options=options)
    assert first.rows_read == BUNDLED_ROWS
    assert first.rows_loaded + first.rows_rejected == first.rows_read
    assert first.rows_rejected == 0
    assert first.counts["Song"] == BUNDLED_SONGS
    assert first.counts["Genre"] == 6 + 24
    assert first.counts["Playlist"] > 400 and first.counts["Artist"] > 10_000
    stats = first.similarity
    assert stats is not None and stats.isolated == 0 and stats.components == 1
    assert 5 < stats.degree_mean < 20  # connected, not dense
    # Every song but the 5 NA rows' songs has an artist; every song has an album.
    assert first.counts["ON"] == BUNDLED_SONGS

    second = pipeline.run(db, csv_path=data_dir / "spotify_songs.csv.gz", options=options)
    assert second.counts == first.counts
    scaler = db.run_auto("MATCH (m:Meta {key: 'audio_scaler'}) RETURN m.features AS f, "
                         "m.mean AS mean, m.scale AS scale, m.songs AS n")[0]
    assert scaler["n"] == BUNDLED_SONGS and len(scaler["mean"]) == len(scaler["f"]) == 12
    assert all(s > 0 for s in scaler["scale"])


def _subset(data_dir: Path, out: Path, rows: int) -> Path:
    with gzip.open(data_dir / "spotify_songs.csv.gz", "rt", encoding="utf-8") as src, \
            open(out, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)
    return out


def test_killed_run_rerun_ends_like_an_uninterrupted_one(
    db: Database, neo4j_settings: Neo4jSettings, data_dir: Path, tmp_path: Path
) -> None:
    csv_path = _subset(data_dir, tmp_path / "subset.csv", 4000)
    options = pipeline.EtlOptions(progress=False, batch_size=250)
    expected = pipeline.run(db, csv_path=csv_path, options=options).counts
    reset_database(db)

    env = {**os.environ, "NEO4J_URI": neo4j_settings.uri, "NEO4J_USER": neo4j_settings.user,
           "NEO4J_PASSWORD": neo4j_settings.password, "NEO4J_DATABASE": neo4j_settings.database}
    proc = subprocess.Popen(
        [sys.executable, "-m", "musicgraph.cli", "etl", "--csv", str(csv_path),
         "--batch-size", "250"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
    )
    assert proc.stderr is not None
    # Wait (on the process's own progress output) until some batches are committed, then kill.
    seen = b""
    while max((int(n.replace(b",", b"")) for n in re.findall(rb"loaded ([\d,]+)", seen)),
              default=0) < 1000:
        chunk = proc.stderr.read1(4096)
        assert chunk, f"the ETL ended before it could be interrupted: {seen[-500:]!r}"
        seen += chunk
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = graph_counts(db)
    assert 0 < partial.get("Song", 0) < expected["Song"]
    assert "SIMILAR" not in partial

    rerun = pipeline.run(db, csv_path=csv_path, options=options)
    assert rerun.counts == expected
