"""The README's screenshots of the playlist builder and the explain page's pickers.

Run against the app serving the bundled data, loaded and trained (``make demo``)::

    .venv/bin/python -m tests.support.screenshots http://127.0.0.1:5000

It builds a playlist by search as a listener would (Debian's chromium, Playwright) and
writes ``docs/playlist_builder.png``, ``docs/explain_pickers.png`` and
``docs/song_page.png`` (Bohemian Rhapsody - 2011 Mix, the README's first picture).
"""

from __future__ import annotations

import re
import sys

from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.support import ROOT, browser

DOCS = ROOT / "docs"
#: The song page pictured in the README.
SONG_PAGE = "4u7EnebtmKWzUH433cf5Qv"
#: What the listener types, and the option they choose.
SONGS = [("memories maroon", "Memories Maroon 5"), ("blinding lights", "Blinding Lights"),
         ("bad guy billie", "bad guy"), ("dance monkey", "Dance Monkey")]


def choose(page: Page, box: Locator, text: str, option: str) -> None:
    """Type into a picker and click the option that starts with ``option``."""
    box.fill("")
    box.press_sequentially(text)
    listbox = page.locator("#" + (box.get_attribute("aria-controls") or ""))
    expect(listbox).to_have_attribute("data-query", text)
    listbox.get_by_role("option").filter(has_text=option).first.click()


def main(base: str) -> None:
    """Take both screenshots from the app at ``base``."""
    expect.set_options(timeout=60_000)
    with sync_playwright() as pw:
        b = browser.launch(pw)
        page = b.new_page(viewport={"width": 1280, "height": 1120})
        page.set_default_timeout(60_000)

        page.goto(f"{base}/playlist?name=Road trip 🚗&max_per_artist=2")
        box = page.get_by_role("combobox", name="Search by title or artist")
        for n, (text, option) in enumerate(SONGS, 1):
            choose(page, box, text, option)
            expect(page.locator("ol.playlist li")).to_have_count(n)
        expect(page.locator("ol.recs > li").first).to_be_visible()
        # Show search-as-you-type too: a fifth song typed, its matches listed.
        box.press_sequentially("uptown funk")
        expect(page.locator("#add-song-listbox")).to_have_attribute("data-query", "uptown funk")
        box.press("ArrowDown")
        page.screenshot(path=str(DOCS / "playlist_builder.png"))
        print(f"playlist: {page.url}")

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/explain")
        choose(page, page.get_by_role("combobox", name="From song"), "memories maroon",
               "Memories Maroon 5")
        choose(page, page.get_by_role("combobox", name="To song"), "sugar maroon",
               "Sugar Maroon 5")
        page.get_by_role("button", name="Explain").click()
        expect(page.locator("ol.paths > li").first).to_be_visible()
        expect(page.locator("#graph")).to_have_attribute("data-drawn-nodes", re.compile(r"\d"))
        page.screenshot(path=str(DOCS / "explain_pickers.png"))
        print(f"explain: {page.url}")

        page.set_viewport_size({"width": 1280, "height": 1400})
        page.goto(f"{base}/songs/{SONG_PAGE}")
        expect(page.locator("#graph")).to_have_attribute("data-drawn-nodes", re.compile(r"\d"))
        # vis-network moves the nodes until its layout settles: picture the page once two
        # pictures of the graph in a row are the same.
        graph, before = page.locator("#graph"), b""
        for _ in range(100):
            now = graph.screenshot(animations="disabled")
            if now == before:
                break
            before = now
        page.screenshot(path=str(DOCS / "song_page.png"))
        b.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:5000")
