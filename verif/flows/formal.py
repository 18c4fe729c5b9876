"""Formal equivalence of a mutant and the design it came from: a yosys miter and a SAT proof.

Why: a mutant that no vector kills is equivalent or a fault the vectors miss, and simulating
every input word tells them apart only for small input spaces (``mutation.EXHAUSTIVE_BITS``).
Here both top modules are read with the design's primitives, joined by ``miter -equiv`` (its
``trigger`` output is 1 when some output bit differs) and yosys's ``sat`` proves ``trigger``
is always 0, or returns an input word where it is not. Shared logic is merged first
(``opt_merge``): what is left is the cone the mutation reaches.

A pipelined design (no reset, every path ``L`` registers deep) is unrolled ``L + 1`` steps from
a free initial state and the outputs compared at the last step only (``-prove-skip L``): by
then every register holds a value computed from the inputs of steps 1..L+1, so a proof there
covers every cycle of every run. A mutant whose output still depends on the initial state at
that step (a register that never loads) gets a counterexample that needs that state.

The verdict of the solver is not the last word on a fault: the counterexample's input rows go
back to the simulator and the judge (``verif.flows.mutation``), which alone counts a kill.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from da4ml_core.synth import YosysTimeout, find_yosys
from da4ml_core.synth.tool import run_script

from ..hdl.design import Design

__all__ = ['SAT_TIMEOUT', 'FormalError', 'Proof', 'miter_script', 'prove']

SAT_TIMEOUT = 60.0  # seconds of yosys per mutant (the solver's own limit is the whole seconds of it)
_RESULT = 'sat.txt'
_SUCCESS = 'SAT proof finished - no model found: SUCCESS!'
_FAIL = 'SAT proof finished - model found: FAIL!'
_TIMEOUT = 'Interrupted SAT solver: TIMEOUT!'
_INPUT_ROW = re.compile(r'^\s*(?:(\d+)\s+)?\\in_inp\s+\S+\s+\S+\s+([01xz]+)\s*$')


class FormalError(RuntimeError):
    """The two designs cannot be compared (names the argument), or yosys gave no verdict it can read."""


@dataclass(frozen=True)
class Proof:
    """``verdict``: 'equivalent' (proven), 'differs' (``rows``: the counterexample's input bus
    rows, one per time step) or 'timeout' (no verdict within the limit)."""

    verdict: str
    rows: np.ndarray | None
    seconds: float
    log: Path


def miter_script(primitives: list[str], gold: str, gold_top: str, gate: str, gate_top: str, latency: int,
                 clocked: bool, sat_seconds: int) -> str:
    """The yosys script proving ``gate_top`` equal to ``gold_top`` (module docstring)."""
    reads = '\n'.join(f'read_verilog {p}' for p in [*primitives, gold, gate])
    seq = f' -seq {latency + 1} -prove-skip {latency}' if clocked and latency > 0 else ''
    return (f'{reads}\nhierarchy -check\nproc\n'
            f'miter -equiv -flatten -make_outputs {gold_top} {gate_top} miter\n'
            f'hierarchy -top miter\nopt_expr -keepdc\nopt_merge\nopt_clean\n'
            f'tee -q -o {_RESULT} sat -prove trigger 0{seq} -show-inputs -timeout {sat_seconds} miter\n')


def _sources(gold: Design, gate: Design) -> list[Path]:
    """The primitives the two top modules instantiate: the gold's, which the gate's must start
    with, byte for byte, then any the gate adds (a mutated copy under its own module name)."""
    prims, theirs = gold.sources[:-1], gate.sources[:-1]
    if [p.name for p in prims] != [p.name for p in theirs[:len(prims)]] or \
            any(a.read_bytes() != b.read_bytes() for a, b in zip(prims, theirs)):
        raise FormalError(f'gate={gate.name!r}: its primitives differ from those of {gold.name!r}')
    return list(theirs)


def prove(gold: Design, gate: Design, workdir: Path | str, *, timeout: float = SAT_TIMEOUT) -> Proof:
    """Whether ``gate`` computes what ``gold`` does, by yosys within ``timeout`` seconds;
    :class:`~da4ml_core.synth.YosysNotFoundError` without yosys."""
    if not timeout > 0:
        raise FormalError(f'timeout={timeout!r}: must be > 0 seconds')
    if gold.in_bus != gate.in_bus or gold.out_bus != gate.out_bus or gold.clocked != gate.clocked:
        raise FormalError(f'gate={gate.name!r}: its ports differ from those of {gold.name!r}')
    if gold.name == gate.name:
        raise FormalError(f'gate={gate.name!r}: the same module name as the gold design')
    yosys = find_yosys()
    work = Path(workdir).resolve() / gate.name
    work.mkdir(parents=True, exist_ok=True)
    names = [str(p.resolve()) for p in (*_sources(gold, gate), gold.sources[-1], gate.sources[-1])]
    if any(any(c.isspace() for c in n) for n in names):
        raise FormalError(f'workdir={str(workdir)!r}: yosys scripts cannot hold paths with whitespace')
    text = miter_script(names[:-2], names[-2], gold.name, names[-1], gate.name, gold.latency, gold.clocked,
                        max(1, math.floor(timeout)))
    (work / 'miter.ys').write_text(text)
    (work / _RESULT).unlink(missing_ok=True)
    log = work / 'yosys.log'
    try:
        seconds = run_script(yosys, work / 'miter.ys', log, work, f'miter {gate.name}', False, timeout)
    except YosysTimeout:
        return Proof('timeout', None, float(timeout), log)
    return _verdict((work / _RESULT).read_text(errors='replace'), gate, seconds, log)


def _verdict(text: str, gate: Design, seconds: float, log: Path) -> Proof:
    if _SUCCESS in text:
        return Proof('equivalent', None, seconds, log)
    if _TIMEOUT in text:
        return Proof('timeout', None, seconds, log)
    if _FAIL not in text:
        raise FormalError(f'{log}: yosys sat gave no verdict for {gate.name}')
    steps = {}
    for line in text[text.index(_FAIL):].splitlines():
        if (m := _INPUT_ROW.match(line)):
            bits = m.group(2).replace('x', '0').replace('z', '0')
            steps[int(m.group(1) or 1)] = int(bits, 2)
    if not steps:
        raise FormalError(f'{log}: no input word in the counterexample for {gate.name}')
    words = [steps[k] for k in sorted(steps)]
    return Proof('differs', gate.in_bus.unpack(words), seconds, log)
