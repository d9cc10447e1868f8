"""Read a songs CSV (plain or gzipped) in chunks, map its columns, validate each row.

Every data row ends up either as a :class:`SongRow` or as a :class:`Rejected` with
its reasons, so ``rows read = rows loaded + rows rejected`` always holds. A file that
can't be used at all raises :class:`~musicgraph.errors.InputError` before anything
is loaded.
"""

from __future__ import annotations

import ast
import codecs
import csv
import gzip
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from etl.features import (
    FEATURE_RANGES,
    FIELD_ALIASES,
    INTEGER_FEATURES,
    MISSING_VALUES,
    POPULARITY_RANGE,
    REQUIRED_FIELDS,
)
from musicgraph.errors import InputError
from musicgraph.schema import AUDIO_FEATURES

_GZIP_MAGIC = b"\x1f\x8b"
_SPOTIFY_URI = re.compile(r"^spotify:track:([A-Za-z0-9]+)$")
_SPOTIFY_URL = re.compile(r"open\.spotify\.com/track/([A-Za-z0-9]+)")
_YEAR = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")

# Rows can hold long quoted fields (lists of artists); the csv module's default cap is 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class SongRow:
    """One valid row, ready for the graph."""

    line: int
    id: str
    props: dict[str, Any]
    artists: list[str]
    album: dict[str, Any] | None
    playlist: dict[str, Any] | None
    genre: str | None
    subgenre: str | None

    def as_param(self) -> dict[str, Any]:
        """The row as a Cypher parameter map (see ``cypher/etl/merge_rows.cypher``)."""
        return {
            "id": self.id, "props": self.props, "artists": self.artists, "album": self.album,
            "playlist": self.playlist, "genre": self.genre, "subgenre": self.subgenre,
        }


