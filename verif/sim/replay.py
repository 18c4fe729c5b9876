"""The two ways to drive a design: :func:`replay` (bulk, in Verilog) and :func:`per_cycle` (cocotb).

Why two: the per-cycle cocotb testbench (driver / monitor / checker in Python) explains a
failure vector by vector and follows a clocked pipeline cycle by cycle, but runs a few 1e4
vectors/s at best; :func:`replay` streams binary stimulus files through the replay wrapper
(``verif.hdl.replay_wrapper``), at the speed of the simulated design (Verilator: ~1e5 vectors/s
at 3k ops), for one design or many at once. Both return the integers the design produced; deciding pass / fail is the judge's
job (``verif.flows.judge``).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..hdl.design import Design
from ..hdl.files import hex_text, read_bus, save_vectors
from ..hdl.replay_wrapper import (REPLAY_TOP, VHDL_REPLAY_TOP, replay_sources, stimulus_file, vhdl_wrapper_text,
                                  wrapper_text)
from .build import SimulationFailed, build, new_run_dir, run
from .toolchain import (VERILATOR_PER_CYCLE_ARGS, VERILATOR_REPLAY_ARGS, VERILATOR_TOGGLE_ARGS, VHDL_SIMULATORS,
                        verilator_make_vars)

__all__ = ['BULK_TB', 'PER_CYCLE_TB', 'Replay', 'Stimulus', 'as_rows', 'build_replay', 'pack_stimulus', 'per_cycle',
           'replay', 'run_replay', 'run_stimulus']

BULK_TB = 'verif.tb.bulk'
PER_CYCLE_TB = 'verif.tb.per_cycle'


@dataclass(frozen=True)
class Replay:
    """What one simulation produced: per design its output rows and x/z flags, and the costs."""

    simulator: str
    version: str
    path: str  # 'bulk' or 'per-cycle'
    outputs: list[np.ndarray]  # per design (n_vectors, n_out_fields) integers (x/z read as 0)
    unknown: list[np.ndarray]  # per design (n_vectors,) bool: the word had x / z bits
    build_seconds: float
    rebuilt: bool
    run_seconds: float
    run_dir: Path | None  # kept only when asked to (waveforms)

    @property
    def n_vectors(self) -> int:
        return sum(len(o) for o in self.outputs)

    def vectors_per_second(self) -> float:
        return self.n_vectors / max(self.run_seconds, 1e-9)


def as_rows(values, n_fields: int, what: str) -> np.ndarray:
    """``values`` as a 2-D (n, n_fields) array, or a ValueError naming ``what``."""
    arr = np.asarray(values)
    if arr.ndim == 1 and n_fields == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_fields:
        raise ValueError(f'{what}: expected shape (n, {n_fields}), got {arr.shape}')
    return arr


def _read_outputs(path: Path, design: Design, n: int, simulator: str, log: Path) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` output rows a run wrote, or SimulationFailed saying what is missing."""
    if not path.is_file():
        raise SimulationFailed(f'{simulator}: {design.name} wrote no output file {path.name}', log)
    try:
        return read_bus(path, design.out_bus, n)
    except ValueError as exc:
        raise SimulationFailed(f'{simulator}: {design.name}: {exc}', log) from None


def build_replay(designs: Sequence[Design], simulator: str, workdir: Path | str, *,
                 waves: bool = False, optimize: bool = False, coverage: bool = False,
                 cache_root: Path | str | None = None):
    """The replay wrapper for ``designs``, built (or found in the cache): what :func:`run_replay`
    runs, once or in many shards, on any number of vectors. ``coverage``: Verilator counts
    toggles (``coverage.dat`` in each run directory, ``verif.sim.toggle``)."""
    designs = list(designs)
    if coverage and simulator != 'verilator':
        raise ValueError(f'coverage=True needs simulator=\'verilator\', not {simulator!r}')
    if not designs:
        raise ValueError('replay needs at least one design')
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if simulator in VHDL_SIMULATORS:  # VHDL designs: the same wrapper in VHDL, reading to the end of file
        top_name, top = VHDL_REPLAY_TOP, workdir / f'{VHDL_REPLAY_TOP}.vhd'
        top.write_text(vhdl_wrapper_text(designs))
    else:
        top_name, top = REPLAY_TOP, workdir / f'{REPLAY_TOP}.v'
        top.write_text(wrapper_text(designs))
    sources = [*replay_sources(designs), top]
    args, make_vars = (), None
    if simulator == 'verilator':
        args = (*VERILATOR_REPLAY_ARGS, *(VERILATOR_TOGGLE_ARGS if coverage else ()))
        make_vars = verilator_make_vars(sources, optimize)
    return build(sources, top_name, simulator, build_args=args, make_vars=make_vars, cache_root=cache_root,
                 waves=waves)


