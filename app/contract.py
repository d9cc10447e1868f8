"""The JSON API's contract: request parameters and response bodies as Pydantic models.

flask-openapi3 validates every request's path and query parameters against these models
before a view runs (a failure becomes a 400 through ``app._register_errors``) and builds
the OpenAPI document at ``/openapi.json`` from them, so the document and the checks can't
drift apart. The response models only describe: views keep serialising plain dicts, and
the schemathesis test checks every answer against them.

Patterns are written so that Python's ``re`` (the fuzzer's generator), ECMA 262 (the
fuzzer's validator) and the Rust engine Pydantic uses read them alike: escaped code
points instead of ``\\s`` or ``\\w``, and no look-arounds.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app import recommend

#: The characters ``str.isspace()`` accepts (what the app strips), spelled out: the
#: fuzzer's validator (ECMA 262), Python's ``re`` and Pydantic's Rust engine read ``\s``
#: and ``\w`` differently beyond ASCII, but agree on escaped code points.
SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: ASCII punctuation and controls: never part of a search term.
ASCII_NON_ALNUM = r"\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f"
#: Something to search for: an ASCII letter or digit, or any other non-space character.
SEARCHABLE = f"[^{ASCII_NON_ALNUM}{SPACE}]"
#: At least one character that is neither a comma nor white space: one seed id.
HAS_SEED = f"[^,{SPACE}]"
#: At most MAX_SEEDS comma-separated ids of at most 200 characters each.
SEED_LIST = (rf"^[^,]{{0,200}}(,[^,]{{0,200}}){{0,{recommend.MAX_SEEDS - 1}}}$")
#: A song id: any text with something besides white space, as the ETL stores it.
SONG_ID = f"[^{SPACE}]"
MAX_ID_CHARS = 200
#: What a 400 says when a value misses one of the patterns above.
PATTERN_HINTS = {
    SEARCHABLE: "needs something to search for besides punctuation and spaces",
    HAS_SEED: "needs at least one song id",
    SONG_ID: "needs a song id",
}
_SEED_LIST_RE = re.compile(SEED_LIST)

# --- requests ---------------------------------------------------------------------------
_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}


class QueryModel(BaseModel):
    """A query-string model whose JSON schema is built once: flask-openapi3 asks for it on
    every request (to read which fields are lists), and building it took 2 ms, a fifth of
    a cached recommendation's time. Callers get a copy."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _SCHEMAS:
            _SCHEMAS[key] = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(_SCHEMAS[key])



class SongPath(BaseModel):
    """A song named in the path."""

    song_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=SONG_ID,
                         description="The song's id (Spotify track id in the bundled data).")


class SearchQuery(QueryModel):
    """``GET /api/songs``."""

    q: str = Field(max_length=recommend.MAX_QUERY_CHARS, pattern=SEARCHABLE,
                   description="Words of a title or an artist's name; small typos are "
                               "forgiven. Lucene syntax is read as plain text.")
    limit: int = Field(10, ge=1, le=recommend.MAX_LIMIT, description="At most this many songs.")


_MAX_PER_ARTIST = "At most this many songs by one artist (0: no cap)."


class RecommendationsQuery(QueryModel):
    """``GET /api/songs/{song_id}/recommendations``."""

    k: int = Field(10, ge=1, le=recommend.MAX_K, description="How many recommendations.")
    max_per_artist: int = Field(recommend.SONG_MAX_PER_ARTIST, ge=0, le=recommend.MAX_K,
                                description=_MAX_PER_ARTIST)


class SeedsQuery(QueryModel):
    """``GET /api/recommendations``."""

    seeds: str = Field(pattern=HAS_SEED,
                       description=f"Comma-separated song ids, 1 to {recommend.MAX_SEEDS} "
                                   "(duplicates and blanks are ignored), each at most 200 "
                                   "characters.",
                       json_schema_extra={"allOf": [{"pattern": SEED_LIST}]})
    k: int = Field(10, ge=1, le=recommend.MAX_K, description="How many recommendations.")
    max_per_artist: int = Field(0, ge=0, le=recommend.MAX_K, description=_MAX_PER_ARTIST)

    @field_validator("seeds")
    @classmethod
    def _seed_list(cls, value: str) -> str:
        # The second pattern of the schema's allOf: Pydantic takes one pattern per field.
        if not _SEED_LIST_RE.match(value):
            raise ValueError(f"at most {recommend.MAX_SEEDS} seed ids of at most 200 "
                             "characters each")
        return value


