"""The result cache: a repeated request is answered from it, a new model write-back or
embed run (the graph's model state) or another ranker makes a new key, answers are
copies, and the evaluation's restricted rankings never enter it."""

from __future__ import annotations

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
