"""Artist affinity, the evidence behind task 2 of the evaluation: its values against a
hand computation; and the served order is the ranker's: weighted on affinity, a song
without playlists ranks above the song the embedding prefers, weighted on the embedding
the other way round. On a graph loaded by the real ETL into the real Neo4j."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from app import recommend
from etl import pipeline
from gnn.writeback import write_embeddings
from musicgraph.db import Database
from musicgraph.errors import ModelError
from musicgraph.schema import MODEL_META_KEY
from tests.support import fixture_ranker, record_fixture_model, song, write_csv

pytestmark = pytest.mark.neo4j

NO_PLAYLIST = {"playlist_id": "", "playlist_name": "", "playlist_genre": "",
               "playlist_subgenre": ""}
# (artist, playlist or None). T00000 is the seed; T00006 and T00007 have no playlist.
SONGS = [("A", "PL1"), ("B", "PL1"), ("A", "PL2"), ("C", "PL2"), ("D", "PL3"), ("E", "PL3"),
         ("B", None), ("D", None)]


@pytest.fixture
def graph(db: Database, tmp_path: Path) -> Database:
    rows = []
    for i, (artist, playlist) in enumerate(SONGS):
        extra = NO_PLAYLIST if playlist is None else {
            "playlist_id": playlist, "playlist_name": f"List {playlist}"}
        rows.append(song(i, track_artist=artist, track_album_id=f"X{i}",
                         track_album_name=f"Album {i}", **extra))
    pipeline.run(db, write_csv(tmp_path / "s.csv", rows),
                 options=pipeline.EtlOptions(progress=False))
    # The embedding puts D's playlist-less song right beside the seed, B's far from it.
    vecs = torch.eye(8)[:, :4].clone()
    vecs[0] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    vecs[7] = torch.tensor([0.99, 0.14, 0.0, 0.0])
    vecs[6] = torch.tensor([0.0, 0.0, 1.0, 0.0])
    vecs[1:6] = torch.tensor([0.0, 1.0, 0.0, 0.0]) + 0.1 * torch.arange(5.0)[:, None]
    write_embeddings(db, [f"T{i:05d}" for i in range(8)], vecs, full=True, progress=False)
    record_fixture_model(db)
    return db


def test_artist_affinity_is_the_cosine_of_playlist_sets(graph: Database) -> None:
    # P(A) = {PL1, PL2}, P(B) = {PL1}, P(C) = {PL2}, P(D) = P(E) = {PL3}; seed by A.
    row = graph.read("recommend/context", seeds=["T00000"], meta_key=MODEL_META_KEY)[0]
    affinity = dict(zip(row["artists"], row["affinities"], strict=True))
    assert affinity == pytest.approx({"A": 1.0, "B": 1 / math.sqrt(2), "C": 1 / math.sqrt(2)})
    assert row["artists"] == ["A", "B", "C"]  # best first, ties by name


def test_the_ranker_decides_the_order(graph: Database) -> None:
    cold = ["T00006", "T00007"]  # by B (shares PL1 with the seed's artist), by D (no link)
    by_affinity = fixture_ranker({"affinity": 1.0, "emb_sim": 0.1})
    _, recs = recommend.recommend_for_seeds(graph, ["T00000"], 2, cold, ranker=by_affinity)
    assert [r.song["id"] for r in recs] == ["T00006", "T00007"]
    assert recs[0].similarity < recs[1].similarity
    assert recs[0].score > recs[1].score
    by_embedding = fixture_ranker({"emb_sim": 1.0})
    _, recs = recommend.recommend_for_seeds(graph, ["T00000"], 2, cold, ranker=by_embedding)
    assert [r.song["id"] for r in recs] == ["T00007", "T00006"]


def test_a_ranker_for_other_embeddings_is_refused(graph: Database) -> None:
    other = fixture_ranker()
    other.model_version = "another-model"
    with pytest.raises(ModelError, match="does not match the embeddings"):
        recommend.recommend_for_seeds(graph, ["T00000"], 2, ranker=other)
