"""The pages as a listener uses them, in a real browser: Debian's headless chromium driven
by Playwright (no browser download). Build a playlist by search, add a recommendation,
reload the shared URL, export it; explain two songs picked by search; the same without
JavaScript; emoji and CJK text drawn with real glyphs; axe-core finds no serious
accessibility violation.

Playwright's auto-waiting and ``expect`` synchronise every step; nothing sleeps.
Screenshots go to ``artifacts/screenshots/``, axe's findings to ``artifacts/axe.json``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from musicgraph.db import Database
from tests import support
from tests.support import LoadedGraph, browser, song

pytestmark = [pytest.mark.browser, pytest.mark.neo4j]

SHOTS = browser.ARTIFACTS / "screenshots"
TIMEOUT_MS = 30_000
EMOJI_PLAYLIST = "Chillout & Remixes 💜"
CJK_TITLE = "夜に駆ける"
EMOJI_TITLE = "Dance 💃 all night"
#: Songs beyond the generated graph: a Japanese title and an emoji title, both on a
#: playlist whose name holds an emoji (as 37 of the bundled data's playlists do).
EXTRA = [
    song(93, track_id="CJK1", track_name=CJK_TITLE, track_artist="YOASOBI",
         playlist_name=EMOJI_PLAYLIST, playlist_id="PLE"),
    song(94, track_id="EMOJI1", track_name=EMOJI_TITLE, track_artist="YOASOBI",
         playlist_name=EMOJI_PLAYLIST, playlist_id="PLE"),
]


@pytest.fixture(scope="module")
def loaded_graph(database: Database, tmp_path_factory: pytest.TempPathFactory) -> LoadedGraph:
    """The generated graph plus the emoji and CJK songs (this module's own load)."""
    return support.load_app_graph(database, tmp_path_factory.mktemp("browser-pages"),
                                  extra=EXTRA)


@pytest.fixture(scope="module")
def server(loaded_app: Flask) -> Iterator[str]:
    with browser.serve(loaded_app) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = browser.launch(pw)
        try:
            yield b
        finally:
            b.close()


def new_page(chromium: Browser, **options: Any) -> tuple[BrowserContext, Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 1000},
                                   accept_downloads=True, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context, pg = new_page(chromium)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(autouse=True, scope="module")
def _expect_timeout() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


def playlist_titles(page: Page) -> list[str]:
    return page.locator("ol.playlist li .song > a").all_inner_texts()


def pick(page: Page, box: Locator, text: str, option: str, keyboard: bool = True) -> None:
    """Type ``text`` into a picker and choose the option that reads ``option``: with the
    arrow keys and Enter, or with the mouse."""
    box.fill("")
    box.press_sequentially(text)
    listbox = page.locator("#" + box.get_attribute("aria-controls"))  # type: ignore[operator]
    # The list says which text its options answer: wait for this text's.
    expect(listbox).to_have_attribute("data-query", text.strip())
    expect(box).to_have_attribute("aria-expanded", "true")
    wanted = listbox.get_by_role("option").filter(has_text=option).first
    expect(wanted).to_be_visible()
    if not keyboard:
        wanted.click()
        return
    options = listbox.get_by_role("option")
    index = options.all_inner_texts().index(wanted.inner_text())
    for _ in range(index + 1):
        box.press("ArrowDown")
    expect(wanted).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", wanted.get_attribute("id") or "")
    box.press("Enter")


def test_build_a_playlist_by_search_add_a_recommendation_reload_and_export(
        server: str, page: Page, tmp_path: Path) -> None:
    page.goto(f"{server}/playlist")
    # Marks this document: still there at the end means no step reloaded the page.
    page.evaluate("window.__sameDocument = true")
    box = page.get_by_role("combobox", name="Search by title or artist")

    # Three songs by search: typos forgiven, chosen with the keyboard and the mouse.
    pick(page, box, "sonng 12", "Song 12")
    expect(page.locator("ol.playlist li")).to_have_count(1)
    expect(page.locator("#live-status")).to_have_text("Added Song 12 — Artist 0")
    expect(box).to_be_focused()  # ready for the next song
    pick(page, box, "song 4", "Song 4")
    expect(page.locator("ol.playlist li")).to_have_count(2)
    pick(page, box, "song 7", "Song 7", keyboard=False)
    expect(page.locator("ol.playlist li")).to_have_count(3)
    assert playlist_titles(page) == ["Song 12", "Song 4", "Song 7"]
    assert page.url == f"{server}/playlist?songs=T00012,T00004,T00007"

    # The continuation: reason and path, "match NN%" explained; add one in one click.
    first = page.locator("ol.recs > li").first
    expect(first.locator(".reason")).not_to_be_empty()
    expect(first.locator(".path .node").first).to_contain_text("Song:")
    expect(first.locator(".score")).to_have_text(re.compile(r"^match \d{1,3}%$"))
    expect(first.locator(".score")).to_have_attribute("title", re.compile("0 to 100%"))
    rec_title = first.locator(".song > a").inner_text()
    first.get_by_role("link", name=re.compile(r"^Add ")).click()
    expect(page.locator("ol.playlist li")).to_have_count(4)
    assert playlist_titles(page)[-1] == rec_title
    expect(page.locator("#live-status")).to_contain_text(f"Added {rec_title}")

    # Reorder and cap, still in place; the URL follows.
    page.get_by_role("link", name="Up (move Song 7 — Artist 1 up)").click()
    expect(page.locator("ol.playlist li .song > a").nth(1)).to_have_text("Song 7")
    # Focus stays on the control that acted, so a keyboard user can move it again.
    expect(page.get_by_role("link", name="Up (move Song 7 — Artist 1 up)")).to_be_focused()
    page.get_by_label("Songs by one artist").select_option("1")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_label("Songs by one artist")).to_have_value("1")
    expect(page).to_have_url(re.compile(r"max_per_artist=1"))
    artists = page.locator("ol.recs > li .song .by").all_inner_texts()
    assert artists and len(artists) == len(set(artists))
    assert page.evaluate("window.__sameDocument") is True
    titles, url = playlist_titles(page), page.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "playlist_builder.png"), full_page=True)

    # The shared URL gives the same playlist: reloaded, and in a fresh page.
    page.reload()
    assert playlist_titles(page) == titles and page.url == url
    expect(page.get_by_label("Link to this playlist")).to_have_value(url)
    other = page.context.new_page()
    other.goto(url)
    assert playlist_titles(other) == titles
    other.close()

    # Back steps through the history in place.
    page.go_back()
    expect(page.get_by_label("Songs by one artist")).to_have_value("0")
    assert playlist_titles(page) == titles
    page.go_forward()
    expect(page.get_by_label("Songs by one artist")).to_have_value("1")

    # Export: CSV and Spotify URIs, in playlist order.
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "playlist.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert [r["title"] for r in rows] == titles
    assert [r["position"] for r in rows] == ["1", "2", "3", "4"]
    ids = re.search(r"songs=([^&]+)", url).group(1).split(",")  # type: ignore[union-attr]
    assert [r["spotify_uri"] for r in rows] == [f"spotify:track:{i}" for i in ids]
    with page.expect_download() as download:
        page.get_by_role("link", name="Spotify URIs (one per line)").click()
    text = Path(download.value.path()).read_text("utf-8")
    assert text.splitlines() == [f"spotify:track:{i}" for i in ids]


