"""The PyVis graph data built from paths, without a database."""

from __future__ import annotations

from app import graph


def test_graph_edge_width_follows_similarity() -> None:
    path = {"nodes": [{"key": "a", "label": "Song", "name": "A"},
                      {"key": "b", "label": "Song", "name": "B"},
                      {"key": "c", "label": "Song", "name": "C"},
                      {"key": "Pop", "label": "Genre", "name": "Pop"}],
            "relationships": [{"type": "SIMILAR", "score": 0.82},
                              {"type": "SIMILAR", "score": 0.97}, {"type": "HAS_GENRE"}]}
    data = graph.build([{"id": "a", "title": "A", "artist": "X"}], [path])
    widths = {e["title"]: e["width"] for e in data["edges"]}
    assert widths["SIMILAR 82%"] < widths["SIMILAR 97%"]
    assert {n["color"] for n in data["nodes"] if n["id"] != "Song:a"} == {
        graph.COLORS["Song"], graph.COLORS["Genre"]}
    assert next(n for n in data["nodes"] if n["id"] == "Song:a")["color"] == graph.COLORS["Seed"]
