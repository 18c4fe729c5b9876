"""Pruning of the simulator build cache: LRU order, the size cap, its variable, locks, rate limit.

No simulator is needed: the cache entries are fake build dirs with files of known sizes.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from verif import sim
from verif.sim import cache as sim_cache

HOUR = 3600.0


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Never touch the real ~/.cache, and start from the default cap."""
    monkeypatch.setenv('DA4ML_SIM_CACHE', str(tmp_path / 'default-root'))
    monkeypatch.delenv(sim_cache.CACHE_MAX_GB_ENV, raising=False)


def fake_build(root: Path, name: str, size: int, used_hours_ago: float | None, simulator: str = 'icarus') -> Path:
    """A build dir as ``build`` leaves it: marker, payload of ``size`` bytes, lock sibling, use stamp."""
    d = root / simulator / f'{name}-{name.encode().hex()[:20].ljust(20, "0")}'
    d.mkdir(parents=True)
    (d / '.built.json').write_text('')
    (d / 'payload.bin').write_bytes(b'x' * size)
    sim_cache.lock_path(d).touch()
    if used_hours_ago is not None:
        (d / '.used').touch()
        set_used(d, used_hours_ago)
    return d


def set_used(d: Path, hours_ago: float) -> None:
    t = time.time() - hours_ago * HOUR
    os.utime(d / '.used', (t, t))


def remaining(root: Path) -> set[str]:
    return {d.name.split('-')[0] for s in sim_cache.SIMULATORS if (root / s).is_dir() for d in (root / s).iterdir()
            if d.is_dir()}


# ----------------------------------------------------------------------------------------------
# LRU order and the cap
# ----------------------------------------------------------------------------------------------


def test_removes_least_recently_used_until_under_cap(tmp_path):
    root = tmp_path / 'cache'
    dirs = {n: fake_build(root, n, 1000, h) for n, h in (('a', 4), ('b', 1), ('c', 3), ('d', 2))}
    dirs['e'] = fake_build(root, 'e', 1000, 5, simulator='verilator')
    assert sim_cache.prune_cache(root, 2500) == (3, 3000)
    assert remaining(root) == {'b', 'd'}
    for n in 'ace':
        assert not sim_cache.lock_path(dirs[n]).exists(), 'a pruned build leaves its lock file behind'
    for n in 'bd':
        assert sim_cache.lock_path(dirs[n]).exists()
    assert sim_cache.prune_cache(root, 2500) == (0, 0), 'already under the cap'
    assert sim_cache.prune_cache(root, 2000) == (0, 0), 'exactly at the cap is within it'
    assert remaining(root) == {'b', 'd'}


def test_order_follows_use_not_creation(tmp_path):
    root = tmp_path / 'cache'
    old = fake_build(root, 'old', 100, 5)
    fake_build(root, 'new', 100, 3)
    set_used(old, 1)  # the older build was used since
    assert sim_cache.prune_cache(root, 100) == (1, 100)
    assert remaining(root) == {'old'}


def test_stamp_made_by_use_wins_over_dir_mtime(tmp_path):
    """Builds cached before the use stamp existed are ordered by their dir's mtime."""
    root = tmp_path / 'cache'
    legacy = fake_build(root, 'legacy', 100, None)
    t = time.time() - 2 * HOUR
    os.utime(legacy, (t, t))
    stamped = fake_build(root, 'stamped', 100, 3)
    os.utime(stamped, (time.time(), time.time()))  # dir mtime recent, but last *use* older
    assert sim_cache.prune_cache(root, 100) == (1, 100)
    assert remaining(root) == {'legacy'}
    sim_cache.mark_used(legacy)
    assert (legacy / '.used').stat().st_mtime > time.time() - 60


def test_recently_used_and_kept_builds_survive(tmp_path):
    root = tmp_path / 'cache'
    fresh = fake_build(root, 'fresh', 1000, 0.01)  # within PRUNE_MIN_IDLE_S
    kept = fake_build(root, 'kept', 1000, 9)
    fake_build(root, 'gone', 1000, 8)
    assert sim_cache.prune_cache(root, 0, keep=[kept]) == (1, 1000)
    assert remaining(root) == {'fresh', 'kept'}
    assert (fresh / '.built.json').is_file() and (kept / 'payload.bin').is_file()


def test_leaves_other_files_alone(tmp_path):
    root = tmp_path / 'cache'
    fake_build(root, 'a', 10, 5)
    (root / 'icarus' / 'notes').mkdir()  # not a build dir name
    (root / 'other' / 'x-0123456789abcdef0123').mkdir(parents=True)  # not a simulator dir
    (root / 'icarus' / 'orphan-0123456789abcdef0123.lock').touch()
    assert sim_cache.prune_cache(root, 0) == (1, 10)
    assert (root / 'icarus' / 'notes').is_dir()
    assert (root / 'other' / 'x-0123456789abcdef0123').is_dir()
    assert (root / 'icarus' / 'orphan-0123456789abcdef0123.lock').exists()


def test_missing_root_is_empty(tmp_path):
    assert sim_cache.prune_cache(tmp_path / 'nowhere', 0) == (0, 0)


def test_defaults_come_from_environment(tmp_path, monkeypatch):
    root = tmp_path / 'default-root'
    fake_build(root, 'a', 3 * 2**20, 5)
    fake_build(root, 'b', 2 * 2**20, 4)
    monkeypatch.setenv(sim_cache.CACHE_MAX_GB_ENV, '0')
    assert sim_cache.prune_cache() == (0, 0), '0 turns pruning off'
    monkeypatch.setenv(sim_cache.CACHE_MAX_GB_ENV, str(4 / 1024))  # 4 MiB
    assert sim_cache.prune_cache() == (1, 3 * 2**20)
    assert remaining(root) == {'b'}


