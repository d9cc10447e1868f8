"""CI's smoke run of the whole-pipeline benchmark: ``bench.scale --songs 20000``.

It asserts only that every step completes and every figure is printed; the figures
themselves come from manual runs (README, docs/scale-1m.json). Two training epochs and
2,000 later songs keep it to a few minutes: the steps are the same commands as at 1M.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scale import REQUIRED_KEYS
from tests.support import ROOT

pytestmark = pytest.mark.neo4j


def test_scale_runs_every_step_and_prints_every_key(tmp_path: Path) -> None:
    workdir = tmp_path / "scale"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--songs", "20000", "--new", "2000",
         "--epochs", "2", "--train-threads", "2", "--requests", "50",
         "--step-timeout", "1500", "--workdir", str(workdir), "--keep"],
        cwd=ROOT, capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    missing = [k for k in REQUIRED_KEYS if figures.get(k) is None]
    assert not missing, f"missing: {missing}\n{figures}"
    assert figures["songs"] == 20_000
    assert figures["train_threads"] == 2
    assert figures["etl_path"] == "transactional"  # below the bulk threshold
    assert figures["rec_p50_ms"] <= figures["rec_p99_ms"]
    # The kept store's credentials, owner-only, as the `.env` that musicgraph reads.
    creds = workdir / ".env"
    assert creds.stat().st_mode & 0o777 == 0o600
    env = dict(line.split("=", 1) for line in creds.read_text().splitlines())
    assert env["NEO4J_PASSWORD"] and env["MUSICGRAPH_NEO4J_HOME"] == str(workdir / "neo4j")
