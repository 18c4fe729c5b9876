"""A slow, obvious evaluator of DAIS programs on exact rationals, for tests only.

It reads a program's op list and applies each opcode's meaning as written in the Opcode table,
with ``Fraction`` values and Python integers: no shifts of raw words, no precomputed plan, no
numba. It shares nothing with ``da4ml_core.interp`` beyond the program it is given.
"""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np

from da4ml_core.ir.ops import Opcode

__all__ = ['evaluate', 'evaluate_sample', 'evaluate_all', 'truncate_wrap', 'msb']

TWO = Fraction(2)


def _kif(q):
    """Minimal (k, i, f) of a raw interval (lo, hi, f), computed plainly."""
    lo, hi, f = q
    k = 1 if lo < 0 else 0
    bits = 0
    while hi > 2**bits - 1 or lo < -(2**bits):
        bits += 1
    if k == 0 and hi == 0:
        return 0, -f, f
    return k, bits - f, f


def truncate_wrap(v: Fraction, k: int, i: int, f: int) -> Fraction:
    """Round ``v`` down to the grid 2**-f, then wrap into the k+i+f bit range."""
    width = k + i + f
    if width <= 0:
        return Fraction(0)
    scaled = v * TWO**f
    raw = scaled.numerator // scaled.denominator
    raw %= 2**width
    if k and raw >= 2 ** (width - 1):
        raw -= 2**width
    return raw / TWO**f


def msb(v: Fraction, k: int, i: int, f: int) -> bool:
    """Top bit of v in precision (k, i, f): the sign when signed, else v >= 2**(i-1)."""
    if k + i + f <= 0:
        return False
    if k:
        return v < 0
    return v >= TWO ** (i - 1)


def evaluate_sample(prog, x) -> list[Fraction]:
    """Exact outputs for one input vector ``x`` (floats or Fractions)."""
    vals: list[Fraction] = []
    for op in prog.ops:
        code = op.opcode
        k, i, f = _kif(op.qint)
        step = TWO**-op.qint.f
        if code == Opcode.INPUT:
            v = truncate_wrap(Fraction(x[op.id0]) * TWO ** prog.inp_shifts[op.id0], k, i, f)
        elif code == Opcode.ADD:
            v = vals[op.id0] + vals[op.id1] * TWO**op.data
        elif code == Opcode.SUB:
            v = vals[op.id0] - vals[op.id1] * TWO**op.data
        elif code in (Opcode.RELU, Opcode.RELU_NEG):
            a = vals[op.id0] if code == Opcode.RELU else -vals[op.id0]
            v = truncate_wrap(max(a, Fraction(0)), k, i, f)
        elif code in (Opcode.QUANTIZE, Opcode.QUANTIZE_NEG):
            a = vals[op.id0] if code == Opcode.QUANTIZE else -vals[op.id0]
            v = truncate_wrap(a, k, i, f)
        elif code == Opcode.CONST_ADD:
            v = vals[op.id0] + op.data * step
        elif code == Opcode.CONST:
            v = op.data * step
        elif code in (Opcode.MUX, Opcode.MUX_NEG):
            key = op.data & 0xFFFFFFFF
            shift = op.data >> 32
            other = vals[op.id1] * TWO**shift
            if code == Opcode.MUX_NEG:
                other = -other
            chosen = vals[op.id0] if msb(vals[key], *_kif(prog.ops[key].qint)) else other
            v = truncate_wrap(chosen, k, i, f)  # on grid already; keeps the declared width
        elif code == Opcode.MUL:
            v = vals[op.id0] * vals[op.id1]
        elif code == Opcode.LOOKUP:
            table = prog.tables[op.data & 0xFFFFFFFF]
            base = op.data >> 32
            key_raw = vals[op.id0] * TWO ** prog.ops[op.id0].qint.f
            assert key_raw.denominator == 1
            v = table[int(key_raw) - base] * step
        else:
            raise ValueError(f'opcode {int(code)} has no reference meaning')
        vals.append(v)
    out = []
    for idx, s, neg in zip(prog.out_idxs, prog.out_shifts, prog.out_negs):
        v = vals[idx] * TWO**s if idx >= 0 else Fraction(0)
        out.append(-v if neg else v)
    return out


def evaluate_all(prog, x) -> list[Fraction]:
    """Exact value of every op (before output shifts) for one input vector, for debugging."""
    n = len(prog.ops)
    view = SimpleNamespace(
        ops=prog.ops,
        tables=prog.tables,
        inp_shifts=prog.inp_shifts,
        out_idxs=range(n),
        out_shifts=[0] * n,
        out_negs=[False] * n,
    )
    return evaluate_sample(view, x)


def evaluate(prog, X) -> np.ndarray:
    """Exact outputs for every row of ``X``: an object array of Fractions (n_samples, n_out)."""
    X = np.asarray(X, dtype=np.float64)
    return np.array([evaluate_sample(prog, row) for row in X], dtype=object).reshape(X.shape[0], prog.n_out)
