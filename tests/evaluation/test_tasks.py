"""Both tasks query the cold pool: task 1 by playlist, task 2 by one visible song."""

from __future__ import annotations

import numpy as np

from evaluation.split import Split
from evaluation.tasks import playlist_task, song_task
from tests.support import memberships


def test_tasks_query_the_pool(split: Split):
    pool = set(split.pool.tolist())
    t1 = playlist_task(split, seed=1)
    for q, label in enumerate(t1.labels):
        p = split.playlist_ids.index(label)
        seeds = set(t1.seeds[q].indices.tolist())
        assert seeds == set(split.visible[p].indices.tolist())
        targets = {int(split.pool[c]) for c in np.flatnonzero(t1.relevant[q])}
        assert targets == set(split.hidden[p].indices.tolist()) & pool
    t2 = song_task(split, seed=1)
    hidden_in_pool = {(s, p) for s, p in memberships(split.hidden, split)
                      if split.song_ids.index(s) in pool}
    assert t2.num_queries == len(hidden_in_pool)
    assert (t2.relevant.sum(axis=1) == 1).all()
    for q, label in enumerate(t2.labels):
        playlist, target = label.split("/")
        (seed,) = t2.seeds[q].indices
        assert (split.song_ids[seed], playlist) in memberships(split.visible, split)
        assert split.song_ids[int(split.pool[np.flatnonzero(t2.relevant[q])[0]])] == target
