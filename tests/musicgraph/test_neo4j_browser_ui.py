"""Neo4j Browser, as a person uses it: log in, set a parameter, run a browser query.

Drives Debian's headless chromium (``/usr/bin/chromium``) with Playwright (no browser
download: ``executable_path``) against the Neo4j Browser that the tests' own Neo4j serves
at ``/browser/``, over the small generated graph (tests/support). Playwright's
auto-waiting synchronises every step; nothing sleeps. The screenshot is kept as
``artifacts/screenshots/neo4j_browser.png``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect, sync_playwright

import cypher
from musicgraph.config import Neo4jSettings
from musicgraph.db import Database
from musicgraph.neo4j_local import Instance, free_port
from tests import support
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.neo4j]

ARTIFACTS = support.ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class BrowserTarget:
    """Where Neo4j Browser is served and the server it connects to."""

    browser_url: str
    bolt_port: int
    password: str
    db: Database


@pytest.fixture(scope="module")
def target(neo4j_instance: Instance | None, database: Database,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserTarget]:
    """The session's Neo4j with the generated graph loaded; when the session uses an
    external server (NEO4J_URI), whose Browser port is unknown, a private one."""
    if neo4j_instance is not None:
        support.load_app_graph(database, tmp_path_factory.mktemp("browser-data"))
        yield BrowserTarget(neo4j_instance.browser_url, neo4j_instance.bolt_port,
                            TEST_PASSWORD, database)
        return
    inst = Instance(home=tmp_path_factory.mktemp("neo4j-browser"), bolt_port=free_port(),
                    http_port=free_port())
    inst.start(TEST_PASSWORD)
    try:
        with Database(Neo4jSettings(uri=inst.bolt_uri, password=TEST_PASSWORD)) as db:
            support.load_app_graph(db, tmp_path_factory.mktemp("browser-data"))
            yield BrowserTarget(inst.browser_url, inst.bolt_port, TEST_PASSWORD, db)
    finally:
        inst.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed: apt-get install -y chromium (make test does)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 900})
            pg.set_default_timeout(TIMEOUT_MS)
            yield pg
        finally:
            browser.close()


def run_in_editor(page: Page, command: str) -> None:
    """Type a command into Browser's editor as pasted text and press its Run button."""
    page.locator("[data-testid=activeEditor] .monaco-editor textarea").first.click()
    # insert_text delivers the whole text at once, like a paste: the editor's
    # auto-closing brackets and quotes don't double anything.
    page.keyboard.insert_text(command)
    page.locator("[data-testid=editor-Run]").click()


def test_browser_login_param_and_similar_songs(target: BrowserTarget, page: Page) -> None:
    seed = "T00000"
    expected = target.db.read("browser/similar_songs", id=seed)
    assert expected, "the generated graph gives the seed SIMILAR neighbours"

    page.goto(f"{target.browser_url}?dbms=neo4j://neo4j@127.0.0.1:{target.bolt_port}&db=neo4j")
    expect(page.locator("[data-testid=boltaddress]")).to_have_value(f"127.0.0.1:{target.bolt_port}")
    expect(page.locator("[data-testid=username]")).to_have_value("neo4j")
    page.locator("[data-testid=password]").fill(target.password)
    page.locator("[data-testid=connect]").click()
    expect(page.get_by_text("You are connected as user neo4j")).to_be_visible()

    run_in_editor(page, f":param id => '{seed}'")
    expect(page.locator("[data-testid=rawParamData]")).to_contain_text(f'"id": "{seed}"')

    query = cypher.load("browser/similar_songs")
    run_in_editor(page, query)
    frame = page.locator("[data-testid=frame]", has=page.locator("table.relatable__table")).first
    expect(frame.locator("[data-testid=frameStatusbar]")).to_contain_text(
        f"Started streaming {len(expected)} records")
    rows = frame.locator("tr.relatable__table-body-row")
    expect(rows).to_have_count(len(expected))
    headers = frame.locator(
        "th.relatable__table-header-cell:not(.relatable__table-header-actions-cell)")
    expect(headers).to_have_text(list(expected[0]))  # the query's columns, in order
    cell = "td.relatable__table-body-cell:not(.relatable__table-row-actions-cell)"
    shown_ids = [rows.nth(i).locator(cell).first.inner_text() for i in range(len(expected))]
    assert shown_ids == [f'"{r["id"]}"' for r in expected]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "neo4j_browser.png"
    shot.unlink(missing_ok=True)
    # The new frame slides in from the top: picture it once it is in place.
    expect(frame).to_be_in_viewport(ratio=1.0)
    page.screenshot(path=str(shot), animations="disabled")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
