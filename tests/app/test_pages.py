"""Server-rendered pages: content, friendly errors, and escaping of database text."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from tests.support import HOSTILE_ARTIST, HOSTILE_PLAYLIST, HOSTILE_TITLE, LoadedGraph

pytestmark = pytest.mark.neo4j

RAW_HOSTILE = [HOSTILE_TITLE, HOSTILE_ARTIST, HOSTILE_PLAYLIST, "<b>bold</b>", "alert(1)</script>"]


def graph_data(html: str, name: str) -> list[dict[str, object]]:
    """The ``nodes`` or ``edges`` of the page's graph-data JSON block (graph.js reads it)."""
    m = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', html)
    assert m, "no graph data in the page"
    return json.loads(m.group(1))[name]


def assert_no_raw(html: str) -> None:
    for text in RAW_HOSTILE:
        assert text not in html, f"unescaped database text {text!r}"
    # Only the page's own scripts: files from /vendor/ and /static/, and JSON data blocks
    # (no inline code: the Content-Security-Policy forbids it); every element closed by its
    # own tag.
    scripts = re.findall(r"<script[^>]*>", html)
    assert html.count("</script>") == html.count("<script") == len(scripts)
    for tag in scripts:
        assert re.fullmatch(r'<script src="/(vendor|static)/[\w.-]+"( defer)?>', tag) or \
            re.fullmatch(r'<script type="application/json" id="[\w-]+">', tag), tag


def test_home_has_search_and_popular_songs(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<form action="/search"' in html and 'name="q"' in html
    assert html.count('href="/songs/') >= 5
    assert "<script" not in html  # the home page needs no JavaScript


def test_search_page(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/search?q=sonng 12")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'href="/songs/T00012">Song 12</a>' in html


def test_song_page_lists_recommendations_with_reasons_and_graph(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/songs/T00004")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<h1>Song 4</h1>" in html
    api = loaded_client.get("/api/songs/T00004/recommendations?k=10").get_json()
    for item in api["recommendations"]:
        assert f'href="/songs/{item["song"]["id"]}"' in html
        assert f'<div class="reason">{escape(item["reason"])}' in html
    nodes = graph_data(html, "nodes")
    node_ids = {n["id"] for n in nodes}
    assert "Song:T00004" in node_ids
    for item in api["recommendations"]:
        for n in item["path"]["nodes"]:
            assert f"{n['label']}:{n['key']}" in node_ids
    colors = {n["id"].split(":")[0]: n["color"] for n in nodes if n["id"] != "Song:T00004"}
    assert len(set(colors.values())) == len(colors)  # one colour per node type
    edges = graph_data(html, "edges")
    widths = {e["width"] for e in edges if e.get("dashes")}
    assert len(widths) > 1  # the recommended edges' width follows the score
    assert all(n["title"] for n in nodes)  # hover text everywhere
    assert '/vendor/vis-network.min.js' in html and "cdn" not in html.lower()


def test_vis_network_is_served_locally(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/vendor/vis-network.min.js")
    assert r.status_code == 200 and b"vis-network" in r.data[:2000]
    assert loaded_client.get("/vendor/../../__init__.py").status_code == 404


def test_hostile_text_is_escaped_in_page_and_graph(loaded_client: FlaskClient,
                                                   loaded_graph: LoadedGraph) -> None:
    r = loaded_client.get(f"/songs/{loaded_graph.hostile_id}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert_no_raw(html)
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    # The graph data holds the original text (drawn as text), JSON-escaped in the page.
    nodes = graph_data(html, "nodes")
    labels = {n["label"] for n in nodes}
    assert HOSTILE_TITLE in labels
    assert any(HOSTILE_ARTIST in n["title"] for n in nodes)
    assert "\\u003cscript\\u003e" in html


def test_hostile_text_is_escaped_in_search_and_explain(loaded_client: FlaskClient,
                                                       loaded_graph: LoadedGraph) -> None:
    for url in ["/search?q=script alert", f"/explain?from={loaded_graph.hostile_id}"
                f"&to={loaded_graph.hostile_sibling_id}"]:
        r = loaded_client.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        assert_no_raw(html)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_explain_page(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/explain")
    assert r.status_code == 200 and 'name="from"' in r.get_data(as_text=True)
    r = loaded_client.get("/explain?from=T00001&to=T00004")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Also by Artist 1" in html and 'id="graph-data"' in html


def test_friendly_error_pages(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/songs/no-such-song")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "<h1>Not found</h1>" in html and "Traceback" not in html
    r = loaded_client.get("/no/such/page")
    assert r.status_code == 404 and "<h1>Not found</h1>" in r.get_data(as_text=True)
    r = loaded_client.get("/search?q=")
    assert r.status_code == 400 and "q must not be empty" in r.get_data(as_text=True)
    r = loaded_client.get("/explain?from=T00001")
    assert r.status_code == 400
