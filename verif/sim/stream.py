"""Streaming a wrapped design (``interface='valid'`` or ``'axis'``) through the handshake testbench.

Why a third driver next to :func:`~verif.sim.replay.replay` and :func:`~verif.sim.replay.per_cycle`:
those speak the flat ``inp`` / ``out`` convention; a wrapper has handshakes, backpressure and a
reset, which only a cocotb testbench with bus models can exercise (``verif.tb.stream``). The
build cache, the toolchain fix-ups and the vector file are the ones the other two use.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..hdl.design import Design
from ..hdl.files import save_vectors
from .build import RunResult, build, new_run_dir, run
from .replay import as_rows
from .toolchain import VERILATOR_PER_CYCLE_ARGS, verilator_make_vars

__all__ = ['STREAM_TB', 'StreamResult', 'stream']

STREAM_TB = 'verif.tb.stream'
KINDS = ('valid', 'axis')


@dataclass(frozen=True)
class StreamResult:
    """What the testbench saw: per reset epoch the beats in and out, and how often a side waited."""

    simulator: str
    passed: bool
    summary: dict  # {'epochs': [{'in', 'out', 'dropped'}], 'held_in_edges', 'held_out_edges', 'problems'}
    run: RunResult

    @property
    def beats_out(self) -> int:
        return sum(e['out'] for e in self.summary.get('epochs', []))


def stream(design: Design, interface: str, inputs, expected, simulator: str, *, resets: int = 1, seed: int = 1,
           check: bool = True, cache_root: Path | str | None = None) -> StreamResult:
    """Stream the bus rows ``inputs`` through ``design`` (its ``interface`` wrapper) with random
    stalls on both sides and ``resets`` reset pulses mid-stream; the testbench compares every
    output beat with ``expected`` (the oracle's rows for ``inputs``). With ``check`` a failure
    raises :class:`~verif.sim.build.SimulationFailed` listing the first bad beats."""
    if interface not in KINDS:
        raise ValueError(f'interface={interface!r}: the stream testbench drives {" or ".join(KINDS)}')
    x = as_rows(inputs, len(design.in_bus.fields), 'inputs')
    y = as_rows(expected, len(design.out_bus.fields), 'expected')
    if len(x) != len(y) or len(x) < 1:
        raise ValueError(f'{len(x)} input rows but {len(y)} expected rows (need at least one of each)')
    verilator = simulator == 'verilator'
    built = build(design.sources, design.name, simulator, cache_root=cache_root,
                  build_args=VERILATOR_PER_CYCLE_ARGS if verilator else (),
                  make_vars=verilator_make_vars(design.sources) if verilator else None)
    run_dir = new_run_dir(built)
    vectors, observed = run_dir / 'vectors.json', run_dir / 'observed.json'
    save_vectors(vectors, design.in_bus.pack(x), design.out_bus.pack(y), design.in_bus, design.out_bus,
                 design.latency, design.clocked)
    env = {'DA4ML_TB_VECTORS': str(vectors), 'DA4ML_TB_OBSERVED': str(observed),
           'DA4ML_TB_INTERFACE': interface, 'DA4ML_TB_RESETS': str(int(resets))}
    result = run(built, STREAM_TB, extra_env=env, seed=seed, run_dir=run_dir, check=check)
    summary = json.loads(observed.read_text()) if observed.is_file() else {}
    if result.passed:
        shutil.rmtree(run_dir, ignore_errors=True)
    return StreamResult(built.simulator.name, result.passed, summary, result)