def test_explain_two_songs_picked_by_search(server: str, page: Page) -> None:
    page.goto(f"{server}/explain")
    source = page.get_by_role("combobox", name="From song")
    target = page.get_by_role("combobox", name="To song")
    expect(source).to_have_attribute("aria-autocomplete", "list")

    # Escape closes the list, a second Escape clears the box.
    source.press_sequentially("song 1")
    expect(source).to_have_attribute("aria-expanded", "true")
    source.press("Escape")
    expect(source).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#from-song-listbox")).to_be_hidden()
    source.press("Escape")
    expect(source).to_have_value("")

    pick(page, source, "sonng 1", "Song 1")
    expect(source).to_have_value("Song 1 — Artist 1")
    pick(page, target, "song 4", "Song 4", keyboard=False)
    expect(target).to_have_value("Song 4 — Artist 1")
    page.get_by_role("button", name="Explain").click()
    # The chosen songs travel as ids alone.
    expect(page).to_have_url(f"{server}/explain?from=T00001&to=T00004")
    expect(page.locator("ol.paths > li").first).to_contain_text("Also by Artist 1")
    expect(page.get_by_role("combobox", name="From song")).to_have_value("Song 1 — Artist 1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explain_pickers.png"), full_page=True)


def test_every_action_works_without_javascript(server: str, chromium: Browser) -> None:
    context, page = new_page(chromium, java_script_enabled=False)
    try:
        page.goto(f"{server}/playlist")
        box = page.get_by_label("Search by title or artist")
        expect(box).not_to_have_attribute("role", "combobox")  # a plain text box
        for text, title in (("sonng 12", "Song 12"), ("song 4", "Song 4"), ("song 7", "Song 7")):
            box.fill(text)
            page.get_by_role("search", name="Add songs").get_by_role("button").click()
            results = page.get_by_role("list", name=f"Songs matching “{text}”")
            results.get_by_role("link", name=f"Add {title} — ").click()
            box = page.get_by_label("Search by title or artist")
        assert playlist_titles(page) == ["Song 12", "Song 4", "Song 7"]
        page.get_by_role("link", name="Remove Song 4 — Artist 1").click()
        page.get_by_role("link", name="Up (move Song 7 — Artist 1 up)").click()
        assert playlist_titles(page) == ["Song 7", "Song 12"]
        page.locator("ol.recs > li").first.get_by_role("link", name=re.compile("^Add ")).click()
        assert len(playlist_titles(page)) == 3
        page.get_by_label("Songs by one artist").select_option("2")
        page.get_by_role("button", name="Update").click()
        expect(page).to_have_url(re.compile(r"max_per_artist=2"))
        page.get_by_label("Playlist name").fill("Night drive 🌙")
        page.get_by_role("button", name="Save name").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Night drive 🌙")
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        assert download.value.suggested_filename == "Night drive 🌙.csv"

        # The explain page resolves typed text itself.
        page.goto(f"{server}/explain")
        page.get_by_label("From song").fill("sonng 1")
        page.get_by_label("To song").fill("T00004")
        page.get_by_role("button", name="Explain").click()
        expect(page.locator("ol.paths > li").first).to_contain_text("Also by Artist 1")
        expect(page.get_by_label("From song")).to_have_value("Song 1 — Artist 1")
    finally:
        context.close()


