"""The evaluation split: hide a seeded share of the (song, playlist) memberships.

The split works on the CSV rows, because one row is one (song, playlist) membership and
carries the playlist's genre and subgenre. Hiding a membership blanks the playlist and
genre cells of its row(s): the song row itself stays (catalogue data, as for a newly
released song), and a genre the song also has through a visible playlist survives through
that other row. Loading the result with the real ETL therefore gives exactly the graph a
method may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from musicgraph.errors import EvaluationError
from musicgraph.schema import AUDIO_FEATURES

#: CSV cells that come with a playlist membership (hidden with it).
MEMBERSHIP_COLUMNS = ("playlist_name", "playlist_id", "playlist_genre", "playlist_subgenre")


@dataclass
class Split:
    """One seeded split of the memberships, with the catalogue of every song.

    Attributes:
        train_rows: the CSV rows with hidden memberships' playlist and genre cells blanked.
        song_ids: every song id, sorted; a song's index is its position here.
        visible: ``[P, N]`` 0/1 CSR matrix, playlist × song, visible memberships.
        hidden: ``[P, N]`` 0/1 CSR matrix, hidden memberships.
        playlist_ids: playlist ids, rows of ``visible``/``hidden``.
        pool: indices of the cold songs (no visible membership), sorted.
        catalog: one row per song (index aligned with ``song_ids``): artist, album_id,
            popularity, year and the audio features.
    """

    train_rows: pd.DataFrame
    song_ids: list[str]
    visible: sp.csr_matrix
    hidden: sp.csr_matrix
    playlist_ids: list[str]
    pool: np.ndarray
    catalog: pd.DataFrame

    @property
    def num_songs(self) -> int:
        return len(self.song_ids)

    def pool_positions(self) -> np.ndarray:
        """``[N]``: each song's column in the pool, ``-1`` for songs outside it."""
        pos = np.full(self.num_songs, -1)
        pos[self.pool] = np.arange(len(self.pool))
        return pos


def read_rows(csv_path: Path) -> pd.DataFrame:
    """The CSV as strings, exactly as written (so the training copy round-trips).

    Raises:
        EvaluationError: the file lacks a column the split needs.
    """
    rows = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    missing = {"track_id", *MEMBERSHIP_COLUMNS, "track_artist", "track_album_id",
               "track_popularity", "track_album_release_date", *AUDIO_FEATURES} - set(rows)
    if missing:
        raise EvaluationError(f"{csv_path} lacks the columns {sorted(missing)}")
    if (rows["playlist_id"] == "").any():
        raise EvaluationError(f"{csv_path} has rows without a playlist_id: "
                              "the split needs every row to be a membership")
    return rows


def split_rows(rows: pd.DataFrame, seed: int, hide_fraction: float = 0.2) -> Split:
    """Hide ``hide_fraction`` of the distinct (song, playlist) memberships at random.

    Args:
        rows: the CSV rows (:func:`read_rows`).
        seed: seeds the choice of hidden memberships.
        hide_fraction: share of memberships hidden, in (0, 1).

    Raises:
        EvaluationError: a fraction outside (0, 1).
    """
    if not 0 < hide_fraction < 1:
        raise EvaluationError(f"hide_fraction must lie in (0, 1), got {hide_fraction}")
    pairs = (rows[["track_id", "playlist_id"]].drop_duplicates()
             .sort_values(["track_id", "playlist_id"]).reset_index(drop=True))
    rng = np.random.default_rng(seed)
    n_hide = int(round(len(pairs) * hide_fraction))
    is_hidden = np.zeros(len(pairs), dtype=bool)
    is_hidden[rng.permutation(len(pairs))[:n_hide]] = True
    hidden_keys = set(zip(pairs["track_id"][is_hidden], pairs["playlist_id"][is_hidden],
                          strict=True))

    row_hidden = np.fromiter(
        ((t, p) in hidden_keys for t, p in zip(rows["track_id"], rows["playlist_id"],
                                               strict=True)),
        dtype=bool, count=len(rows))
    train_rows = rows.copy()
    # Blank, don't drop: the song keeps its catalogue data even when every membership
    # it had is hidden; blank cells make the ETL create no playlist or genre link.
    train_rows.loc[row_hidden, list(MEMBERSHIP_COLUMNS)] = ""

    song_ids = sorted(rows["track_id"].unique())
    song_index = {s: i for i, s in enumerate(song_ids)}
    playlist_ids = sorted(rows["playlist_id"].unique())
    pl_index = {p: i for i, p in enumerate(playlist_ids)}
    pi = pairs["playlist_id"].map(pl_index).to_numpy()
    si = pairs["track_id"].map(song_index).to_numpy()
    shape = (len(playlist_ids), len(song_ids))

    def matrix(sel: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(int(sel.sum()), dtype=np.float32), (pi[sel], si[sel])),
                             shape=shape)

    visible, hidden = matrix(~is_hidden), matrix(is_hidden)
    pool = np.flatnonzero(np.asarray(visible.sum(axis=0)).ravel() == 0)
    return Split(train_rows=train_rows, song_ids=song_ids, visible=visible, hidden=hidden,
                 playlist_ids=playlist_ids, pool=pool, catalog=_catalog(rows, song_ids))


def _catalog(rows: pd.DataFrame, song_ids: list[str]) -> pd.DataFrame:
    """Per-song catalogue data (the first row of each song; it is the same in every row)."""
    first = rows.drop_duplicates("track_id").set_index("track_id").loc[song_ids]
    out = pd.DataFrame({
        "artist": first["track_artist"].str.strip().str.lower().to_numpy(),
        "album_id": first["track_album_id"].to_numpy(),
        "popularity": pd.to_numeric(first["track_popularity"], errors="coerce").to_numpy(),
        "year": pd.to_numeric(first["track_album_release_date"].str[:4],
                              errors="coerce").to_numpy(),
    })
    for f in AUDIO_FEATURES:
        out[f] = pd.to_numeric(first[f], errors="coerce").to_numpy()
    return out

