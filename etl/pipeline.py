"""``musicgraph etl``: a songs CSV into Neo4j, then the audio-similarity graph.

Stages: apply the schema; stream the CSV, validating each row and writing valid ones in
batched ``UNWIND ... MERGE`` transactions (on a writer thread, so Python validates the
next batch while Neo4j commits this one) while rejected rows go to a rejects CSV with
their reasons; recompute every artist's and album's playlist statistics
(``cypher/etl/artist_stats``, ``album_stats``: the served ranking reads them); then build
the SIMILAR edges over every song in the database and write only what differs from the
stored ones (all of them, by CREATE, into a database that has none). Every write MERGEs
on a constrained key or compares with what is stored, so running it twice, or again
after it was killed half-way, ends with the same graph.

An empty database of the local server, with a large file, takes the bulk path instead
(:mod:`etl.bulk`, ``neo4j-admin database import``): same validation, same rejects, same
graph.
"""

from __future__ import annotations

import csv
import json
import queue
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
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
                   options: EtlOptions, sink: Callable[[SongRow], bool],
                   stored: Callable[[], int] | None = None) -> None:
    """Every row of the file: rejected ones to the rejects CSV with their reasons, valid
    ones to ``sink``, which returns True when it has passed a batch on. The progress bar
    then moves and shows ``stored()`` (rows safely written; default: rows passed on), so
    "loaded N" means N rows are in the database."""
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
                done = stored() if stored else report.rows_loaded
                bar.set_postfix_str(f"loaded {done:,}, rejected {report.rows_rejected:,}")
        bar.update(max(0, total - bar.n))
        bar.set_postfix_str(f"loaded {report.rows_loaded:,}, rejected {report.rows_rejected:,}")
    report.songs_in_file = len(song_ids)


def _load_rows(db: Database, reader: SongReader, rejects_fh: Any, report: EtlReport,
               options: EtlOptions) -> None:
    """The transactional path: valid rows in batched UNWIND ... MERGE transactions."""
    statement = cypher.load("etl/merge_rows")
    batch: list[dict[str, Any]] = []
    committed = 0

    def count(n: int) -> None:
        nonlocal committed
        committed += n

    with _Writer(db) as writer:
        def add(row: SongRow) -> bool:
            nonlocal batch
            batch.append(row.as_param())
            if len(batch) >= options.batch_size:
                writer.submit(statement, {"rows": batch}, partial(count, len(batch)))
                batch = []
                return True
            return False

        _validate_rows(reader, rejects_fh, report, options, add, lambda: committed)
        if batch:
            writer.submit(statement, {"rows": batch}, partial(count, len(batch)))


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


def _run_consumed(tx: Any, statement: str, params: dict[str, Any]) -> None:
    tx.run(statement, params).consume()