@dataclass
class Rejected:
    """A row that was not loaded, with every reason it failed."""

    line: int
    reasons: list[str]
    fields: list[str] = field(default_factory=list)


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse ``--map field=column,...`` into ``{field: column}``.

    Raises:
        InputError: bad syntax or an unknown field, naming it and the known fields.
    """
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise InputError(f"--map: expected FIELD=COLUMN, got {part.strip()!r}")
        if name not in FIELD_ALIASES:
            raise InputError(
                f"--map: unknown field {name!r}; fields are {', '.join(FIELD_ALIASES)}"
            )
        mapping[name] = column
    return mapping


def open_text(path: Path) -> io.TextIOWrapper:
    """Open a CSV, gunzipping when the file starts with the gzip magic bytes.

    Raises:
        InputError: the file is missing, a folder, unreadable, empty, not gzip-clean
            or not UTF-8. The whole file is checked before a row is loaded, so a file
            broken half-way loads nothing.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a CSV file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
    except OSError as exc:
        raise InputError(f"{path}: can't be read ({exc.strerror})") from exc
    if not head:
        raise InputError(f"{path}: the file is empty")
    gz = head == _GZIP_MAGIC
    _check_decodable(path, gz)
    raw: IO[bytes] = gzip.open(path, "rb") if gz else open(path, "rb")  # type: ignore[assignment]
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _check_decodable(path: Path, gz: bool) -> None:
    """Stream the whole file once through gunzip and a UTF-8 decoder (constant memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise InputError(
                        f"{path}: not UTF-8 text (bad byte at offset {offset + exc.start}"
                        f"{' of the uncompressed data' if gz else ''})"
                    ) from exc
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: damaged gzip data ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (the file ends mid-character)") from exc
    if offset == 0:
        raise InputError(f"{path}: the file is empty")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def resolve_columns(header: list[str], mapping: dict[str, str], path: Path) -> dict[str, int]:
    """Map each known field to its column index.

    ``--map`` entries win; otherwise the first alias found in the header.

    Raises:
        InputError: no header, a mapped column absent, or a required column absent.
    """
    names = [h.strip() for h in header]
    lower = {n.lower(): i for i, n in reversed(list(enumerate(names)))}
    if not any(names):
        raise InputError(f"{path}: no header row (the first line is blank)")
    known = {a for aliases in FIELD_ALIASES.values() for a in aliases}
    recognised = [n for n in names if n.lower() in known]
    if not recognised and not mapping and sum(_is_number(n) for n in names) >= len(names) / 2:
        raise InputError(
            f"{path}: no header row (the first line looks like data: "
            f"{', '.join(names[:4])}...)"
        )
    columns: dict[str, int] = {}
    for name, column in mapping.items():
        if column.lower() not in lower:
            raise InputError(
                f"{path}: --map {name}={column}: no column {column!r} in the header "
                f"(columns: {', '.join(names)})"
            )
        columns[name] = lower[column.lower()]
    for name, aliases in FIELD_ALIASES.items():
        if name in columns:
            continue
        for alias in aliases:
            if alias in lower:
                columns[name] = lower[alias]
                break
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        described = [
            f"{f} (one of {', '.join(FIELD_ALIASES[f])})" if len(FIELD_ALIASES[f]) > 1 else f
            for f in missing
        ]
        raise InputError(
            f"{path}: required column(s) missing: {'; '.join(described)}. "
            "Name other columns with --map FIELD=COLUMN"
        )
    return columns


def _cell(fields: list[str], columns: dict[str, int], name: str) -> str | None:
    idx = columns.get(name)
    if idx is None or idx >= len(fields):
        return None
    value = fields[idx].strip()
    return None if value.lower() in MISSING_VALUES else value


def parse_song_id(value: str) -> str:
    """A Spotify URI or URL becomes its bare id; any other value is kept as it is."""
    for pattern in (_SPOTIFY_URI, _SPOTIFY_URL):
        m = pattern.search(value)
        if m:
            return m.group(1)
    return value


def parse_artists(value: str | None) -> list[str]:
    """Split multi-artist cells: ``['A', 'B']`` (a Python/JSON list) or ``A;B``.

    A comma is not a separator: artist names contain commas ("Earth, Wind & Fire").
    """
    if not value:
        return []
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = None
        if isinstance(parsed, list | tuple):
            items = [str(v).strip() for v in parsed]
            return _dedupe([i for i in items if i and i.lower() not in MISSING_VALUES])
    return _dedupe([p.strip() for p in text.split(";") if p.strip()])


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def validate_row(fields: list[str], columns: dict[str, int], width: int,
                 line: int) -> SongRow | Rejected:
    """Turn one CSV record into a SongRow, or a Rejected naming every problem."""
    reasons: list[str] = []
    if len(fields) != width:
        reasons.append(f"wrong number of fields: expected {width}, got {len(fields)}")
        return Rejected(line, reasons, fields)
    raw_id = _cell(fields, columns, "id")
    song_id = parse_song_id(raw_id) if raw_id else None
    if not song_id:
        reasons.append("missing id")
    props: dict[str, Any] = {}
    for name in AUDIO_FEATURES:
        value = _cell(fields, columns, name)
        if value is None:
            reasons.append(f"missing feature {name}")
            continue
        try:
            number = float(value)
        except ValueError:
            reasons.append(f"non-numeric feature {name}: {value!r}")
            continue
        if not math.isfinite(number):
            reasons.append(f"non-numeric feature {name}: {value!r}")
            continue
        rng = FEATURE_RANGES[name]
        if not rng.contains(number):
            reasons.append(f"{name} out of range ({rng.describe()}): {value}")
            continue
        props[name] = int(number) if name in INTEGER_FEATURES else number
    popularity = _cell(fields, columns, "popularity")
    if popularity is not None:
        try:
            pop = float(popularity)
            if not (math.isfinite(pop) and POPULARITY_RANGE.contains(pop)):
                raise ValueError
            props["popularity"] = int(pop)
        except ValueError:
            reasons.append(f"popularity out of range (0..100 or empty): {popularity!r}")
    if reasons or song_id is None:
        return Rejected(line, reasons, fields)

    title = _cell(fields, columns, "title")
    if title is not None:
        props["title"] = title
    release = _cell(fields, columns, "release_date")
    if release is not None:
        props["release_date"] = release
        m = _YEAR.match(release)
        if m:
            props["release_year"] = int(m.group(1))
    artists = parse_artists(_cell(fields, columns, "artist"))
    album_id, album_name = _cell(fields, columns, "album_id"), _cell(fields, columns, "album")
    album = None
    if album_id or album_name:
        # Without an album id, an album is known by its name and first artist.
        key = album_id or f"{album_name}::{artists[0] if artists else ''}"
        album = {"id": key, "name": album_name, "release_date": release}
    playlist_id, playlist_name = (_cell(fields, columns, "playlist_id"),
                                  _cell(fields, columns, "playlist"))
    playlist = None
    if playlist_id or playlist_name:
        playlist = {"id": playlist_id or playlist_name, "name": playlist_name}
    genre, subgenre = _cell(fields, columns, "genre"), _cell(fields, columns, "subgenre")
    return SongRow(
        line=line, id=song_id, props=props, artists=artists, album=album, playlist=playlist,
        genre=genre.lower() if genre else None, subgenre=subgenre.lower() if subgenre else None,
    )


class SongReader:
    """Iterates the rows of a songs CSV as SongRow / Rejected.

    Args:
        path: CSV or gzipped CSV.
        mapping: ``{field: column}`` overrides (``--map``).

    Raises:
        InputError: (on construction) the file can't be used at all.
    """

    def __init__(self, path: Path, mapping: dict[str, str] | None = None) -> None:
        self.path = path
        self._fh = open_text(path)
        self._reader = csv.reader(self._fh)
        try:
            header = next(self._reader)
        except StopIteration:
            self._fh.close()
            raise InputError(f"{path}: the file is empty") from None
        except csv.Error as exc:
            self._fh.close()
            raise InputError(f"{path}: the header can't be parsed as CSV ({exc})") from exc
        try:
            self.columns = resolve_columns(header, mapping or {}, path)
        except InputError:
            self._fh.close()
            raise
        self.header = header
        self.width = len(header)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> SongReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def bytes_read(self) -> int:
        """Bytes of the underlying (compressed) file read so far, for progress bars."""
        raw: Any = self._fh.buffer
        # A GzipFile's own position counts uncompressed bytes; its fileobj's, compressed ones.
        inner: Any = getattr(raw, "fileobj", None) or raw
        try:
            return int(inner.tell())
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[SongRow | Rejected]:
        while True:
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Rejected(self._reader.line_num, [f"unparseable CSV record: {exc}"])
                continue
            if not fields:
                continue  # a blank line is not a row
            yield validate_row(fields, self.columns, self.width, self._reader.line_num)
