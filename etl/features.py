"""The fields the ETL knows: audio features with their documented ranges, and the
column names public Spotify datasets use for each field."""

from __future__ import annotations

from dataclasses import dataclass

from musicgraph.schema import AUDIO_FEATURES

#: The perceptual features the audio-similarity graph compares. Key, mode and
#: duration are left out: two songs do not sound alike because they share a key or
#: a length, and including them splits otherwise similar songs apart.
SIMILARITY_FEATURES: tuple[str, ...] = (
    "danceability", "energy", "loudness", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo",
)


@dataclass(frozen=True)
class Range:
    """A documented value range; ``integer`` values must be whole numbers."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    allowed: tuple[int, ...] | None = None

    def describe(self) -> str:
        if self.allowed is not None:
            return " or ".join(str(v) for v in self.allowed)
        if self.low is not None and self.high is not None:
            return f"{self.low:g}..{self.high:g}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return "a finite number"

    def contains(self, value: float) -> bool:
        if self.integer and not float(value).is_integer():
            return False
        if self.allowed is not None:
            return int(value) in self.allowed
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and value > self.high)


_UNIT = Range(0.0, 1.0)

#: Spotify's documented ranges (Web API reference, "Get Track's Audio Features").
FEATURE_RANGES: dict[str, Range] = {
    "danceability": _UNIT,
    "energy": _UNIT,
    "key": Range(-1, 11, integer=True),
    "loudness": Range(),
    "mode": Range(integer=True, allowed=(0, 1)),
    "speechiness": _UNIT,
    "acousticness": _UNIT,
    "instrumentalness": _UNIT,
    "liveness": _UNIT,
    "valence": _UNIT,
    "tempo": Range(0.0),
    "duration_ms": Range(0.0, low_open=True),
}

POPULARITY_RANGE = Range(0, 100)

#: Features stored as integers (whole-number ranges, and the duration in milliseconds);
#: the other features are floats. The bulk path's import headers follow the same rule.
INTEGER_FEATURES: frozenset[str] = frozenset(
    {f for f, r in FEATURE_RANGES.items() if r.integer} | {"duration_ms"})

#: Column names by field, most specific first. Matching ignores case and surrounding space.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("track_id", "id", "song_id", "spotify_id", "uri", "track_uri", "spotify_uri"),
    "title": ("track_name", "name", "track", "title", "song", "song_name"),
    "artist": ("track_artist", "artists", "artist", "artist_name", "artist_names"),
    "album_id": ("track_album_id", "album_id"),
    "album": ("track_album_name", "album", "album_name"),
    "release_date": ("track_album_release_date", "release_date", "album_release_date", "year"),
    "popularity": ("track_popularity", "popularity"),
    "playlist_id": ("playlist_id",),
    "playlist": ("playlist_name", "playlist"),
    "genre": ("playlist_genre", "genre", "track_genre"),
    "subgenre": ("playlist_subgenre", "subgenre"),
    **{f: (f,) for f in AUDIO_FEATURES},
}

REQUIRED_FIELDS: tuple[str, ...] = ("id", *AUDIO_FEATURES)

#: Cell values that mean "no value" (the bundled data writes NA, as R does).
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null"})
