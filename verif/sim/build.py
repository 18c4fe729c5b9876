"""The simulator build cache and runs: cocotb's runner, keyed builds, a fresh directory per run.

Why: cocotb's runner does not rebuild when parameters change, and pytest-xdist / Hypothesis run
the same design many times. So builds live in a cache keyed by everything that affects them,
are guarded by a file lock (``verif.sim.cache``), and every run gets its own directory for
results and logs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cache import (MARKER, VHDL_SIMULATORS, cache_max_bytes, default_cache_root, flocked, lock_path, mark_used,
                    prune_cache_if_due)
from .toolchain import GHDL_BUILD_ARGS, GHDL_RUN_OPTIONS, Simulator, find_simulator, simulator_environment

__all__ = ['DEFAULT_TIMESCALE', 'Build', 'BuildFailed', 'RunResult', 'SimError', 'SimulationFailed', 'build',
           'build_key', 'new_run_dir', 'run']

DEFAULT_TIMESCALE = ('1ns', '1ps')
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
    make_vars: Mapping[str, str] | None = None,
) -> str:
    """sha256 over everything that changes the compiled simulation."""
    import cocotb

    h = hashlib.sha256()
    meta = [_KEY_SCHEMA, sim.name, sim.version, cocotb.__version__, toplevel] + (['waves'] if waves else [])
    meta += [sorted((str(k), str(v)) for k, v in parameters.items()), list(build_args), list(timescale)]
    meta += [sorted((make_vars or {}).items())] if make_vars else []
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
    make_vars: Mapping[str, str] | None = None,
) -> Build:
    """Compile ``sources`` with ``toplevel`` unless an identical build is cached (``waves``:
    instrumented to record waveforms; its runs then always write one; ``make_vars``: Verilator's
    make variables, e.g. the optimisation levels of ``toolchain.verilator_make_vars``).

    Two processes asking for the same key serialise on ``<build_dir>.lock``; the second finds
    the marker file the first wrote and reuses the build. A failed build leaves no marker.
    Each use stamps the build; after compiling a new one, the cache is pruned to its size cap
    (:func:`prune_cache_if_due`, ``$DA4ML_SIM_CACHE_MAX_GB``).
    """
    from cocotb_tools.runner import get_runner

    max_bytes = cache_max_bytes()  # a bad value fails now, not after a long compile
    sim = find_simulator(simulator)
    paths = [Path(s).resolve() for s in sources]
    params = dict(parameters or {})
    if sim.name == 'ghdl':  # the emitted VHDL is VHDL-2008
        build_args = (*GHDL_BUILD_ARGS, *(a for a in build_args if a not in GHDL_BUILD_ARGS))
    key = build_key(paths, toplevel, sim, params, build_args, timescale, waves, make_vars)
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
        with simulator_environment(sim, make_vars=make_vars):
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
                'build_args': list(build_args), 'make_vars': dict(make_vars or {}), 'seconds': seconds}
        mark_used(build_dir)
        (build_dir / MARKER).write_text(json.dumps(info, indent=1))
    if max_bytes is not None:
        prune_cache_if_due(root, max_bytes, keep=[build_dir])
    return Build(sim, toplevel, build_dir, key, True, seconds, params, waves)


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
