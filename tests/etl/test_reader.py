"""Cell parsers of the CSV reader."""

from __future__ import annotations

from etl.reader import parse_artists, parse_song_id


def test_parsers() -> None:
    assert parse_song_id("spotify:track:6f807x0ima9a1j3VPbc7VN") == "6f807x0ima9a1j3VPbc7VN"
    assert parse_song_id("https://open.spotify.com/track/6f807x?si=1") == "6f807x"
    assert parse_song_id("plain") == "plain"
    assert parse_artists("['A', \"B's\"]") == ["A", "B's"]
    assert parse_artists("Earth, Wind & Fire") == ["Earth, Wind & Fire"]
    assert parse_artists("A; B;A") == ["A", "B"]
    assert parse_artists(None) == []
