"""Sharded replay on a real Dask LocalCluster: merged outputs equal one simulation's, in order,
and a worker killed mid-run is retried, not skipped."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from verif import sim
from verif.flows import judge
from verif.hdl.primitives import Instance, golden_outputs, primitives_design
from verif.hdl.stimulus import stimulus
from verif.sim.shard import cluster, replay_sharded, shard_rows

pytestmark = pytest.mark.rtl

INSTANCES = (Instance('shift_add', {'WA': 12, 'SA': 1, 'WB': 9, 'SB': 0, 'S': 3, 'SUB': 1, 'WO': 14, 'SO': 1}),
             Instance('negate', {'WA': 10, 'SA': 1, 'WO': 10, 'SO': 1}))


def test_shards_cover_every_vector_once():
    for n, k in ((1, 4), (10, 3), (1000, 7), (5, 5)):
        shards = shard_rows(n, k)
        assert len(shards) == min(n, k) and all(len(s) for s in shards)
        assert sorted(np.concatenate(shards).tolist()) == list(range(n))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1  # dealt evenly


def test_sharded_replay_equals_one_simulation(simulator, tmp_path):
    design = primitives_design(INSTANCES, tmp_path / 'src', name='shard_top')
    rows = stimulus(design.in_bus.fields, 3000, seed=5)
    whole = sim.replay([design], [rows], simulator, tmp_path / 'whole')
    with cluster(n_workers=2) as client:
        parts = replay_sharded(design, rows, simulator, tmp_path / 'sharded', client, n_shards=5)
    assert np.array_equal(parts.outputs[0], whole.outputs[0]) and not parts.unknown[0].any()
    assert judge.compare(parts.outputs[0], parts.unknown[0], golden_outputs(INSTANCES, rows)).count == 0


def _processing_counts(client) -> dict:
    """How many times each replay task was sent to a worker (from the scheduler's log)."""
    def count(dask_scheduler):
        seen = {}
        for entry in dask_scheduler.transition_log:
            key, finish = entry[0], entry[2]
            if str(key).startswith('replay-') and finish == 'processing':
                seen[str(key)] = seen.get(str(key), 0) + 1
        return seen
    return client.run_on_scheduler(count)


def test_a_killed_worker_is_retried(tmp_path):
    """Icarus shards of ~1 s each; one worker is killed while it simulates: its shard runs again
    elsewhere and the merged result is still complete and right."""
    design = primitives_design(INSTANCES, tmp_path / 'src', name='shard_kill')
    rows = stimulus(design.in_bus.fields, 40_000, seed=6)
    with cluster(n_workers=2) as client:
        pids = client.run(os.getpid)  # worker address -> process id
        result = {}
        job = threading.Thread(target=lambda: result.update(r=replay_sharded(
            design, rows, 'icarus', tmp_path / 'run', client, n_shards=4)))
        job.start()
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            busy = {w: ts for w, ts in client.processing().items() if any(str(t).startswith('replay-') for t in ts)}
            victim = next(iter(busy), None)
            time.sleep(0.2)
        assert victim is not None, 'no shard ever started'
        time.sleep(0.5)
        os.kill(pids[victim], signal.SIGKILL)  # the worker process dies mid-simulation
        job.join(timeout=600)
        assert 'r' in result, 'the sharded replay did not finish'
        counts = _processing_counts(client)
    assert max(counts.values()) >= 2, counts  # one shard was sent out again
    got = result['r']
    assert judge.compare(got.outputs[0], got.unknown[0], golden_outputs(INSTANCES, rows)).count == 0
