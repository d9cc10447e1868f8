"""The playlist builder: a playlist is its song ids in the URL, so it can be shared.

``/playlist?songs=id1,id2,id3&max_per_artist=0&name=…`` is the whole state: every action
on the page (add, remove, move, cap the songs by one artist, rename) is a link or a GET
form to the next state's URL, so each works without JavaScript and reloads to the same
playlist. This module holds that state, what the page shows for it, and the exports;
the ranking itself is :func:`app.recommend.recommend_for_seeds`, called as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app import get_cache, get_ranker, recommend
from musicgraph.db import Database
from musicgraph.errors import InputError, ModelError

#: A playlist is the seed set of its continuation, so it holds what a seed set may.
MAX_SONGS = recommend.MAX_SEEDS
MAX_NAME_CHARS = 100
MAX_ID_CHARS = 200
#: Songs listed for a search on the page (the picker's search-as-you-type asks for 8).
SEARCH_RESULTS = 10
#: The caps the page offers; any other valid value from the URL is offered as well.
CAP_CHOICES = (0, 1, 2, 3, 5)
CSV_COLUMNS = ("position", "id", "title", "artist", "album", "spotify_uri")
#: A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Playlist:
    """The builder's whole state, as carried in the query string.

    Attributes:
        ids: song ids in playlist order, no duplicates.
        max_per_artist: cap on songs by one artist in the continuation (0: no cap).
        name: the listener's name for the playlist ('' when unnamed).
    """

    ids: tuple[str, ...] = ()
    max_per_artist: int = 0
    name: str = ""

    @classmethod
    def parse(cls, songs: str, max_per_artist: int = 0, name: str = "") -> Playlist:
        """The playlist named by the query string's values.

        Args:
            songs: comma-separated song ids; blanks and repeats are dropped.
            max_per_artist: the cap (already parsed as a whole number).
            name: the playlist's name.

        Raises:
            InputError: more than MAX_SONGS songs, an id or the name too long, or a cap
                outside 0..MAX_K.
        """
        ids = tuple(dict.fromkeys(s.strip() for s in songs.split(",") if s.strip()))
        if len(ids) > MAX_SONGS:
            raise InputError(f"a playlist holds at most {MAX_SONGS} songs", f"got {len(ids)}")
        if any(len(i) > MAX_ID_CHARS for i in ids):
            raise InputError("a song id is too long", f"at most {MAX_ID_CHARS} characters")
        name = " ".join(name.split())
        if len(name) > MAX_NAME_CHARS:
            raise InputError(f"the playlist name must be at most {MAX_NAME_CHARS} characters",
                             f"got {len(name)}")
        return cls(ids, recommend.check_max_per_artist(max_per_artist), name)

    @property
    def full(self) -> bool:
        """Whether no song can be added."""
        return len(self.ids) >= MAX_SONGS

    def query(self, **extra: Any) -> dict[str, Any]:
        """The query arguments of this playlist's URL (for ``url_for``), defaults left out
        so a shared link stays short; ``extra`` arguments are added when not empty."""
        args: dict[str, Any] = {}
        if self.ids:
            args["songs"] = ",".join(self.ids)
        if self.max_per_artist:
            args["max_per_artist"] = self.max_per_artist
        if self.name:
            args["name"] = self.name
        args.update({k: v for k, v in extra.items() if v})
        return args

    def adding(self, song_id: str) -> Playlist:
        """The playlist with ``song_id`` at the end (unchanged when present or full)."""
        if song_id in self.ids or self.full:
            return self
        return replace(self, ids=(*self.ids, song_id))

    def removing(self, song_id: str) -> Playlist:
        """The playlist without ``song_id``."""
        return replace(self, ids=tuple(i for i in self.ids if i != song_id))

    def moving(self, song_id: str, offset: int) -> Playlist:
        """The playlist with ``song_id`` moved ``offset`` places (-1: up), kept in bounds."""
        ids = list(self.ids)
        if song_id not in ids:
            return self
        at = ids.index(song_id)
        to = min(max(at + offset, 0), len(ids) - 1)
        ids.insert(to, ids.pop(at))
        return replace(self, ids=tuple(ids))

    def keeping(self, ids: Sequence[str]) -> Playlist:
        """The playlist with only the songs ``ids`` (in its own order)."""
        keep = set(ids)
        return replace(self, ids=tuple(i for i in self.ids if i in keep))

    def caps(self) -> list[int]:
        """The caps the page offers: CAP_CHOICES plus the current one."""
        return sorted({*CAP_CHOICES, self.max_per_artist})


@dataclass
class Builder:
    """What the builder page shows for a playlist.

    Attributes:
        playlist: the playlist, unknown ids left out (every link builds on it).
        songs: its songs' summaries, in order.
        missing: ids in the URL that match no song.
        q: the search text ('' when none).
        results: the songs the search found (None without a search).
        search_problem: why the search text could not be searched, if so.
        recommendations: the continuation, best first.
        unavailable: why there is no continuation, when the songs have no embedding.
    """

    playlist: Playlist
    songs: list[dict[str, Any]]
    missing: list[str]
    q: str = ""
    results: list[dict[str, Any]] | None = None
    search_problem: str | None = None
    recommendations: list[recommend.Recommendation] = field(default_factory=list)
    unavailable: str | None = None


def load_songs(db: Database, ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The summaries of the known songs among ``ids`` (in order), and the unknown ids.

    Unlike :func:`app.recommend.songs_by_id`, an unknown id is not an error here: a shared
    link may name a song that has since left the catalogue, and the rest still plays.
    """
    rows = {r["id"]: r for r in db.read("app/songs", ids=list(ids))}
    songs = [recommend.song_summary(rows[i]) for i in ids if i in rows]
    return songs, [i for i in ids if i not in rows]


