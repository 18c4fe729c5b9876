"""Fixed programs shared by the tests."""

from __future__ import annotations

from da4ml_core.ir import Op, Opcode, Program, QInt, intervals, pack_lookup, pack_mux

__all__ = ['every_opcode_program']


def every_opcode_program():
    """A small fixed program with every supported opcode, an input read at two precisions,
    wide (> 32-bit) values, a wrapping QUANTIZE, and outputs that are negated, shifted, zero."""
    ops: list[Op] = []
    tables = [[5, -3, 0, 7, -8, 2, 1, -1, 4, 6, -5, 3, -2, -7, 0, 1, 2, 3]]

    def add(code, id0=-1, id1=-1, data=0, qint=None):
        op = Op(code, id0, id1, data, qint or QInt(0, 0, 0))
        nat = intervals.natural(op, [o.qint for o in ops], tables)
        ops.append(op.with_(qint=nat) if code not in (Opcode.INPUT, Opcode.CONST) else op)
        return len(ops) - 1

    x0 = add(Opcode.INPUT, 0, qint=QInt.of_kif(1, 3, 2))  # 6-bit signed
    x1 = add(Opcode.INPUT, 1, qint=QInt.of_kif(0, 4, 0))  # 4-bit unsigned
    x0c = add(Opcode.INPUT, 0, qint=QInt.of_kif(1, 1, 1))  # the same input, coarser and wrapped
    s = add(Opcode.ADD, x0, x1, 1)
    d = add(Opcode.SUB, x0, x0c, -1)
    r = add(Opcode.RELU, s, qint=QInt.of_kif(0, 3, 1))  # relu with wrap-around
    rn = add(Opcode.RELU_NEG, d, qint=QInt.of_kif(0, 5, 2))
    q = add(Opcode.QUANTIZE, s, qint=QInt.of_kif(1, 2, 0))  # truncating and wrapping
    qn = add(Opcode.QUANTIZE_NEG, d, qint=QInt.of_kif(1, 6, 1))
    ca = add(Opcode.CONST_ADD, r, data=-7, qint=QInt(0, 0, 3))
    c = add(Opcode.CONST, data=-45, qint=QInt(-45, -45, 2))
    m = add(Opcode.MUX, x0, s, pack_mux(x1, 2))
    mn = add(Opcode.MUX_NEG, qn, c, pack_mux(d, -1))
    p = add(Opcode.MUL, m, mn)
    sq = add(Opcode.MUL, p, p)
    big = add(Opcode.MUL, sq, s)  # > 32 bits
    lk = add(Opcode.LOOKUP, x1, data=pack_lookup(0, -1))
    tot = add(Opcode.ADD, big, lk, 3)
    out_idxs = [tot, rn, q, ca, -1, c, sq, mn]
    out_shifts = [0, 1, -2, 0, 0, 3, 0, -1]
    out_negs = [False, True, False, True, False, True, False, True]
    return Program(2, len(out_idxs), ops, [0, 1], out_idxs, out_shifts, out_negs, tables)
