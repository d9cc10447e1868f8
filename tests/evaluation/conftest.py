"""Fixtures of the evaluation tests: a small seeded split of 30 generated songs."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.split import Split, read_rows, split_rows
from tests.support import eval_rows_csv


@pytest.fixture
def split(tmp_path: Path) -> Split:
    """30 songs in three playlists (every third song in two), 30% of memberships hidden."""
    return split_rows(read_rows(eval_rows_csv(tmp_path)), seed=7, hide_fraction=0.3)
