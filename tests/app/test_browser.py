"""A real browser (Debian's headless chromium) draws the song page's graph.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``). The screenshot is kept in
``artifacts/screenshots/`` as a test artifact.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests import support
from tests.support import LoadedGraph

pytestmark = [pytest.mark.browser, pytest.mark.neo4j]

ARTIFACTS = support.ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--hide-scrollbars",
    # Virtual time runs the page's timers (vis-network's layout) to this budget and
    # only then dumps the DOM or takes the picture: no wall-clock sleeps.
    "--virtual-time-budget=8000",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    return path


@pytest.fixture(scope="module")
def server(loaded_app: Flask) -> Iterator[str]:
    """The app on a free loopback port, in a thread (werkzeug's server)."""
    srv: BaseWSGIServer = make_server("127.0.0.1", 0, loaded_app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def run_chromium(tmp_path: Path, *args: str) -> tuple[str, str]:
    """Chromium's stdout, and its stderr with the page's console (CSP violations land there)."""
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def console(stderr: str) -> list[str]:
    """The page's console messages in Chromium's log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_song_page_draws_the_graph(server: str, loaded_graph: LoadedGraph, loaded_app: Flask,
                                   tmp_path: Path) -> None:
    song_id = loaded_graph.hostile_id  # hostile text too: it must render as text
    url = f"{server}/songs/{song_id}"
    # The page is served under the app's Content-Security-Policy: scripts from the app
    # only, no inline code or styles; the graph must draw under it.
    with urllib.request.urlopen(url, timeout=30) as resp:
        csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp
    dom, log = run_chromium(tmp_path, "--dump-dom", url)
    violations = [m for m in console(log) if "Content Security Policy" in m]
    assert not violations, violations

    graph = re.search(r'<div id="graph"[^>]*>', dom)
    assert graph, "no graph container in the page"
    drawn = re.search(r'data-drawn-nodes="(\d+)"', graph.group(0))
    assert drawn, "vis-network never drew the graph"
    expected = loaded_app.test_client().get(f"/songs/{song_id}").get_data(as_text=True)
    n_nodes = len(re.findall(r'"id": ?"(?:Song|Artist|Album|Playlist|Genre):', expected))
    assert int(drawn.group(1)) == n_nodes > 1
    assert re.search(r'<div id="graph"[^>]*>.*?<canvas', dom, re.S), "no canvas in the graph"
    # Database text shows as text: no element was injected by the hostile title/artist.
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in dom
    assert "<img src=" not in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "song_page.png"
    shot.unlink(missing_ok=True)
    _, log = run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1400", url)
    assert not [m for m in console(log) if "Content Security Policy" in m]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
