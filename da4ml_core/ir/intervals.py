"""Interval inference: the exact set of values each op can produce from its operands' intervals.

Used by validation (a declared interval must hold what the op can produce), by the loader of
DAIS binaries (which carry only precisions, so intervals are re-derived) and by builders.
"""

from __future__ import annotations

from collections.abc import Sequence

from .ops import Op, Opcode, QInt

__all__ = [
    'shift_add',
    'const_add',
    'multiply',
    'quantized',
    'mux_union',
    'table_range',
    'natural',
    'natural_f',
]


def _floor_to(q: QInt, f: int) -> tuple[int, int]:
    """Bounds of q truncated (floor) onto the grid 2**-f, f <= q.f."""
    d = q.f - f
    return q.lo >> d, q.hi >> d


def shift_add(a: QInt, b: QInt, shift: int, sub: bool) -> QInt:
    """``a ± b * 2**shift`` on the finer of the two grids."""
    b = b.shifted(shift)
    f = max(a.f, b.f)
    a, b = a.at(f), b.at(f)
    if sub:
        return QInt(a.lo - b.hi, a.hi - b.lo, f)
    return QInt(a.lo + b.lo, a.hi + b.hi, f)


def const_add(a: QInt, raw: int, f: int) -> QInt:
    """``a + raw * 2**-f`` on grid f (f >= a.f)."""
    a = a.at(f)
    return QInt(a.lo + raw, a.hi + raw, f)


def multiply(a: QInt, b: QInt) -> QInt:
    """``a * b``: the product of raws lives on grid a.f + b.f."""
    corners = (a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi)
    return QInt(min(corners), max(corners), a.f + b.f)


def quantized(a: QInt, out: QInt, relu: bool, neg: bool) -> QInt:
    """What TRN + WRAP of ``±a`` (after relu if asked) onto ``out``'s precision can give.

    When the truncated interval fits the precision the wrap never fires and the bounds are
    just truncated; otherwise any value of the precision is possible.
    """
    k, i, f = out.kif
    full = QInt.of_kif(k, i, f)
    if neg:
        a = QInt(-a.hi, -a.lo, a.f)
    if relu:
        a = QInt(max(a.lo, 0), max(a.hi, 0), a.f)
    if f > a.f:
        a = a.at(f)
    lo, hi = _floor_to(a, f)
    if full.lo <= lo and hi <= full.hi:
        return QInt(lo, hi, f)
    return full


def mux_union(a: QInt, b: QInt, shift: int, neg: bool) -> QInt:
    """Hull of ``a`` and ``±b * 2**shift``: all a mux can select."""
    b = b.shifted(shift)
    if neg:
        b = QInt(-b.hi, -b.lo, b.f)
    f = max(a.f, b.f)
    a, b = a.at(f), b.at(f)
    return QInt(min(a.lo, b.lo), max(a.hi, b.hi), f)


def table_range(table: Sequence[int], key: QInt, base: int, f: int) -> QInt | None:
    """Range of the entries a key in ``key`` can read; None if it reads outside the table."""
    start, stop = key.lo - base, key.hi - base
    if start < 0 or stop >= len(table):
        return None
    part = table[start : stop + 1]
    return QInt(int(min(part)), int(max(part)), f)


def natural_f(op: Op, qints: Sequence[QInt]) -> int | None:
    """The grid an exact op produces on (None where the op chooses its own grid)."""
    code = op.opcode
    if code in (Opcode.ADD, Opcode.SUB):
        return max(qints[op.id0].f, qints[op.id1].f - op.data)
    if abs(code) == Opcode.MUX:
        return max(qints[op.id0].f, qints[op.id1].f - op.shift)
    if code == Opcode.MUL:
        return qints[op.id0].f + qints[op.id1].f
    return None


def natural(op: Op, qints: Sequence[QInt], tables: Sequence[Sequence[int]] = ()) -> QInt | None:
    """Everything ``op`` can produce given its operands' intervals ``qints`` (indexed by op).

    INPUT and the quantizing ops produce values of their own precision; MUX gives the hull of
    both choices; LOOKUP the range of the reachable entries (None if out of the table).
    """
    code = op.opcode
    out = op.qint
    if code == Opcode.INPUT:
        return QInt.of_kif(*out.kif)
    if code in (Opcode.ADD, Opcode.SUB):
        return shift_add(qints[op.id0], qints[op.id1], op.data, code == Opcode.SUB)
    if code == Opcode.CONST_ADD:
        return const_add(qints[op.id0], op.data, max(out.f, qints[op.id0].f))
    if code == Opcode.CONST:
        return QInt(op.data, op.data, out.f)
    if code == Opcode.MUL:
        return multiply(qints[op.id0], qints[op.id1])
    if abs(code) in (Opcode.RELU, Opcode.QUANTIZE):
        return quantized(qints[op.id0], out, relu=abs(code) == Opcode.RELU, neg=code < 0)
    if abs(code) == Opcode.MUX:
        return mux_union(qints[op.id0], qints[op.id1], op.shift, code < 0)
    if code == Opcode.LOOKUP:
        return table_range(tables[op.table], qints[op.id0], op.base, out.f)
    return None
