"""A synthetic song catalogue of any size, shaped like the bundled data (seeded).

Usage::

    python -m bench.synth --songs 1000000 --out /tmp/songs.csv.gz [--seed 0]
        [--new 10000 --new-out /tmp/new_songs.csv]

It writes the columns of the bundled file (``data/spotify_songs.csv.gz``), which the ETL
reads by default: one row per (song, playlist), so a song on several playlists appears
in several rows. Rows are shuffled: nothing about a row's position says which playlist it
is on.

The shape comes from ``bench/synth_params.json``, fitted on the bundled data by
:mod:`bench.synth_fit` (its docstring says how each parameter is measured):

- artists: sizes from a discrete power law; each has a home subgenre (most of its songs
  sit there, the rest mostly in the home genre) and a place in that subgenre's order;
- albums: each artist's songs are cut into albums whose sizes follow another power law;
  an album has one release date, drawn per genre with a per-artist career effect;
- audio: per subgenre, a Gaussian copula (quantiles and correlations of the continuous
  features) plus the key and mode frequencies; part of each feature's variance is shared
  by an artist's songs, as measured;
- popularity: per genre quantiles, with an artist effect;
- playlists: one genre and subgenre each, 20 to 200 songs; each subgenre's memberships
  are ordered by their artist's place (with probability ``q``, else at random) and cut
  into playlists, so a playlist holds a few related artists' songs and many single ones;
  popular songs get extra playlists, in another subgenre and often another genre.

``--new N`` also writes N songs that arrive later (new ids; about half by existing
artists, on their albums or new ones, half by new artists), on existing and new
playlists: what ``musicgraph etl --csv`` then ``musicgraph embed --missing`` see.

A larger catalogue has more artists, albums and playlists drawn from the same laws, not
larger ones: the bundled data is a sample of that shape, and nothing in it says how an
artist's catalogue grows with the whole.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

PARAMS_PATH = Path(__file__).resolve().parent / "synth_params.json"

#: The bundled file's columns, in its order (the ETL's default names).
COLUMNS = [
    "track_id", "track_name", "track_artist", "track_popularity", "track_album_id",
    "track_album_name", "track_album_release_date", "playlist_name", "playlist_id",
    "playlist_genre", "playlist_subgenre", "danceability", "energy", "key", "loudness", "mode",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
    "duration_ms",
]
CONTINUOUS = ("danceability", "energy", "loudness", "speechiness", "acousticness",
              "instrumentalness", "liveness", "valence", "tempo", "duration_ms")
#: Decimal places written per feature (the bundled file's precision).
_DIGITS = {"loudness": 3, "tempo": 3, "duration_ms": 0}
PLAYLIST_MIN, PLAYLIST_MAX = 20, 200
_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def load_params(path: Path = PARAMS_PATH) -> dict[str, Any]:
    """The fitted parameters (``bench/synth_params.json``)."""
    params: dict[str, Any] = json.loads(path.read_text())
    return params


def _ids(rng: np.random.Generator, n: int, prefix: str = "", length: int = 22) -> np.ndarray:
    """``n`` random base-62 ids like Spotify's (22 characters); collisions are negligible."""
    body = _ALPHABET[rng.integers(0, 62, size=(n, length - len(prefix)))]
    raw = body.view(f"S{length - len(prefix)}").ravel().astype(str)
    return np.char.add(prefix, raw) if prefix else raw


def size_law(alpha: float, cutoff: float | None, kmax: int) -> np.ndarray:
    """``P(k) ∝ k^-alpha · exp(-k / cutoff)`` on ``1..kmax`` (no cutoff when None)."""
    k = np.arange(1, kmax + 1, dtype=np.float64)
    p = k ** -alpha * (np.exp(-k / cutoff) if cutoff else 1.0)
    return np.asarray(p / p.sum())


def _draw_sizes(rng: np.random.Generator, n: int, law: dict[str, Any]) -> np.ndarray:
    """``n`` draws from a fitted size law (``alpha``, ``cutoff``, ``kmax``)."""
    p = size_law(law["alpha"], law.get("cutoff"), law["kmax"])
    return rng.choice(np.arange(1, len(p) + 1), size=n, p=p)


