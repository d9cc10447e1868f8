"""Versions of one song, told apart from different songs by their titles alone."""

from __future__ import annotations

import pytest

from app.versions import title_key, version_keys


@pytest.mark.parametrize(("a", "b"), [
    ("Bohemian Rhapsody - 2011 Mix", "Bohemian Rhapsody - Remastered 2011"),
    ("Take on Me", "Take On Me - Kygo Remix"),
    ("Warm (feat. HAIM)", "Warm"),
    ("Faith (with Dolly Parton) [feat. Mr. Probz]", "Faith - Acoustic"),
    ("Don't Stop Me Now (Live)", "Don't Stop Me Now"),
    ("Ghosts (feat. Melissa Ramsay) [Extended Mix]", "Ghosts"),
    ("Dark Horse feat. Juicy J", "Dark Horse"),
    ("Like a Rolling Stone - Live at Royal Albert Hall, London, UK - May 26, 1966",
     "Like a Rolling Stone"),
    ("Fortunate Son", "Fortunate Son"),
    ("CAFÉ", "Café"),
])
def test_versions_share_a_title_key(a: str, b: str) -> None:
    assert title_key(a) == title_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("Elevators (Me & You)", "Elevators"),  # a group that is part of the name stays
    ("(I Can't Get No) Satisfaction", "Satisfaction"),
    ("Love Me", "Love Me Do"),
    ("?", "+"),  # punctuation-only titles are their own keys
    ("Re-Wind", "Rewind The Track"),
])
def test_different_songs_keep_different_keys(a: str, b: str) -> None:
    assert title_key(a) != title_key(b)


def test_versions_need_a_shared_artist() -> None:
    queen = version_keys(["Queen"], "Bohemian Rhapsody - 2011 Mix")
    assert queen & version_keys(["Queen", "David Bowie"], "Bohemian Rhapsody (Live)")
    assert not queen & version_keys(["Panic! At The Disco"], "Bohemian Rhapsody")
    assert version_keys([], "Song") == set() and version_keys(["A"], None) == set()