# ----------------------------------------------------------------------------------------------
# the variable
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(('value', 'expected'), [
    (None, 4 * 2**30), ('', 4 * 2**30), ('4', 4 * 2**30), (' 1.5 ', 3 * 2**29), ('0.25', 2**28),
    ('1e-3', int(1e-3 * 2**30)), ('0', None), ('0.0', None), ('-2', None),
])
def test_cap_from_environment(monkeypatch, value, expected):
    if value is not None:
        monkeypatch.setenv(sim_cache.CACHE_MAX_GB_ENV, value)
    assert sim_cache.cache_max_bytes() == expected


@pytest.mark.parametrize('value', ['abc', '4GB', '1,5', 'nan', 'inf', '-inf', '0x10'])
def test_bad_cap_names_variable_and_value(monkeypatch, tmp_path, value):
    monkeypatch.setenv(sim_cache.CACHE_MAX_GB_ENV, value)
    with pytest.raises(ValueError, match=rf"DA4ML_SIM_CACHE_MAX_GB='{value}'"):
        sim_cache.cache_max_bytes()
    with pytest.raises(ValueError, match='DA4ML_SIM_CACHE_MAX_GB'):
        sim_cache.prune_cache(tmp_path)


# ----------------------------------------------------------------------------------------------
# locks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('how', [fcntl.LOCK_SH, fcntl.LOCK_EX])
def test_skips_build_whose_lock_is_held(tmp_path, how):
    root = tmp_path / 'cache'
    busy = fake_build(root, 'busy', 1000, 9)
    fake_build(root, 'idle', 1000, 8)
    with open(sim_cache.lock_path(busy), 'a') as held:
        fcntl.flock(held, how)  # as a running simulation (shared) or a build (exclusive) holds it
        assert sim_cache.prune_cache(root, 0) == (1, 1000)
        assert remaining(root) == {'busy'}
        assert (busy / '.built.json').is_file() and sim_cache.lock_path(busy).exists()
    assert sim_cache.prune_cache(root, 0) == (1, 1000), 'released: now it goes'
    assert remaining(root) == set()


def test_lock_survives_deletion_of_its_file(tmp_path):
    """A waiter that opened the lock file before pruning deleted it must end up holding the
    lock that the path names now, or it would exclude nobody."""
    path = tmp_path / 'x.lock'
    waiter_holds = threading.Event()
    release = threading.Event()

    def waiter():
        with sim_cache.flocked(path, fcntl.LOCK_EX) as got:
            assert got
            waiter_holds.set()
            release.wait(10)

    with sim_cache.flocked(path, fcntl.LOCK_EX):
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)  # let the waiter open the file and block in flock
        path.unlink()  # what pruning does while holding the lock
    try:
        assert waiter_holds.wait(10)
        with sim_cache.flocked(path, fcntl.LOCK_EX | fcntl.LOCK_NB) as got:
            assert not got, 'the waiter holds a lock on a deleted file'
    finally:
        release.set()
        t.join(10)
    with sim_cache.flocked(path, fcntl.LOCK_EX | fcntl.LOCK_NB) as got:
        assert got


def test_run_refuses_a_pruned_build(tmp_path):
    root = tmp_path / 'cache'
    d = fake_build(root, 'a', 10, 5)
    fake = sim.Simulator('icarus', Path('/nonexistent/iverilog'), '0.0')
    built = sim.Build(fake, 'a', d, 'k', False, 0.0)
    assert sim_cache.prune_cache(root, 0) == (1, 10)
    with pytest.raises(sim.SimError, match='no longer in the build cache'):
        sim.run(built, 'verif.tb.per_cycle')


# ----------------------------------------------------------------------------------------------
# rate limit
# ----------------------------------------------------------------------------------------------


def test_prunes_at_most_once_per_interval(tmp_path):
    root = tmp_path / 'cache'
    fake_build(root, 'a', 100, 5)
    assert sim_cache.prune_cache_if_due(root, 0) == (1, 100)
    stamp = root / '.last_prune'
    assert stamp.stat().st_size > 0
    fake_build(root, 'b', 100, 5)
    assert sim_cache.prune_cache_if_due(root, 0) is None, 'pruned a moment ago'
    assert remaining(root) == {'b'}
    t = time.time() - sim_cache.PRUNE_EVERY_S - 5
    os.utime(stamp, (t, t))
    assert sim_cache.prune_cache_if_due(root, 0) == (1, 100)
    assert remaining(root) == set()
    assert stamp.stat().st_mtime > time.time() - 60


def test_no_prune_while_another_process_prunes(tmp_path):
    root = tmp_path / 'cache'
    fake_build(root, 'a', 100, 5)
    with open(root / '.last_prune', 'a') as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        assert sim_cache.prune_cache_if_due(root, 0) is None
    assert remaining(root) == {'a'}
    assert sim_cache.prune_cache_if_due(root, 0) == (1, 100)


def test_due_pruning_with_pruning_off(tmp_path, monkeypatch):
    root = tmp_path / 'cache'
    fake_build(root, 'a', 100, 5)
    monkeypatch.setenv(sim_cache.CACHE_MAX_GB_ENV, '-1')
    assert sim_cache.prune_cache_if_due(root) == (0, 0)
    assert remaining(root) == {'a'}