def cut_albums(artist_of_song: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Album number of each song: each artist's run of songs (contiguous) is cut into
    albums by successive ``draws`` (album sizes), the last album taking what is left."""
    n = len(artist_of_song)
    starts = np.flatnonzero(np.diff(artist_of_song, prepend=-1) != 0)
    run = np.diff(np.append(starts, n))
    new_album = np.zeros(n, dtype=bool)
    new_album[starts] = True
    taken = 0
    for start, size in zip(starts[run > 1].tolist(), run[run > 1].tolist(), strict=True):
        pos = 0
        while True:
            pos += int(draws[taken % len(draws)])
            taken += 1
            if pos >= size:
                break
            new_album[start + pos] = True
    return np.cumsum(new_album) - 1


def _from_quantiles(u: np.ndarray, table: list[float],
                    grid: list[float] | None = None) -> np.ndarray:
    """Values at probabilities ``u`` of a distribution given by its quantiles at ``grid``
    (default: equally spaced)."""
    at = np.linspace(0.0, 1.0, len(table)) if grid is None else np.asarray(grid)
    return np.interp(u, at, np.asarray(table, dtype=np.float64))


@dataclass
class _Songs:
    """Song-level arrays of one generated batch (index = song number)."""

    ids: np.ndarray
    titles: np.ndarray
    artist: np.ndarray  # index into the artist table
    album: np.ndarray  # index into the album table
    sub: np.ndarray  # primary subgenre index
    audio: dict[str, np.ndarray]
    popularity: np.ndarray


@dataclass
class _Artists:
    """Artist table: names, home subgenre, latent effects, place in the playlist order."""

    names: np.ndarray
    home: np.ndarray
    effect: np.ndarray  # [n, len(CONTINUOUS)] normal scores shared by the artist's songs
    pop_effect: np.ndarray
    year_effect: np.ndarray
    place: np.ndarray  # U(0,1): where the artist sits in its subgenre's playlist order


@dataclass
class _Albums:
    """Album table."""

    ids: np.ndarray
    names: np.ndarray
    dates: np.ndarray
    artist: np.ndarray


class Generator:
    """Draws catalogues from the fitted parameters.

    Args:
        seed: the seed; the same seed and sizes give the same files.
        params: the fitted parameters (default: ``bench/synth_params.json``).
    """

    def __init__(self, seed: int = 0, params: dict[str, Any] | None = None) -> None:
        self.p = params or load_params()
        self.rng = np.random.default_rng(seed)
        self.subs = list(self.p["subgenres"])
        self.sub_genre = np.array([self.p["subgenres"][s]["genre"] for s in self.subs])
        self.sub_share = np.array([self.p["subgenres"][s]["share"] for s in self.subs])
        self.sub_share /= self.sub_share.sum()
        self.words = np.array(self.p["words"])
        # Cholesky factors of each subgenre's copula correlation.
        self.chol = []
        for s in self.subs:
            corr = np.asarray(self.p["audio"][s]["corr"])
            # Rounded correlations can lose positive definiteness by a hair.
            corr = corr + 1e-6 * np.eye(len(corr))
            self.chol.append(np.linalg.cholesky(corr))
        self._artist_counter = 0

    # -- tables ----------------------------------------------------------------------------
    def _names(self, n: int, words: int, start: int = 0) -> np.ndarray:
        """Title-cased word combinations, made unique by a running number when needed."""
        w = self.words[self.rng.integers(0, len(self.words), size=(n, words))]
        out = np.char.title(w[:, 0])
        for j in range(1, words):
            out = np.char.add(np.char.add(out, " "), np.char.title(w[:, j]))
        return np.char.add(np.char.add(out, " "), np.arange(start, start + n).astype(str))

    def _titles(self, n: int) -> np.ndarray:
        lengths = self.rng.choice([1, 2, 3, 4, 5], size=n, p=[0.2, 0.25, 0.25, 0.18, 0.12])
        w = self.words[self.rng.integers(0, len(self.words), size=(n, 5))]
        out = np.char.title(w[:, 0])
        for j in range(1, 5):
            more = np.char.add(np.char.add(out, " "), w[:, j])
            out = np.where(lengths > j, more, out)
        return out

    def _correlated(self, sub: np.ndarray) -> np.ndarray:
        """Standard normal rows correlated like each row's subgenre's copula."""
        z = self.rng.standard_normal((len(sub), len(CONTINUOUS)))
        for s in np.unique(sub):
            rows = sub == s
            z[rows] = z[rows] @ self.chol[s].T
        return z

    def _artists(self, n_songs: int) -> tuple[_Artists, np.ndarray]:
        """Artists with sizes summing to ``n_songs``; returns them and their sizes."""
        a = self.p["artist_size"]
        mean = float(a["mean"])
        sizes_parts = []
        total = 0
        while total < n_songs:
            draw = _draw_sizes(self.rng, int((n_songs - total) / mean * 1.1) + 10, a)
            sizes_parts.append(draw)
            total += int(draw.sum())
        sizes = np.concatenate(sizes_parts)
        cut = int(np.searchsorted(np.cumsum(sizes), n_songs))
        sizes = sizes[: cut + 1].copy()
        sizes[-1] -= int(sizes.sum()) - n_songs
        sizes = sizes[sizes > 0]
        n = len(sizes)
        # The share of songs per subgenre is matched in expectation by choosing each
        # artist's home with the song shares.
        home = self.rng.choice(len(self.subs), size=n, p=self.sub_share)
        start = self._artist_counter
        self._artist_counter += n
        artists = _Artists(
            names=self._names(n, 2, start),
            home=home,
            effect=self._correlated(home),
            pop_effect=self.rng.standard_normal(n),
            year_effect=self.rng.standard_normal(n),
            place=self.rng.random(n),
        )
        return artists, sizes

    def _albums(self, artist_of_song: np.ndarray, artists: _Artists,
                album_base: int) -> tuple[_Albums, np.ndarray]:
        """Cut each artist's songs (contiguous in ``artist_of_song``) into albums."""
        n = len(artist_of_song)
        album = cut_albums(artist_of_song, _draw_sizes(self.rng, n, self.p["album_size"]))
        new_album = np.diff(album, prepend=-1) != 0
        n_albums = int(album[-1]) + 1 if n else 0
        first = np.flatnonzero(new_album)
        owner = artist_of_song[first]
        genre_of_owner = self.sub_genre[artists.home[owner]]
        rho = self.p["release_year_icc"]
        score = (np.sqrt(rho) * artists.year_effect[owner]
                 + np.sqrt(1 - rho) * self.rng.standard_normal(n_albums))
        u = ndtr(score)
        years = np.empty(n_albums, dtype=np.int64)
        for genre, table in self.p["release_year"].items():
            rows = genre_of_owner == genre
            years[rows] = np.rint(_from_quantiles(u[rows], table)).astype(np.int64)
        month = self.rng.integers(1, 13, n_albums)
        day = self.rng.integers(1, 29, n_albums)
        full = np.char.add(np.char.add(np.char.add(years.astype(str), "-"),
                                       np.char.zfill(month.astype(str), 2)),
                           np.char.add("-", np.char.zfill(day.astype(str), 2)))
        year_only = self.rng.random(n_albums) < self.p["year_only_dates"]
        dates = np.where(year_only, years.astype(str), full)
        albums = _Albums(ids=_ids(self.rng, n_albums), names=self._titles(n_albums),
                         dates=dates, artist=owner)
        return albums, album + album_base

    def _songs(self, artist_of_song: np.ndarray, artists: _Artists,
               album_of_song: np.ndarray) -> _Songs:
        n = len(artist_of_song)
        home = artists.home[artist_of_song]
        h = self.p["artist_home"]
        sub = home.copy()
        away = self.rng.random(n) >= h["p_home"]
        in_genre = self.rng.random(n) < h["away_in_genre"]
        sub[away] = self._other_subs(home[away], in_genre[away])
        # Audio: artist effect plus song noise in normal-score space, then the song's
        # subgenre's quantiles.
        icc = np.array([self.p["artist_icc"][f] for f in CONTINUOUS])
        z = (np.sqrt(icc) * artists.effect[artist_of_song]
             + np.sqrt(1 - icc) * self._correlated(sub))
        u = ndtr(z)
        audio = {f: np.empty(n) for f in CONTINUOUS}
        audio["key"] = np.empty(n, dtype=np.int64)
        audio["mode"] = np.empty(n, dtype=np.int64)
        for s_idx, s in enumerate(self.subs):
            rows = sub == s_idx
            spec = self.p["audio"][s]
            for j, f in enumerate(CONTINUOUS):
                audio[f][rows] = _from_quantiles(u[rows, j], spec["quantiles"][f],
                                                 self.p["audio_quantile_grid"])
            audio["key"][rows] = self.rng.choice(np.arange(-1, 12), size=int(rows.sum()),
                                                 p=np.asarray(spec["key"]) / sum(spec["key"]))
            audio["mode"][rows] = self.rng.random(int(rows.sum())) < spec["mode"]
        for f in CONTINUOUS:
            audio[f] = np.round(audio[f], _DIGITS.get(f, 4))
        audio["duration_ms"] = audio["duration_ms"].astype(np.int64)
        rho = self.p["popularity_icc"]
        pop_u = ndtr(np.sqrt(rho) * artists.pop_effect[artist_of_song]
                     + np.sqrt(1 - rho) * self.rng.standard_normal(n))
        popularity = np.empty(n, dtype=np.int64)
        genre = self.sub_genre[sub]
        for g, table in self.p["popularity"].items():
            rows = genre == g
            popularity[rows] = np.rint(_from_quantiles(pop_u[rows], table)).astype(np.int64)
        return _Songs(ids=_ids(self.rng, n), titles=self._titles(n), artist=artist_of_song,
                      album=album_of_song, sub=sub, audio=audio, popularity=popularity)

    def _other_subs(self, subs: np.ndarray, same_genre: np.ndarray) -> np.ndarray:
        """For each subgenre in ``subs``, another one: in its genre where ``same_genre``,
        else in another genre (weighted by the subgenres' song shares)."""
        out = np.empty(len(subs), dtype=np.int64)
        for s in range(len(self.subs)):
            for same in (True, False):
                rows = np.flatnonzero((subs == s) & (same_genre == same))
                if len(rows) == 0:
                    continue
                pool = np.flatnonzero((self.sub_genre == self.sub_genre[s]) == same)
                pool = pool[pool != s]
                w = self.sub_share[pool]
                out[rows] = self.rng.choice(pool, size=len(rows), p=w / w.sum())
        return out

    # -- playlists -------------------------------------------------------------------------
    def _playlist_sizes(self, total: int) -> np.ndarray:
        """Sizes in 20..200 summing to exactly ``total`` (which must be >= 20)."""
        table = self.p["playlist_size"]
        mean = float(np.clip(_from_quantiles(np.linspace(0, 1, 1001), table),
                             PLAYLIST_MIN, PLAYLIST_MAX).mean())
        n = max(1, int(round(total / mean)))
        sizes = np.clip(np.rint(_from_quantiles(self.rng.random(n), table)),
                        PLAYLIST_MIN, PLAYLIST_MAX).astype(np.int64)
        # Spread the difference one song at a time over playlists that have room.
        diff = total - int(sizes.sum())
        while diff != 0:
            room = sizes < PLAYLIST_MAX if diff > 0 else sizes > PLAYLIST_MIN
            if not room.any():  # every playlist full or at the minimum: add or drop one
                if diff > 0:
                    sizes = np.append(sizes, 0)
                else:
                    sizes = sizes[:-1]
                diff = total - int(sizes.sum())
                continue
            pick = self.rng.choice(np.flatnonzero(room), size=min(abs(diff), int(room.sum())),
                                   replace=False)
            sizes[pick] += 1 if diff > 0 else -1
            diff = total - int(sizes.sum())
        return sizes

    def _memberships(self, songs: _Songs, artists: _Artists,
                     existing_playlists: dict[int, np.ndarray] | None,
                     share_existing: float, playlist_base: int
                     ) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
        """(song, playlist) pairs; returns songs, playlists and the new playlists per
        subgenre (their global indices)."""
        e = self.p["extra_playlists"]
        n = len(songs.ids)
        decile = np.minimum((np.argsort(np.argsort(songs.popularity, kind="stable"))
                             * 10 // max(n, 1)), 9)
        has_extra = self.rng.random(n) < np.asarray(e["p_by_popularity_decile"])[decile]
        # 1, 2, ... extra playlists: geometric with the measured mean.
        n_extra = np.where(has_extra, self.rng.geometric(e["p_stop"], n), 0)
        extra_song = np.repeat(np.arange(n), n_extra)
        cross = self.rng.random(len(extra_song)) < e["cross_genre"]
        extra_sub = self._other_subs(songs.sub[extra_song], ~cross)
        # A song is at most once in a subgenre, so never twice on one playlist.
        _, first = np.unique(extra_song * len(self.subs) + extra_sub, return_index=True)
        extra_song, extra_sub = extra_song[first], extra_sub[first]
        m_song = np.concatenate([np.arange(n), extra_song])
        m_sub = np.concatenate([songs.sub, extra_sub])
        # A primary membership sits at its artist's place with probability q; extra
        # memberships and the rest are placed at random.
        q = self.p["playlist_clustering"]["q"]
        tied = np.zeros(len(m_song), dtype=bool)
        tied[:n] = self.rng.random(n) < q
        key = np.where(tied, artists.place[songs.artist[m_song]], self.rng.random(len(m_song)))
        playlist = np.empty(len(m_song), dtype=np.int64)
        new_playlists: dict[int, np.ndarray] = {}
        next_id = playlist_base
        for s in range(len(self.subs)):
            rows = np.flatnonzero(m_sub == s)
            if len(rows) == 0:
                continue
            rows = rows[np.argsort(key[rows], kind="stable")]
            to_existing = np.zeros(len(rows), dtype=bool)
            old = existing_playlists.get(s) if existing_playlists else None
            if old is not None and len(old):
                to_existing = self.rng.random(len(rows)) < share_existing
                playlist[rows[to_existing]] = self.rng.choice(old, int(to_existing.sum()))
            fresh = rows[~to_existing]
            if len(fresh) == 0:
                continue
            if len(fresh) < PLAYLIST_MIN and old is not None and len(old):
                playlist[fresh] = self.rng.choice(old, len(fresh))
                continue
            sizes = self._playlist_sizes(len(fresh))
            ids = np.arange(next_id, next_id + len(sizes))
            next_id += len(sizes)
            playlist[fresh] = np.repeat(ids, sizes)
            new_playlists[s] = ids
        return m_song, playlist, new_playlists

    # -- the whole catalogue ---------------------------------------------------------------
    def catalogue(self, n_songs: int, n_new: int = 0) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The catalogue's rows, and (with ``n_new``) the later songs' rows.

        Raises:
            ValueError: fewer songs than one playlist needs.
        """
        if n_songs < PLAYLIST_MIN:
            raise ValueError(f"--songs must be at least {PLAYLIST_MIN}, got {n_songs}")
        artists, sizes = self._artists(n_songs)
        artist_of_song = np.repeat(np.arange(len(sizes)), sizes)
        albums, album_of_song = self._albums(artist_of_song, artists, 0)
        songs = self._songs(artist_of_song, artists, album_of_song)
        m_song, m_playlist, per_sub = self._memberships(songs, artists, None, 0.0, 0)
        n_playlists = int(m_playlist.max()) + 1
        playlist_sub = np.empty(n_playlists, dtype=np.int64)
        for s, ids in per_sub.items():
            playlist_sub[ids] = s
        playlists = self._playlist_table(playlist_sub, 0)
        rows = self._rows(songs, artists, albums, playlists, m_song, m_playlist)
        if not n_new:
            return rows, None

        # Later songs: half by existing artists (weighted by their size: prolific artists
        # release more), half by new ones.
        by_existing = self.rng.random(n_new) < 0.5
        n_old = int(by_existing.sum())
        old_artist = np.sort(self.rng.choice(len(sizes), n_old, p=sizes / sizes.sum()))
        new_artists, new_sizes = self._artists(n_new - n_old)
        all_artists = _Artists(*(np.concatenate([getattr(artists, f), getattr(new_artists, f)])
                                 for f in ("names", "home", "effect", "pop_effect",
                                           "year_effect", "place")))
        new_artist_of_song = np.concatenate(
            [old_artist, len(sizes) + np.repeat(np.arange(len(new_sizes)), new_sizes)])
        new_albums, new_album_of_song = self._albums(new_artist_of_song, all_artists,
                                                     len(albums.ids))
        # A third of an existing artist's new songs land on one of its existing albums.
        first_album = np.full(len(sizes), -1, dtype=np.int64)
        first_album[albums.artist[::-1]] = np.arange(len(albums.ids))[::-1]
        onto_old = (np.arange(n_new) < n_old) & (self.rng.random(n_new) < 1 / 3)
        new_album_of_song[onto_old] = first_album[new_artist_of_song[onto_old]]
        all_albums = _Albums(*(np.concatenate([getattr(albums, f), getattr(new_albums, f)])
                               for f in ("ids", "names", "dates", "artist")))
        new_songs = self._songs(new_artist_of_song, all_artists, new_album_of_song)
        old_by_sub = {s: np.flatnonzero(playlist_sub == s) for s in range(len(self.subs))}
        n_song2, n_playlist2, per_sub2 = self._memberships(
            new_songs, all_artists, old_by_sub, 0.5, n_playlists)
        playlist_sub2 = np.concatenate([playlist_sub, np.empty(
            max(0, int(n_playlist2.max()) + 1 - n_playlists), dtype=np.int64)])
        for s, ids in per_sub2.items():
            playlist_sub2[ids] = s
        new_playlists = self._playlist_table(playlist_sub2[n_playlists:], n_playlists)
        all_playlists = {k: np.concatenate([playlists[k], new_playlists[k]])
                         for k in playlists}
        new_rows = self._rows(new_songs, all_artists, all_albums, all_playlists,
                              n_song2, n_playlist2)
        return rows, new_rows

    def _playlist_table(self, playlist_sub: np.ndarray, start: int) -> dict[str, np.ndarray]:
        n = len(playlist_sub)
        sub_names = np.array(self.subs)[playlist_sub]
        names = np.char.add(np.char.add(np.char.title(sub_names), " "), self._names(n, 1, start))
        return {"id": _ids(self.rng, n), "name": names, "sub": playlist_sub}

    def _rows(self, songs: _Songs, artists: _Artists, albums: _Albums,
              playlists: dict[str, np.ndarray], m_song: np.ndarray,
              m_playlist: np.ndarray) -> pd.DataFrame:
        order = self.rng.permutation(len(m_song))
        s, pl = m_song[order], m_playlist[order]
        sub = playlists["sub"][pl]
        album = songs.album[s]
        frame = pd.DataFrame({
            "track_id": songs.ids[s],
            "track_name": songs.titles[s],
            "track_artist": artists.names[songs.artist[s]],
            "track_popularity": songs.popularity[s],
            "track_album_id": albums.ids[album],
            "track_album_name": albums.names[album],
            "track_album_release_date": albums.dates[album],
            "playlist_name": playlists["name"][pl],
            "playlist_id": playlists["id"][pl],
            "playlist_genre": self.sub_genre[sub],
            "playlist_subgenre": np.array(self.subs)[sub],
            **{f: songs.audio[f][s] for f in ("danceability", "energy", "key", "loudness",
                                              "mode", "speechiness", "acousticness",
                                              "instrumentalness", "liveness", "valence",
                                              "tempo", "duration_ms")},
        })
        return frame[COLUMNS]


def write(frame: pd.DataFrame, path: Path) -> Path:
    """Write rows as CSV, gzipped when the name ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        # Fast compression: the file is written once and read once.
        with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) as fh:
            frame.to_csv(fh, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, required=True, help="songs in the catalogue")
    ap.add_argument("--out", type=Path, required=True, help="CSV path (.gz: gzipped)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--new", type=int, default=0, help="songs that arrive later")
    ap.add_argument("--new-out", type=Path, default=None, help="where the later songs go")
    args = ap.parse_args(argv)
    if args.new and args.new_out is None:
        ap.error("--new needs --new-out")
    started = time.perf_counter()
    try:
        rows, new_rows = Generator(args.seed).catalogue(args.songs, args.new)
    except ValueError as exc:
        ap.error(str(exc))
    write(rows, args.out)
    summary: dict[str, object] = {"songs": args.songs, "rows": len(rows), "out": str(args.out)}
    if new_rows is not None:
        write(new_rows, args.new_out)
        summary.update(new_songs=args.new, new_rows=len(new_rows), new_out=str(args.new_out))
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
