"""The interactive graph of a song, its recommendations and their explanation paths.

Built with PyVis (nodes, edges, options), drawn by the vis-network 9.1.2 that PyVis
ships, served by this app (``/vendor/...``) so pages work without internet. PyVis's own
HTML template is not used: it always links Bootstrap from a CDN.

Escaping: the node and edge data are written into the page with Jinja's ``tojson``,
which escapes ``<``, ``>``, ``&`` and ``'`` as ``\\u003c``..., so no database text
(``</script>`` included) can end the JSON data block the page's script reads. Tooltip (``title``) strings are
plain text: vis-network 9.1.2 sets string titles with ``innerText`` (checked in the
bundled ``vis-network.min.js``), so HTML in a title shows as text; HTML-escaping them
as well would show ``&amp;`` to the reader. Labels are drawn on a canvas, as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyvis
from pyvis.network import Network

#: vis-network as bundled with PyVis (served at /vendor/<file>).
VIS_DIR = Path(pyvis.__file__).resolve().parent / "templates" / "lib" / "vis-9.1.2"

#: The canvas labels' fonts: app/static/style.css's list, emoji and CJK fonts included, so
#: a playlist named with emoji draws it (a canvas takes a CSS font-family list).
FONT_FACE = ('system-ui, "Segoe UI", Roboto, "Noto Sans", Arial, "DejaVu Sans", '
             '"Hiragino Sans", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK JP", sans-serif, '
             '"Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"')

#: Fill colour per node type; the seed song(s) stand out.
COLORS = {
    "Seed": "#e4572e", "Song": "#4c78a8", "Artist": "#59a14f", "Album": "#f28e2b",
    "Playlist": "#b07aa1", "Genre": "#9c755f",
}
SIZES = {"Seed": 28, "Song": 18, "Artist": 16, "Album": 14, "Playlist": 14, "Genre": 12}

OPTIONS: dict[str, Any] = {
    "physics": {"solver": "forceAtlas2Based",
                "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 110},
                "stabilization": {"iterations": 150}},
    "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
    "nodes": {"font": {"size": 14, "face": FONT_FACE}},
    "edges": {"smooth": False, "color": {"inherit": False}},
}


def _short(text: str | None, n: int = 28) -> str:
    text = text or "?"
    return text if len(text) <= n else text[: n - 1] + "…"


def match(score: float) -> str:
    """A recommendation's score as the pages show it: "match 36%" (never a bare decimal)."""
    return f"match {round(100 * float(score))}%"


def _similar_width(score: float) -> float:
    """Edge width from a SIMILAR score: SIMILAR edges start at 0.8, so spread 0.75..1."""
    return round(1.0 + 16.0 * max(0.0, score - 0.75), 2)


def _node_id(node: dict[str, Any]) -> str:
    return f"{node['label']}:{node['key']}"


def build(seeds: Iterable[dict[str, Any]], paths: Iterable[dict[str, Any]],
          recommended: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """Nodes, edges and options for vis-network, built with PyVis.

    Args:
        seeds: the seed songs (``id``, ``title``, ``artist``).
        paths: explanation paths (``nodes`` ``{key, label, name}``, ``relationships``
            ``{type, score?}``), drawn hop by hop.
        recommended: ``{"song", "score", "reason"}`` items: each song is linked to its
            path's first node by a dashed "recommended" edge whose width is the score.

    Returns:
        ``{"nodes": [...], "edges": [...], "options": {...}}`` for the template.
    """
    net = Network(height="560px", width="100%", directed=False, cdn_resources="remote")
    seen: set[str] = set()
    seen_edges: set[tuple[str, str, str]] = set()

    def add(node: dict[str, Any], kind: str, tooltip: str) -> str:
        nid = _node_id(node)
        if nid not in seen:
            seen.add(nid)
            net.add_node(nid, label=_short(node["name"]), title=tooltip, color=COLORS[kind],
                         size=SIZES[kind], shape="dot")
        return nid

    seed_ids = set()
    for s in seeds:
        seed_ids.add(s["id"])
        add({"label": "Song", "key": s["id"], "name": s.get("title")}, "Seed",
            f"Seed song\n{s.get('title')}\nby {s.get('artist') or 'unknown artist'}")

    rec_info = {r["song"]["id"]: r for r in recommended}
    for path in paths:
        ids = []
        for node in path["nodes"]:
            label = node["label"]
            kind = "Seed" if label == "Song" and node["key"] in seed_ids else label
            if label == "Song":
                info = rec_info.get(node["key"])
                tip = f"Song\n{node['name']}"
                if info:
                    tip += (f"\nby {info['song'].get('artist') or 'unknown artist'}"
                            f"\n{info['reason']}\n{match(info['score'])}")
            else:
                tip = f"{label}\n{node['name']}"
            ids.append(add(node, kind if kind in COLORS else "Song", tip))
        for (a, b), rel in zip(zip(ids, ids[1:], strict=False), path["relationships"], strict=True):
            key = (min(a, b), max(a, b), rel["type"])
            if key in seen_edges:
                continue
            seen_edges.add(key)
            score = rel.get("score")
            if rel["type"] == "SIMILAR" and score is not None:
                net.add_edge(a, b, width=_similar_width(float(score)),
                             title=f"SIMILAR {float(score):.0%}", color="#4c78a8")
            else:
                net.add_edge(a, b, width=1.5, title=rel["type"], color="#b0b0b0")

    for sid, info in rec_info.items():
        target = f"Song:{sid}"
        first = next((p["nodes"][0] for p in paths if p["nodes"][-1]["key"] == sid), None)
        if first is None or target not in seen:
            continue
        source = _node_id(first)
        key = (min(source, target), max(source, target), "RECOMMENDED")
        if key in seen_edges or source == target:
            continue
        seen_edges.add(key)
        net.add_edge(source, target, width=round(0.5 + 3 * float(info["score"]), 2), dashes=True,
                     title=f"recommended, {match(info['score'])}",
                     color="#f4a582")
    nodes, edges, _heading, _height, _width, _options = net.get_network_data()
    return {"nodes": nodes, "edges": edges, "options": OPTIONS}
