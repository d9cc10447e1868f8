"""What a listener sees in a list: no other version of a seed, no two versions of one
song, and at most ``max_per_artist`` songs by one artist (3 by default for a single
song, no cap for a seed set). On a graph loaded by the real ETL into the real Neo4j."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from flask.testing import FlaskClient

from app import recommend
from app.versions import version_keys
from gnn.writeback import write_embeddings
from musicgraph.db import Database
from tests.support import fixture_ranker, record_fixture_model, song, write_csv

pytestmark = pytest.mark.neo4j

QUEEN = {
    "Q1": "Bohemian Rhapsody - 2011 Mix", "Q2": "Bohemian Rhapsody - Remastered 2011",
    "Q3": "We Will Rock You", "Q4": "We Will Rock You - Remastered",
    "Q5": "Don't Stop Me Now", "Q6": "Somebody To Love", "Q7": "Radio Ga Ga",
}
OTHERS = [f"X{i}" for i in range(8)]


@pytest.fixture
def queen(db: Database, tmp_path: Path) -> Database:
    """Seven Queen songs (two pairs of versions) and eight by other artists, one playlist;
    the embedding puts every Queen song nearest the seed Q1."""
    rows = [song(i, track_id=sid, track_name=title, track_artist="Queen",
                 playlist_id="PL0", playlist_name="Rock")
            for i, (sid, title) in enumerate(QUEEN.items())]
    rows += [song(20 + i, track_id=sid, track_name=f"Other {i}", track_artist=f"Band {i % 4}",
                  playlist_id="PL0", playlist_name="Rock") for i, sid in enumerate(OTHERS)]
    from etl import pipeline

    pipeline.run(db, write_csv(tmp_path / "songs.csv", rows), rejects_path=tmp_path / "r.csv",
                 options=pipeline.EtlOptions(progress=False))
    ids = list(QUEEN) + OTHERS
    rng = np.random.default_rng(0)
    vecs = np.stack([np.r_[1.0, 0.05 * rng.normal(size=7)] if sid in QUEEN
                     else np.r_[0.2, rng.normal(size=7)] for sid in ids])
    write_embeddings(db, ids, torch.from_numpy(vecs).float(), full=True, progress=False)
    record_fixture_model(db)
    return db


def versions_clash(titles_by_id: dict[str, str], ids: list[str]) -> bool:
    keys = [version_keys(["Queen"], titles_by_id[i]) for i in ids if i in titles_by_id]
    return any(a & b for n, a in enumerate(keys) for b in keys[n + 1:])


def test_no_version_of_the_seed_and_no_two_versions(queen: Database) -> None:
    _, recs = recommend.recommend_for_song(queen, "Q1", 20, max_per_artist=0, ranker=fixture_ranker())
    ids = [r.song["id"] for r in recs]
    assert "Q2" not in ids  # another version of the seed
    assert not ("Q3" in ids and "Q4" in ids)  # two versions of one song
    assert not versions_clash(QUEEN, ["Q1", *ids])
    # Uncapped, the embedding's favourites (Queen) lead; the versions' places go to others.
    assert {"Q5", "Q6", "Q7"} <= set(ids) and len(ids) == len(QUEEN) + len(OTHERS) - 3


def test_cap_limits_songs_by_one_artist(queen: Database) -> None:
    _, recs = recommend.recommend_for_song(queen, "Q1", 10, ranker=fixture_ranker())  # the default cap: 3
    by_artist = Counter(r.song["artist"] for r in recs)
    assert by_artist["Queen"] == recommend.SONG_MAX_PER_ARTIST and len(recs) == 10
    _, recs = recommend.recommend_for_song(queen, "Q1", 10, max_per_artist=1, ranker=fixture_ranker())
    assert max(Counter(r.song["artist"] for r in recs).values()) == 1
    assert len(recs) == 5  # Queen and the four other bands, one each


def test_a_seed_set_has_no_cap_unless_asked(queen: Database) -> None:
    _, recs = recommend.recommend_for_seeds(queen, ["Q1", "Q5"], 10, ranker=fixture_ranker())
    assert Counter(r.song["artist"] for r in recs)["Queen"] == 3  # Q3 or Q4, Q6, Q7
    _, recs = recommend.recommend_for_seeds(queen, ["Q1", "Q5"], 10, max_per_artist=2, ranker=fixture_ranker())
    assert Counter(r.song["artist"] for r in recs)["Queen"] == 2


def test_api_takes_max_per_artist(queen: Database, client: FlaskClient) -> None:
    def artists(url: str) -> Counter[str]:
        r = client.get(url)
        assert r.status_code == 200, r.get_json()
        return Counter(x["song"]["artist"] for x in r.get_json()["recommendations"])

    assert artists("/api/songs/Q1/recommendations?k=10")["Queen"] == 3
    assert artists("/api/songs/Q1/recommendations?k=10&max_per_artist=0")["Queen"] == 4
    assert artists("/api/songs/Q1/recommendations?k=10&max_per_artist=1")["Queen"] == 1
    assert artists("/api/recommendations?seeds=Q1,Q5&k=10")["Queen"] == 3
    assert artists("/api/recommendations?seeds=Q1,Q5&k=10&max_per_artist=1")["Queen"] == 1
    for bad in ("-1", "101", "x", "1.5"):
        r = client.get(f"/api/songs/Q1/recommendations?max_per_artist={bad}")
        assert r.status_code == 400 and "max_per_artist" in r.get_json()["error"]
    page = client.get("/songs/Q1?max_per_artist=1").get_data(as_text=True)
    assert page.count("Also by Queen") + page.count("Queen") >= 1


def test_a_cap_never_shortens_the_list(queen: Database) -> None:
    # The embedding ranks every Queen song first; with a cap of 1 the list must reach past
    # them to the other artists' songs, however far down the ranking they sit.
    _, recs = recommend.recommend_for_song(queen, "Q1", 10, max_per_artist=1,
                                           ranker=fixture_ranker({"emb_sim": 5.0}))
    artists = [r.song["artist"] for r in recs]
    # One song by each of the five artists (Queen and Band 0-3): every artist is reached.
    assert sorted(artists) == ["Band 0", "Band 1", "Band 2", "Band 3", "Queen"]
