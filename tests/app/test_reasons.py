"""Reasons read off a path, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from app import recommend


def test_reason_for_an_artist_on_the_seeds_playlist() -> None:
    """A song without playlists reached through its artist's song on a seed's playlist."""
    path = {"nodes": [node("Song", "seed"), node("Playlist", "Pop Hits"), node("Song", "other"),
                      node("Artist", "Drake"), node("Song", "new")],
            "relationships": [{"type": "IN_PLAYLIST"}, {"type": "IN_PLAYLIST"}, {"type": "BY"},
                              {"type": "BY"}]}
    assert recommend.path_kind(path) == "artist_on_playlist"
    assert recommend.reason_for(path, "artist_on_playlist") == (
        "By Drake, also on the playlist 'Pop Hits'")


def node(label: str, name: str) -> dict[str, Any]:
    return {"key": name, "label": label, "name": name}


def two_hops(label: str, name: str, rel: str) -> dict[str, Any]:
    return {"nodes": [node("Song", "seed"), node(label, name), node("Song", "rec")],
            "relationships": [{"type": rel}, {"type": rel}]}


@pytest.mark.parametrize(("path", "kind", "reason"), [
    (two_hops("Artist", "Queen", "BY"), "artist", "Also by Queen"),
    (two_hops("Album", "A Night at the Opera", "ON"), "album",
     "From the same album 'A Night at the Opera'"),
    (two_hops("Playlist", "Rock", "IN_PLAYLIST"), "playlist", "On the same playlist 'Rock'"),
    (two_hops("Genre", "hard rock", "HAS_GENRE"), "subgenre", "Also in the subgenre 'hard rock'"),
    (two_hops("Genre", "rock", "HAS_GENRE"), "genre", "Also in the genre 'rock'"),
    ({"nodes": [node("Song", "seed"), node("Song", "mid"), node("Song", "rec")],
      "relationships": [{"type": "SIMILAR", "score": 0.9}, {"type": "SIMILAR", "score": 0.9}]},
     "similar", "Sounds alike (81% similar), 2 hops"),
])
def test_the_reason_follows_the_kind_of_path(path: dict[str, Any], kind: str,
                                             reason: str) -> None:
    assert recommend.reason_for(path, kind) == reason
    assert recommend.reason_for(path, kind, seed_title="Seed") == f"{reason} (like 'Seed')"
    # Read off its shape, the path is of the same kind (genre levels need the query).
    assert recommend.path_kind(path) == ("genre" if kind == "subgenre" else kind)
