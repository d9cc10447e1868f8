"""The numpy baselines rank as they should on a six-song catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from evaluation import baselines
from evaluation.split import Split, split_rows
from tests.support import BUNDLED_COLUMNS, song


def test_top_k_orders_and_drops_excluded():
    scores = np.array([[0.1, 0.9, -np.inf, 0.5]])
    assert baselines.top_k(scores, 4).tolist() == [[1, 3, 0, -1]]


def tiny_split() -> Split:
    """Six songs: A, B, C in playlist P0; D in P1; E and F cold. D shares A's artist."""
    cells = {
        "A": ("art1", "al1", "P0", 0.1), "B": ("art2", "al2", "P0", 0.9),
        "C": ("art3", "al3", "P0", 0.5), "D": ("art1", "al4", "P1", 0.2),
        "E": ("art9", "al1", "P1", 0.3), "F": ("art8", "al8", "P1", 0.99),
    }
    rows = []
    for i, (sid, (artist, album, pl, pop)) in enumerate(cells.items()):
        r = {k: str(v) for k, v in song(i).items()}
        r.update(track_id=sid, track_artist=artist, track_album_id=album, playlist_id=pl,
                 track_popularity=str(int(pop * 100)))
        rows.append(r)
    df = pd.DataFrame(rows, columns=BUNDLED_COLUMNS).astype(str)
    split = split_rows(df, seed=0, hide_fraction=0.01)  # hides nothing (rounds to 0)
    assert split.hidden.nnz == 0
    return split


def test_cooccurrence_ranks_the_co_listed_song_first():
    split = tiny_split()
    scorer = baselines.make_baselines(split, seed=0)["cooccurrence"]
    a = split.song_ids.index("A")
    seeds = sp.csr_matrix(([1.0], ([0], [a])), shape=(1, split.num_songs))
    top = baselines.rank(scorer, seeds, np.arange(split.num_songs), 3)[0]
    names = [split.song_ids[i] for i in top]
    # B and C share P0 with A (B first: more popular); A itself is never returned.
    assert names[:2] == ["B", "C"] and "A" not in names


def test_metadata_puts_shared_artist_and_album_first_and_popularity_orders():
    split = tiny_split()
    base = baselines.make_baselines(split, seed=0)
    a = split.song_ids.index("A")
    seeds = sp.csr_matrix(([1.0], ([0], [a])), shape=(1, split.num_songs))
    cand = np.array([split.song_ids.index(s) for s in ("B", "C", "D", "E", "F")])
    top = baselines.rank(base["metadata"], seeds, cand, 5)[0]
    assert {split.song_ids[cand[i]] for i in top[:2]} == {"D", "E"}  # artist, album
    top = baselines.rank(base["popularity"], seeds, cand, 5)[0]
    assert [split.song_ids[cand[i]] for i in top] == ["F", "B", "C", "E", "D"]