def test_emoji_and_cjk_text_draws_with_real_glyphs(server: str, page: Page) -> None:
    page.goto(f"{server}/playlist?songs=CJK1,EMOJI1&name=Road trip 🚗")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Road trip 🚗")
    # The browser drew the emoji with a colour emoji font, the Japanese with a CJK font:
    # a glyph, not an empty box.
    fonts = browser.platform_fonts(page, "h1")
    assert any("Emoji" in f and n >= 1 for f, n in fonts.items()), fonts
    fonts = browser.platform_fonts(page, "ol.playlist li:first-child .song > a")
    assert any("CJK" in f and n == len(CJK_TITLE) for f, n in fonts.items()), fonts
    # And its pixels are in colour, with the width of a glyph.
    assert browser.colourful_pixels(heading.screenshot()) > 50
    width = page.evaluate(
        """() => { const s = document.createElement('span'); s.textContent = '🚗';
                   document.querySelector('h1').append(s);
                   const w = s.getBoundingClientRect().width; s.remove(); return w; }""")
    assert width > 10

    # A playlist name with an emoji, as the reasons and the song page show it.
    page.goto(f"{server}/songs/EMOJI1")
    expect(page.locator("dl.facts")).to_contain_text(EMOJI_PLAYLIST)
    fonts = browser.platform_fonts(page, "dl.facts dd:last-of-type")
    assert any("Emoji" in f and n >= 1 for f, n in fonts.items()), fonts
    fonts = browser.platform_fonts(page, "h1")
    assert any("Emoji" in f for f in fonts), fonts
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("article.song").screenshot(path=str(SHOTS / "emoji_song.png"))


#: Pages the listener sees, each checked by axe-core as loaded (and the builder and the
#: explain page with a picker's list open too).
AXE_PAGES = [
    "/", "/search?q=song", "/songs/T00004", "/explain", "/explain?from=T00001&to=T00004",
    "/playlist", "/playlist?songs=T00012,T00004,CJK1&q=song&name=Road trip 🚗",
]


def test_axe_core_finds_no_serious_violations(server: str, chromium: Browser) -> None:
    # The context bypasses a Content-Security-Policy: axe is injected as an inline script.
    context, page = new_page(chromium, bypass_csp=True)
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        for path in AXE_PAGES:
            page.goto(server + path)
            found[path] = browser.axe_violations(page)
        for path, box in (("/explain", "From song"), ("/playlist", "Search by title or artist")):
            page.goto(server + path)
            combobox = page.get_by_role("combobox", name=box)
            combobox.press_sequentially("song")
            listbox = page.locator("#" + (combobox.get_attribute("aria-controls") or ""))
            expect(listbox).to_have_attribute("data-query", "song")
            combobox.press("ArrowDown")
            expect(combobox).to_have_attribute("aria-activedescendant", re.compile("."))
            found[f"{path} (list open)"] = browser.axe_violations(page)
    finally:
        context.close()
    browser.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (browser.ARTIFACTS / "axe.json").write_text(json.dumps(
        {"axe-core": browser.AXE_VERSION, "violations": found}, indent=2, ensure_ascii=False))
    failing = {path: [(v["id"], v["impact"], v["help"], v["nodes"][:3]) for v in vs
                      if v["impact"] in browser.AXE_FAILING] for path, vs in found.items()}
    assert not any(failing.values()), failing
