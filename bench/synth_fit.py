"""Fit the synthetic catalogue's parameters to the bundled data: ``bench/synth_params.json``.

Usage: ``python -m bench.synth_fit [--csv data/spotify_songs.csv.gz] [--out bench/synth_params.json]``

What is measured on the bundled file (28,356 songs, 32,833 rows), and how each measure
becomes a parameter of :mod:`bench.synth`:

- **Subgenres.** The share of songs whose first row is in each subgenre, and each
  subgenre's genre.
- **Artist sizes** (songs per artist): a discrete power law with an exponential cutoff,
  ``P(k) ∝ k^-alpha · exp(-k/cutoff)``, both by maximum likelihood (a pure power law
  that matches the share of one-song artists overstates the mean by a fifth).
- **Album sizes**: each artist's songs are cut into albums by draws from a power law
  whose ``alpha`` is solved (by simulating the cut) so that the mean album size matches.
- **Artist home.** An artist has a home subgenre (its most frequent); the share of its
  songs that sit in it (``p_home``), and among the others the share in the home genre.
- **Playlist sizes** (rows per playlist): 21 quantiles, later clipped to 20..200.
- **Playlist clustering.** The share of same-artist song pairs that share a playlist;
  the generator ties a song to its artist's place in the subgenre's playlist order with
  probability ``q``, so pairs meet with probability about ``(p_home * q)^2``, and
  ``q`` is solved from that.
- **Songs in several playlists.** The share of songs with an extra playlist, per
  popularity decile (popular songs are on more playlists); how many extra ones
  (geometric on 1, 2, ...); the share of extra rows in another genre (every extra row of the
  bundled data is in another subgenre).
- **Audio per subgenre.** A Gaussian copula: 27 quantiles of each continuous feature and
  the correlation matrix of their normal scores; the key and mode frequencies. The share
  of each feature's variance that is shared by an artist's songs (its intraclass
  correlation, ``artist_icc``) makes an artist's songs sound alike.
- **Popularity** (per genre, 101 quantiles, with its artist ICC) and **release years**
  (per genre, 101 quantiles of the album year, with its artist ICC), and the share of
  release dates given as a year only.
- **Words** for titles and names: the most frequent words of the titles.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import ndtri

from bench.synth import cut_albums, size_law

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = ROOT / "data" / "spotify_songs.csv.gz"
DEFAULT_OUT = Path(__file__).resolve().parent / "synth_params.json"

#: Continuous audio features, modelled by the copula; key and mode are categorical.
CONTINUOUS = ("danceability", "energy", "loudness", "speechiness", "acousticness",
              "instrumentalness", "liveness", "valence", "tempo", "duration_ms")
#: Probabilities of the stored audio quantiles: every 5%, and denser in the tails, where
#: interpolating between the 5% point and the extreme would spread a few outliers' range
#: over a twentieth of the songs.
QUANTILES = np.round(np.concatenate([[0.0, 0.002, 0.01, 0.025], np.linspace(0.05, 0.95, 19),
                                     [0.975, 0.99, 0.998, 1.0]]), 4)
FINE_QUANTILES = np.linspace(0.0, 1.0, 101)


def fit_size_law(sizes: np.ndarray, cutoff: bool) -> dict[str, float]:
    """Maximum-likelihood ``alpha`` (and ``cutoff``) of ``P(k) ∝ k^-alpha · exp(-k/cutoff)``.

    The support reaches four times the largest size seen, so the tail the law allows
    is not cut at this sample's maximum.
    """
    kmax = 4 * int(sizes.max())
    k = np.arange(1, kmax + 1, dtype=np.float64)
    log_sum, total, n = float(np.log(sizes).sum()), float(sizes.sum()), len(sizes)

    def nll(theta: np.ndarray) -> float:
        alpha, log_cut = float(theta[0]), float(theta[1]) if cutoff else np.inf
        cut = np.exp(log_cut)
        return alpha * log_sum + total / cut + n * float(
            np.log((k ** -alpha * np.exp(-k / cut)).sum()))

    start = np.array([2.0, np.log(50.0)] if cutoff else [2.0])
    theta = minimize(nll, start, method="Nelder-Mead").x
    law: dict[str, float] = {"alpha": round(float(theta[0]), 4)}
    if cutoff:
        law["cutoff"] = round(float(np.exp(theta[1])), 3)
    law["kmax"] = kmax
    law["mean"] = round(float(sizes.mean()), 4)
    return law


def calibrate_album_law(artist_law: dict[str, Any], target_mean: float,
                        kmax: int) -> dict[str, float]:
    """The album size law whose cuts of generated artists give ``target_mean`` songs per
    album: cutting by artist shortens albums, so the law fitted on the album sizes
    themselves would give too many albums."""
    rng = np.random.default_rng(0)
    sizes = rng.choice(np.arange(1, artist_law["kmax"] + 1), size=100_000,
                       p=size_law(artist_law["alpha"], artist_law["cutoff"], artist_law["kmax"]))
    artist_of_song = np.repeat(np.arange(len(sizes)), sizes)
    u = rng.random(len(artist_of_song))  # the same draws for every alpha: a monotone search

    def mean_album(alpha: float) -> float:
        cdf = np.cumsum(size_law(alpha, None, kmax))
        draws = np.minimum(np.searchsorted(cdf, u), kmax - 1) + 1
        albums = int(cut_albums(artist_of_song, draws)[-1]) + 1
        return len(artist_of_song) / albums

    lo, hi = 1.05, 8.0  # mean_album falls as alpha grows
    for _ in range(30):
        mid = (lo + hi) / 2
        if mean_album(mid) > target_mean:
            lo = mid
        else:
            hi = mid
    return {"alpha": round((lo + hi) / 2, 4), "kmax": kmax, "mean": round(target_mean, 4)}


def _normal_scores(values: pd.Series) -> np.ndarray:
    """Ranks mapped to standard normal quantiles (ties share the mean rank)."""
    ranks = values.rank(method="average").to_numpy()
    return np.asarray(ndtri(ranks / (len(values) + 1)))


def _icc(scores: np.ndarray, groups: np.ndarray) -> float:
    """Intraclass correlation (one-way ANOVA estimator) over groups of two or more."""
    frame = pd.DataFrame({"z": scores, "g": groups})
    sizes = frame.groupby("g").z.transform("size")
    frame = frame[sizes >= 2]
    grouped = frame.groupby("g").z
    n_i = grouped.size().to_numpy(dtype=np.float64)
    means = grouped.mean().to_numpy()
    k, n = len(n_i), len(frame)
    grand = frame.z.mean()
    msb = float((n_i * (means - grand) ** 2).sum() / (k - 1))
    msw = float(((frame.z - frame.groupby("g").z.transform("mean")) ** 2).sum() / (n - k))
    n0 = (n - (n_i ** 2).sum() / n) / (k - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw)
    return round(float(np.clip(icc, 0.0, 0.95)), 4)


def _quantiles(values: pd.Series, digits: int = 6, grid: np.ndarray = QUANTILES) -> list[float]:
    return [round(float(v), digits) for v in np.quantile(values.to_numpy(dtype=np.float64),
                                                          grid)]


def fit(csv_path: Path) -> dict[str, object]:
    """Measure the bundled data and return the generator's parameters."""
    df = pd.read_csv(csv_path, keep_default_na=True)
    df["year"] = df.track_album_release_date.astype(str).str[:4].astype(int)
    songs = df.drop_duplicates("track_id").copy()  # each song's first row
    artist = songs.track_artist.fillna("(none)")

    # Subgenres and their genres.
    sub_share = songs.playlist_subgenre.value_counts(normalize=True).sort_index()
    sub_genre: dict[str, str] = dict(zip(songs.playlist_subgenre, songs.playlist_genre,
                                         strict=True))
    genres = sorted(songs.playlist_genre.unique())

    # Artist home subgenre and genre.
    multi = songs[artist.map(artist.value_counts()) >= 2]
    multi_artist = multi.track_artist.fillna("(none)")
    home_sub = multi.groupby(multi_artist).playlist_subgenre.agg(lambda s: s.value_counts().index[0])
    at_home = multi.playlist_subgenre.to_numpy() == home_sub.loc[multi_artist].to_numpy()
    home_genre = np.array([sub_genre[s] for s in home_sub.loc[multi_artist]])
    away_in_genre = float((multi.playlist_genre.to_numpy()[~at_home]
                           == home_genre[~at_home]).mean())

    # Same-artist song pairs that share a playlist.
    members = df.dropna(subset=["track_artist"]).groupby("track_id").playlist_id.agg(set)
    by_artist = songs.dropna(subset=["track_artist"]).groupby("track_artist").track_id.agg(list)
    shared = pairs = 0
    for ids in by_artist:
        if len(ids) < 2:
            continue
        sets = [members[i] for i in ids]
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                pairs += 1
                shared += bool(sets[i] & sets[j])
    pair_share = shared / pairs
    p_home = float(at_home.mean())
    q = float(np.clip(np.sqrt(pair_share) / p_home, 0.0, 1.0))

    # Songs in several playlists, by popularity decile.
    rows_per_song = df.groupby("track_id").size()
    extra = rows_per_song.loc[songs.track_id].to_numpy() - 1
    decile = np.minimum((songs.track_popularity.rank(pct=True, method="first").to_numpy()
                         * 10).astype(int), 9)
    p_extra = [round(float((extra[decile == d] > 0).mean()), 4) for d in range(10)]
    more = extra[extra > 0] - 1  # extra playlists beyond the first extra one
    # numpy's geometric counts trials (1, 2, ...): mean 1/p = 1 + the mean of `more`.
    p_stop = 1.0 / (1.0 + float(more.mean()))
    extra_rows = df[df.track_id.duplicated(keep="first")]
    first_genre = songs.set_index("track_id").playlist_genre
    cross_genre = float((extra_rows.playlist_genre.to_numpy()
                         != first_genre.loc[extra_rows.track_id].to_numpy()).mean())

    # Audio per subgenre: copula quantiles, correlations, key and mode.
    audio: dict[str, object] = {}
    icc_scores = {f: np.empty(len(songs)) for f in CONTINUOUS}
    for sub, grp in songs.groupby("playlist_subgenre"):
        z = np.column_stack([_normal_scores(grp[f]) for f in CONTINUOUS])
        for i, f in enumerate(CONTINUOUS):
            icc_scores[f][songs.index.get_indexer(grp.index)] = z[:, i]
        corr = np.corrcoef(z, rowvar=False)
        key_freq = grp.key.value_counts(normalize=True).reindex(range(-1, 12), fill_value=0.0)
        audio[str(sub)] = {
            "quantiles": {f: _quantiles(grp[f]) for f in CONTINUOUS},
            "corr": [[round(float(v), 4) for v in row] for row in corr],
            "key": [round(float(v), 5) for v in key_freq],
            "mode": round(float(grp["mode"].mean()), 4),
        }
    artist_icc = {f: _icc(icc_scores[f], artist.to_numpy()) for f in CONTINUOUS}

    # Popularity and release years per genre; artist effects.
    pop_scores = np.empty(len(songs))
    year_scores = np.empty(len(songs))
    popularity: dict[str, list[float]] = {}
    years: dict[str, list[float]] = {}
    for genre, grp in songs.groupby("playlist_genre"):
        idx = songs.index.get_indexer(grp.index)
        pop_scores[idx] = _normal_scores(grp.track_popularity)
        year_scores[idx] = _normal_scores(grp.year)
        # Finer grids: popularity has a spike at 0 and years a long early tail.
        popularity[str(genre)] = _quantiles(grp.track_popularity, 2, FINE_QUANTILES)
        years[str(genre)] = _quantiles(grp.year, 2, FINE_QUANTILES)
    albums = songs.drop_duplicates("track_album_id")
    album_artist = albums.track_artist.fillna("(none)").to_numpy()
    year_icc = _icc(year_scores[songs.index.get_indexer(albums.index)], album_artist)

    artist_law = fit_size_law(artist.value_counts().to_numpy(), cutoff=True)
    album_sizes = songs.groupby("track_album_id").size().to_numpy()
    words = Counter(w for title in songs.track_name.dropna()
                    for w in re.findall(r"[A-Za-z]{3,}", title.lower()))
    dates = songs.track_album_release_date.astype(str)

    return {
        "source": {"csv": csv_path.name, "rows": len(df), "songs": len(songs)},
        "genres": genres,
        "subgenres": {str(s): {"genre": sub_genre[str(s)], "share": round(float(v), 6)}
                      for s, v in sub_share.items()},
        "artist_size": artist_law,
        "album_size": calibrate_album_law(artist_law, float(album_sizes.mean()),
                                          int(album_sizes.max())),
        "artist_home": {"p_home": round(p_home, 4), "away_in_genre": round(away_in_genre, 4)},
        "playlist_size": _quantiles(df.groupby("playlist_id").size(), 2),
        "playlist_clustering": {"same_artist_pair_share": round(pair_share, 4),
                                "q": round(q, 4)},
        "extra_playlists": {"p_by_popularity_decile": p_extra, "p_stop": round(p_stop, 4),
                            "cross_genre": round(cross_genre, 4),
                            "rows_per_song": round(len(df) / len(songs), 4)},
        "audio_quantile_grid": [float(v) for v in QUANTILES],
        "audio": audio,
        "artist_icc": artist_icc,
        "popularity": popularity,
        "popularity_icc": _icc(pop_scores, artist.to_numpy()),
        "release_year": years,
        "release_year_icc": year_icc,
        "year_only_dates": round(float((dates.str.len() == 4).mean()), 4),
        "words": [w for w, _ in words.most_common(400)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    text = json.dumps(fit(args.csv), indent=1)
    # One line per list of numbers: the file stays short and diffs stay readable.
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]",
                  lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
