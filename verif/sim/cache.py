"""The simulator build cache: where builds live, their locks, and least-recently-used pruning.

Builds are directories ``<root>/<simulator>/<toplevel>-<key>`` with a ``<dir>.lock`` sibling:
builders take it exclusive, simulation runs shared, so a build in use is never pruned. Without
pruning the cache grows by gigabytes a week of regression runs; ``build`` prunes it to
``$DA4ML_SIM_CACHE_MAX_GB`` (default 4 GiB) after compiling something new.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ['ALL_SIMULATORS', 'CACHE_MAX_GB_ENV', 'DEFAULT_CACHE_MAX_GB', 'MARKER', 'PRUNE_EVERY_S', 'PRUNE_MIN_IDLE_S',
           'SIMULATORS', 'VHDL_SIMULATORS', 'cache_max_bytes', 'default_cache_root', 'flocked', 'lock_path', 'mark_used',
           'prune_cache', 'prune_cache_if_due']

SIMULATORS = ('icarus', 'verilator')  # the Verilog pair every default run uses
VHDL_SIMULATORS = ('ghdl',)  # run VHDL designs only, when asked for by name
ALL_SIMULATORS = (*SIMULATORS, *VHDL_SIMULATORS)  # also the cache's subdirectories
MARKER = '.built.json'  # written last by a successful build: a dir without it is not a build
_USED = '.used'  # its mtime is the build's last use: the order in which pruning removes builds
_LAST_PRUNE = '.last_prune'  # in the cache root: when this root was last pruned (and its lock)
_ENTRY = re.compile(r'.+-[0-9a-f]{20}')  # names of build dirs; nothing else in the cache is pruned
CACHE_MAX_GB_ENV = 'DA4ML_SIM_CACHE_MAX_GB'
DEFAULT_CACHE_MAX_GB = 4.0  # GiB
PRUNE_EVERY_S = 10 * 60  # a build prunes at most this often per cache root
PRUNE_MIN_IDLE_S = 10 * 60  # builds used more recently are never pruned


def default_cache_root() -> Path:
    """``$DA4ML_SIM_CACHE`` or ``~/.cache/da4ml_core/sim``."""
    env = os.environ.get('DA4ML_SIM_CACHE')
    return Path(env).expanduser() if env else Path.home() / '.cache' / 'da4ml_core' / 'sim'


def cache_max_bytes() -> int | None:
    """The cache size cap from ``$DA4ML_SIM_CACHE_MAX_GB`` (GiB, default 4); None: never prune.

    0 or a negative value turns pruning off; an unset or empty variable means the default.
    """
    raw = os.environ.get(CACHE_MAX_GB_ENV, '').strip()
    if not raw:
        return int(DEFAULT_CACHE_MAX_GB * 2**30)
    try:
        gb = float(raw)
    except ValueError:
        gb = math.nan
    if not math.isfinite(gb):
        raise ValueError(
            f'{CACHE_MAX_GB_ENV}={raw!r} is not a valid cache size: give a number of GiB '
            f'such as 4 or 0.5 (0 or less turns pruning off)'
        )
    return int(gb * 2**30) if gb > 0 else None


def lock_path(build_dir: Path) -> Path:
    return build_dir.with_name(build_dir.name + '.lock')


@contextlib.contextmanager
def flocked(path: Path, how: int) -> Iterator[bool]:
    """Hold ``flock(how)`` on ``path`` (created if missing); yield False if ``how`` includes
    ``LOCK_NB`` and the lock is taken.

    Pruning deletes a build's lock file while holding it. A process that opened the file just
    before would then lock a deleted file, which excludes nobody; so after locking we check
    that ``path`` still names the file we locked, and start again if not.
    """
    while True:
        with open(path, 'a') as f:
            try:
                fcntl.flock(f, how)
            except BlockingIOError:
                yield False
                return
            try:
                current = os.path.samestat(os.fstat(f.fileno()), os.stat(path))
            except FileNotFoundError:
                current = False
            if current:
                yield True
                return


def mark_used(build_dir: Path) -> None:
    """Stamp a build as used now, so pruning removes the least recently *used* builds first."""
    (build_dir / _USED).touch()


def _last_used(build_dir: Path) -> float:
    """When a build was last used; builds cached before the stamp existed fall back to the
    dir's own mtime."""
    for p in (build_dir / _USED, build_dir):
        try:
            return p.stat().st_mtime
        except FileNotFoundError:
            pass
    return 0.0


