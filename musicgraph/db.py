"""One Neo4j driver per process, and the few ways the code talks to it.

Follows the driver's own advice: a driver is expensive and thread-safe, so each
process opens one (``Database.open``) and closes it at exit; queries go through
``execute_query`` (auto-retried, routed to readers for reads) or transaction
functions (``execute_read`` / ``execute_write``), always with parameters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase, NotificationDisabledClassification, RoutingControl
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired

import cypher
from musicgraph.config import Neo4jSettings
from musicgraph.errors import DatabaseUnavailableError

T = TypeVar("T")
log = logging.getLogger(__name__)

#: A monotonic time by which the caller's whole piece of work must be done (the web app
#: sets it per request): each call waits at most until then, and at most its own deadline.
_work_deadline: ContextVar[float | None] = ContextVar("musicgraph_work_deadline", default=None)


def set_work_deadline(seconds: float | None) -> None:
    """Give the calls that follow in this thread (or task) ``seconds`` in all; None: no limit."""
    _work_deadline.set(None if seconds is None else time.monotonic() + seconds)


#: True while the calls of this thread (or task) run without the database's deadline.
_unbounded: ContextVar[bool] = ContextVar("musicgraph_unbounded", default=False)


#: Neo4j's transaction timeout for calls run ``without_deadline``: long enough for a cold
#: server to plan anything, short enough that a stuck call ends.
BACKGROUND_TIMEOUT_SECONDS = 120.0


@contextmanager
def without_deadline() -> Iterator[None]:
    """Let the calls inside run without the request deadline, up to Neo4j's transaction
    timeout of ``BACKGROUND_TIMEOUT_SECONDS`` (background work such as warming Neo4j's
    query plans, never a request)."""
    token = _unbounded.set(True)
    try:
        yield
    finally:
        _unbounded.reset(token)


#: Driver errors that mean "the database isn't there right now".
UNAVAILABLE = (ServiceUnavailable, SessionExpired, ConnectionError, OSError)


class Database:
    """A Neo4j driver plus the database name, with parameterised helpers.

    Args:
        settings: connection settings; ``Neo4jSettings.from_env()`` when omitted.
        retry_seconds: how long a transaction is retried while the server is away. The
            default suits batch jobs; the web app passes a few seconds, since a person
            is waiting for the page.
        deadline_seconds: when set, ``read``, ``read_tx`` and ``verify`` give up after
            this long with :class:`DatabaseUnavailableError` (the web app's bound on a
            request). Retries end by themselves, but a server that is starting accepts
            connections and holds a query until its database is available, which the
            driver would wait for without limit. The call runs on a helper thread, which
            finishes (and returns its connection) whenever the server answers.

    With a deadline, the handle also tracks whether Neo4j is answering: the functions
    given to :meth:`on_available` run (on a background thread, one run at a time) after
    the first call that succeeds, and again after a call that found Neo4j away (refused,
    reset), then succeeded. The web app warms Neo4j's query plans there. While they run,
    other bounded calls wait for them (within their own deadline, and for at most one
    deadline in all), so the warming has the server to itself.
    """

    #: Records per fetch when streaming (the driver's default is 1000): fewer round trips
    #: for exports of millions of records, still a few MB in flight.
    STREAM_FETCH_SIZE = 10_000

    def __init__(self, settings: Neo4jSettings | None = None,
                 retry_seconds: float = 15.0, deadline_seconds: float | None = None) -> None:
        self.settings = settings or Neo4jSettings.from_env()
        self.deadline_seconds = deadline_seconds
        self._calls = (ThreadPoolExecutor(max_workers=64, thread_name_prefix="neo4j-call")
                       if deadline_seconds else None)
        self._answering = False  # no call has succeeded yet
        self._on_available: list[Callable[[], None]] = []
        self._after_available: list[Callable[[], None]] = []
        self._hooks_running = threading.Lock()
        self._state_lock = threading.Lock()
        self._ready = threading.Event()  # clear while the hooks run after Neo4j came back
        self._ready.set()
        self._hold_until = 0.0
        self.driver = GraphDatabase.driver(
            self.settings.uri,
            auth=(self.settings.user, self.settings.password),
            connection_acquisition_timeout=10.0,
            connection_timeout=5.0,
            max_transaction_retry_time=retry_seconds,
            # "Property key does not exist" (e.g. `embedding` before the first training)
            # is expected here and would be logged for every query; deprecations still show.
            notifications_disabled_classifications=[
                NotificationDisabledClassification.UNRECOGNIZED],
        )

    @property
    def database(self) -> str:
        return self.settings.database

    def close(self) -> None:
        """Close the driver and its connection pool."""
        if self._calls is not None:
            self._calls.shutdown(wait=False, cancel_futures=True)
        self.driver.close()

    def on_available(self, hook: Callable[[], None], *, hold: bool = True) -> None:
        """Run ``hook()`` whenever Neo4j answers again (see the class's docstring); with
        ``hold=False`` it runs after the other calls are let through."""
        (self._on_available if hold else self._after_available).append(hook)

    def _answered(self, ok: bool) -> None:
        """Note how a call went; on a first success, or one after a failure, run the hooks
        with the other calls held back (:meth:`_wait_ready`)."""
        if not ok:
            self._answering = False
            return
        if self._answering or not (self._on_available or self._after_available):
            return
        with self._state_lock:  # many calls succeed at once: one of them starts the run
            if self._answering:
                return
            self._answering = True
            if self._on_available:
                self._hold_until = time.monotonic() + (self.deadline_seconds or 0.0)
                self._ready.clear()
        threading.Thread(target=self._run_hooks, name="neo4j-available", daemon=True).start()

    def _run_hooks(self) -> None:
        # One run at a time; a run asked for meanwhile follows it (hooks are idempotent),
        # and every run opens the way when its holding hooks are done.
        with self._hooks_running:
            try:
                self._run_each(self._on_available)
            finally:
                self._ready.set()
            self._run_each(self._after_available)

    @staticmethod
    def _run_each(hooks: list[Callable[[], None]]) -> None:
        for hook in hooks:
            try:
                hook()
            except Exception:  # a hook is an optimisation: log it, never fail a request
                log.warning("hook after Neo4j answered again failed", exc_info=True)

    def _wait_ready(self, timeout: float) -> float:
        """While the hooks run, hold this call back (at most ``timeout`` s, and never past
        one deadline after Neo4j answered again); the time it has left.

        Why: a restarted Neo4j plans every statement afresh, seconds of CPU. Under load the
        planning competes with every request's cheap queries and took 22 s on two cores in
        the fault test; with the requests waiting it takes what it takes on a quiet server.
        """
        if self._ready.is_set():
            return timeout
        started = time.monotonic()
        self._ready.wait(max(0.0, min(timeout, self._hold_until - started)))
        return timeout - (time.monotonic() - started)

    def _bounded(self, work: Callable[[], T]) -> T:
        """``work()``, given up after ``deadline_seconds`` when that is set."""
        if self._calls is None or self.deadline_seconds is None or _unbounded.get():
            return work()
        try:
            result = self._bounded_call(work, self._calls, self.deadline_seconds)
        except DatabaseUnavailableError as exc:
            # Neo4j away (refused, reset), not merely slow: an overloaded server that
            # missed one deadline keeps its plans, and nothing needs warming.
            if not getattr(exc, "deadline_passed", False):
                self._answered(False)
            raise
        self._answered(True)
        return result

    def _bounded_call(self, work: Callable[[], T], calls: ThreadPoolExecutor,
                      deadline: float) -> T:
        timeout = deadline
        until = _work_deadline.get()
        if until is not None:
            timeout = min(timeout, until - time.monotonic())
        timeout = self._wait_ready(timeout)
        future = calls.submit(work) if timeout > 0 else None
        try:
            if future is None:
                raise FutureTimeout
            return future.result(timeout=timeout)
        except FutureTimeout:
            if future is not None:
                future.cancel()  # still queued behind stuck calls: never run it
            err = DatabaseUnavailableError(
                f"Neo4j at {self.settings.uri} did not answer within "
                f"{deadline:g}s: is it starting or overloaded?",
                "the query goes on in the background and is dropped when it ends",
            )
            err.deadline_passed = True  # type: ignore[attr-defined]
            raise err from None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verify(self) -> None:
        """Check that the server answers and the credentials work.

        Raises:
            DatabaseUnavailableError: naming the URI and what went wrong.
        """
        def work() -> None:
            with translate_errors(self.settings.uri):
                self.driver.verify_connectivity()

        self._bounded(work)

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run the named read statement, routed to readers; return its records as dicts."""
        statement: str | neo4j.Query = cypher.load(name)
        if self.deadline_seconds:
            # Neo4j ends the query when the caller has stopped waiting for it.
            statement = neo4j.Query(statement, timeout=self._tx_timeout())  # type: ignore[arg-type]

        def work() -> list[dict[str, Any]]:
            with translate_errors(self.settings.uri):
                records, _, _ = self.driver.execute_query(
                    statement, params, database_=self.database, routing_=RoutingControl.READ)
            return [r.data() for r in records]

        return self._bounded(work)

    def _tx_timeout(self) -> float | None:
        return BACKGROUND_TIMEOUT_SECONDS if _unbounded.get() else self.deadline_seconds

    def plan(self, name: str, **params: Any) -> None:
        """Have Neo4j plan the named statement for these parameters (``EXPLAIN``: nothing
        runs) and keep the plan in its query cache, as the statement's first run would."""
        def work() -> None:
            with translate_errors(self.settings.uri):
                statement = neo4j.Query("EXPLAIN " + cypher.load(name),
                                        timeout=self._tx_timeout())
                self.driver.execute_query(statement, params,
                                          database_=self.database,
                                          routing_=RoutingControl.READ)

        self._bounded(work)

    def write(self, name: str, **params: Any) -> neo4j.ResultSummary:
        """Run the named write statement in its own (retried) transaction; return the summary."""
        with translate_errors(self.settings.uri):
            _, summary, _ = self.driver.execute_query(
                cypher.load(name), params, database_=self.database
            )
        return summary

    def run_auto(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        """Run a statement in an auto-commit transaction.

        Needed for ``CALL { ... } IN TRANSACTIONS`` and schema commands, which can't
        run inside a transaction function.
        """
        with translate_errors(self.settings.uri):
            with self.driver.session(database=self.database) as session:
                return [r.data() for r in session.run(statement, params)]

    def read_tx(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` as a read transaction function (retried on transient errors)."""
        if self.deadline_seconds:
            # Neo4j ends the transaction when the caller has stopped waiting for it.
            work = neo4j.unit_of_work(timeout=self._tx_timeout())(work)

        def run() -> T:
            with translate_errors(self.settings.uri):
                with self.driver.session(
                    database=self.database, default_access_mode=neo4j.READ_ACCESS
                ) as session:
                    return session.execute_read(work)

        return self._bounded(run)

    def write_tx(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` as a write transaction function; it must be safe to retry."""
        with translate_errors(self.settings.uri):
            with self.driver.session(database=self.database) as session:
                return session.execute_write(work)

    def stream(self, name: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Stream the named read statement's records without holding them all in memory."""
        with translate_errors(self.settings.uri):
            with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS,
                fetch_size=self.STREAM_FETCH_SIZE,
            ) as session:
                result = session.run(cypher.load(name), params)
                for record in result:
                    yield record.data()


@contextmanager
def translate_errors(uri: str) -> Iterator[None]:
    """Turn the driver's connection and auth errors into ``DatabaseUnavailableError``."""
    try:
        yield
    except AuthError as exc:
        raise DatabaseUnavailableError(
            f"Neo4j at {uri} refused the credentials: check NEO4J_USER and NEO4J_PASSWORD",
            str(exc),
        ) from exc
    except UNAVAILABLE as exc:
        raise DatabaseUnavailableError(
            f"Neo4j at {uri} can't be reached: is it running? (musicgraph neo4j status)",
            str(exc),
        ) from exc


def reset_database(db: Database) -> None:
    """Delete every node, relationship, constraint and index (tests and ``--fresh`` loads)."""
    db.run_auto(cypher.load("admin/delete_all"))
    for row in db.read("admin/list_constraints"):
        db.run_auto(cypher.load("admin/drop_constraint"), name=row["name"])
    for row in db.read("admin/list_indexes"):
        if row["owningConstraint"] is None:
            db.run_auto(cypher.load("admin/drop_index"), name=row["name"])


def graph_counts(db: Database) -> dict[str, int]:
    """``{"Song": n, ..., "SIMILAR": m, ...}``: nodes per label and relationships per type."""
    return {row["name"]: int(row["count"]) for row in db.read("admin/counts")}