@dataclass(frozen=True)
class Stimulus:
    """The stimulus files of one replay run, packed (binary words; hex text for VHDL): a shard
    ships these to its worker, ~8x smaller than int64 rows."""

    contents: tuple[bytes, ...]  # per design, its stimulus file
    counts: tuple[int, ...]  # per design, its number of vectors


def pack_stimulus(designs: Sequence[Design], rows: Sequence, simulator: str) -> Stimulus:
    """The stimulus files for design d replaying ``rows[d]`` on ``simulator``."""
    designs = list(designs)
    if len(designs) != len(rows):
        raise ValueError(f'{len(designs)} designs but {len(rows)} row sets')
    rows = [as_rows(r, len(d.in_bus.fields), f'inputs of {d.name}') for d, r in zip(designs, rows)]
    if any(len(r) < 1 for r in rows):
        raise ValueError('replay needs at least one vector per design')
    if simulator in VHDL_SIMULATORS:
        contents = tuple(hex_text(d.in_bus.pack(r), d.in_bus.hex_digits).encode() for d, r in zip(designs, rows))
    else:
        contents = tuple(d.in_bus.pack_bytes(r).tobytes() for d, r in zip(designs, rows))
    return Stimulus(contents, tuple(len(r) for r in rows))


def run_replay(built, designs: Sequence[Design], rows: Sequence, *, first: int = 0, keep: bool = False,
               seed: int = 1) -> Replay:
    """One simulation of a built replay wrapper: design d gets ``rows[d]``; ``first`` numbers the
    vectors in waveforms."""
    t0 = time.perf_counter()  # the run's cost includes packing its stimulus
    replayed = run_stimulus(built, designs, pack_stimulus(designs, rows, built.simulator.name), first=first,
                            keep=keep, seed=seed)
    return dataclasses.replace(replayed, run_seconds=time.perf_counter() - t0)


def run_stimulus(built, designs: Sequence[Design], stimulus: Stimulus, *, first: int = 0, keep: bool = False,
                 seed: int = 1) -> Replay:
    """:func:`run_replay` of a packed stimulus (:func:`pack_stimulus`)."""
    designs = list(designs)
    if len(designs) != len(stimulus.counts):
        raise ValueError(f'{len(designs)} designs but {len(stimulus.counts)} stimulus files')
    simulator = built.simulator.name
    t0 = time.perf_counter()  # the run's cost includes writing its stimulus and reading its outputs
    run_dir = new_run_dir(built)
    vhdl = simulator in VHDL_SIMULATORS  # the VHDL wrapper reads to the end of each file: no plusargs
    plusargs = [] if vhdl else [f'+first={first}']
    for d, (content, n) in enumerate(zip(stimulus.contents, stimulus.counts)):
        (run_dir / stimulus_file(d, vhdl)).write_bytes(content)
        plusargs += [] if vhdl else [f'+n{d}={n}']
    if built.waves and simulator == 'icarus':
        plusargs.append(f'+dumpfile_path={run_dir / "waves.fst"}')
    cycles = max(n + des.latency for des, n in zip(designs, stimulus.counts)) + 2
    result = run(built, BULK_TB, extra_env={'DA4ML_TB_CYCLES': str(cycles)}, plusargs=plusargs, seed=seed,
                 run_dir=run_dir, check=True)
    outs, unknown = [], []
    for d, (des, n) in enumerate(zip(designs, stimulus.counts)):
        o, u = _read_outputs(run_dir / f'out_{d}.hex', des, n, simulator, result.log)
        outs.append(o)
        unknown.append(u)
    seconds = time.perf_counter() - t0
    kept = built.waves or keep
    if not kept:
        shutil.rmtree(run_dir, ignore_errors=True)
    return Replay(simulator, built.simulator.version, 'bulk', outs, unknown, built.seconds, built.rebuilt, seconds,
                  run_dir if kept else None)