def _dir_bytes(path: Path) -> int:
    """Apparent size of the files under ``path`` (files may vanish while we walk)."""
    total = 0
    for parent, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(parent, name)).st_size
    return total


def _remove_build(build_dir: Path, seen_used: float) -> bool:
    """Delete one cached build unless it is in use; True if it was deleted.

    Its lock, taken without waiting, tells whether another process is building it or running a
    simulation on it (``build`` and ``run`` hold it). The lock file is deleted too, while held,
    which :func:`flocked` makes safe for processes that opened it meanwhile.
    """
    with flocked(lock_path(build_dir), fcntl.LOCK_EX | fcntl.LOCK_NB) as got:
        if not got:
            return False
        if not build_dir.is_dir():  # another process pruned it first
            lock_path(build_dir).unlink(missing_ok=True)
            return False
        if _last_used(build_dir) > seen_used:  # used since we looked: no longer the oldest
            return False
        # the marker goes first: a dir left half-deleted is then rebuilt, never reused
        (build_dir / MARKER).unlink(missing_ok=True)
        shutil.rmtree(build_dir, ignore_errors=True)
        if build_dir.exists():
            return False
        lock_path(build_dir).unlink(missing_ok=True)
        return True


def prune_cache(
    root: Path | str | None = None, max_bytes: int | None = None, *, keep: Sequence[Path | str] = ()
) -> tuple[int, int]:
    """Delete least-recently-used builds under ``root`` until they total at most ``max_bytes``.

    ``root`` defaults to :func:`default_cache_root`, ``max_bytes`` to :func:`cache_max_bytes`
    (which may turn pruning off); an explicit ``max_bytes`` is the cap in bytes as given.
    Skipped, so the cache may stay over the cap: builds in ``keep``, builds another process
    (or this one) holds locked, and builds used in the last ``PRUNE_MIN_IDLE_S`` seconds (a
    caller may be between :func:`build` and :func:`run`). Returns (builds removed, bytes freed).
    """
    root = Path(root).expanduser() if root is not None else default_cache_root()
    if max_bytes is None:
        max_bytes = cache_max_bytes()
        if max_bytes is None:
            return 0, 0
    kept = {Path(k).resolve() for k in keep}
    entries = []
    for sim_dir in (root / name for name in ALL_SIMULATORS):
        if not sim_dir.is_dir():
            continue
        for d in sim_dir.iterdir():
            if _ENTRY.fullmatch(d.name) and d.is_dir() and not d.is_symlink():
                entries.append((_last_used(d), _dir_bytes(d), d))
    total = sum(size for _, size, _ in entries)
    removed = freed = 0
    too_recent = time.time() - PRUNE_MIN_IDLE_S
    for used, size, d in sorted(entries):
        if total <= max_bytes or used > too_recent:  # sorted: every later one is newer still
            break
        if d.resolve() in kept or not _remove_build(d, used):
            continue
        removed, freed, total = removed + 1, freed + size, total - size
    return removed, freed


def prune_cache_if_due(
    root: Path | str | None = None, max_bytes: int | None = None, *, keep: Sequence[Path | str] = ()
) -> tuple[int, int] | None:
    """:func:`prune_cache`, unless this root was pruned less than ``PRUNE_EVERY_S`` ago or
    another process is pruning it now (then None).

    Walking thousands of build dirs costs seconds, so builds do not pay it every time; the
    time of the last pruning is the mtime of ``<root>/.last_prune``, whose lock also keeps
    two processes from pruning one root at once.
    """
    root = Path(root).expanduser() if root is not None else default_cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LAST_PRUNE, 'a+') as stamp:
        try:
            fcntl.flock(stamp, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        st = os.fstat(stamp.fileno())
        if st.st_size and time.time() - st.st_mtime < PRUNE_EVERY_S:  # empty: never pruned
            return None
        stamp.truncate(0)
        stamp.write(f'{time.time():.0f}\n')  # sets the mtime
        stamp.flush()
        return prune_cache(root, max_bytes, keep=keep)
