"""Pipeline stages: which clock stage computes each value, and which registers that needs.

Why a separate pass: the Verilog writer only asks "what is value v called in stage t"; all
timing decisions live here. The algorithm, with op delays in adder levels from the cost model:

1. ASAP with a capacity of ``c`` levels per stage: an op starts when its latest operand of the
   latest stage is ready; if it would end past ``c`` it moves to the next stage and starts from
   registers. An op longer than ``c`` by itself starts a stage and overruns it alone.
2. Balancing: the smallest whole capacity <= ``c`` that needs no more stages than ``c`` does is
   used instead, so the latency stays and the deepest stage gets as shallow as it can.
3. Simple retiming: an op with one timed operand (QUANTIZE, RELU, LOOKUP, CONST_ADD, a
   negated output, ...) whose result would be registered may move to a later stage, computed
   from its operand's registered copy, when carrying the operand costs fewer register bits
   than carrying the result (a narrow key instead of a wide table output; the operand when it
   is carried anyway). It then starts its stage from registers, so it fits when its delay does;
   an op with delay moves only to a stage before all its readers, and only pure wiring
   (QUANTIZE) may land after the output registers.
4. Registers only where a value crosses a boundary: a value of stage ``s`` read up to stage
   ``t`` gets one delay line ``s+1 .. t`` shared by all its readers. Every output is read at
   stage ``N`` (after the last boundary), so outputs are registered and the latency is ``N``.

Constants (CONST ops, zero-width values) belong to no stage and are never registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..ir import Opcode, Program, op_cost
from .layout import Layout

__all__ = ['Node', 'Schedule', 'combinational', 'nodes_of', 'schedule']


@dataclass(frozen=True)
class Node:
    """A value the hardware computes: its timed operands, delay (levels) and width (bits)."""

    name: str
    deps: tuple[str, ...]
    delay: float
    width: int
    wiring: bool = False  # pure bit selection (QUANTIZE): free to place after the output registers


@dataclass
class Schedule:
    """Stage of every timed value, how far each is read, and the resulting registers."""

    stage: dict[str, int]
    need: dict[str, int]
    widths: dict[str, int]
    out_stage: int  # stage the outputs are read at = latency in cycles (0: combinational)
    capacity: float | None  # levels per stage actually used (None: combinational)
    stage_levels: list[float] = field(default_factory=list)  # deepest path in each stage

    @property
    def clocked(self) -> bool:
        return self.capacity is not None

    def stage_of(self, name: str) -> int | None:
        return self.stage.get(name)

    def read(self, name: str, t: int) -> str:
        """Name of value ``name`` as seen in stage ``t`` (itself, or a register copy)."""
        s = self.stage.get(name)
        if s is None or s == t:
            return name
        if t < s:
            raise ValueError(f'{name} of stage {s} is read in earlier stage {t}')
        return f'{name}_s{t}'

    def registers(self) -> list[tuple[int, str, str, int]]:
        """``(stage, register, source, width)`` for every pipeline register, in a fixed order."""
        regs = []
        for name, s in self.stage.items():  # insertion order = program order
            for t in range(s + 1, self.need.get(name, s) + 1):
                regs.append((t, self.read(name, t), self.read(name, t - 1), self.widths[name]))
        return sorted(regs, key=lambda r: r[0])  # stable: program order within a stage

    @property
    def reg_bits(self) -> int:
        return sum(r[3] for r in self.registers())


def _chain(bits: int, carry_size: int) -> float:
    if bits <= 0:
        return 0.0
    return float(-(-bits // carry_size)) if carry_size > 0 else 1.0


def nodes_of(prog: Program, lay: Layout) -> tuple[list[Node], list[str]]:
    """Timed nodes (live ops except constants, then output negations) and the value each
    output reads (``''`` for a pad)."""
    qints = [op.qint for op in prog.ops]
    timed = [lay.live[i] and op.opcode != Opcode.CONST for i, op in enumerate(prog.ops)]
    nodes = []
    for i, op in enumerate(prog.ops):
        if not timed[i]:
            continue
        deps = tuple(dict.fromkeys(f'v{j}' for j in op.operands if timed[j]))
        delay = op_cost(op, qints, prog.adder_size, prog.carry_size)[1]
        nodes.append(Node(f'v{i}', deps, delay, qints[i].width, op.opcode == Opcode.QUANTIZE))
    reads = []
    for j, (idx, neg) in enumerate(zip(prog.out_idxs, prog.out_negs)):
        if not lay.outputs[j].used:
            reads.append('')
        elif neg:  # a negated constant is a constant: no node
            if timed[idx]:
                width = lay.outputs[j].width
                nodes.append(Node(f'o{j}', (f'v{idx}',), _chain(width, prog.carry_size), width))
            reads.append(f'o{j}')
        else:
            reads.append(f'v{idx}')
    return nodes, reads


def _assign(nodes: list[Node], cap: float) -> tuple[dict[str, int], dict[str, float]]:
    """ASAP stages with ``cap`` levels per stage (step 1 of the module docstring)."""
    stage: dict[str, int] = {}
    end: dict[str, float] = {}
    for n in nodes:
        s = max((stage[d] for d in n.deps), default=0)
        e0 = max((end[d] for d in n.deps if stage[d] == s), default=0.0)
        if n.delay > 0 and e0 > 0 and e0 + n.delay > cap:
            s, e0 = s + 1, 0.0
        stage[n.name] = s
        end[n.name] = e0 + n.delay
    return stage, end


def _n_stages(stage: dict[str, int]) -> int:
    return 1 + max(stage.values(), default=0)


def _balanced_capacity(nodes: list[Node], cap: float) -> float:
    """Smallest whole capacity <= cap that needs no more stages than cap (step 2)."""
    n0 = _n_stages(_assign(nodes, cap)[0])
    total = max(_assign(nodes, math.inf)[1].values(), default=0.0)
    lo = max(1, math.ceil(total / n0))
    for c in range(lo, math.floor(cap) + 1):
        if _n_stages(_assign(nodes, float(c))[0]) <= n0:
            return float(c)
    return float(cap)


def _consumers(nodes: list[Node], reads: list[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    users: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for d in n.deps:
            users[d].append(n.name)
    out_reads: dict[str, int] = {}
    for r in reads:
        if r in users:
            out_reads[r] = out_reads.get(r, 0) + 1
    return users, out_reads


def _retime(nodes: list[Node], stage, users, out_reads, cap: float, n_out: int) -> None:
    """Move single-operand ops later where that saves register bits (step 3), in place."""
    width = {n.name: n.width for n in nodes}
    for n in reversed(nodes):  # readers first: their stages are final when n is decided
        if len(n.deps) != 1 or n.delay > cap:
            continue
        cs = [stage[c] for c in users[n.name]] + [n_out] * (n.name in out_reads)
        here = stage[n.name]
        if not cs or max(cs) <= here:
            continue
        if n.delay > 0:
            upper = min(cs) - 1  # its readers must still see it through a register
        else:
            upper = min(cs) if n.wiring else min(min(cs), n_out - 1)
        if upper <= here:
            continue
        a = n.deps[0]
        others = [stage[c] for c in users[a] if c != n.name] + [n_out] * (a in out_reads)
        ta, last = max([stage[a], *others]), max(cs)
        # register bits if n is computed in stage p: a carried past ta, n carried from p on
        cost = {p: width[a] * max(0, p - ta) + width[n.name] * (last - p)
                for p in (here, min(max(ta, here), upper), upper)}
        stage[n.name] = min(sorted(cost), key=lambda p: (cost[p], p))


def schedule(nodes: list[Node], reads: list[str], latency_cutoff: float | None,
             retime: bool = True) -> Schedule:
    """Stages and registers for ``nodes`` (see the module docstring); None = combinational."""
    if latency_cutoff is None:
        return combinational(nodes)
    widths = {n.name: n.width for n in nodes}
    cap = _balanced_capacity(nodes, float(latency_cutoff))
    stage = _assign(nodes, cap)[0]
    n_out = _n_stages(stage)
    users, out_reads = _consumers(nodes, reads)
    if retime:
        _retime(nodes, stage, users, out_reads, cap, n_out)
    need = {}
    for n in nodes:
        cs = [stage[c] for c in users[n.name]] + [n_out] * (n.name in out_reads)
        need[n.name] = max(cs, default=stage[n.name])
    return Schedule(stage, need, widths, n_out, cap, _stage_levels(nodes, stage, n_out))


def _stage_levels(nodes: list[Node], stage: dict[str, int], n_stages: int) -> list[float]:
    """Deepest path (levels) inside each stage, operands of earlier stages read from registers."""
    end: dict[str, float] = {}
    levels = [0.0] * max(n_stages, 1)
    for n in nodes:
        s = stage[n.name]
        end[n.name] = max((end[d] for d in n.deps if stage[d] == s), default=0.0) + n.delay
        if s < len(levels):
            levels[s] = max(levels[s], end[n.name])
    return levels


def combinational(nodes: list[Node]) -> Schedule:
    """Everything in stage 0, outputs read there: no registers."""
    stage = {n.name: 0 for n in nodes}
    widths = {n.name: n.width for n in nodes}
    return Schedule(stage, dict(stage), widths, 0, None, _stage_levels(nodes, stage, 1))
