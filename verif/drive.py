"""Run vectors through a flat-bus design in a simulator, per cycle or in bulk; get integers back.

Why two paths: the per-cycle cocotb testbench (driver / monitor / scoreboard) explains a
failure vector by vector and can follow a clocked pipeline, but runs a few 1e4 vectors/s at
best; the bulk path replays a ``$readmemh`` file in Verilog and compares in numpy afterwards,
at 1e5 (Icarus) to 4e5 (Verilator) vectors/s, for 1e5+ vectors.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import sim
from .vectors import read_hex, save_vectors, write_hex
from .wrappers import Design, bulk_depth, bulk_wrapper

PER_CYCLE_TB = 'verif.tb.per_cycle'
BULK_TB = 'verif.tb.bulk'


@dataclass(frozen=True)
class Outcome:
    """What one run checked: design, simulator, vector count, mismatches, outputs, timings."""

    design: str
    simulator: str
    version: str
    path: str  # 'per-cycle' or 'bulk'
    n_vectors: int
    mismatches: int
    outputs: np.ndarray  # (n_vectors, n_out_fields) integers as the DUT produced them (x/z read as 0)
    build_seconds: float
    rebuilt: bool
    run_seconds: float

    def summary(self) -> str:
        return (
            f'{self.design} on {self.simulator} {self.version} ({self.path}): {self.n_vectors} vectors, '
            f'{self.mismatches} mismatches, build {self.build_seconds:.2f} s'
            f'{"" if self.rebuilt else " (cached)"}, run {self.run_seconds:.2f} s'
        )


def _as_rows(values, n_fields: int, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 1 and n_fields == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_fields:
        raise ValueError(f'{what}: expected shape (n, {n_fields}), got {arr.shape}')
    return arr


def _row_differs(outputs: np.ndarray, expected: np.ndarray) -> np.ndarray:
    if outputs.shape != expected.shape:
        raise ValueError(f'outputs {outputs.shape} and expected {expected.shape} differ in shape')
    return np.any(outputs != expected, axis=1)


def count_mismatches(outputs: np.ndarray, expected) -> int:
    """Rows where any field differs (exact integer comparison)."""
    return int(np.count_nonzero(_row_differs(outputs, np.asarray(expected))))


def run_per_cycle(
    design: Design,
    inputs,
    expected,
    simulator: str,
    *,
    cache_root: Path | str | None = None,
    seed: int = 1,
    check: bool = True,
    build_args: tuple[str, ...] | None = None,
) -> Outcome:
    """Drive ``inputs`` (n, n_in_fields) one per cycle; the cocotb scoreboard checks ``expected``.

    With ``check`` a mismatch raises :class:`verif.sim.SimulationFailed` whose message lists
    the first mismatching vectors; without, the count is returned in ``Outcome.mismatches``.
    ``build_args`` default to ``VERILATOR_LEAN_ARGS`` on Verilator (the testbench touches only
    the top-level ports).
    """
    if build_args is None:
        build_args = VERILATOR_LEAN_ARGS if simulator == 'verilator' else ()
    x = _as_rows(inputs, len(design.in_bus.fields), 'inputs')
    y = _as_rows(expected, len(design.out_bus.fields), 'expected')
    if len(x) != len(y):
        raise ValueError(f'{len(x)} input rows but {len(y)} expected rows')
    built = sim.build(design.sources, design.name, simulator, cache_root=cache_root, build_args=tuple(build_args))
    run_dir = sim.new_run_dir(built)
    vectors, observed = run_dir / 'vectors.json', run_dir / 'observed.hex'
    save_vectors(vectors, design.in_bus.pack(x), design.out_bus.pack(y), design.in_bus, design.out_bus,
                 design.latency, design.clocked)
    env = {'DA4ML_TB_VECTORS': str(vectors), 'DA4ML_TB_OBSERVED': str(observed)}
    result = sim.run(built, PER_CYCLE_TB, extra_env=env, seed=seed, run_dir=run_dir, check=check)
    words = read_hex(observed, allow_unknown=True) if observed.is_file() else []
    if len(words) != len(x):
        what = f'per-cycle run of {design.name} returned {len(words)} of {len(x)} outputs'
        raise sim.SimulationFailed(what, result.log)
    unknown = np.array([w is None for w in words], dtype=bool)
    outputs = design.out_bus.unpack([0 if w is None else w for w in words])
    mismatches = int(np.count_nonzero(unknown | _row_differs(outputs, y)))
    if result.passed:
        shutil.rmtree(run_dir, ignore_errors=True)
    return Outcome(design.name, built.simulator.name, built.simulator.version, 'per-cycle', len(x),
                   mismatches, outputs, built.seconds, built.rebuilt, result.seconds)


# Verilator options of both paths: VPI visibility limited to the top level (cocotb's default,
# every signal writable, makes large designs take minutes to compile), no C++ optimizer
# (a converted network then builds in under a minute and still simulates ~1e5 vectors/s).
VERILATOR_LEAN_ARGS = ('--no-public-flat-rw', '--public-depth', '1', '-CFLAGS', '-O0')


def run_bulk(
    design: Design,
    inputs,
    simulator: str,
    *,
    expected=None,
    cache_root: Path | str | None = None,
    seed: int = 1,
    build_args: tuple[str, ...] | None = None,
) -> Outcome:
    """Replay ``inputs`` through a ``$readmemh`` wrapper, one vector per clock; read outputs back.

    Returns the DUT's outputs as integers; with ``expected`` given, ``mismatches`` counts the
    differing rows (the caller decides whether that is a failure). ``build_args`` default to
    ``VERILATOR_LEAN_ARGS`` on Verilator: the testbench only touches the wrapper's clock.
    """
    if build_args is None:
        build_args = VERILATOR_LEAN_ARGS if simulator == 'verilator' else ()
    x = _as_rows(inputs, len(design.in_bus.fields), 'inputs')
    n = len(x)
    if n < 1:
        raise ValueError('run_bulk needs at least one vector')
    with tempfile.TemporaryDirectory(prefix='bulk-wrapper-') as tmp:
        top = bulk_wrapper(design, bulk_depth(n), tmp)
        built = sim.build(top.sources, top.name, simulator, cache_root=cache_root, build_args=tuple(build_args))
    run_dir = sim.new_run_dir(built)
    stim, out = run_dir / 'stim.hex', run_dir / 'out.hex'
    write_hex(stim, design.in_bus.pack(x), design.in_bus.hex_digits)
    plusargs = [f'+n_vectors={n}', f'+stim={stim}', f'+out={out}']
    env = {'DA4ML_TB_CYCLES': str(n + design.latency + 2)}
    t0 = time.perf_counter()
    result = sim.run(built, BULK_TB, extra_env=env, plusargs=plusargs, seed=seed, run_dir=run_dir)
    words = read_hex(out) if out.is_file() else []
    if len(words) != n:
        what = f'bulk run of {design.name} wrote {len(words)} of {n} output words'
        raise sim.SimulationFailed(what, result.log)
    outputs = design.out_bus.unpack(words)
    mismatches = 0 if expected is None else count_mismatches(
        outputs, _as_rows(expected, len(design.out_bus.fields), 'expected'))
    shutil.rmtree(run_dir, ignore_errors=True)
    return Outcome(design.name, built.simulator.name, built.simulator.version, 'bulk', n, mismatches, outputs,
                   built.seconds, built.rebuilt, time.perf_counter() - t0)
