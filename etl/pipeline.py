"""``musicgraph etl``: a songs CSV into Neo4j, then the audio-similarity graph.

Stages: apply the schema; stream the CSV in chunks, validating each row and writing
valid ones in batched ``UNWIND ... MERGE`` transactions while rejected rows go to a
rejects CSV with their reasons; recompute every artist's and album's playlist statistics
(``cypher/etl/artist_stats``, ``album_stats``: the served ranking reads them); then
rebuild the SIMILAR edges over every song in the database. Every write MERGEs on a constrained key, so running it twice, or again after
it was killed half-way, ends with the same graph.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import cypher
from etl import bulk, similarity
from etl.features import SIMILARITY_FEATURES
from etl.reader import Rejected, SongReader, SongRow, parse_mapping
from musicgraph.config import default_csv
from musicgraph.db import Database, graph_counts
from musicgraph.errors import InputError
from musicgraph.neo4j_local import Instance
from musicgraph.schema import AUDIO_FEATURES, SEARCH_INDEX

#: Neighbours per song and the cosine threshold of a SIMILAR edge: every song keeps a
#: neighbour and the graph stays one component without turning dense (how they were
#: chosen: docs/design-notes.md).
DEFAULT_K = 8
DEFAULT_THRESHOLD = 0.8


@dataclass
class EtlOptions:
    """Tunables of one ETL run."""

    batch_size: int = 2000
    knn_k: int = DEFAULT_K
    threshold: float = DEFAULT_THRESHOLD
    similarity_batch: int = 10_000
    progress: bool = True
    #: ``auto``: an empty local database and at least ``bulk_min_rows`` rows take the bulk
    #: path (``etl.bulk``); ``always``: every empty local database does; ``never``.
    bulk: str = "auto"
    bulk_min_rows: int = 200_000
    #: The local server's home for the bulk path (None: found from NEO4J_URI's port).
    home: Path | None = None


@dataclass
class EtlReport:
    """What a run did: rows in = rows loaded + rows rejected."""

    csv_path: Path
    rejects_path: Path
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    songs_in_file: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    similarity: similarity.GraphStats | None = None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    path: str = "transactional"
    phases: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a stage of the run into ``phases`` (seconds, summed if it repeats)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - started
            self.phases[name] = round(self.phases.get(name, 0.0) + took, 2)

    def to_json(self) -> dict[str, Any]:
        """The report as plain data (``musicgraph etl --report``)."""
        return {
            "csv": str(self.csv_path), "rejects": str(self.rejects_path), "path": self.path,
            "rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected, "songs_in_file": self.songs_in_file,
            "reasons": dict(self.reasons), "counts": self.counts,
            "similarity": None if self.similarity is None else self.similarity.__dict__,
            "phases": self.phases, "notes": self.notes, "seconds": round(self.seconds, 2),
        }

    def write_json(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    def summary(self) -> str:
        lines = [*self.notes,
            f"{self.csv_path}: {self.rows_read:,} rows read = {self.rows_loaded:,} loaded "
            f"+ {self.rows_rejected:,} rejected ({self.songs_in_file:,} distinct songs loaded)",
        ]
        if self.rows_rejected:
            lines.append(f"rejected rows and their reasons: {self.rejects_path}")
            for reason, n in self.reasons.most_common(10):
                lines.append(f"  {n:>7,}  {reason}")
        if self.similarity:
            lines.append(self.similarity.describe())
        if self.counts:
            lines.append("graph: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.counts.items())))
        if self.phases:
            lines.append(f"{self.path} load; seconds per stage: "
                         + ", ".join(f"{k} {v:.1f}" for k, v in self.phases.items()))
        lines.append(f"done in {self.seconds:.1f}s")
        return "\n".join(lines)


def apply_schema(db: Database) -> None:
    """Create the constraints and indexes in ``cypher/schema`` (idempotent: IF NOT EXISTS)."""
    for _, statement in cypher.load_all("schema"):
        db.run_auto(statement, search_index=SEARCH_INDEX)


def default_rejects_path(csv_path: Path) -> Path:
    """``songs.csv.gz`` → ``songs.rejects.csv`` in the same folder."""
    name = csv_path.name
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return csv_path.with_name(f"{name}.rejects.csv")


def _reason_kind(reason: str) -> str:
    """Group reasons for the summary: drop the offending value, keep what was wrong."""
    return reason.split(":")[0]


def run(db: Database, csv_path: Path | None = None, mapping: str | None = None,
        rejects_path: Path | None = None, options: EtlOptions | None = None) -> EtlReport:
    """Load a songs CSV into Neo4j and rebuild the similarity graph.

    Args:
        db: the database to load into.
        csv_path: CSV or gzipped CSV; the bundled dataset when None.
        mapping: ``--map`` text, ``field=column,...``.
        rejects_path: where rejected rows go; beside the input when None.
        options: batch sizes and similarity settings.

    Returns:
        The run's report (counts, reasons, similarity statistics).

    Raises:
        InputError: the file can't be used at all (nothing is loaded), or the rejects
            file can't be written.
        DatabaseUnavailableError: Neo4j can't be reached.
    """
    options = options or EtlOptions()
    started = time.perf_counter()
    csv_path = Path(csv_path or default_csv())
    field_map = parse_mapping(mapping)
    rejects_path = Path(rejects_path or default_rejects_path(csv_path))
    report = EtlReport(csv_path=csv_path, rejects_path=rejects_path)

    # Every fatal check (file, encoding, header, columns) runs before the first write.
    with SongReader(csv_path, field_map) as reader:
        try:
            rejects_fh = open(rejects_path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"{rejects_path}: can't write the rejects file ({exc.strerror}); "
                "choose another with --rejects"
            ) from exc
        instance = _bulk_target(db, csv_path, options, report)
        with rejects_fh:
            if instance is None:
                with report.phase("schema"):
                    apply_schema(db)
                with report.phase("rows"):
                    _load_rows(db, reader, rejects_fh, report, options)
            else:
                report.path = "bulk"
                _bulk_load(db, instance, reader, rejects_fh, report, options)

    # Over the whole graph, not only this file's rows: an artist's songs may come from
    # several files. Idempotent, so an interrupted run's rerun ends the same.
    with report.phase("stats"):
        db.run_auto(cypher.load("etl/artist_stats"))
        db.run_auto(cypher.load("etl/album_stats"))
    if report.path != "bulk":
        report.similarity = build_similarity(db, options, report)
    report.counts = graph_counts(db)
    report.seconds = time.perf_counter() - started
    return report


def _validate_rows(reader: SongReader, rejects_fh: Any, report: EtlReport,
                   options: EtlOptions, sink: Callable[[SongRow], bool]) -> None:
    """Every row of the file: rejected ones to the rejects CSV with their reasons, valid
    ones to ``sink``, which returns True when the rows it holds are stored (the progress
    bar then moves, so "loaded N" means N rows are safe)."""
    writer = csv.writer(rejects_fh)
    writer.writerow(["line", "reason", *reader.header])
    song_ids: set[str] = set()
    total = reader.path.stat().st_size
    with tqdm(total=total, unit="B", unit_scale=True, desc="rows", disable=not options.progress,
              ) as bar:
        for item in reader:
            report.rows_read += 1
            if isinstance(item, Rejected):
                report.rows_rejected += 1
                reason = "; ".join(item.reasons)
                writer.writerow([item.line, reason, *item.fields])
                for r in item.reasons:
                    report.reasons[_reason_kind(r)] += 1
                continue
            report.rows_loaded += 1
            song_ids.add(item.id)
            if sink(item):
                bar.update(reader.bytes_read() - bar.n)
                bar.set_postfix_str(f"loaded {report.rows_loaded:,}, rejected {report.rows_rejected:,}")
        bar.update(max(0, total - bar.n))
        bar.set_postfix_str(f"loaded {report.rows_loaded:,}, rejected {report.rows_rejected:,}")
    report.songs_in_file = len(song_ids)


def _load_rows(db: Database, reader: SongReader, rejects_fh: Any, report: EtlReport,
               options: EtlOptions) -> None:
    """The transactional path: valid rows in batched UNWIND ... MERGE transactions."""
    statement = cypher.load("etl/merge_rows")
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if batch:
            db.write_tx(lambda tx: tx.run(statement, rows=batch).consume())
            batch.clear()

    def add(row: SongRow) -> bool:
        batch.append(row.as_param())
        if len(batch) >= options.batch_size:
            flush()
            return True
        return False

    _validate_rows(reader, rejects_fh, report, options, add)
    flush()


def _bulk_target(db: Database, csv_path: Path, options: EtlOptions,
                 report: EtlReport) -> Instance | None:
    """The local server to bulk-load into, or None for the transactional path (with a
    note saying why, when the bulk path was asked for or would have been taken)."""
    if options.bulk == "never":
        return None
    if not bulk.database_is_empty(db):
        if options.bulk == "always":
            report.notes.append("bulk path not taken: the database is not empty")
        return None
    if options.bulk == "auto" and bulk.count_lines(csv_path) - 1 < options.bulk_min_rows:
        return None
    instance, why = bulk.local_instance(db.settings.uri, options.home)
    if instance is None:
        report.notes.append(f"bulk path not taken: {why}; loading transactionally")
        if options.progress:
            tqdm.write(report.notes[-1])
    return instance


def _bulk_load(db: Database, instance: Instance, reader: SongReader, rejects_fh: Any,
               report: EtlReport, options: EtlOptions) -> None:
    """The bulk path (:mod:`etl.bulk`): validate and stage, write the import files with
    the SIMILAR edges, import, then the schema and the stored settings."""
    with bulk.scratch_folder(instance) as tmp:
        folder = Path(tmp)
        stager = bulk.Stager(folder)
        staged = 0

        def add(row: SongRow) -> bool:
            nonlocal staged
            stager.add(row)
            staged += 1
            return staged % options.batch_size == 0

        with report.phase("rows"):
            _validate_rows(reader, rejects_fh, report, options, add)
        stager.close()
        files = bulk.ImportFiles(folder)
        with report.phase("import_files"):
            ids, x = bulk.write_import_files(stager, files, options.progress)
        if not ids:
            files.close()
            report.notes.append("bulk path: no valid row, nothing imported")
            return
        with report.phase("similarity"):
            result = bulk.similar_edges(files, ids, x, options.knn_k, options.threshold)
        del ids, x
        bulk.import_and_restart(db, instance, files, folder, report.phase)
    with report.phase("schema"):
        apply_schema(db)
    bulk.save_meta(db, result, options.knn_k, options.threshold)
    report.similarity = result.stats


def _write_pairs(db: Database, statement: str, pairs: list[dict[str, Any]], build: str) -> None:
    """One batch of SIMILAR edges in one retryable transaction."""
    db.write_tx(lambda tx: tx.run(statement, pairs=pairs, build=build).consume())


def build_similarity(db: Database, options: EtlOptions,
                     report: EtlReport | None = None) -> similarity.GraphStats:
    """Standardise every song's features, store the scaler, and rebuild SIMILAR edges.

    Runs over all songs in the database, not only this file's, so loading a second file
    links its songs into the same graph.
    """
    report = report or EtlReport(Path(), Path())
    with report.phase("features"):
        ids, x = _read_features(db, options)
    if not ids:
        return similarity.graph_stats(0, similarity.knn_edges(x, options.knn_k, options.threshold))
    with report.phase("knn"):
        scaler = similarity.fit_scaler(x)
        cols = [AUDIO_FEATURES.index(f) for f in SIMILARITY_FEATURES]
        z = scaler.transform(x)[:, cols]
        edges = similarity.knn_edges(z, options.knn_k, options.threshold, n_jobs=-1)
        stats = similarity.graph_stats(len(ids), edges)
        build = similarity.fingerprint(ids, options.knn_k, options.threshold, x,
                                       SIMILARITY_FEATURES)
    db.write("etl/save_scaler", key="audio_scaler", features=list(AUDIO_FEATURES),
             mean=[float(v) for v in scaler.mean_], scale=[float(v) for v in scaler.scale_],
             songs=len(ids))
    with report.phase("similar_write"):
        _write_similar(db, ids, edges, build, options)
    with report.phase("similar_cleanup"):
        db.run_auto(cypher.load("etl/delete_stale_similar"), build=build)
    db.write("etl/save_similarity_settings", k=options.knn_k, threshold=options.threshold,
             build=build, features=list(SIMILARITY_FEATURES), edges=stats.edges,
             components=stats.components)
    return stats


def _read_features(db: Database, options: EtlOptions) -> tuple[list[str], np.ndarray]:
    """Every song's id and raw audio features, in id order."""
    ids: list[str] = []
    # Rows arrive one by one; packing them into float64 blocks keeps memory at ~100 MB per
    # million songs instead of a Python list of lists several times that size.
    blocks: list[np.ndarray] = []
    block: list[list[float]] = []
    for rec in tqdm(db.stream("etl/song_features", features=list(AUDIO_FEATURES)),
                    desc="features", unit=" songs", disable=not options.progress):
        ids.append(rec["id"])
        block.append(rec["x"])
        if len(block) == 50_000:
            blocks.append(np.asarray(block, dtype=np.float64))
            block = []
    blocks.append(np.asarray(block, dtype=np.float64).reshape(-1, len(AUDIO_FEATURES)))
    x = np.concatenate(blocks)
    return ids, x


def _write_similar(db: Database, ids: list[str], edges: similarity.SimilarityEdges,
                   build: str, options: EtlOptions) -> None:
    statement = cypher.load("etl/merge_similar")
    step = options.similarity_batch
    with tqdm(total=len(edges.src), desc="SIMILAR", unit=" edges",
              disable=not options.progress) as bar:
        for start in range(0, len(edges.src), step):
            pairs = [
                {"a": ids[a], "b": ids[b], "score": float(s)}
                for a, b, s in zip(edges.src[start:start + step], edges.dst[start:start + step],
                                   edges.score[start:start + step], strict=True)
            ]
            _write_pairs(db, statement, pairs, build)
            bar.update(len(pairs))