class _Writer:
    """Runs write transactions in order on one background thread.

    Python builds the next batch's parameters while Neo4j commits the current one: on a
    small machine the two take turns on the same cores otherwise. One thread and a short
    queue keep the transactions in file order (the same graph as writing them inline)
    and at most two batches in memory. An error is raised on the caller's thread, at
    the next submit or at the end.
    """

    def __init__(self, db: Database, depth: int = 2) -> None:
        self._db = db
        self._queue: queue.Queue[tuple[str, dict[str, Any], Callable[[], object]] | None] = (
            queue.Queue(maxsize=depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="etl-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the caller stops at its next submit
            statement, params, done = item
            try:
                self._db.write_tx(partial(_run_consumed, statement=statement, params=params))
                done()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, statement: str, params: dict[str, Any], done: Callable[[], object]) -> None:
        """Queue one transaction; ``done`` runs (on the writer thread) once it commits."""
        self._raise()
        self._queue.put((statement, params, done))

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if exc[0] is None:
            self._raise()


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
    if _similarity_is_current(db, build, stats.edges):
        # The same songs, features and settings as the stored, complete build: the edges
        # would be rewritten unchanged (a rerun, or a load that added nothing).
        report.notes.append("SIMILAR edges unchanged (same build); not rewritten")
        return stats
    with report.phase("similar_write"):
        _write_similar(db, ids, edges, build, options, report)
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


def _similarity_is_current(db: Database, build: str, edges: int) -> bool:
    """True when the stored settings name this build and every SIMILAR edge is of it.

    The settings are written last, after the stale edges are removed, so they name a
    complete build; the count of edges of this build guards against a later run that was
    interrupted after rewriting some of them.
    """
    state = db.read("etl/similarity_state")[0]
    if state["build"] != build or state["edges"] != edges or state["total"] != edges:
        return False
    return bool(db.read("etl/similar_of_build", build=build)[0]["edges"] == edges)


def _write_similar(db: Database, ids: list[str], edges: similarity.SimilarityEdges,
                   build: str, options: EtlOptions, report: EtlReport) -> None:
    """Make the stored SIMILAR edges the build's ``edges``, each batch one transaction.

    A database without any SIMILAR edge (the first load) gets them all by CREATE, which
    skips MERGE's look for an existing edge. Otherwise the stored edges are read back and
    only the difference is written: new pairs and changed scores by MERGE, vanished pairs
    deleted. Loading a few songs into a large catalogue then moves a few edges, not all of
    them. Either way a rerun after an interruption ends the same: it compares against what
    the interrupted run left.
    """
    fresh = db.read("etl/similarity_state")[0]["total"] == 0
    keep = np.ones(len(edges.src), dtype=bool)
    if not fresh:
        keep, gone = _similar_difference(db, ids, edges)
        report.notes.append(f"SIMILAR: {int(keep.sum()):,} edges new or rescored, "
                            f"{len(gone):,} removed, {int((~keep).sum()):,} unchanged")
        statement = cypher.load("etl/delete_similar")
        with _Writer(db) as writer:
            for start in range(0, len(gone), options.similarity_batch):
                writer.submit(statement, {"pairs": gone[start:start + options.similarity_batch]},
                              lambda: None)
    statement = cypher.load("etl/create_similar" if fresh else "etl/merge_similar")
    src, dst, score = edges.src[keep], edges.dst[keep], edges.score[keep]
    # Edges come sorted by (src, dst): each source's run of edges is one group.
    starts = np.flatnonzero(np.diff(src, prepend=-1) != 0) if len(src) else src
    bounds = np.append(starts, len(src)).tolist()
    with tqdm(total=len(src), desc="SIMILAR", unit=" edges", disable=not options.progress) as bar, \
            _Writer(db) as writer:
        groups: list[dict[str, Any]] = []
        in_batch = 0
        for i in range(len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            groups.append({"a": ids[src[lo]], "to": [
                {"b": ids[b], "score": s}
                for b, s in zip(dst[lo:hi].tolist(), score[lo:hi].tolist(), strict=True)]})
            in_batch += hi - lo
            if in_batch >= options.similarity_batch or i == len(bounds) - 2:
                writer.submit(statement, {"groups": groups, "build": build},
                              partial(bar.update, in_batch))
                groups, in_batch = [], 0


def _similar_difference(db: Database, ids: list[str], edges: similarity.SimilarityEdges,
                        ) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Which of ``edges`` are missing or scored otherwise in the database (a mask), and
    which stored edges the build does not have (as id pairs)."""
    n = len(ids)
    index = {song_id: i for i, song_id in enumerate(ids)}
    old_a, old_b, old_s = array("q"), array("q"), array("d")
    gone: list[dict[str, str]] = []
    for rec in db.stream("etl/similar_edges"):
        a, b = index.get(rec["a"]), index.get(rec["b"])
        if a is None or b is None or a >= b or rec["score"] is None:
            gone.append({"a": rec["a"], "b": rec["b"]})  # not an edge any build writes
            continue
        old_a.append(a)
        old_b.append(b)
        old_s.append(float(rec["score"]))
    del index
    # One integer per unordered pair (a < b < n): a * n + b.
    old_key = np.frombuffer(old_a, dtype=np.int64) * n + np.frombuffer(old_b, dtype=np.int64)
    old_score = np.frombuffer(old_s, dtype=np.float64)
    new_key = edges.src.astype(np.int64) * n + edges.dst.astype(np.int64)
    order = np.argsort(old_key, kind="stable")
    old_key, old_score = old_key[order], old_score[order]
    pos = np.minimum(np.searchsorted(old_key, new_key), max(len(old_key) - 1, 0))
    stored = (old_key[pos] == new_key) if len(old_key) else np.zeros(len(new_key), bool)
    same = stored & (old_score[pos] == edges.score) if len(old_key) else stored
    vanished = ~np.isin(old_key, new_key)
    gone += [{"a": ids[int(k // n)], "b": ids[int(k % n)]} for k in old_key[vanished]]
    return ~same, gone
