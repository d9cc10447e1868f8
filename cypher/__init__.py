"""Every Cypher statement of MusicGraph, one ``.cypher`` file each, loaded by name.

``load("etl/merge_rows")`` returns the text of ``cypher/etl/merge_rows.cypher``.
Files hold one statement; ``load_all("schema")`` returns the statements of every
file in a folder, sorted by file name, for folders such as ``schema/`` that are
applied as a whole. Lines starting with ``//`` are comments (kept, Neo4j ignores them).

No statement is ever built by formatting user input into text: every value is a
``$parameter``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_ROOT = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    """Return the statement stored in ``cypher/<name>.cypher``.

    Args:
        name: path below the ``cypher`` folder, without the extension.

    Raises:
        KeyError: no such statement.
    """
    path = (_ROOT / f"{name}.cypher").resolve()
    if _ROOT not in path.parents or not path.is_file():
        raise KeyError(f"no Cypher statement named {name!r} (looked for {path})")
    text = path.read_text(encoding="utf-8").strip()
    return text.rstrip(";").strip()


def load_all(folder: str) -> list[tuple[str, str]]:
    """Return ``(name, statement)`` for every file in ``cypher/<folder>``, sorted by name."""
    base = _ROOT / folder
    return [
        (f"{folder}/{p.stem}", load(f"{folder}/{p.stem}"))
        for p in sorted(base.glob("*.cypher"))
    ]


def names() -> list[str]:
    """Every statement name, for tests and listings."""
    return sorted(
        str(p.relative_to(_ROOT).with_suffix("")) for p in _ROOT.rglob("*.cypher")
    )