class ExplainQuery(QueryModel):
    """``GET /api/explain``."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", max_length=MAX_ID_CHARS, pattern=SONG_ID,
                       description="One song's id.")
    to: str = Field(max_length=MAX_ID_CHARS, pattern=SONG_ID,
                    description="The other song's id (another song).")


# --- responses --------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error: what went wrong, and a detail when one helps."""

    error: str = Field(description="What went wrong, in one line.")
    detail: str | None = Field(description="More about it, or null.")
    status: dict[str, Any] | None = Field(
        None, description="/healthz only: the readiness report behind a 503.")


class SongSummary(BaseModel):
    """A song in a list."""

    id: str
    title: str | None
    artist: str | None = Field(description="Its artists' names, joined by ', '.")
    artists: list[str]
    album: str | None = Field(description="The album's name.")
    popularity: int | None
    release_year: int | None


class SearchHit(SongSummary):
    """A search result."""

    score: float = Field(description="Full-text relevance; higher is better.")


class SearchResponse(BaseModel):
    """Search results, best first."""

    query: str = Field(description="The query as searched (trimmed).")
    results: list[SearchHit]


class Album(BaseModel):
    """The album of a song."""

    id: str
    name: str | None
    release_date: str | None


class Genre(BaseModel):
    """A genre or subgenre."""

    name: str
    level: str | None


class Playlist(BaseModel):
    """A playlist."""

    id: str
    name: str | None


class SongDetails(BaseModel):
    """A song with its neighbourhood and its audio features."""

    id: str
    title: str | None = None
    popularity: int | None = None
    release_date: str | None = None
    release_year: int | None = None
    artist: str | None
    artists: list[str]
    album: Album | None
    genres: list[Genre]
    playlists: list[Playlist]
    features: dict[str, float] = Field(description="Spotify-style audio features.")
    embedded: bool = Field(description="Whether the song has an embedding yet.")


class PathNode(BaseModel):
    """A node on an explanation path."""

    key: str = Field(description="The node's id (a song's or album's id, a name otherwise).")
    label: str = Field(description="Song, Artist, Album, Playlist or Genre.")
    name: str | None


class PathRelationship(BaseModel):
    """A hop on an explanation path."""

    type: str
    score: float | None = Field(None, description="SIMILAR hops only: their similarity.")


class Path(BaseModel):
    """A real path in the graph, from a seed to the recommended song."""

    nodes: list[PathNode]
    relationships: list[PathRelationship]


class Recommendation(BaseModel):
    """One recommended song, why, and the path that shows it."""

    song: SongSummary
    score: float
    similarity: float
    reason: str
    path: Path


class RecommendationsResponse(BaseModel):
    """A song's recommendations."""

    seed: SongSummary
    recommendations: list[Recommendation]


class SeedsResponse(BaseModel):
    """Recommendations that continue a set of songs."""

    seeds: list[SongSummary]
    recommendations: list[Recommendation]


class ExplainedPath(Path):
    """A path with its one-line reading."""

    reason: str
    hops: int


class ExplainResponse(BaseModel):
    """The shortest real paths between two songs."""

    from_: SongSummary = Field(alias="from")
    to: SongSummary
    paths: list[ExplainedPath]


class HealthResponse(BaseModel):
    """Ready: Neo4j answers, both indexes are ONLINE, songs have embeddings."""

    status: str
    database: dict[str, Any]
    indexes: dict[str, str]
    embeddings: bool


def responses(ok: type[BaseModel], *errors: int,
              ) -> dict[str | int, type[BaseModel] | dict[Any, Any] | None]:
    """An operation's ``responses``: ``ok`` for 200, :class:`ErrorBody` for the errors."""
    out: dict[str | int, type[BaseModel] | dict[Any, Any] | None] = {200: ok}
    out.update({status: ErrorBody for status in errors})
    return out
