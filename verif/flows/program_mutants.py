"""Seeded single-fault mutants of a DAIS program, emitted as designs: faults before the emitter.

Why besides the top-module edits of ``verif.flows.mutants``: a fault in the program (an op's
opcode, shift, operand, constant or a table entry) goes through the emitter's own choices of
widths and pipeline stages, as a compiler bug upstream of the emitter would. Each mutant is
one op changed; the intervals of that op and of everything after it are widened where the
fault makes them too small (so the program stays valid), then the program is emitted with the
design's pipeline settings. A mutant whose ports differ from the design's (an output grew a
bit) cannot be judged on the same buses and is skipped, as is one that no longer validates;
after ``MAX_ATTEMPTS_PER_MUTANT`` skips per mutant asked for, fewer mutants are returned. An
output op whose interval the fault widened is read through a wrapping QUANTIZE to its old
precision, so designs with unquantized outputs (adders at the ports) keep their ports.

============= =============================================================
prog_add_sub  ADD <-> SUB
prog_shift    an ADD / SUB shift moved by +-1
prog_operand  an ADD / SUB second operand replaced by an earlier op of the same width
prog_const    a CONST / CONST_ADD constant moved by +-1 step
prog_table    one table entry +1
============= =============================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from da4ml_core.ir import Op, Opcode, Program, QInt
from da4ml_core.ir.intervals import natural, natural_f
from da4ml_core.ir.validate import ProgramError

from ..hdl.design import Design, emitted_design
from .coverage import live_ops

__all__ = ['PROGRAM_OPERATORS', 'ProgramMutant', 'sample_program']

PROGRAM_OPERATORS = ('prog_add_sub', 'prog_shift', 'prog_operand', 'prog_const', 'prog_table')
# a MUX keeps its declared width (the emitter truncates the chosen value to it, and a SAT clamp's
# exact interval is narrower than the hull of its branches); quantizers widen within their precision
_WIDENED = (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD, Opcode.CONST, Opcode.MUL, Opcode.LOOKUP, Opcode.QUANTIZE,
            Opcode.QUANTIZE_NEG, Opcode.RELU, Opcode.RELU_NEG)
MAX_ATTEMPTS_PER_MUTANT = 8  # program faults tried per mutant wanted before giving up
_PORT_KEYS = ('offset', 'width', 'signed', 'k', 'i', 'f', 'used')


@dataclass(frozen=True)
class ProgramMutant:
    name: str
    operator: str
    what: str
    design: Design


def _on_grid(q: QInt, f: int) -> QInt:
    """The smallest interval on grid ``f`` holding ``q``."""
    if f >= q.f:
        return q.at(f)
    d = q.f - f
    return QInt(q.lo >> d, -((-q.hi) >> d), f)


def _hull(a: QInt, b: QInt, f: int) -> QInt:
    a, b = _on_grid(a, f), _on_grid(b, f)
    return QInt(min(a.lo, b.lo), max(a.hi, b.hi), f)


def _rederive(prog: Program, ops: list[Op], tables, start: int) -> Program:
    """``ops`` with every interval from ``start`` on widened (and moved onto the grid its op
    produces) to hold what its op can produce."""
    qints = [op.qint for op in ops]
    for k in range(start, len(ops)):
        nat = natural(ops[k], qints, tables)
        if nat is None or ops[k].opcode not in _WIDENED:
            continue
        f = natural_f(ops[k], qints)
        f = qints[k].f if f is None else f
        if f != qints[k].f or not qints[k].contains(nat):
            qints[k] = nat if ops[k].opcode == Opcode.CONST else _hull(qints[k], nat, f)
            ops[k] = ops[k].with_(qint=qints[k])
    out_idxs = list(prog.out_idxs)
    for n, i in enumerate(prog.out_idxs):
        if i >= 0 and ops[i].qint != prog.ops[i].qint and ops[i].qint.f >= prog.ops[i].qint.f:
            # the output port keeps its precision: the widened value wraps (and floors) into it,
            # as a design whose inner op overflowed would show at a port of fixed width (a
            # value moved onto a coarser grid cannot be quantized finer: its ports differ)
            ops.append(Op(Opcode.QUANTIZE, i, -1, 0, QInt.of_kif(*prog.ops[i].qint.kif)))
            out_idxs[n] = len(ops) - 1
    return Program(prog.n_in, prog.n_out, ops, prog.inp_shifts, out_idxs, prog.out_shifts, prog.out_negs,
                   tables, prog.adder_size, prog.carry_size)


def _sites(prog: Program) -> list[tuple[str, int, tuple]]:
    live = live_ops(prog)
    out = []
    widths = [op.qint.width for op in prog.ops]
    for i, op in enumerate(prog.ops):
        if not live[i]:
            continue
        if op.opcode in (Opcode.ADD, Opcode.SUB):
            out.append(('prog_add_sub', i, ()))
            out += [('prog_shift', i, (d,)) for d in (1, -1)]
            same = [j for j in range(i) if j not in (op.id0, op.id1) and widths[j] == widths[op.id1] and live[j]
                    and prog.ops[j].opcode != Opcode.CONST]
            if same:
                out.append(('prog_operand', i, tuple(same)))
        elif op.opcode in (Opcode.CONST, Opcode.CONST_ADD):
            out += [('prog_const', i, (d,)) for d in (1, -1)]
        elif op.opcode == Opcode.LOOKUP:
            out.append(('prog_table', i, ()))
    return out


def _mutated(prog: Program, site, rng) -> tuple[Program, str]:
    operator, i, arg = site
    ops, tables = list(prog.ops), [list(t) for t in prog.tables]
    op = ops[i]
    if operator == 'prog_add_sub':
        code = Opcode.SUB if op.opcode == Opcode.ADD else Opcode.ADD
        ops[i], what = op.with_(opcode=code), f'op {i} {op.opcode.name} -> {code.name}'
    elif operator == 'prog_shift':
        ops[i], what = op.with_(data=op.data + arg[0]), f'op {i} shift {op.data} -> {op.data + arg[0]}'
    elif operator == 'prog_operand':
        j = arg[int(rng.integers(len(arg)))]
        ops[i], what = op.with_(id1=j), f'op {i} operand v{op.id1} -> v{j}'
    elif operator == 'prog_const':
        ops[i], what = op.with_(data=op.data + arg[0]), f'op {i} constant {op.data} -> {op.data + arg[0]} steps'
    else:
        t = tables[op.table]
        key = prog.ops[op.id0].qint
        e = int(rng.integers(key.lo, key.hi + 1)) - op.base
        t[e] += 1
        what = f'op {i} table {op.table}[{e}] {t[e] - 1} -> {t[e]}'
    return _rederive(prog, ops, tables, i), what


def sample_program(prog: Program, meta: dict, n: int, seed: int, workdir: Path | str,
                   operators=PROGRAM_OPERATORS) -> tuple[list[ProgramMutant], int]:
    """Up to ``n`` emitted program mutants (operators in turn), and how many were skipped
    (invalid, or ports that differ from the design's)."""
    from da4ml_core.emit import plan, write_verilog

    unknown = sorted(set(operators) - set(PROGRAM_OPERATORS))
    if unknown:
        raise ValueError(f'operators={unknown}: expected some of {PROGRAM_OPERATORS}')
    rng = np.random.default_rng([seed, 3])
    by_op = {o: [] for o in operators}
    for s in _sites(prog):
        if s[0] in by_op:
            by_op[s[0]].append(s)
    for o, sites in by_op.items():
        by_op[o] = [sites[k] for k in rng.permutation(len(sites)).tolist()]
    ports = [[{k: e[k] for k in _PORT_KEYS} for e in meta[side]] for side in ('inputs', 'outputs')]
    out, skipped = [], 0
    attempts = MAX_ATTEMPTS_PER_MUTANT * n
    while len(out) < n and any(by_op.values()) and skipped < attempts:
        for o in operators:
            if not by_op[o] or len(out) >= n:
                continue
            site = by_op[o].pop()
            name = f'{meta["top"]}_p{len(out) + skipped}'
            try:
                mutant, what = _mutated(prog, site, rng)
            except (ProgramError, ValueError):
                skipped += 1
                continue
            lay, _ = plan(mutant)  # ports first: most faults upstream of an unquantized output widen it
            if [[{k: e.as_dict()[k] for k in _PORT_KEYS} for e in els] for els in (lay.inputs, lay.outputs)] != ports:
                skipped += 1
                continue
            outdir = Path(workdir) / name
            write_verilog(mutant, outdir, name=name, latency_cutoff=meta['latency_cutoff'],
                          clock_period_ns=meta['clock_period_ns'])
            mmeta = json.loads((outdir / 'metadata.json').read_text())
            out.append(ProgramMutant(name, o, what, emitted_design(outdir, mmeta)))
    return out, skipped
