"""Helpers for the Playwright browser tests and the README's screenshots: the app served on
a free loopback port, Debian's chromium (never a downloaded browser), axe-core, and what
the browser actually drew (fonts per text node, pixels).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support import ROOT

ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
AXE_DIR = Path(__file__).resolve().parent / "vendor" / "axe-core"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
#: Impacts that fail a page (axe's scale: minor, moderate, serious, critical).
AXE_FAILING = ("serious", "critical")


def chromium_path() -> str:
    """Debian's chromium; the tests never download a browser."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium "
                           "(make browser-deps does)")
    return path


def launch(pw: Playwright) -> Browser:
    """Headless Debian chromium driven by Playwright."""
    return pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """The app on a free loopback port, in a thread (werkzeug's server); yields its URL."""
    srv: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)


# --- axe-core ------------------------------------------------------------------------------
def axe_source() -> Path:
    """The vendored axe.min.js, checked against the pinned version's checksum."""
    path = AXE_DIR / "axe.min.js"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != AXE_SHA256:
        raise RuntimeError(f"{path} is not axe-core {AXE_VERSION} (sha256 {digest})")
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; its violations (WCAG 2.x A and AA rules and
    axe's best practices, axe's defaults).

    The page's context must bypass a Content-Security-Policy (``bypass_csp=True``): the
    script is injected inline.
    """
    page.add_script_tag(path=str(axe_source()))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


# --- what was drawn -----------------------------------------------------------------------
def platform_fonts(page: Page, selector: str) -> dict[str, int]:
    """The fonts chromium drew the text of the first node matching ``selector`` with, and
    how many glyphs each drew (DevTools' CSS.getPlatformFontsForNode): what the screen
    shows, not what the CSS asks for."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})
        node = cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"],
                                              "selector": selector})
        if not node["nodeId"]:
            raise AssertionError(f"no node matches {selector!r}")
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    finally:
        cdp.detach()
    return {f["familyName"]: int(f["glyphCount"]) for f in fonts}


def colourful_pixels(png: bytes, chroma: int = 80) -> int:
    """How many pixels of a PNG are strongly coloured (max - min channel >= ``chroma``).

    The pages' text is near-black on near-white; a colour emoji is the only thing that
    brings such pixels into a title, and a missing glyph's empty box brings none.
    """
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    return int(((pixels.max(axis=-1) - pixels.min(axis=-1)) >= chroma).sum())
