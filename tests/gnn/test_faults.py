"""Neo4j killed (SIGKILL) in the middle of training's write-back, restarted, then
``musicgraph embed --missing``: every song embedded and the vector index ONLINE. Runs on
the session's private server, never the shared one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl import pipeline
from gnn.writeback import index_info
from musicgraph.cli import cli
from musicgraph.db import Database, reset_database
from tests import support
from tests.support import PrivateNeo4j

pytestmark = pytest.mark.neo4j

SONGS = 600
#: Songs per write-back transaction: small, so the write-back is many commits long.
BATCH = 5

#: Training in a child process (the one that loses its server): few epochs, the small
#: write-back batches above.
TRAIN = """
import sys
from pathlib import Path
from gnn.train import TrainConfig, train
from musicgraph.db import Database
with Database() as db:
    train(db, TrainConfig(epochs=10, patience=10, seed=5, batch_size={batch}),
          models=Path(sys.argv[1]), progress=False)
"""


def embedded(db: Database) -> int:
    return int(support.read(db, "embedded_count")[0]["n"])


def test_writeback_killed_then_embed_missing_completes(
        private_neo4j: PrivateNeo4j, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    with Database(private_neo4j.settings, retry_seconds=5.0) as db:
        reset_database(db)
        csv_path = support.write_csv(tmp_path / "songs.csv", support.fault_songs(SONGS))
        pipeline.run(db, csv_path=csv_path, rejects_path=tmp_path / "rejects.csv",
                     options=pipeline.EtlOptions(progress=False))
        child = subprocess.Popen(
            [sys.executable, "-c", TRAIN.format(batch=BATCH), str(models)],
            env={**os.environ, **private_neo4j.env()}, cwd=support.ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            at_kill = support.wait_until(lambda: embedded(db), 300, "the first embeddings")
            killed = private_neo4j.kill()
        except BaseException:
            child.kill()
            raise
        output, _ = child.communicate(timeout=120)
        assert 0 < at_kill < SONGS, at_kill
        assert child.returncode != 0, output[-2000:]
        assert (models / "graphsage" / "checkpoint.pt").is_file()  # saved before write-back

        restart_seconds = private_neo4j.start() - killed
        after_restart = embedded(db)
        state_after_restart = (index_info(db) or {}).get("state")
        monkeypatch.setenv("NEO4J_URI", private_neo4j.settings.uri)
        monkeypatch.setenv("NEO4J_PASSWORD", private_neo4j.settings.password)
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["embed", "--missing", "--models", str(models),
                                          "--quiet"])
        embed_seconds = time.monotonic() - started
        assert result.exit_code == 0, result.output
        assert embedded(db) == SONGS
        info = index_info(db)
        assert info is not None and info["state"] == "ONLINE"

    support.write_artifact("writeback_sigkill", {
        "songs": SONGS, "batch_size": BATCH, "embedded_at_kill": at_kill,
        "train_exit_code": child.returncode, "embedded_after_restart": after_restart,
        "index_after_restart": state_after_restart, "embed_missing_s": round(embed_seconds, 1),
        "embed_output": result.output.strip().splitlines()[-3:],
        "kill_to_restarted_s": round(restart_seconds, 1)})
    assert at_kill <= after_restart < SONGS  # committed batches survived the crash
