"""Server-rendered pages: usable without JavaScript, except for the graph."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_from_directory

from app import get_db, graph, recommend
from musicgraph.errors import InputError, ModelError

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """Home: a search box and the most popular songs."""
    songs = recommend.popular(get_db(), int(current_app.config["POPULAR_SONGS"]))
    return render_template("index.html", songs=songs)


@bp.get("/search")
def search():
    """Search results for ``?q=`` (titles and artists, typo-tolerant)."""
    q = request.args.get("q", "")
    results = recommend.search(get_db(), q, 25)
    return render_template("search.html", q=q, results=results)


@bp.get("/songs/<song_id>")
def song(song_id: str):
    """A song: details, top recommendations with reasons, and the graph of their paths."""
    db = get_db()
    details = recommend.get_song(db, song_id)
    recs: list[recommend.Recommendation] = []
    unavailable = None
    try:
        _, recs = recommend.recommend_for_song(
            db, song_id, int(current_app.config["PAGE_RECOMMENDATIONS"]))
    except ModelError as exc:
        # The song is shown even before it has an embedding; only the list is missing.
        unavailable = exc.message
    seed = recommend.song_summary(details)
    data = graph.build([seed], [r.path for r in recs], [r.as_dict() for r in recs])
    return render_template("song.html", song=details, recs=recs, graph=data,
                           unavailable=unavailable)


@bp.get("/explain")
def explain():
    """The shortest real paths between two songs (``?from=ID&to=ID``), or the form."""
    a, b = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    if not a and not b:
        return render_template("explain.html", result=None, a="", b="", graph=None)
    if not a or not b:
        raise InputError("give two song ids: from and to")
    result = recommend.explain(get_db(), a, b)
    data = graph.build([result["from"]], result["paths"])
    return render_template("explain.html", result=result, a=a, b=b, graph=data)


@bp.get("/api/docs")
def api_docs():
    """The OpenAPI document (``/openapi.json``) as a page for people, without JavaScript."""
    spec = current_app.api_doc  # type: ignore[attr-defined]
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, item in spec["paths"].items() for method, operation in item.items()
    ]
    return render_template("api_docs.html", spec=spec, operations=operations)


@bp.get("/vendor/<path:filename>")
def vendor(filename: str):
    """vis-network as bundled with PyVis, so the graph draws without internet."""
    return send_from_directory(graph.VIS_DIR, filename, max_age=86400)
