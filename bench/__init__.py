"""Benchmarks (run as scripts: ``python -m bench.bench_recommend``); each prints JSON.

Their own Cypher statements live in ``bench/cypher`` (:func:`statement`), apart from the
installed ``cypher`` package: the service never runs them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_CYPHER = Path(__file__).resolve().parent / "cypher"


@cache
def statement(name: str) -> str:
    """The benchmark statement ``bench/cypher/<name>.cypher``."""
    path = _CYPHER / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no benchmark statement named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8").strip().rstrip(";")
