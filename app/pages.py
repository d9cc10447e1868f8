"""Server-rendered pages: usable without JavaScript, except for the graph.

JavaScript only enhances (static/musicgraph.js: song pickers that search as you type,
the playlist builder updated in place); every action is a link or a GET form.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)

from app import get_cache, get_db, get_ranker, graph, picks, recommend
from app import playlist as playlists
from musicgraph.errors import InputError, ModelError

bp = Blueprint("pages", __name__)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The page's integer query parameter ``name`` within ``low..high``; InputError
    otherwise (the JSON API validates its parameters through app.contract instead)."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InputError(f"{name} must be a whole number between {low} and {high}",
                         f"got {raw[:50]!r}") from None
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high}", f"got {value}")
    return value


@bp.app_context_processor
def shared() -> dict[str, Any]:
    """Names every template may use."""
    return {"score_help": recommend.SCORE_HELP, "match": graph.match, "song_label": picks.label}


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
    """A song: details, top recommendations with reasons, and the graph of their paths
    (``?max_per_artist=3``: at most that many by one artist, 0 for no cap)."""
    cap = int_arg("max_per_artist", recommend.SONG_MAX_PER_ARTIST, 0, recommend.MAX_K)
    db = get_db()
    details = recommend.get_song(db, song_id)
    recs: list[recommend.Recommendation] = []
    unavailable = None
    try:
        _, recs = recommend.recommend_for_song(
            db, song_id, int(current_app.config["PAGE_RECOMMENDATIONS"]), max_per_artist=cap,
            ranker=get_ranker(), cache=get_cache())
    except ModelError as exc:
        # The song is shown even before it has an embedding; only the list is missing.
        unavailable = exc.message
    seed = recommend.song_summary(details)
    data = graph.build([seed], [r.path for r in recs], [r.as_dict() for r in recs])
    return render_template("song.html", song=details, recs=recs, graph=data,
                           unavailable=unavailable)


@bp.get("/explain")
def explain():
    """The shortest real paths between two songs, picked by search or by id
    (``?from=ID&to=ID``; ``from_q``/``to_q``: a typed id or search text), or the form."""
    db = get_db()
    a = picks.pick(db, request.args.get("from", ""), request.args.get("from_q", ""))
    b = picks.pick(db, request.args.get("to", ""), request.args.get("to_q", ""))
    result = data = None
    if a.song and b.song:
        result = recommend.explain(db, a.song["id"], b.song["id"])
        data = graph.build([result["from"]], result["paths"])
    elif (a.typed or b.typed) and not (a.problem or b.problem):
        raise InputError("give two songs: from and to")
    return render_template("explain.html", a=a, b=b, result=result, graph=data)


def _playlist() -> playlists.Playlist:
    """The playlist the query string names (``songs``, ``max_per_artist``, ``name``)."""
    return playlists.Playlist.parse(request.args.get("songs", ""),
                          int_arg("max_per_artist", 0, 0, recommend.MAX_K),
                          request.args.get("name", ""))


@bp.get("/playlist")
def playlist_page():
    """The playlist builder (``?songs=id1,id2&max_per_artist=0&name=…&q=…``): the songs,
    a search to add from, and the continuation with reasons and paths.
    ``add=ID`` (the search box's picker) redirects to the playlist with that song."""
    playlist = _playlist()
    add = request.args.get("add", "").strip()
    if add:
        return redirect(url_for("pages.playlist_page", **playlist.adding(add).query()), 303)
    view = playlists.builder(get_db(), playlist, request.args.get("q", ""),
                            int(current_app.config["PAGE_RECOMMENDATIONS"]))
    return render_template("playlist.html", view=view, max_songs=playlists.MAX_SONGS,
                           max_name=playlists.MAX_NAME_CHARS)


@bp.get("/playlist.csv")
def playlist_csv():
    """The playlist as a CSV download (position, id, title, artist, album, spotify_uri)."""
    playlist = _playlist()
    text = playlists.csv_text(playlists.export_songs(get_db(), playlist))
    return _download(text, "text/csv", playlists.export_name(playlist.name, "csv"))


@bp.get("/playlist.txt")
def playlist_txt():
    """The playlist as a download of ``spotify:track:<id>`` lines."""
    playlist = _playlist()
    text = playlists.uri_text(playlists.export_songs(get_db(), playlist))
    return _download(text, "text/plain", playlists.export_name(playlist.name, "txt"))


def _download(text: str, mimetype: str, name: str) -> Response:
    # send_file writes both filename= and an RFC 5987 filename*= for non-ASCII names.
    return send_file(io.BytesIO(text.encode("utf-8")), mimetype=f"{mimetype}; charset=utf-8",
                     as_attachment=True, download_name=name, max_age=0)


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
