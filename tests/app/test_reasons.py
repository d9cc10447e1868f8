"""Reasons read off a path, without a database."""

from __future__ import annotations

from typing import Any

from app import recommend


def test_reason_for_an_artist_on_the_seeds_playlist() -> None:
    """A song without playlists reached through its artist's song on a seed's playlist."""
    def node(label: str, name: str) -> dict[str, Any]:
        return {"key": name, "label": label, "name": name}

    path = {"nodes": [node("Song", "seed"), node("Playlist", "Pop Hits"), node("Song", "other"),
                      node("Artist", "Drake"), node("Song", "new")],
            "relationships": [{"type": "IN_PLAYLIST"}, {"type": "IN_PLAYLIST"}, {"type": "BY"},
                              {"type": "BY"}]}
    assert recommend.reason_for(path) == "By Drake, also on the playlist 'Pop Hits'"