def replay(designs: Sequence[Design], rows: Sequence, simulator: str, workdir: Path | str, *,
           waves: bool = False, first: int = 0, keep: bool = False, seed: int = 1, optimize: bool = False,
           coverage: bool = False, cache_root: Path | str | None = None) -> Replay:
    """Simulate every design on its input bus rows in one run; return their output rows.

    ``waves``: record a waveform (Icarus ``waves.fst`` via the cocotb runner, Verilator
    ``dump.vcd``) and keep the run directory; ``first`` is the index of rows[...][0] in the
    caller's numbering (shown as ``vector_in`` in the waveform); ``optimize`` compiles
    Verilator's C++ with -O2 instead of -O0 (build ~10x slower, run ~4x faster); ``coverage``
    builds Verilator with toggle coverage (keep the run directory to read its ``coverage.dat``)."""
    designs = list(designs)
    if len(rows) != len(designs):
        raise ValueError(f'{len(designs)} designs but {len(rows)} row sets')
    built = build_replay(designs, simulator, workdir, waves=waves, optimize=optimize, coverage=coverage,
                         cache_root=cache_root)
    return run_replay(built, designs, rows, first=first, keep=keep, seed=seed)


def per_cycle(design: Design, inputs, expected, simulator: str, *, cache_root: Path | str | None = None,
              seed: int = 1, check: bool = False, build_args: tuple[str, ...] | None = None) -> Replay:
    """Drive ``inputs`` (n, n_in_fields) one per cycle through the cocotb testbench, whose
    checker compares ``expected`` (n, n_out_fields) as it goes; return what the monitor saw.

    With ``check`` a mismatch raises :class:`~verif.sim.build.SimulationFailed` whose message
    lists the first mismatching vectors (the cocotb test fails); otherwise only the outputs are
    returned for the judge. ``build_args`` default to lean VPI visibility on Verilator.
    """
    if build_args is None:
        build_args = VERILATOR_PER_CYCLE_ARGS if simulator == 'verilator' else ()
    x = as_rows(inputs, len(design.in_bus.fields), 'inputs')
    y = as_rows(expected, len(design.out_bus.fields), 'expected')
    if len(x) != len(y):
        raise ValueError(f'{len(x)} input rows but {len(y)} expected rows')
    make_vars = verilator_make_vars(design.sources) if simulator == 'verilator' else None
    built = build(design.sources, design.name, simulator, cache_root=cache_root, build_args=tuple(build_args),
                  make_vars=make_vars)
    run_dir = new_run_dir(built)
    vectors, observed = run_dir / 'vectors.json', run_dir / 'observed.hex'
    save_vectors(vectors, design.in_bus.pack(x), design.out_bus.pack(y), design.in_bus, design.out_bus,
                 design.latency, design.clocked)
    env = {'DA4ML_TB_VECTORS': str(vectors), 'DA4ML_TB_OBSERVED': str(observed)}
    result = run(built, PER_CYCLE_TB, extra_env=env, seed=seed, run_dir=run_dir, check=check)
    outputs, unknown = _read_outputs(observed, design, len(x), simulator, result.log)
    if result.passed:
        shutil.rmtree(run_dir, ignore_errors=True)
    return Replay(built.simulator.name, built.simulator.version, 'per-cycle', [outputs], [unknown], built.seconds,
                  built.rebuilt, result.seconds, None if result.passed else run_dir)
