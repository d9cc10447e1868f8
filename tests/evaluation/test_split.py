"""The split hides exactly the hidden memberships and keeps every song's catalogue data;
loaded by the real ETL, the training rows give no hidden link or genre."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from etl import pipeline
from evaluation.split import MEMBERSHIP_COLUMNS, Split, read_rows, split_rows
from musicgraph.db import Database
from tests import support
from tests.support import BUNDLED_COLUMNS, GENRES, eval_rows_csv, memberships


def test_split_partitions_memberships_and_keeps_catalogue(tmp_path: Path):
    rows = read_rows(eval_rows_csv(tmp_path))
    split = split_rows(rows, seed=7, hide_fraction=0.3)
    pairs = set(zip(rows["track_id"], rows["playlist_id"], strict=True))
    visible, hidden = memberships(split.visible, split), memberships(split.hidden, split)
    assert visible | hidden == pairs and not visible & hidden
    assert len(hidden) == round(0.3 * len(pairs))
    # The training rows: hidden memberships blanked, every other cell as in the file.
    train = split.train_rows
    assert len(train) == len(rows)
    blank = train["playlist_id"] == ""
    assert {(t, p) for t, p in zip(rows["track_id"][blank], rows["playlist_id"][blank],
                                   strict=True)} == hidden
    for col in MEMBERSHIP_COLUMNS:
        assert (train.loc[blank, col] == "").all()
    kept = [c for c in BUNDLED_COLUMNS if c not in MEMBERSHIP_COLUMNS]
    pd.testing.assert_frame_equal(train[kept], rows[kept])
    assert (train.loc[~blank, "playlist_id"] == rows.loc[~blank, "playlist_id"]).all()
    # Same seed, same split; another seed, another split.
    again = split_rows(rows, seed=7, hide_fraction=0.3)
    assert memberships(again.hidden, again) == hidden
    other = split_rows(rows, seed=8, hide_fraction=0.3)
    assert memberships(other.hidden, other) != hidden


def test_pool_is_exactly_the_songs_without_visible_membership(split: Split):
    with_visible = {s for s, _ in memberships(split.visible, split)}
    assert {split.song_ids[i] for i in split.pool} == set(split.song_ids) - with_visible
    assert len(split.pool) > 0


@pytest.mark.neo4j
def test_loaded_training_split_has_no_hidden_link_or_genre(db: Database, tmp_path: Path,
                                                           split: Split):
    path = tmp_path / "train.csv"
    split.train_rows.to_csv(path, index=False)
    report = pipeline.run(db, path, options=pipeline.EtlOptions(progress=False))
    assert report.rows_rejected == 0
    graph = {r["id"]: r for r in support.read(db, "eval_links")}
    assert set(graph) == set(split.song_ids)  # every song stays, cold ones included
    visible = memberships(split.visible, split)
    hidden = memberships(split.hidden, split)
    for sid, r in graph.items():
        lists = {p for s, p in visible if s == sid}
        assert set(r["playlists"]) == lists
        assert not {(sid, p) for p in r["playlists"]} & hidden
        # Genres: exactly those of visible playlists; one that only a hidden
        # membership gave is gone, one a visible playlist also gives stays.
        assert set(r["genres"]) == {g for p in lists for g in GENRES[p]}
        i = int(sid[1:])
        assert r["artists"] == [f"Artist {i % 3}"] and r["albums"] == [f"AL{i % 4}"]
        assert r["popularity"] == 10 + i % 80
    assert any(not r["genres"] for r in graph.values())  # cold songs lost their genres
