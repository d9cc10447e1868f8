"""The ETL against a real Neo4j: column variants, --map, every rejection reason, fatal inputs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl import pipeline
from musicgraph.cli import cli
from musicgraph.db import Database, graph_counts
from musicgraph.errors import InputError
from tests.support import BUNDLED_COLUMNS, song, write_csv

pytestmark = pytest.mark.neo4j

QUIET = pipeline.EtlOptions(progress=False, batch_size=7)


def load(db: Database, path: Path, mapping: str | None = None) -> pipeline.EtlReport:
    return pipeline.run(db, csv_path=path, mapping=mapping, options=QUIET)


def read_rejects(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_bundled_layout_loads_graph_and_links(db: Database, tmp_path: Path) -> None:
    rows = [song(i) for i in range(20)] + [song(3, playlist_id="PL9", playlist_name="Extra")]
    report = load(db, write_csv(tmp_path / "s.csv", rows))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (21, 21, 0)
    counts = graph_counts(db)
    assert counts["Song"] == 20  # the repeated track is one Song
    assert counts["Artist"] == 3 and counts["Album"] == 4 and counts["Playlist"] == 3
    assert counts["IN_PLAYLIST"] == 21 and counts["BY"] == 20 and counts["ON"] == 20
    rec = db.run_auto(
        "MATCH (s:Song {id: 'T00003'}) RETURN s.title AS title, s.popularity AS pop, "
        "s.release_year AS year, s.key AS key, s.energy AS energy, "
        "[(s)-[:HAS_GENRE]->(g) | g.name] AS genres, "
        "[(s)-[:IN_PLAYLIST]->(p) | p.id] AS playlists"
    )[0]
    assert rec["title"] == "Song 3" and rec["pop"] == 13 and rec["year"] == 2013
    assert rec["key"] == 3 and rec["energy"] == pytest.approx(0.9 - 0.7 * 0.3, abs=1e-3)
    assert sorted(rec["genres"]) == ["dance pop", "pop"]
    assert sorted(rec["playlists"]) == ["PL1", "PL9"]
    sub = db.run_auto("MATCH (:Genre {name: 'dance pop'})-[:SUBGENRE_OF]->(g) RETURN g.name AS g")
    assert [r["g"] for r in sub] == ["pop"]


def _stats(db: Database) -> dict[str, tuple[int, int]]:
    rows = db.run_auto("MATCH (a:Artist) RETURN a.name AS k, a.playlists AS p, "
                       "a.placed_songs AS s UNION MATCH (al:Album) RETURN al.id AS k, "
                       "null AS p, al.placed_songs AS s")
    return {r["k"]: (r["p"], r["s"]) for r in rows}


def test_artist_and_album_playlist_stats_follow_every_load(db: Database, tmp_path: Path) -> None:
    """The served ranking reads these instead of counting per request: they must match
    the graph after each load, including songs that arrive from a second file."""
    no_playlist = {"playlist_id": "", "playlist_name": "", "playlist_genre": "",
                   "playlist_subgenre": ""}
    # Artist 0: songs 0, 3, 6, 9 on PL0/PL1 and song 12 on none; album AL0: 0, 4, 8, 12.
    load(db, write_csv(tmp_path / "a.csv", [song(i) for i in range(12)]
                       + [song(12, **no_playlist)]))
    stats = _stats(db)
    assert stats["Artist 0"] == (2, 4) and stats["AL0"] == (None, 3)
    # A second file puts song 12 on a third playlist: both counts move.
    load(db, write_csv(tmp_path / "b.csv", [song(12, playlist_id="PL7", playlist_name="New")]))
    stats = _stats(db)
    assert stats["Artist 0"] == (3, 5) and stats["AL0"] == (None, 4)
    # Every artist and album, against a fresh count.
    fresh = db.run_auto(
        "MATCH (a:Artist) RETURN a.name AS k, "
        "COUNT { MATCH (a)<-[:BY]-(:Song)-[:IN_PLAYLIST]->(p) RETURN DISTINCT p } AS p, "
        "COUNT { MATCH (a)<-[:BY]-(s:Song) WHERE EXISTS { (s)-[:IN_PLAYLIST]->() } } AS s "
        "UNION MATCH (al:Album) RETURN al.id AS k, null AS p, "
        "COUNT { MATCH (al)<-[:ON]-(s:Song) WHERE EXISTS { (s)-[:IN_PLAYLIST]->() } } AS s")
    assert stats == {r["k"]: (r["p"], r["s"]) for r in fresh}


def test_other_common_column_names(db: Database, tmp_path: Path) -> None:
    cols = ["id", "name", "artists", "popularity", "danceability", "energy", "key", "loudness",
            "mode", "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
            "tempo", "duration_ms", "genre"]
    rows = []
    for i in range(5):
        r = song(i)
        r.update(id=f"X{i}", name=f"Name {i}", artists="['Ann', 'Bob']", popularity=50,
                 genre="Jazz")
        rows.append(r)
    load(db, write_csv(tmp_path / "kaggle.csv", rows, cols))
    artists = db.run_auto("MATCH (:Song {id: 'X1'})-[:BY]->(a) RETURN a.name AS n ORDER BY n")
    assert [r["n"] for r in artists] == ["Ann", "Bob"]
    assert graph_counts(db)["Song"] == 5
    assert db.run_auto("MATCH (g:Genre) RETURN g.name AS n")[0]["n"] == "jazz"


def test_uri_ids_track_titles_and_semicolon_artists_in_gzip(db: Database, tmp_path: Path) -> None:
    cols = ["uri", "track", "artist_name", *BUNDLED_COLUMNS[11:]]
    rows = []
    for i in range(4):
        r = song(i)
        r.update(uri=f"spotify:track:abc{i}", track=f"T{i}", artist_name="Cat;Dog ; Cat")
        rows.append(r)
    load(db, write_csv(tmp_path / "u.csv.gz", rows, cols, gz=True))
    ids = db.run_auto("MATCH (s:Song) RETURN s.id AS id ORDER BY id")
    assert [r["id"] for r in ids] == ["abc0", "abc1", "abc2", "abc3"]
    artists = db.run_auto("MATCH (:Song {id: 'abc2'})-[:BY]->(a) RETURN a.name AS n ORDER BY n")
    assert [r["n"] for r in artists] == ["Cat", "Dog"]


def test_map_names_any_other_column(db: Database, tmp_path: Path) -> None:
    cols = ["song_key", "song_title", "performer", *[f"f_{c}" for c in BUNDLED_COLUMNS[11:]]]
    rows = []
    for i in range(3):
        r = song(i)
        rows.append({"song_key": f"K{i}", "song_title": f"Title {i}", "performer": "Zed",
                     **{f"f_{c}": r[c] for c in BUNDLED_COLUMNS[11:]}})
    mapping = "id=song_key,title=song_title,artist=performer," + ",".join(
        f"{c}=f_{c}" for c in BUNDLED_COLUMNS[11:])
    report = load(db, write_csv(tmp_path / "m.csv", rows, cols), mapping)
    assert report.rows_loaded == 3
    rec = db.run_auto("MATCH (s:Song {id: 'K2'})-[:BY]->(a) RETURN s.title AS t, a.name AS a")
    assert rec == [{"t": "Title 2", "a": "Zed"}]


def test_empty_optional_fields_load_the_song_without_links(db: Database, tmp_path: Path) -> None:
    blank = {c: "" for c in ("track_name", "track_artist", "track_album_id", "track_album_name",
                             "playlist_name", "playlist_id", "playlist_genre", "playlist_subgenre",
                             "track_popularity", "track_album_release_date")}
    rows = [song(0, **blank), song(1, track_name="NA", track_artist="NA", track_album_name="NA")]
    report = load(db, write_csv(tmp_path / "e.csv", rows))
    assert report.rows_loaded == 2
    rels = db.run_auto("MATCH (:Song {id: 'T00000'})-[r]->() WHERE type(r) <> 'SIMILAR' "
                       "RETURN count(r) AS n")
    assert rels[0]["n"] == 0
    t1 = db.run_auto("MATCH (s:Song {id: 'T00001'}) RETURN s.title AS t, "
                     "COUNT { (s)-[:BY]->() } AS by")
    assert t1 == [{"t": None, "by": 0}]


REJECT_CASES = [
    ({"track_id": ""}, "missing id"),
    ({"energy": ""}, "missing feature energy"),
    ({"energy": "loud"}, "non-numeric feature energy: 'loud'"),
    ({"tempo": "inf"}, "non-numeric feature tempo: 'inf'"),
    ({"danceability": "1.2"}, "danceability out of range (0..1): 1.2"),
    ({"valence": "-0.1"}, "valence out of range (0..1): -0.1"),
    ({"key": "12"}, "key out of range (-1..11): 12"),
    ({"key": "2.5"}, "key out of range (-1..11): 2.5"),
    ({"mode": "2"}, "mode out of range (0 or 1): 2"),
    ({"tempo": "-3"}, "tempo out of range (>= 0): -3"),
    ({"duration_ms": "0"}, "duration_ms out of range (> 0): 0"),
    ({"track_popularity": "101"}, "popularity out of range (0..100 or empty): '101'"),
]


def test_every_rejection_reason_is_recorded(db: Database, tmp_path: Path) -> None:
    rows = [song(100 + i, **bad) for i, (bad, _) in enumerate(REJECT_CASES)]
    rows += [song(i) for i in range(5)]
    path = write_csv(tmp_path / "bad.csv", rows)
    # A row with a field too few, and one with a field too many.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("T99998,short row\n")
        fh.write(",".join(str(song(99999)[c]) for c in BUNDLED_COLUMNS) + ",extra\n")
    report = load(db, path)
    assert report.rows_read == len(REJECT_CASES) + 7
    assert report.rows_loaded == 5
    assert report.rows_rejected == len(REJECT_CASES) + 2
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    rejects = read_rejects(tmp_path / "bad.rejects.csv")
    assert [r["reason"] for r in rejects[: len(REJECT_CASES)]] == [r for _, r in REJECT_CASES]
    assert rejects[-2]["reason"] == "wrong number of fields: expected 23, got 2"
    assert rejects[-1]["reason"] == "wrong number of fields: expected 23, got 24"
    assert [int(r["line"]) for r in rejects[:2]] == [2, 3]
    assert rejects[0]["track_name"] == "Song 100"  # the original row is kept
    assert graph_counts(db)["Song"] == 5


def test_several_problems_in_one_row_are_all_named(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "two.csv", [song(1, track_id="", energy="x", mode="7")])
    load(db, path)
    reason = read_rejects(tmp_path / "two.rejects.csv")[0]["reason"]
    assert reason == "missing id; non-numeric feature energy: 'x'; mode out of range (0 or 1): 7"


def test_rejects_path_option(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "r.csv"
    out.parent.mkdir()
    report = pipeline.run(db, csv_path=write_csv(tmp_path / "a.csv", [song(1, mode="9")]),
                          rejects_path=out, options=QUIET)
    assert report.rows_rejected == 1 and len(read_rejects(out)) == 1


def _fatal(tmp_path: Path) -> list[tuple[str, Path, str | None, str]]:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    noheader = tmp_path / "noheader.csv"
    noheader.write_text("4Uk,0.5,0.6,1,-5.0,1,0.1,0.2,0.0,0.1,0.5,120.0,200000\n")
    nocol = write_csv(tmp_path / "nocol.csv", [song(1)],
                      [c for c in BUNDLED_COLUMNS if c != "energy"])
    noid = write_csv(tmp_path / "noid.csv", [song(1)], BUNDLED_COLUMNS[1:])
    full = write_csv(tmp_path / "full.csv.gz", [song(i) for i in range(2000)], gz=True)
    badgz = tmp_path / "bad.csv.gz"
    badgz.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # cut off half-way
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"track_id,track_name\nX,Caf\xe9\n")
    good = write_csv(tmp_path / "good.csv", [song(1)])
    return [
        ("missing", tmp_path / "nope.csv", None, "no such file"),
        ("empty", empty, None, "the file is empty"),
        ("no header", noheader, None, "no header row"),
        ("column absent", nocol, None, "required column(s) missing: energy"),
        ("id absent", noid, None, "required column(s) missing: id (one of track_id"),
        ("damaged gzip", badgz, None, "damaged gzip data"),
        ("not utf-8", latin, None, "not UTF-8 text"),
        ("bad map", good, "id=nonesuch", "no column 'nonesuch' in the header"),
        ("unknown field", good, "colour=track_name", "unknown field 'colour'"),
    ]


def test_fatal_inputs_raise_and_load_nothing(db: Database, tmp_path: Path) -> None:
    for name, path, mapping, message in _fatal(tmp_path):
        with pytest.raises(InputError) as info:
            load(db, path, mapping)
        assert message in info.value.message, name
        assert str(path) in info.value.message or "--map" in info.value.message, name
    assert graph_counts(db) == {}


@pytest.mark.usefixtures("neo4j_env")
def test_cli_fatal_input_is_one_clear_line_and_nonzero(db: Database, tmp_path: Path) -> None:
    runner = CliRunner()
    for name, path, mapping, message in _fatal(tmp_path):
        args = ["etl", "--csv", str(path)] + (["--map", mapping] if mapping else [])
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], name
        assert "Traceback" not in result.output
    assert graph_counts(db) == {}


def test_header_only_file_loads_zero_rows(db: Database, tmp_path: Path) -> None:
    report = load(db, write_csv(tmp_path / "h.csv", []))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (0, 0, 0)


@pytest.mark.usefixtures("neo4j_env")
def test_cli_etl_prints_the_balance(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [song(i) for i in range(6)] + [song(7, key="x")])
    result = CliRunner().invoke(cli, ["etl", "--csv", str(path), "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "7 rows read = 6 loaded + 1 rejected" in result.output
    assert "SIMILAR graph:" in result.output
