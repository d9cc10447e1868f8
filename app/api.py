"""The JSON API: parse the request, call app.recommend, serialise the answer.

flask-openapi3 parses and validates the parameters against the models in
:mod:`app.contract` before a view runs, and documents them at ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag

from app import contract, get_cache, get_db, get_ranker, recommend

bp = APIBlueprint("api", __name__)

_SONGS = Tag(name="songs", description="Search songs and read one")
_RECS = Tag(name="recommendations", description="Recommendations with reasons and paths")
_OPS = Tag(name="operations", description="Readiness")


def _recs(items: list[recommend.Recommendation]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in items]


@bp.get("/api/songs", tags=[_SONGS],
        summary="Search songs",
        description="Full-text search over titles and artist names, forgiving small typos.",
        responses=contract.responses(contract.SearchResponse, 400, 503))
def search_songs(query: contract.SearchQuery):
    """Search songs (the text above goes into the OpenAPI document)."""
    results = recommend.search(get_db(), query.q, query.limit)
    return jsonify({"query": query.q.strip(), "results": results})


@bp.get("/api/songs/<song_id>", tags=[_SONGS],
        summary="One song",
        description=("The song with its artists, album, genres, playlists and audio features."),
        responses=contract.responses(contract.SongDetails, 400, 404, 503))
def song(path: contract.SongPath):
    """One song (the text above goes into the OpenAPI document)."""
    return jsonify(recommend.get_song(get_db(), path.song_id))


@bp.get("/api/songs/<song_id>/recommendations", tags=[_RECS],
        summary="Recommendations for a song",
        description=("The song's top-k recommendations, each with a score, a one-line reason and a"
                     " real path of at most 4 hops from the song. 503 while the song has no "
                     "embedding yet."),
        responses=contract.responses(contract.RecommendationsResponse, 400, 404, 503))
def song_recommendations(path: contract.SongPath, query: contract.RecommendationsQuery):
    """Recommendations for a song (the text above goes into the OpenAPI document)."""
    seed, recs = recommend.recommend_for_song(get_db(), path.song_id, query.k,
                                              max_per_artist=query.max_per_artist,
                                              ranker=get_ranker(), cache=get_cache())
    seed.pop("embedded", None)
    return jsonify({"seed": seed, "recommendations": _recs(recs)})


@bp.get("/api/recommendations", tags=[_RECS],
        summary="Continue a set of songs",
        description=("Recommendations for a set of seed songs (a playlist to continue), the seeds "
                     "excluded."),
        responses=contract.responses(contract.SeedsResponse, 400, 404, 503))
def seeds_recommendations(query: contract.SeedsQuery):
    """Continue a set of songs (the text above goes into the OpenAPI document)."""
    seeds, recs = recommend.recommend_for_seeds(get_db(), query.seeds.split(","), query.k,
                                                max_per_artist=query.max_per_artist,
                                                ranker=get_ranker(), cache=get_cache())
    for s in seeds:
        s.pop("embedded", None)
    return jsonify({"seeds": seeds, "recommendations": _recs(recs)})


@bp.get("/api/explain", tags=[_RECS],
        summary="How two songs are connected",
        description=("The shortest real paths (at most 6 hops) between two different songs, the "
                     "most informative first. 400 when both ids name the same song."),
        responses=contract.responses(contract.ExplainResponse, 400, 404, 503))
def explain(query: contract.ExplainQuery):
    """How two songs are connected (the text above goes into the OpenAPI document)."""
    return jsonify(recommend.explain(get_db(), query.from_, query.to))


@bp.get("/healthz", tags=[_OPS],
        summary="Readiness",
        description=("200 when Neo4j answers, both indexes are ONLINE and songs have embeddings; "
                     "503 with the report otherwise."),
        responses=contract.responses(contract.HealthResponse, 400, 503))
def healthz():
    """Readiness (the text above goes into the OpenAPI document)."""
    return jsonify(recommend.health(get_db()))
