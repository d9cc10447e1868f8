"""The playlist builder's state and exports, without a database: parsing the URL's
values, the next state of every action, and the CSV and URI files."""

from __future__ import annotations

import csv
import io

import pytest

from app import graph, picks, recommend
from app.playlist import MAX_SONGS, Playlist, csv_text, export_name, uri_text
from musicgraph.errors import InputError


def test_parse_drops_blanks_and_repeats_and_keeps_order() -> None:
    pl = Playlist.parse(" b, a,,b , c ", 2, "  Road   trip 🚗 ")
    assert pl.ids == ("b", "a", "c")
    assert pl.max_per_artist == 2
    assert pl.name == "Road trip 🚗"


@pytest.mark.parametrize("songs, cap, name, message", [
    (",".join(f"s{i}" for i in range(MAX_SONGS + 1)), 0, "", f"at most {MAX_SONGS} songs"),
    ("x" * 201, 0, "", "too long"),
    ("a", 0, "n" * 101, "at most 100 characters"),
    ("a", recommend.MAX_K + 1, "", "max_per_artist"),
])
def test_parse_refuses_what_the_ranking_cannot_take(songs: str, cap: int, name: str,
                                                    message: str) -> None:
    with pytest.raises(InputError, match=message):
        Playlist.parse(songs, cap, name)


def test_query_leaves_defaults_out_so_links_stay_short() -> None:
    assert Playlist().query() == {}
    assert Playlist(("a", "b"), 0, "").query() == {"songs": "a,b"}
    assert Playlist(("a",), 3, "Mix").query(q="x", add="") == {
        "songs": "a", "max_per_artist": 3, "name": "Mix", "q": "x"}


def test_actions_give_the_next_state() -> None:
    pl = Playlist(("a", "b", "c"), 2, "Mix")
    assert pl.adding("d").ids == ("a", "b", "c", "d")
    assert pl.adding("b") is pl  # already there
    assert pl.removing("b").ids == ("a", "c")
    assert pl.moving("c", -1).ids == ("a", "c", "b")
    assert pl.moving("a", 1).ids == ("b", "a", "c")
    assert pl.moving("a", -1).ids == ("a", "b", "c")  # the first stays first
    assert pl.moving("c", 1).ids == ("a", "b", "c")
    assert pl.moving("zz", 1) is pl
    assert pl.keeping(["c", "a"]).ids == ("a", "c")
    # Every action keeps the cap and the name.
    for nxt in (pl.adding("d"), pl.removing("a"), pl.moving("b", 1)):
        assert (nxt.max_per_artist, nxt.name) == (2, "Mix")


def test_a_full_playlist_takes_no_more_songs() -> None:
    pl = Playlist(tuple(f"s{i}" for i in range(MAX_SONGS)))
    assert pl.full
    assert pl.adding("new") is pl
    assert not Playlist(("a",)).full


def test_caps_offer_the_choices_and_the_current_value() -> None:
    assert Playlist(max_per_artist=0).caps() == [0, 1, 2, 3, 5]
    assert Playlist(max_per_artist=7).caps() == [0, 1, 2, 3, 5, 7]


SONGS = [
    {"id": "4uLU6hMCjMI75M1A2tKUQC", "title": "Never Gonna Give You Up",
     "artist": "Rick Astley", "album": "Whenever You Need Somebody"},
    {"id": "x2", "title": "夜に駆ける, \"live\"", "artist": "YOASOBI", "album": None},
    {"id": "x3", "title": "=HYPERLINK(\"http://evil\")", "artist": "@mention", "album": "-1"},
]


def test_csv_export_has_a_header_and_one_row_per_song_in_order() -> None:
    text = csv_text(SONGS)
    assert text.startswith("position,id,title,artist,album,spotify_uri\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["position"] for r in rows] == ["1", "2", "3"]
    assert rows[0] == {"position": "1", "id": "4uLU6hMCjMI75M1A2tKUQC",
                       "title": "Never Gonna Give You Up", "artist": "Rick Astley",
                       "album": "Whenever You Need Somebody",
                       "spotify_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC"}
    assert rows[1]["title"] == '夜に駆ける, "live"' and rows[1]["album"] == ""


def test_csv_export_keeps_a_spreadsheet_from_running_a_title() -> None:
    row = list(csv.DictReader(io.StringIO(csv_text(SONGS))))[2]
    assert row["title"] == "'=HYPERLINK(\"http://evil\")"
    assert row["artist"] == "'@mention" and row["album"] == "'-1"
    assert row["spotify_uri"] == "spotify:track:x3"


def test_uri_export_is_one_spotify_uri_per_line() -> None:
    assert uri_text(SONGS) == ("spotify:track:4uLU6hMCjMI75M1A2tKUQC\n"
                               "spotify:track:x2\nspotify:track:x3\n")
    assert uri_text([]) == ""


@pytest.mark.parametrize("name, expected", [
    ("", "playlist.csv"), ("Road trip 🚗", "Road trip 🚗.csv"),
    ('a/b\\c:d*e?"f<g>h|i', "a-b-c-d-e-f-g-h-i.csv"), ("..", "playlist.csv"),
])
def test_export_name(name: str, expected: str) -> None:
    assert export_name(name, "csv") == expected


def test_match_shows_a_score_as_a_percentage() -> None:
    assert graph.match(0.362) == "match 36%"
    assert graph.match(1.0) == "match 100%"
    assert graph.match(0.004) == "match 0%"


def test_picker_label() -> None:
    assert picks.label({"id": "a", "title": "Song", "artist": "Band"}) == "Song — Band"
    assert picks.label({"id": "a", "title": None, "artist": None}) == "a — unknown artist"
