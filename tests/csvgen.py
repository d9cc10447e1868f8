"""Small CSV files for the ETL tests, in the bundled dataset's column layout."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

BUNDLED_COLUMNS = [
    "track_id", "track_name", "track_artist", "track_popularity", "track_album_id",
    "track_album_name", "track_album_release_date", "playlist_name", "playlist_id",
    "playlist_genre", "playlist_subgenre", "danceability", "energy", "key", "loudness", "mode",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence", "tempo",
    "duration_ms",
]


def song(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid row for song number ``i``; features vary with ``i`` so songs differ."""
    f = (i % 10) / 10
    row: dict[str, Any] = {
        "track_id": f"T{i:05d}", "track_name": f"Song {i}", "track_artist": f"Artist {i % 3}",
        "track_popularity": 10 + i % 80, "track_album_id": f"AL{i % 4}",
        "track_album_name": f"Album {i % 4}", "track_album_release_date": f"20{10 + i % 10}-01-02",
        "playlist_name": f"List {i % 2}", "playlist_id": f"PL{i % 2}",
        "playlist_genre": "pop" if i % 2 else "rock",
        "playlist_subgenre": "dance pop" if i % 2 else "hard rock",
        "danceability": round(0.1 + 0.8 * f, 3), "energy": round(0.9 - 0.7 * f, 3),
        "key": i % 12, "loudness": -5.0 - i % 7, "mode": i % 2,
        "speechiness": round(0.05 + 0.3 * f, 3), "acousticness": round(0.5 * f, 3),
        "instrumentalness": round(0.01 * (i % 5), 3), "liveness": round(0.1 + 0.05 * (i % 4), 3),
        "valence": round(0.2 + 0.6 * f, 3), "tempo": 90.0 + i % 60, "duration_ms": 180000 + i,
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None,
              gz: bool = False) -> Path:
    """Write rows (missing keys become empty cells) with the given header."""
    columns = columns or BUNDLED_COLUMNS
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in columns])
    return path
