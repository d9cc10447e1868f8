"""musicgraph.db against the real test server: what runs when Neo4j answers again, and
how the other calls wait for it."""

from __future__ import annotations

import threading

import pytest

from musicgraph.config import Neo4jSettings
from musicgraph.db import Database, without_deadline

pytestmark = pytest.mark.neo4j


def test_hooks_run_on_first_answer_with_other_calls_held(neo4j_settings: Neo4jSettings) -> None:
    release = threading.Event()
    events: list[str] = []
    with Database(neo4j_settings, retry_seconds=1.0, deadline_seconds=30.0) as db:
        def holding() -> None:
            events.append("hold:start")
            # The hook's own calls run without the deadline, and are not held.
            with without_deadline():
                assert db.read("admin/counts") is not None
            assert release.wait(30)
            events.append("hold:end")

        def after() -> None:
            events.append("after")

        db.on_available(holding)
        db.on_available(after, hold=False)
        db.read("admin/counts")  # the first answer: the hooks start
        done = threading.Event()

        def held_call() -> None:
            db.read("admin/counts")
            events.append("held call")
            done.set()

        caller = threading.Thread(target=held_call)
        caller.start()
        assert not done.wait(1.0)  # held while the hook runs
        release.set()
        assert done.wait(30)
        caller.join()
        db.read("admin/counts")  # still answering: the hooks do not run again
    assert events[:3] == ["hold:start", "hold:end", "held call"] or \
        events[:3] == ["hold:start", "hold:end", "after"]
    assert events.count("hold:start") == 1 and "after" in events


def test_a_hook_that_fails_lets_calls_through(neo4j_settings: Neo4jSettings) -> None:
    ran = threading.Event()

    def failing() -> None:
        ran.set()
        raise RuntimeError("boom")

    with Database(neo4j_settings, retry_seconds=1.0, deadline_seconds=30.0) as db:
        db.on_available(failing)
        db.read("admin/counts")
        assert ran.wait(30)
        assert db.read("admin/counts") is not None  # not held: the failure opened the way
