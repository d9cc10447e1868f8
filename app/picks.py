"""Song pickers: what a reader typed into a song box, resolved to a song.

A picker is a text box (``<name>_q``: a song id or search text) and a hidden input
(``<name>``: the chosen song's id). With JavaScript the search-as-you-type list fills the
hidden id; without it, the server resolves the text: an exact id, else the best search
hit, with the other hits offered. Ids alone in the URL (``?from=ID&to=ID``) still work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app import recommend
from musicgraph.db import Database
from musicgraph.errors import InputError, NotFoundError

#: Matches listed for a typed text, the first one picked.
CHOICES = 8
MAX_ID_CHARS = 200


def label(song: dict[str, Any]) -> str:
    """How a picker shows a chosen song: "Title — Artist"."""
    return f"{song.get('title') or song['id']} — {song.get('artist') or 'unknown artist'}"


@dataclass
class Pick:
    """One picker's outcome.

    Attributes:
        text: what the box shows (the chosen song's label once one is picked).
        song: the picked song's summary, or None.
        others: the other songs the text matched, best first.
        problem: why nothing was picked for a non-empty text.
    """

    text: str = ""
    song: dict[str, Any] | None = None
    others: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None

    @property
    def typed(self) -> bool:
        """Whether the reader gave anything at all."""
        return bool(self.text or self.song)


def pick(db: Database, song_id: str, text: str) -> Pick:
    """Resolve one picker.

    Args:
        db: the database.
        song_id: the hidden input's (or the URL's) id; used as long as the text box is
            empty or still shows that song's label.
        text: the text box: a song id or search text.

    Raises:
        NotFoundError: ``song_id`` matches no song and no text stands in for it.
    """
    song_id, text = song_id.strip(), " ".join(text.split())
    if song_id:
        chosen = _find(db, song_id)
        if chosen is not None and (not text or text == " ".join(label(chosen).split())):
            return Pick(label(chosen), chosen)
        if chosen is None and not text:
            raise NotFoundError(f"no song with id {song_id!r}")
    if not text:
        return Pick()
    exact = _find(db, text)
    if exact is not None:
        return Pick(label(exact), exact)
    try:
        hits = recommend.search(db, text, CHOICES)
    except InputError as exc:
        return Pick(text, problem=exc.message)
    if not hits:
        return Pick(text, problem=f"no song or artist matches “{text}”")
    return Pick(label(hits[0]), hits[0], others=hits[1:])


def _find(db: Database, song_id: str) -> dict[str, Any] | None:
    """The song whose id is ``song_id``, or None."""
    if len(song_id) > MAX_ID_CHARS:
        return None
    rows = db.read("app/songs", ids=[song_id])
    return recommend.song_summary(rows[0]) if rows else None
