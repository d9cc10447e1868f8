"""The playlist builder, the exports and the explain page's pickers, as plain HTTP: every
action is a link or a GET form that works without JavaScript. Over the small generated
graph loaded by the real ETL into the real Neo4j."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from app import recommend
from tests.support import HOSTILE_ARTIST, HOSTILE_TITLE, LoadedGraph

pytestmark = pytest.mark.neo4j

SEEDS = ["T00001", "T00004", "T00007"]


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:500])
    return r.get_data(as_text=True)


def hrefs(html: str) -> list[str]:
    """Every link target in the page, HTML entities decoded."""
    return [htmllib.unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def section(html: str, css_class: str) -> str:
    """The first ``<ol class="...">`` list of that class."""
    m = re.search(rf'<ol class="{css_class}"[^>]*>(.*?)</ol>', html, re.S)
    assert m, f"no {css_class} list"
    return m.group(1)


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as the browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_no_inline_script(html: str) -> None:
    """No inline script, handler or javascript: URL (the Content-Security-Policy rule)."""
    for tag, attrs in _Tags(html).tags:
        assert tag != "script" or attrs.get("src"), "an inline script"
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert not [v for v in attrs.values()
                    if v and v.strip().lower().startswith("javascript:")], (tag, attrs)


def test_empty_builder_offers_a_labelled_search(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/playlist")
    assert '<label for="add-song">Search by title or artist</label>' in html
    assert 'id="add-song" name="q"' in html and '<input type="hidden" name="add" value="">' in html
    assert "No songs yet" in html
    assert 'class="recs"' not in html
    assert_no_inline_script(html)


def test_builder_lists_the_songs_and_their_continuation(loaded_client: FlaskClient) -> None:
    url = "/playlist?songs=" + ",".join(SEEDS)
    html = page(loaded_client, url)
    listed = re.findall(r'<a href="/songs/(\w+)" data-focus-key="song-', section(html, "playlist"))
    assert listed == SEEDS
    api = loaded_client.get("/api/recommendations?seeds=" + ",".join(SEEDS)).get_json()
    recs = section(html, "recs")
    shown = re.findall(r'<span class="song"><a href="/songs/(\w+)"', recs)
    assert shown == [r["song"]["id"] for r in api["recommendations"]] and shown
    for item in api["recommendations"]:
        assert f'<p class="reason">{escape(item["reason"])}</p>' in recs
        # The path, hop by hop, from the playlist song it starts at.
        first = item["path"]["nodes"][0]
        assert first["key"] in SEEDS
        assert f'<span class="kind">Song:</span> {escape(first["name"])}' in recs
        percent = round(100 * item["score"])
        assert (f'<span class="score" title="{escape(recommend.SCORE_HELP)}">'
                f'match {percent}%</span>') in recs
    assert not re.search(r"\b0\.\d{2,}", recs), "a bare decimal score"
    assert "What is “match”?" in html
    assert_no_inline_script(html)


def test_every_action_is_a_link_to_the_next_playlist(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/playlist?songs=T00001,T00004,T00007&max_per_artist=2&name=Mix")
    links = hrefs(html)
    tail = "&max_per_artist=2&name=Mix"
    assert "/playlist?songs=T00004,T00001,T00007" + tail in links  # T00004 up
    assert "/playlist?songs=T00001,T00007,T00004" + tail in links  # T00004 down
    assert "/playlist?songs=T00001,T00007" + tail in links  # remove T00004
    assert "/playlist.csv?songs=T00001,T00004,T00007" + tail in links
    assert "/playlist.txt?songs=T00001,T00004,T00007" + tail in links
    # The first song can't move up, the last can't move down.
    assert "/playlist?songs=T00001,T00004,T00007" + tail not in links
    # A recommended song is added in one click.
    rec = re.search(r'<span class="song"><a href="/songs/(\w+)"', section(html, "recs"))
    assert rec
    assert f"/playlist?songs=T00001,T00004,T00007,{rec.group(1)}" + tail in links
    # The share link names the same playlist.
    assert re.search(r'id="share-link" type="url" readonly value="http://localhost/playlist\?'
                     r'songs=T00001,T00004,T00007&amp;max_per_artist=2&amp;name=Mix"', html)


def test_the_playlist_reloads_the_same(loaded_client: FlaskClient) -> None:
    url = "/playlist?songs=T00007,T00001,T00004&name=Mix"
    first, again = page(loaded_client, url), page(loaded_client, url)
    assert section(first, "playlist") == section(again, "playlist")
    assert section(first, "recs") == section(again, "recs")
    assert "<title>Mix · Playlist builder · MusicGraph</title>" in first


def test_search_lists_songs_to_add(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/playlist?songs=T00001&q=sonng 12")
    results = section(html, "results")
    assert '<a href="/songs/T00012">Song 12</a>' in results
    assert "/playlist?songs=T00001,T00012&q=sonng+12" in hrefs(results)
    # A song already in the playlist is marked, not offered again.
    html = page(loaded_client, "/playlist?songs=T00012&q=song 12")
    assert "in the playlist" in section(html, "results")
    html = page(loaded_client, "/playlist?q=%21%21")
    assert 'class="problem"' in html and "has no letters or digits" in html


def test_the_pickers_add_goes_to_the_playlist_with_the_song(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/playlist?songs=T00001&name=Mix&add=T00012")
    assert r.status_code == 303
    assert r.headers["Location"] == "/playlist?songs=T00001,T00012&name=Mix"


def test_max_per_artist_caps_the_continuation(loaded_client: FlaskClient) -> None:
    seeds = "T00000,T00003"
    html = page(loaded_client, f"/playlist?songs={seeds}&max_per_artist=1")
    api = loaded_client.get(f"/api/recommendations?seeds={seeds}&max_per_artist=1").get_json()
    artists = [r["song"]["artist"] for r in api["recommendations"]]
    assert len(artists) == len(set(artists)) >= 2
    shown = re.findall(r'<span class="song"><a href="/songs/(\w+)"', section(html, "recs"))
    assert shown == [r["song"]["id"] for r in api["recommendations"]]
    assert '<option value="1" selected>at most 1</option>' in html
    uncapped = page(loaded_client, f"/playlist?songs={seeds}")
    assert '<option value="0" selected>any number</option>' in uncapped
    assert len(re.findall(r'<p class="reason">', section(uncapped, "recs"))) > len(shown)


def test_unknown_ids_give_a_message_and_the_rest_of_the_playlist(
        loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/playlist?songs=T00001,NOPE,T00004")
    assert "No song has the id “NOPE”: left out of this playlist." in html
    assert re.findall(r'<a href="/songs/(\w+)" data-focus-key', html) == ["T00001", "T00004"]
    assert not [h for h in hrefs(html) if "NOPE" in h]


@pytest.mark.parametrize("url, message", [
    ("/playlist?songs=" + ",".join(f"s{i}" for i in range(recommend.MAX_SEEDS + 1)),
     f"a playlist holds at most {recommend.MAX_SEEDS} songs"),
    ("/playlist?songs=T00001&max_per_artist=-1", "max_per_artist must be between"),
    ("/playlist?songs=T00001&max_per_artist=x", "max_per_artist must be a whole number"),
    ("/playlist.csv?songs=T00001,NOPE", "no song with id"),
])
def test_bad_playlists_give_a_clear_message(loaded_client: FlaskClient, url: str,
                                            message: str) -> None:
    r = loaded_client.get(url)
    assert r.status_code in (400, 404)
    assert message in htmllib.unescape(r.get_data(as_text=True))


def test_csv_export(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/playlist.csv?songs=T00004,T00001&name=Road trip 🚗")
    assert r.status_code == 200
    assert r.mimetype == "text/csv" and r.mimetype_params["charset"] == "utf-8"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Road%20trip%20%F0%9F%9A%97.csv" in disposition
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert rows == [
        {"position": "1", "id": "T00004", "title": "Song 4", "artist": "Artist 1",
         "album": "Album 0", "spotify_uri": "spotify:track:T00004"},
        {"position": "2", "id": "T00001", "title": "Song 1", "artist": "Artist 1",
         "album": "Album 1", "spotify_uri": "spotify:track:T00001"},
    ]


def test_uri_export(loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/playlist.txt?songs=T00004,T00001")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "playlist.txt" in r.headers["Content-Disposition"]
    assert r.get_data(as_text=True) == "spotify:track:T00004\nspotify:track:T00001\n"


def test_hostile_text_is_escaped_on_the_builder(loaded_client: FlaskClient,
                                                loaded_graph: LoadedGraph) -> None:
    html = page(loaded_client, f"/playlist?songs={loaded_graph.hostile_id}"
                               f"&q=script&name=</title><script>alert(4)</script>")
    for raw in (HOSTILE_TITLE, HOSTILE_ARTIST, "<script>alert(4)", "<b>bold</b>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_no_inline_script(html)


# --- the explain page's pickers ------------------------------------------------------------
def test_explain_form_has_two_labelled_pickers(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/explain")
    for side, text in (("from", "From song"), ("to", "To song")):
        assert f'<label for="{side}-song">{text}</label>' in html
        assert f'id="{side}-song" name="{side}_q"' in html
        assert f'<input type="hidden" name="{side}" value="">' in html
    assert '<script src="/static/musicgraph.js" defer></script>' in html
    assert_no_inline_script(html)


def test_explain_resolves_typed_text_to_songs(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/explain?from_q=sonng 1&to_q=T00004")
    assert "Also by Artist 1" in html
    assert 'value="Song 1 — Artist 1"' in html and 'name="from" value="T00001"' in html
    assert 'value="Song 4 — Artist 1"' in html and 'name="to" value="T00004"' in html
    # The other matches of the typed text are offered, each keeping the other song.
    others = re.search(r'<p class="others">(.*?)</p>', html, re.S)
    assert others and "Not the “from” song you meant?" in others.group(1)
    assert any(h.startswith("/explain?from=T000") and h.endswith("&to=T00004")
               for h in hrefs(others.group(1)))


def test_explain_keeps_ids_from_the_url(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/explain?from=T00001&to=T00004")
    assert "Also by Artist 1" in html and 'class="others"' not in html
    # The box still shows the chosen song: the id holds.
    html = page(loaded_client, "/explain?from=T00001&from_q=Song 1 — Artist 1&to=T00004")
    assert 'name="from" value="T00001"' in html
    # Text typed over it is searched again, even over an id that matches no song.
    for stale in ("T00001", "NOPE"):
        html = page(loaded_client, f"/explain?from={stale}&from_q=song 9&to=T00004")
        assert 'name="from" value="T00009"' in html


def test_explain_says_when_nothing_matches(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/explain?from_q=zzzzqqqq&to=T00004")
    assert '<p class="problem" id="from-song-problem">no song or artist matches “zzzzqqqq”</p>' in html
    assert 'aria-invalid="true"' in html and "Also by" not in html
    r = loaded_client.get("/explain?from=NOPE&to=T00004")
    assert r.status_code == 404


def test_song_page_shows_match_not_a_decimal(loaded_client: FlaskClient) -> None:
    html = page(loaded_client, "/songs/T00004")
    recs = section(html, "recs")
    api = loaded_client.get("/api/songs/T00004/recommendations").get_json()
    for item in api["recommendations"]:
        assert f"match {round(100 * item['score'])}%</span>" in recs
    assert not re.search(r"\b0\.\d{2,}", recs)
    assert f'title="{escape(recommend.SCORE_HELP)}"' in recs
    assert 'href="/playlist?songs=T00004"' in html  # start a playlist from a song
