"""The Neo4j Browser workflow: every query in ``cypher/browser/`` runs and returns rows.

Each file is what a person pastes into Neo4j Browser after the ``:param`` lines its header
shows. Here each runs against the small generated graph (tests/support, loaded by the
real ETL, with embeddings and the vector index), and the header's documented examples are
checked against the bundled dataset, so the ids a newcomer copies exist.
"""

from __future__ import annotations

import ast
import csv
import gzip
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from neo4j import RoutingControl

import cypher
from musicgraph.db import Database
from tests.support import LoadedGraph

BROWSER = Path(cypher.__file__).resolve().parent / "browser"
EXPECTED = {"find_song", "similar_songs", "explain_path", "genre_neighbourhood",
            "nearest_by_vector"}
PARAM_LINE = re.compile(r"^//\s+:param (\w+) => (.+)$", re.M)


def documented_params(name: str) -> dict[str, Any]:
    """The ``:param name => value`` lines of a browser query's header, as Python values."""
    text = (BROWSER / f"{name}.cypher").read_text(encoding="utf-8")
    return {m.group(1): ast.literal_eval(m.group(2).strip()) for m in PARAM_LINE.finditer(text)}


def used_params(name: str) -> set[str]:
    body = "\n".join(line for line in cypher.load(f"browser/{name}").splitlines()
                     if not line.lstrip().startswith("//"))
    return set(re.findall(r"\$(\w+)", body))


def run(db: Database, query: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run ``cypher/browser/<query>.cypher`` with ``params`` (a dict: "name" and "from"
    are query parameters here, not Python arguments); records as dicts."""
    records, _, _ = db.driver.execute_query(
        cypher.load(f"browser/{query}"), params, database_=db.database,
        routing_=RoutingControl.READ)
    return [r.data() for r in records]


def test_every_browser_query_is_documented() -> None:
    assert {p.stem for p in BROWSER.glob("*.cypher")} == EXPECTED
    for name in sorted(EXPECTED):
        text = (BROWSER / f"{name}.cypher").read_text(encoding="utf-8")
        header = list(itertools.takewhile(lambda line: line.startswith("//"), text.splitlines()))
        assert len(header) >= 3, f"{name}: no header comment explaining the query"
        assert "In Neo4j Browser" in "\n".join(header), f"{name}: header doesn't say how to run it"
        assert set(documented_params(name)) == used_params(name), \
            f"{name}: the :param lines must set exactly the parameters the query uses"


def test_documented_examples_exist_in_the_bundled_data(data_dir: Path) -> None:
    ids = {v for name in EXPECTED for k, v in documented_params(name).items()
           if k in {"id", "from", "to"}}
    titles = {documented_params("find_song")["name"]}
    genres = {documented_params("genre_neighbourhood")["genre"]}
    found_ids: set[str] = set()
    found_titles: set[str] = set()
    found_genres: set[str] = set()
    with gzip.open(data_dir / "spotify_songs.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["track_id"] in ids:
                found_ids.add(row["track_id"])
            found_titles |= {t for t in titles if t.lower() in row["track_name"].lower()}
            found_genres |= {g for g in genres
                             if g in (row["playlist_genre"].lower(), row["playlist_subgenre"].lower())}
    assert found_ids == ids
    assert found_titles == titles
    assert found_genres == genres


@pytest.mark.neo4j
def test_find_song(loaded_graph: LoadedGraph, database: Database) -> None:
    rows = run(database, "find_song", name="SONG 1")
    titles = {r["title"] for r in rows}
    assert "Song 1" in titles and "Song 12" in titles
    assert all("song 1" in t.lower() for t in titles)
    pops = [r["popularity"] for r in rows]
    assert pops == sorted(pops, reverse=True)
    assert all(r["artists"] for r in rows)


@pytest.mark.neo4j
def test_similar_songs_with_scores(loaded_graph: LoadedGraph, database: Database) -> None:
    rows = run(database, "similar_songs", id="T00000")
    assert rows
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert "T00000" not in {r["id"] for r in rows}
    assert len({r["id"] for r in rows}) == len(rows) <= 25


@pytest.mark.neo4j
def test_explain_path(loaded_graph: LoadedGraph, database: Database) -> None:
    rows = run(database, "explain_path", **{"from": "T00000", "to": "T00007"})
    assert rows
    for r in rows:
        path = r["p"]  # a path's data(): node, relationship, node, ... as dicts and types
        assert path[0]["id"] == "T00000" and path[-1]["id"] == "T00007"
        assert len(path) <= 2 * 6 + 1


@pytest.mark.neo4j
def test_genre_neighbourhood(loaded_graph: LoadedGraph, database: Database) -> None:
    records, _, _ = database.driver.execute_query(
        cypher.load("browser/genre_neighbourhood"), {"genre": "rock"},
        database_=database.database)
    paths = [r["p"] for r in records]
    assert paths
    kinds = {rel.type for p in paths for rel in p.relationships}
    assert {"HAS_GENRE", "BY"} <= kinds
    assert all(p.start_node["name"] == "rock" for p in paths)
    songs = {n["id"] for p in paths for n in p.nodes if "Song" in n.labels}
    assert 0 < len(songs) <= 25


@pytest.mark.neo4j
@pytest.mark.parametrize("k", [1, 5])
def test_nearest_by_vector(loaded_graph: LoadedGraph, database: Database, k: int) -> None:
    rows = run(database, "nearest_by_vector", id="T00000", k=k)
    assert len(rows) == k
    assert "T00000" not in {r["id"] for r in rows}
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    # The nearest songs are in the seed's embedding cluster (even song numbers, see tests/support).
    assert all(int(r["id"][1:]) % 2 == 0 for r in rows if r["id"].startswith("T"))
