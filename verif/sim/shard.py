"""Replay spread over a Dask cluster: one build, the vectors split into shards run in parallel.

Why: a trigger-size design simulates at tens of vectors per second on Icarus, so its vectors are
split into shards, each one simulation of the same build, run by the workers of a
``dask.distributed`` cluster and merged back in vector order. By default the cluster is an
embedded ``LocalCluster`` with one single-threaded worker process per core; ``scheduler`` names
an existing one (for Slurm / HTCondor, start it with ``dask-jobqueue``; workers must see the same
file system, since they run the build in the simulator cache). A worker that dies is retried
once (the scheduler's ``allowed-failures`` is 1 for clusters made here), then the shard is
reported as failed with the vectors it held: never silently skipped.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..hdl.design import Design
from .build import SimError
from .replay import Replay, as_rows, build_replay, pack_stimulus, run_stimulus

__all__ = ['ShardFailed', 'ShardedRun', 'cluster', 'gather_sharded', 'replay_sharded', 'scheduler_client',
           'shard_rows', 'submit_sharded']

ALLOWED_FAILURES = 1  # a task whose worker died is run once more, then reported


class ShardFailed(SimError):
    """A shard could not be simulated (its worker died twice, or the simulation failed)."""


@contextlib.contextmanager
def cluster(scheduler: str | None = None, n_workers: int | None = None) -> Iterator:
    """A ``dask.distributed.Client``: of the scheduler at ``scheduler``, or of a new embedded
    ``LocalCluster`` with ``n_workers`` (default: one per core) single-threaded processes."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = n_workers or os.cpu_count() or 1
    with dask.config.set({'distributed.scheduler.allowed-failures': ALLOWED_FAILURES}):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as client:
            yield client


@contextlib.contextmanager
def scheduler_client(choice: str | None) -> Iterator:
    """What a ``--scheduler`` option names: ``'none'`` (or None): no cluster, None is yielded;
    ``'local'``: an embedded LocalCluster; anything else: the address of a running scheduler."""
    if choice in (None, '', 'none'):
        yield None
        return
    with cluster(None if choice == 'local' else choice) as client:
        yield client


def shard_rows(n: int, n_shards: int) -> list[np.ndarray]:
    """Row indices of ``n_shards`` shards of ``n`` vectors, dealt round-robin: a stimulus has its
    kinds of rows in blocks (extremes, then uniform words, then directed rows), and an
    event-driven simulator's cost per row depends on how many bits toggle, so consecutive
    blocks would load one worker with all the expensive rows. The design has no state beyond
    its latency, so a vector's outputs do not depend on its neighbours."""
    n_shards = max(1, min(n_shards, n))
    return [np.arange(k, n, n_shards) for k in range(n_shards)]


def _run_shard(built, design: Design, stimulus, first: int, seed: int) -> Replay:
    return run_stimulus(built, [design], stimulus, first=first, seed=seed)


@dataclass
class ShardedRun:
    """Shards of one replay submitted to a cluster: :func:`gather_sharded` collects them."""

    design: Design
    simulator: str
    built: object
    shards: list[np.ndarray]  # row indices of each shard
    n_rows: int
    futures: list
    started: float
    finished: list[float] = field(default_factory=list)  # when each shard's future completed


def submit_sharded(design: Design, rows, simulator: str, workdir: Path | str, client, *, n_shards: int | None = None,
                   seed: int = 1, optimize: bool = False, cache_root: Path | str | None = None) -> ShardedRun:
    """Build (here) and submit the shards of a replay of ``design``; returns at once, so the caller
    can build the next simulator's design while this one's shards run on the workers."""
    rows = as_rows(rows, len(design.in_bus.fields), f'inputs of {design.name}')
    workers = len(client.scheduler_info().get('workers', {})) or 1
    shards = shard_rows(len(rows), n_shards or workers)
    built = build_replay([design], simulator, workdir, optimize=optimize, cache_root=cache_root)
    run = ShardedRun(design, simulator, built, shards, len(rows), [], time.perf_counter())
    for k, idx in enumerate(shards):
        # the packed rows travel inside the task, not scattered ahead: a worker that dies would
        # take scattered data with it, and the shard could not be retried elsewhere
        stimulus = pack_stimulus([design], [rows[idx]], simulator)
        fut = client.submit(_run_shard, built, design, stimulus, int(idx[0]), seed, pure=False,
                            key=f'replay-{design.name}-{simulator}-{k}-of-{len(shards)}-{os.getpid()}-{time.time_ns()}')
        fut.add_done_callback(lambda _f: run.finished.append(time.perf_counter()))
        run.futures.append(fut)
    return run


def gather_sharded(run: ShardedRun) -> Replay:
    """The merged Replay of submitted shards; ``run_seconds`` is the wall time from submission to
    the last shard's completion."""
    parts: list[Replay] = []
    for k, (idx, fut) in enumerate(zip(run.shards, run.futures)):
        try:
            parts.append(fut.result())
        except Exception as exc:  # noqa: BLE001 - KilledWorker, a simulator error: the shard is named
            for f in run.futures:
                f.cancel()
            every = f' (every {len(run.shards)}th)' if len(run.shards) > 1 else ''
            raise ShardFailed(f'{run.simulator}: {run.design.name}: shard {k + 1} of {len(run.shards)}, vectors '
                              f'{idx[0]}..{idx[-1]}{every}, failed: {type(exc).__name__}: {exc}') from exc
    outputs = np.zeros((run.n_rows, parts[0].outputs[0].shape[1]), dtype=parts[0].outputs[0].dtype)
    unknown = np.zeros(run.n_rows, dtype=bool)
    for idx, part in zip(run.shards, parts):  # back into vector order
        outputs[idx], unknown[idx] = part.outputs[0], part.unknown[0]
    seconds = max(run.finished, default=time.perf_counter()) - run.started
    return Replay(parts[0].simulator, parts[0].version, 'bulk', [outputs], [unknown], run.built.seconds,
                  run.built.rebuilt, seconds, None)


def replay_sharded(design: Design, rows, simulator: str, workdir: Path | str, client, **kw) -> Replay:
    """:func:`~verif.sim.replay.replay` of one design with its vectors split into shards run by
    ``client``'s workers (default: one shard per worker: every shard pays the simulator's start-up
    and design load); outputs merged in vector order. The build is the one an unsharded replay of
    all the rows uses, so the shard count never causes a rebuild. Keywords: :func:`submit_sharded`."""
    return gather_sharded(submit_sharded(design, rows, simulator, workdir, client, **kw))
