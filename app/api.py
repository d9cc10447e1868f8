"""The JSON API: parse the request, call app.recommend, serialise the answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from app import get_db, recommend
from musicgraph.errors import InputError

bp = Blueprint("api", __name__)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The integer query parameter ``name`` within ``low..high``; InputError otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InputError(f"{name} must be a whole number between {low} and {high}",
                         f"got {raw[:50]!r}") from None
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high}", f"got {value}")
    return value


def _recs(items: list[recommend.Recommendation]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in items]


@bp.get("/api/songs")
def search_songs():
    """``?q=TEXT&limit=N``: full-text search over titles and artist names (typo-tolerant)."""
    limit = int_arg("limit", 10, 1, recommend.MAX_LIMIT)
    q = request.args.get("q", "")
    results = recommend.search(get_db(), q, limit)
    return jsonify({"query": q.strip(), "results": results})


@bp.get("/api/songs/<song_id>")
def song(song_id: str):
    """The song with its artists, album, genres, playlists and audio features."""
    return jsonify(recommend.get_song(get_db(), song_id))


@bp.get("/api/songs/<song_id>/recommendations")
def song_recommendations(song_id: str):
    """``?k=10&max_per_artist=3``: the song's top-k recommendations with score, reason and
    path, at most ``max_per_artist`` by one artist (default 3; 0: no cap)."""
    k = int_arg("k", 10, 1, recommend.MAX_K)
    cap = int_arg("max_per_artist", recommend.SONG_MAX_PER_ARTIST, 0, recommend.MAX_K)
    seed, recs = recommend.recommend_for_song(get_db(), song_id, k, max_per_artist=cap)
    seed.pop("embedded", None)
    return jsonify({"seed": seed, "recommendations": _recs(recs)})


@bp.get("/api/recommendations")
def seeds_recommendations():
    """``?seeds=id1,id2,...&k=10&max_per_artist=0``: continue a set of songs, the seeds
    excluded; no cap on songs by one artist unless ``max_per_artist`` sets one."""
    k = int_arg("k", 10, 1, recommend.MAX_K)
    cap = int_arg("max_per_artist", 0, 0, recommend.MAX_K)
    raw = request.args.get("seeds", "")
    ids = recommend.check_seeds(raw.split(","))
    seeds, recs = recommend.recommend_for_seeds(get_db(), ids, k, max_per_artist=cap)
    for s in seeds:
        s.pop("embedded", None)
    return jsonify({"seeds": seeds, "recommendations": _recs(recs)})


@bp.get("/api/explain")
def explain():
    """``?from=ID&to=ID``: the shortest real paths between two songs."""
    return jsonify(recommend.explain(get_db(), request.args.get("from", ""),
                                     request.args.get("to", "")))


@bp.get("/healthz")
def healthz():
    """200 with database and index status when ready; 503 (JSON error) otherwise."""
    return jsonify(recommend.health(get_db()))
