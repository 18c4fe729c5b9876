"""Lowering a program to int64 rows (a :class:`Plan`): what both interpreter back ends execute.

One row per op: ``[kind, a, b, p0 .. p8]`` (N_COLS int64) with operand indices and precomputed shifts, widths
and constants, so the kernels never look at intervals. Lowering also proves that every value,
intermediate ones included, fits ``MAX_WIDTH`` bits, so int64 arithmetic is exact.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..ir.ops import Opcode, QInt
from ..ir.validate import ProgramError

__all__ = ['MAX_WIDTH', 'Plan', 'compile_plan', 'plan_of']

MAX_WIDTH = 62  # widest raw value (any intermediate) the int64 kernels handle exactly

# row kinds
K_INPUT, K_ADD, K_QUANT, K_CADD, K_CONST, K_MUX, K_MUL, K_LOOKUP = range(8)
N_COLS = 12


class Plan:
    """A program lowered to int64 rows for the kernel (built once per program: :func:`plan_of`)."""

    __slots__ = ('code', 'tables', 'out_idx', 'out_exp', 'out_sign', 'n_in', 'n_out', 'block')

    def __init__(self, code, tables, out_idx, out_exp, out_sign, n_in, n_out):
        self.code, self.tables = code, tables
        self.out_idx, self.out_exp, self.out_sign = out_idx, out_exp, out_sign
        self.n_in, self.n_out = n_in, n_out
        # measured: the block buffer pays off up to tens of MiB (rows are contiguous), so wide
        # blocks for small programs, 16..32 samples once the program has ~10^5 ops
        per_block = max(1, 4_000_000 // max(code.shape[0], 1))
        self.block = int(min(128, max(16, 1 << (per_block.bit_length() - 1))))


def _need(i: int, op, bits: int, what: str) -> None:
    if bits > MAX_WIDTH:
        raise ProgramError(
            f'{what} needs {bits}-bit arithmetic, the int64 interpreter stops at {MAX_WIDTH}', i, op
        )


def _width_at(q: QInt, f: int) -> int:
    """Bits of q's values held on the (finer) grid f."""
    return q.at(f).width if f >= q.f else q.width


def compile_plan(prog) -> Plan:
    """Lower a validated program; refuses programs needing more than MAX_WIDTH-bit values."""
    ops = prog.ops
    qints = [op.qint for op in ops]
    code = np.zeros((len(ops), N_COLS), dtype=np.int64)
    offsets, acc = [], 0
    for t in prog.tables:
        offsets.append(acc)
        acc += len(t)
    for i, op in enumerate(ops):
        c, q = op.opcode, op.qint
        k, ii, f = q.kif
        w = k + ii + f
        _need(i, op, w, 'the result')
        if c == Opcode.INPUT:
            s = prog.inp_shifts[op.id0]
            code[i, :6] = (K_INPUT, op.id0, 0, f + s, w, k)
        elif c in (Opcode.ADD, Opcode.SUB):
            qa, qb = qints[op.id0], qints[op.id1].shifted(op.data)
            _need(i, op, max(_width_at(qa, f), _width_at(qb, f)), 'an aligned operand')
            code[i, :6] = (K_ADD, op.id0, op.id1, f - qa.f, f - qb.f, int(c == Opcode.SUB))
        elif abs(c) in (Opcode.RELU, Opcode.QUANTIZE):
            qa = qints[op.id0]
            code[i, :8] = (K_QUANT, op.id0, 0, int(c < 0), int(abs(c) == Opcode.RELU), qa.f - f, w, k)
        elif c == Opcode.CONST_ADD:
            qa = qints[op.id0]
            _need(i, op, _width_at(qa, f), 'the aligned operand')
            code[i, :5] = (K_CADD, op.id0, 0, f - qa.f, op.data)
        elif c == Opcode.CONST:
            code[i, :4] = (K_CONST, 0, 0, op.data)
        elif abs(c) == Opcode.MUX:
            qa, qb, qk = qints[op.id0], qints[op.id1].shifted(op.shift), qints[op.key]
            _need(i, op, max(_width_at(qa, f), _width_at(qb, f)) + 1, 'an aligned operand')
            code[i, :10] = (K_MUX, op.id0, op.id1, op.key, qk.width - 1, f - qa.f, f - qb.f, int(c < 0), w, k)
        elif c == Opcode.MUL:
            qa, qb = qints[op.id0], qints[op.id1]
            _need(i, op, qa.width + qb.width + (f - qa.f - qb.f), 'the product')
            code[i, :4] = (K_MUL, op.id0, op.id1, f - qa.f - qb.f)
        elif c == Opcode.LOOKUP:
            code[i, :6] = (K_LOOKUP, op.id0, 0, op.base, offsets[op.table], len(prog.tables[op.table]))
        else:
            raise ProgramError(f'opcode {int(c)} is not supported by the interpreter', i, op)
    tables = np.asarray([v for t in prog.tables for v in t] or [0], dtype=np.int64)
    out_idx = np.asarray(prog.out_idxs, dtype=np.int64)
    out_exp = np.asarray(
        [s - (qints[j].f if j >= 0 else 0) for j, s in zip(prog.out_idxs, prog.out_shifts)], dtype=np.int64
    )
    out_sign = np.asarray([-1 if neg else 1 for neg in prog.out_negs], dtype=np.int64)
    return Plan(code, tables, out_idx, out_exp, out_sign, prog.n_in, prog.n_out)


_PLANS: dict[int, Plan] = {}  # id(program) -> its plan, dropped when the program is collected


def plan_of(prog) -> Plan:
    """The plan of ``prog``, lowered on first use and kept while the program lives.

    Kept here, not on the program: the IR knows nothing of how it is run (Program is unhashable,
    so the cache is keyed by identity with a finalizer instead of a WeakKeyDictionary)."""
    key = id(prog)
    plan = _PLANS.get(key)
    if plan is None:
        if not prog.validated:
            prog.validate(bounds=False)  # structure is what the lowering relies on
        plan = compile_plan(prog)
        _PLANS[key] = plan
        weakref.finalize(prog, _PLANS.pop, key, None)
    return plan