def builder(db: Database, playlist: Playlist, q: str = "", k: int = 10) -> Builder:
    """The builder page's content: the songs, a search's results and the continuation.

    Raises:
        DatabaseUnavailableError: Neo4j is away or the vector index is missing.
    """
    songs, missing = load_songs(db, playlist.ids)
    view = Builder(playlist.keeping([s["id"] for s in songs]), songs, missing, q=q.strip())
    if view.q:
        try:
            view.results = recommend.search(db, view.q, SEARCH_RESULTS)
            if not view.results and not recommend.lucene_clauses(view.q):
                # Symbols only: the search finds nothing, and the reader should know why.
                view.search_problem = "the search text has no letters or digits to look for"
        except InputError as exc:
            # Text with nothing to search for is the reader's to fix, shown beside the box.
            view.search_problem = exc.message
            view.results = []
    if songs:
        try:
            _, view.recommendations = recommend.recommend_for_seeds(
                db, view.playlist.ids, k, max_per_artist=playlist.max_per_artist,
                ranker=get_ranker(), cache=get_cache())
        except ModelError as exc:
            # The playlist still shows before training; only the continuation is missing.
            view.unavailable = exc.message
    return view


# --- exports ----------------------------------------------------------------------------
def spotify_uri(song_id: str) -> str:
    """The Spotify URI of a track id (the bundled data's ids are Spotify's)."""
    return f"spotify:track:{song_id}"


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets an
    apostrophe in front (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(songs: Sequence[dict[str, Any]]) -> str:
    """The playlist as CSV: a header, then position, id, title, artist, album and
    Spotify URI per song (RFC 4180: comma-separated, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for n, s in enumerate(songs, 1):
        writer.writerow([n, _cell(s["id"]), _cell(s.get("title")), _cell(s.get("artist")),
                         _cell(s.get("album")), spotify_uri(s["id"])])
    return out.getvalue()


def uri_text(songs: Sequence[dict[str, Any]]) -> str:
    """One ``spotify:track:<id>`` per line, in playlist order (what Spotify's desktop app
    accepts pasted into a playlist)."""
    return "".join(spotify_uri(s["id"]) + "\n" for s in songs)


def export_name(name: str, extension: str) -> str:
    """The download's file name: the playlist's name (or "playlist") and ``extension``;
    characters a file system may refuse become '-'."""
    stem = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', "-", name).strip(" .-") or "playlist"
    return f"{stem}.{extension}"


def export_songs(db: Database, playlist: Playlist) -> list[dict[str, Any]]:
    """The playlist's songs for an export, in order.

    Raises:
        NotFoundError: an id matches no song (an export never leaves a song out silently).
    """
    return recommend.songs_by_id(db, playlist.ids) if playlist.ids else []
