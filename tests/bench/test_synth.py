"""The synthetic catalogue against the bundled data's marginals (no database needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench import synth, synth_fit
from etl.reader import Rejected, SongReader
from tests.support import BUNDLED_COLUMNS, ROOT

N = 20_000
CONTINUOUS = synth.CONTINUOUS


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "spotify_songs.csv.gz")


@pytest.fixture(scope="module")
def generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, new_rows = synth.Generator(seed=1).catalogue(N, n_new=2_000)
    assert new_rows is not None
    return rows, new_rows


@pytest.fixture(scope="module")
def rows(generated: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    return generated[0]


def _songs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates("track_id")


def _pair_share(frame: pd.DataFrame) -> float:
    """Share of same-artist song pairs that share a playlist."""
    members = frame.groupby("track_id").playlist_id.agg(set)
    shared = pairs = 0
    for ids in _songs(frame).groupby("track_artist").track_id.agg(list):
        sets = [members[i] for i in ids[:60]]
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                pairs += 1
                shared += bool(sets[i] & sets[j])
    return shared / pairs


def test_the_etl_reads_every_row_with_its_default_columns(rows: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    assert list(rows.columns) == BUNDLED_COLUMNS
    path = synth.write(rows, tmp_path / "songs.csv.gz")
    with SongReader(path) as reader:
        items = list(reader)
    assert len(items) == len(rows)
    assert not [i for i in items if isinstance(i, Rejected)]
    assert len({i.id for i in items}) == N  # type: ignore[union-attr]


def test_same_seed_same_rows_other_seed_other_rows(rows: pd.DataFrame) -> None:
    again, _ = synth.Generator(seed=1).catalogue(N)
    pd.testing.assert_frame_equal(again, rows)
    other, _ = synth.Generator(seed=2).catalogue(N)
    assert not set(other.track_id) & set(rows.track_id)


def test_songs_sit_in_playlists_as_often_as_in_the_bundled_data(
        rows: pd.DataFrame, bundled: pd.DataFrame) -> None:
    def per_song(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby("track_id").size()

    assert len(rows) / N == pytest.approx(len(bundled) / bundled.track_id.nunique(), abs=0.03)
    assert (per_song(rows) == 1).mean() == pytest.approx((per_song(bundled) == 1).mean(),
                                                         abs=0.03)
    # Popular songs are on more playlists.
    songs = _songs(rows).set_index("track_id")
    multi = per_song(rows) > 1
    assert (songs.track_popularity[multi[multi].index].mean()
            > songs.track_popularity[multi[~multi].index].mean() + 10)
    assert not rows.duplicated(["track_id", "playlist_id"]).any()


def test_genre_and_subgenre_shares(rows: pd.DataFrame, bundled: pd.DataFrame) -> None:
    got = rows.playlist_genre.value_counts(normalize=True)
    want = bundled.playlist_genre.value_counts(normalize=True)
    assert set(got.index) == set(want.index)
    assert (got - want).abs().max() < 0.04
    pairs = rows[["playlist_genre", "playlist_subgenre"]].drop_duplicates()
    assert set(map(tuple, pairs.to_numpy())) == set(map(tuple, bundled[
        ["playlist_genre", "playlist_subgenre"]].drop_duplicates().to_numpy()))


def test_artist_and_album_sizes_are_heavy_tailed_like_the_bundled_ones(
        rows: pd.DataFrame, bundled: pd.DataFrame) -> None:
    def sizes(frame: pd.DataFrame, key: str) -> pd.Series:
        return _songs(frame).groupby(key).size()

    for key, tol in (("track_artist", 0.15), ("track_album_id", 0.06)):
        got, want = sizes(rows, key), sizes(bundled, key)
        assert got.mean() == pytest.approx(want.mean(), rel=tol), key
        assert (got == 1).mean() == pytest.approx((want == 1).mean(), abs=0.04), key
    artists = sizes(rows, "track_artist")
    assert artists.max() >= 40  # a heavy tail, not a uniform spread
    assert (artists >= 10).mean() == pytest.approx(
        (sizes(bundled, "track_artist") >= 10).mean(), abs=0.015)
    # An album belongs to one artist and has one release date.
    songs = _songs(rows)
    assert (songs.groupby("track_album_id").track_artist.nunique() == 1).all()
    assert (songs.groupby("track_album_id").track_album_release_date.nunique() == 1).all()


def test_playlists_hold_20_to_200_songs_of_one_subgenre_clustered_by_artist(
        rows: pd.DataFrame, bundled: pd.DataFrame) -> None:
    size = rows.groupby("playlist_id").size()
    assert size.min() >= synth.PLAYLIST_MIN and size.max() <= synth.PLAYLIST_MAX
    assert size.median() == pytest.approx(bundled.groupby("playlist_id").size().median(),
                                          rel=0.15)
    assert (rows.groupby("playlist_id").playlist_subgenre.nunique() == 1).all()
    assert _pair_share(rows) == pytest.approx(_pair_share(bundled), abs=0.08)
    # Rows are shuffled: neighbouring rows rarely share a playlist.
    same_as_previous = (rows.playlist_id.to_numpy()[1:] == rows.playlist_id.to_numpy()[:-1])
    assert same_as_previous.mean() < 0.01


def test_audio_features_follow_each_genre(rows: pd.DataFrame, bundled: pd.DataFrame) -> None:
    got, want = _songs(rows), _songs(bundled)
    for f in CONTINUOUS:
        spread = want[f].std()
        assert got[f].std() == pytest.approx(spread, rel=0.15), f
        for genre, grp in want.groupby("playlist_genre"):
            mine = got[got.playlist_genre == genre][f]
            assert abs(mine.mean() - grp[f].mean()) < 0.15 * spread, (f, genre)
        low, high = want[f].min(), want[f].max()
        assert got[f].between(low, high).all(), f
    assert got["mode"].mean() == pytest.approx(want["mode"].mean(), abs=0.03)
    key_share = got.key.value_counts(normalize=True) - want.key.value_counts(normalize=True)
    assert key_share.abs().max() < 0.02
    # Correlations survive (energy and loudness go together, energy and acousticness not).
    assert got.energy.corr(got.loudness) == pytest.approx(want.energy.corr(want.loudness),
                                                          abs=0.1)
    assert got.energy.corr(got.acousticness) < -0.3


def test_an_artists_songs_sound_alike(rows: pd.DataFrame) -> None:
    songs = _songs(rows)
    big = songs[songs.groupby("track_artist").track_id.transform("size") >= 5]
    within = big.groupby("track_artist").energy.var().mean()
    assert within < 0.85 * songs.energy.var()


def test_popularity_and_release_years(rows: pd.DataFrame, bundled: pd.DataFrame) -> None:
    got, want = _songs(rows), _songs(bundled)
    assert got.track_popularity.mean() == pytest.approx(want.track_popularity.mean(), abs=3)
    assert (got.track_popularity == 0).mean() == pytest.approx(
        (want.track_popularity == 0).mean(), abs=0.03)

    def years(frame: pd.DataFrame) -> pd.Series:
        return frame.track_album_release_date.astype(str).str[:4].astype(int)

    assert years(got).median() == pytest.approx(years(want).median(), abs=1)
    assert years(got).quantile(0.05) == pytest.approx(years(want).quantile(0.05), abs=4)
    rock = years(got[got.playlist_genre == "rock"]).median()
    assert rock < years(got[got.playlist_genre == "edm"]).median() - 5
    year_only = (got.track_album_release_date.astype(str).str.len() == 4).mean()
    assert year_only == pytest.approx(0.058, abs=0.03)


def test_new_songs_join_existing_and_new_artists_albums_and_playlists(
        generated: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    rows, new_rows = generated
    assert list(new_rows.columns) == BUNDLED_COLUMNS
    assert new_rows.track_id.nunique() == 2_000
    assert not set(new_rows.track_id) & set(rows.track_id)
    for key in ("track_artist", "track_album_id", "playlist_id"):
        known = new_rows[key].isin(set(rows[key]))
        assert 0.1 < known.mean() < 0.9, key


def test_committed_parameters_are_the_fit_of_the_bundled_data() -> None:
    fitted = json.loads(json.dumps(synth_fit.fit(synth_fit.DEFAULT_CSV)))
    assert fitted == synth.load_params()
