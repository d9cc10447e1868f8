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


def test_every_statement_named_in_the_code_exists() -> None:
    # A statement moved or renamed must not leave a caller behind: the benchmarks run in
    # CI only in the slow scale smoke, so a stale name would otherwise surface late.
    import bench

    repo = ROOT.parent
    sources = [p for d in ("app", "etl", "gnn", "evaluation", "musicgraph", "bench", "tests")
               for p in (repo / d).rglob("*.py")]
    loads = re.compile(r"cypher\.load\(\s*\"([^\"]+)\"")
    benches = re.compile(r"\bstatement\(\s*\"([^\"]+)\"")
    checked = 0
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for name in loads.findall(text):
            cypher.load(name)
            checked += 1
        if path.parts[-2] == "bench" or "bench" in path.relative_to(repo).parts[:1]:
            for name in benches.findall(text):
                bench.statement(name)
                checked += 1
    assert checked > 10
