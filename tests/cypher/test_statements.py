"""Every Cypher statement loads by name, takes its values as parameters, and names the
shared indexes through musicgraph.schema rather than a literal of its own."""

from __future__ import annotations

import re
from pathlib import Path

import cypher
from musicgraph.schema import SEARCH_INDEX, VECTOR_INDEX

ROOT = Path(cypher.__file__).resolve().parent


def test_every_statement_loads_and_none_is_test_only() -> None:
    names = cypher.names()
    assert names, "no statements found"
    for name in names:
        assert cypher.load(name).strip(), name
    # Test-only statements live under tests/support/cypher, not in the installed package.
    assert not [n for n in names if n.startswith("testing/") or "/test_" in n]


def test_recommend_query_is_parameterised() -> None:
    text = cypher.load("recommend/similar_by_embedding")
    assert "$id" in text and "$k" in text and "queryNodes($index" in text


def test_index_names_come_from_one_place() -> None:
    # Statements the code runs get the names as parameters; only the Browser queries,
    # pasted by people, spell the vector index out, and they must spell it as the code does.
    for path in ROOT.rglob("*.cypher"):
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith("//"))
        literals = set(re.findall(r"'(song_\w+)'", code)) | set(re.findall(r"\b(song_embedding|song_search)\b", code))
        if path.parent.name == "browser":
            assert literals <= {VECTOR_INDEX, SEARCH_INDEX}, (path, literals)
        else:
            assert not literals, (path, literals)
