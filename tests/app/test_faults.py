"""The app under gunicorn (``app/gunicorn_conf.py``, two workers) and under load, while
things fail: Neo4j is SIGKILLed and restarted, a worker is SIGKILLed. Also: /metrics adds
up every worker's requests. Runs on the session's private server, never the shared one.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from app import DEFAULTS, gunicorn_conf
from musicgraph.db import Database
from musicgraph.neo4j_local import free_port
from tests import support
from tests.support import PrivateNeo4j

pytestmark = pytest.mark.neo4j

WORKERS = 2
THREADS = 4
CLIENTS = 6
#: The longest a request waits on Neo4j before it answers 503 (the app's default).
DEADLINE = float(DEFAULTS["NEO4J_DEADLINE_SECONDS"])
#: The request timeout: gunicorn's (a silent worker is replaced after it).
REQUEST_TIMEOUT = float(gunicorn_conf.timeout)
#: The mix the load threads cycle through (the tests/support app graph).
MIX = ["/api/songs/T00004/recommendations?k=5", "/api/songs?q=song%207", "/songs/T00011",
       "/api/songs/T00002/recommendations?k=5", "/api/recommendations?seeds=T00001,T00005&k=5",
       "/api/songs/T00009"]
#: Recommendations no request asks for before the restart test's probe: the first 200 is
#: computed by the restarted Neo4j, never a cached answer.
FRESH_RECOMMENDATIONS = "/api/songs/T00004/recommendations?k=7"


@dataclass
class Server:
    """gunicorn serving the app over the private Neo4j."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    answers: Path  # the result cache the workers share

    def workers(self) -> set[int]:
        return {c.pid for c in psutil.Process(self.proc.pid).children()}

    def get(self, path: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def metrics(self) -> str:
        status, body = self.get("/metrics")
        assert status == 200
        return body.decode()


@dataclass
class Outcome:
    """One request of the load: when it ran, and what came back."""

    started: float
    ended: float
    path: str
    status: int | None = None  # None: no HTTP answer (connection reset or refused)
    json_error: bool = False
    error: str = ""


@dataclass
class Load:
    """Client threads cycling through MIX on keep-alive connections until stopped."""

    server: Server
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for n in range(CLIENTS):
            t = threading.Thread(target=self._client, args=(n,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=REQUEST_TIMEOUT + 5)

    def _client(self, n: int) -> None:
        conn: http.client.HTTPConnection | None = None
        i = n
        while not self._stop.is_set():
            path = MIX[i % len(MIX)]
            i += 1
            out = Outcome(started=time.monotonic(), ended=0.0, path=path)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                                      timeout=REQUEST_TIMEOUT + 5)
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                out.status = resp.status
                if resp.status != 200:
                    try:
                        parsed = json.loads(body) if "/api/" in path else None
                    except ValueError:
                        parsed = None
                    out.json_error = isinstance(parsed, dict) and {"error", "detail"} <= set(parsed)
                    out.error = body[:200].decode(errors="replace")
            except (OSError, http.client.HTTPException) as exc:
                out.error = repr(exc)
                if conn is not None:
                    conn.close()
                conn = None
            out.ended = time.monotonic()
            with self._lock:
                self.outcomes.append(out)
        if conn is not None:
            conn.close()

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def wait_for(self, count: int, what: str, since: float = 0.0,
                 status: int | None = 200, timeout: float = 60) -> list[Outcome]:
        """Wait until ``count`` outcomes (of ``status``, started after ``since``) are in."""
        def enough() -> list[Outcome]:
            got = [o for o in self.snapshot() if o.started >= since
                   and (status is None or o.status == status)]
            return got if len(got) >= count else []
        return support.wait_until(enough, timeout, what)


@pytest.fixture(scope="module")
def loaded_private(private_neo4j: PrivateNeo4j,
                   tmp_path_factory: pytest.TempPathFactory) -> PrivateNeo4j:
    """The private server holding the app graph (tests/support) with embeddings."""
    with Database(private_neo4j.settings) as db:
        support.load_app_graph(db, tmp_path_factory.mktemp("faults-app"))
    return private_neo4j


@pytest.fixture(scope="module")
def server(loaded_private: PrivateNeo4j,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn with the production config file, two workers, on a free port."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    support.write_fixture_ranker(tmp / "models")  # the ranker the app serves with
    port = free_port()
    log = tmp / "gunicorn.log"
    env = {**os.environ, **loaded_private.env(), "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
           "MUSICGRAPH_RESULT_CACHE_DIR": str(tmp / "answers"),
           # A person waits for the answer: retry a lost Neo4j for 1 s, then 503.
           "MUSICGRAPH_NEO4J_RETRY_SECONDS": "1.0", "MUSICGRAPH_MODELS": str(tmp / "models")}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf",
             "-b", f"127.0.0.1:{port}", "-w", str(WORKERS), "--threads", str(THREADS),
             "app.wsgi:app"], cwd=support.ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    srv = Server(proc=proc, port=port, log=log, answers=tmp / "answers")
    try:
        def ready() -> bool:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                return srv.get("/healthz", timeout=5)[0] == 200 and len(srv.workers()) == WORKERS
            except OSError:
                return False
        support.wait_until(ready, 120, "gunicorn to answer /healthz", every=0.2)
        # Warm up: each worker's driver connected, Neo4j's query plans cached.
        for path in [*MIX, "/api/explain?from=T00001&to=T00004"] * WORKERS:
            support.wait_until(lambda p=path: srv.get(p)[0] == 200, 120, f"200 from {path}",
                               every=0.2)
        yield srv
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_metrics_add_up_every_workers_requests(server: Server) -> None:
    count = "musicgraph_http_request_duration_seconds_count"
    url = "/api/explain?from=T00001&to=T00004"  # an endpoint the load below never calls
    before = support.metric_sample(server.metrics(), count, endpoint="api.explain")
    n = 40
    with Load(server):  # busy workers: the requests spread over both
        for _ in range(n):
            assert server.get(url)[0] == 200
    served_by = {json.loads(line)["pid"] for line in server.log.read_text().splitlines()
                 if line.startswith("{") and '"path": "/api/explain"' in line}
    assert served_by == server.workers()  # both workers took some of them
    # Whichever worker answers the scrape, it reports every worker's requests.
    for _ in range(4):
        text = server.metrics()
        assert support.metric_sample(text, count, endpoint="api.explain") == before + n
    assert support.metric_sample(text, "musicgraph_http_request_duration_seconds_bucket",
                  endpoint="api.explain", le="+Inf") == before + n
    assert support.metric_sample(text, "musicgraph_model_info", data_hash="none") == 1


def test_workers_share_one_result_cache(server: Server) -> None:
    import diskcache

    # The warm-up asked each recommendation of the mix on every worker's behalf: each
    # answer is in the shared folder once, whichever worker computed it.
    recommendations = {p for p in MIX if "recommendations" in p}
    with diskcache.Cache(str(server.answers)) as shared:
        keys = list(shared.iterkeys())
    assert len(keys) >= len(recommendations), keys
    assert all(isinstance(shared_key, str) for shared_key in keys)


def first_200(server: Server, path: str, since: float, out: dict[str, float]) -> None:
    """Ask for ``path`` on fresh connections until it answers 200; seconds after ``since``."""
    def ok() -> bool:
        try:
            return server.get(path)[0] == 200
        except OSError:
            return False
    support.wait_until(ok, 90, f"200 from {path}", every=0.05)
    out[path] = time.monotonic() - since


def test_neo4j_restart_under_load(server: Server, loaded_private: PrivateNeo4j) -> None:
    master, workers = server.proc.pid, server.workers()
    metrics = server.metrics()
    errors_before = support.metric_sample(metrics, "musicgraph_neo4j_errors_total")
    warmups_before = support.metric_sample(metrics, "musicgraph_query_plan_warmup_seconds_count")
    recovery: dict[str, float] = {}
    with Load(server) as load:
        load.wait_for(30, "answers before the kill")
        killed = loaded_private.kill()
        load.wait_for(10, "503s while Neo4j is down", since=killed, status=503)
        up = loaded_private.start()  # returns once Bolt answers RETURN 1
        # Neo4j answers the app's own read (a recovered store, cold caches): the app's
        # recovery is measured from here, apart from how fast the machine brings Neo4j up.
        with Database(loaded_private.settings) as direct:
            support.wait_until(lambda: direct.read("app/song", id="T00004"), 120,
                               "Neo4j to answer a song read", every=0.05)
        answering = time.monotonic()
        # Probes on their own connections: the load's clients may still be waiting on
        # requests sent while Neo4j was starting.
        probes = [threading.Thread(target=first_200, args=(server, path, answering, recovery))
                  for path in ("/api/songs/T00004", FRESH_RECOMMENDATIONS)]
        for t in probes:
            t.start()
        for t in probes:
            t.join()
        settled = answering + max(recovery.values())
        load.wait_for(30, "answers after the recovery", since=settled)
    outcomes = load.snapshot()
    during = [o for o in outcomes if o.started >= killed]
    statuses = {o.status for o in outcomes}
    slowest = max(o.ended - o.started for o in outcomes)
    late = [o for o in outcomes if o.started >= settled and o.status != 200]
    bad = [o for o in outcomes if o.status == 503 and not o.json_error and "/api/" in o.path]
    metrics = server.metrics()
    errors_after = support.metric_sample(metrics, "musicgraph_neo4j_errors_total")
    warmups = support.metric_sample(metrics, "musicgraph_query_plan_warmup_seconds_count")
    warmup_s = support.metric_sample(metrics, "musicgraph_query_plan_warmup_seconds_sum")
    support.write_artifact("neo4j_restart_under_load", {
        "requests": len(outcomes), "during_outage_and_after": len(during),
        "status_counts": {str(s): sum(1 for o in outcomes if o.status == s) for s in statuses},
        "slowest_request_s": round(slowest, 2), "outage_s": round(up - killed, 1),
        "neo4j_answering_reads_after_bolt_s": round(answering - up, 2),
        "first_200_after_neo4j_answered_s": {k: round(v, 2) for k, v in recovery.items()},
        "neo4j_errors_counted": errors_after - errors_before,
        "query_plan_warmups_after_restart": warmups - warmups_before,
        "query_plan_warmup_s_in_all": round(warmup_s, 2),
        "same_master": server.proc.pid == master, "same_workers": server.workers() == workers})
    assert statuses <= {200, 503}, [o for o in outcomes if o.status not in (200, 503)][:3]
    assert not bad, bad[:3]  # every API 503 is the JSON {error, detail}
    assert slowest < REQUEST_TIMEOUT
    # The app serves again once Neo4j has planned its queries: a song read and a
    # recommendation computed afresh. A restarted Neo4j plans them cold (JIT, class
    # loading), which the app does first, holding requests back meanwhile (app.get_db):
    # 3.6-6.5 s on two quiet cores, against the 5 s; 11.3 s with an evaluation
    # running beside it. Asserted: within the hold (at most one deadline after Neo4j
    # answers) plus one request's deadline. Without the warm-up a fresh recommendation
    # took 13-30 s on a quiet machine, each request's cold planning cut off by its deadline.
    assert max(recovery.values()) <= 2 * DEADLINE, recovery
    assert warmups - warmups_before >= 1  # Neo4j's plans were warmed again (one worker ran
    # it; the other found it done)
    assert not late, late[:3]
    assert server.proc.poll() is None and server.workers() == workers  # nothing restarted
    n_503 = sum(1 for o in outcomes if o.status == 503)
    assert errors_after - errors_before >= n_503 > 0


def test_worker_killed_under_load(server: Server) -> None:
    master, workers = server.proc.pid, server.workers()
    victim = min(workers)
    with Load(server) as load:
        load.wait_for(30, "answers before the kill")
        os.kill(victim, 9)
        killed = time.monotonic()
        new_worker = support.wait_until(
            lambda: next(iter(server.workers() - workers), None), 60,
            "gunicorn to fork a new worker", every=0.05)
        forked = time.monotonic() - killed
        # The new worker answers once it has loaded the app: its pid shows in the log.
        # The load's clients keep their connections to the other worker, so fresh
        # connections ask until one lands on the new one.
        def new_worker_answered() -> bool:
            server.get("/api/songs/T00003")
            return f'"pid": {new_worker}' in server.log.read_text()
        support.wait_until(new_worker_answered, 60, "the new worker to answer", every=0.05)
        answering = time.monotonic() - killed
        load.wait_for(30, "answers after the replacement", since=killed + answering)
    outcomes = load.snapshot()
    failed = [o for o in outcomes if o.status != 200]
    meanwhile = [o for o in outcomes if killed <= o.ended <= killed + answering]
    support.write_artifact("worker_killed_under_load", {
        "requests": len(outcomes), "new_worker_forked_after_s": round(forked, 2),
        "new_worker_answering_after_s": round(answering, 2),
        "answered_meanwhile_by_the_other_worker": sum(1 for o in meanwhile if o.status == 200),
        "failed": len(failed), "failures": sorted({o.error[:80] for o in failed}),
        "same_master": server.proc.pid == master})
    assert server.proc.pid == master and server.proc.poll() is None
    assert victim not in server.workers() and len(server.workers()) == WORKERS
    # Only requests the killed worker held could fail (connection reset, no HTTP answer);
    # no HTTP error at all.
    assert all(o.status is None for o in failed), failed[:3]
    assert len(failed) <= THREADS + CLIENTS
    assert any(o.status == 200 for o in meanwhile)  # the other worker kept answering
