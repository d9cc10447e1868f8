"""The result cache: a repeated request is answered from it, a new model write-back or
embed run (the graph's model state) or another ranker makes a new key, answers are
copies, and the evaluation's restricted rankings never enter it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import recommend
from musicgraph.db import Database
from tests.support import LoadedGraph, fixture_ranker, record_fixture_model

pytestmark = pytest.mark.neo4j


def test_a_repeated_request_is_answered_from_the_cache(loaded_graph: LoadedGraph,
                                                        database: Database) -> None:
    cache = recommend.ResultCache(100, state_seconds=0.0)
    ranker = fixture_ranker()
    first = recommend.recommend_for_song(database, "T00003", 5, ranker=ranker, cache=cache)
    again = recommend.recommend_for_song(database, "T00003", 5, ranker=ranker, cache=cache)
    assert (cache.misses, cache.hits) == (1, 1)
    assert [r.as_dict() for r in again[1]] == [r.as_dict() for r in first[1]]
    # A copy: what one caller changes, the next does not see.
    again[1][0].song["title"] = "changed"
    third = recommend.recommend_for_song(database, "T00003", 5, ranker=ranker, cache=cache)
    assert third[1][0].song["title"] == first[1][0].song["title"]
    # Another k, cap or ranker is another answer.
    recommend.recommend_for_song(database, "T00003", 4, ranker=ranker, cache=cache)
    recommend.recommend_for_song(database, "T00003", 5, max_per_artist=1, ranker=ranker,
                                 cache=cache)
    recommend.recommend_for_song(database, "T00003", 5, ranker=fixture_ranker({"emb_sim": 1.0}),
                                 cache=cache)
    assert cache.misses == 4


def test_a_new_write_back_invalidates(loaded_graph: LoadedGraph, database: Database) -> None:
    cache = recommend.ResultCache(100, state_seconds=0.0)
    ranker = fixture_ranker()
    recommend.recommend_for_song(database, "T00005", 5, ranker=ranker, cache=cache)
    record_fixture_model(database)  # what training and `musicgraph embed` record
    recommend.recommend_for_song(database, "T00005", 5, ranker=ranker, cache=cache)
    assert (cache.misses, cache.hits) == (2, 0)


def test_restricted_rankings_and_a_full_cache(loaded_graph: LoadedGraph,
                                              database: Database) -> None:
    cache = recommend.ResultCache(1, state_seconds=60.0)
    ranker = fixture_ranker()
    for _ in range(2):
        recommend.recommend_for_seeds(database, ["T00001"], 3, loaded_graph.ids[:20],
                                      ranker=ranker, cache=cache)
    assert (cache.misses, cache.hits) == (0, 0)
    for song in ("T00001", "T00002", "T00001"):
        recommend.recommend_for_song(database, song, 3, ranker=ranker, cache=cache)
    assert (cache.misses, cache.hits) == (3, 0)  # one answer kept: the oldest went


def test_workers_share_answers_through_the_shared_folder(loaded_graph: LoadedGraph,
                                                         database: Database,
                                                         tmp_path: Path) -> None:
    # Two workers' caches over one folder (as app.gunicorn_conf sets them up): what one
    # computed, the other answers without Neo4j computing it again.
    one, other = (recommend.ResultCache(100, state_seconds=0.0, shared_dir=tmp_path)
                  for _ in range(2))
    ranker = fixture_ranker()
    first = recommend.recommend_for_song(database, "T00006", 5, ranker=ranker, cache=one)
    again = recommend.recommend_for_song(database, "T00006", 5, ranker=ranker, cache=other)
    assert (one.misses, other.misses, other.shared_hits, other.hits) == (1, 0, 1, 0)
    assert [r.as_dict() for r in again[1]] == [r.as_dict() for r in first[1]]
    recommend.recommend_for_song(database, "T00006", 5, ranker=ranker, cache=other)
    assert (other.hits, other.shared_hits) == (1, 1)  # now from its own memory
    # A new write-back is a new key for every worker.
    record_fixture_model(database)
    recommend.recommend_for_song(database, "T00006", 5, ranker=ranker, cache=one)
    recommend.recommend_for_song(database, "T00006", 5, ranker=ranker, cache=other)
    assert (one.misses, other.misses, other.shared_hits) == (2, 0, 2)
    one.close()
    other.close()


def test_gunicorn_makes_the_shared_folder_owner_only_and_removes_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from app import gunicorn_conf

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv("MUSICGRAPH_RESULT_CACHE_DIR", raising=False)
    gunicorn_conf.on_starting(None)
    folder = Path(os.environ["MUSICGRAPH_RESULT_CACHE_DIR"])
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
    gunicorn_conf.on_exit(None)
    assert not folder.exists() and "MUSICGRAPH_RESULT_CACHE_DIR" not in os.environ
    # A folder the operator names is kept, its earlier answers dropped, other files kept.
    named = tmp_path / "named"
    named.mkdir(mode=0o700)
    with recommend.diskcache.Cache(str(named)) as earlier:
        earlier.set("old", b"answer")
    (named / "keep.txt").write_text("mine")
    monkeypatch.setenv("MUSICGRAPH_RESULT_CACHE_DIR", str(named))
    gunicorn_conf.on_starting(None)
    with recommend.diskcache.Cache(str(named)) as now:
        assert len(now) == 0
    gunicorn_conf.on_exit(None)
    assert (named / "keep.txt").read_text() == "mine"


def test_a_busy_or_broken_shared_cache_is_a_miss_not_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    cache = recommend.ResultCache(10, shared_dir=tmp_path / "shared")
    cache.put(("a",), {"answer": 1})
    shared = cache._shared
    assert shared is not None

    def busy(*args: object, **kwargs: object) -> None:
        raise recommend.diskcache.Timeout("database is locked")

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    # Another worker holds the file past the timeout, or the file is broken: this
    # process's memory still answers, a new key is a plain miss, storing does not fail.
    monkeypatch.setattr(shared, "get", busy)
    monkeypatch.setattr(shared, "set", broken)
    assert cache.get(("a",)) == {"answer": 1}
    assert cache.get(("b",)) is None
    cache.put(("b",), {"answer": 2})
    assert cache.get(("b",)) == {"answer": 2}
    assert (cache.hits, cache.shared_hits, cache.misses) == (2, 0, 1)
    cache.close()


def test_a_shared_folder_others_may_write_in_is_refused(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from app import create_app, gunicorn_conf
    from musicgraph.errors import InputError

    # Answers are unpickled: a folder another user could write in would run their code.
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setenv("MUSICGRAPH_RESULT_CACHE_DIR", str(open_folder))
    with pytest.raises(InputError, match="chmod 700"):
        gunicorn_conf.on_starting(None)
    # (The app outside gunicorn: prometheus' multiprocess mode must stay off for the
    # rest of the session's apps.)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with pytest.raises(InputError, match="must belong to this user"):
        create_app({"RESULT_CACHE_DIR": str(open_folder)})
    # A missing one is made owner-only; the app starts.
    fresh = tmp_path / "fresh"
    create_app({"RESULT_CACHE_DIR": str(fresh)})
    assert fresh.stat().st_mode & 0o777 == 0o700
