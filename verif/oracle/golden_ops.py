"""Golden model of the traced operations: exact values (Fractions in numpy object arrays).

Written from the spec, independent of ``da4ml_core`` (never imported here): each op is the
plain mathematical definition on exact rationals, with quantization from ``verif.oracle.golden``.
Arrays are numpy object arrays of ``Fraction``; booleans are the values 0 and 1.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import golden

__all__ = [
    'absolute',
    'ceil',
    'clip',
    'compare',
    'einsum',
    'floor',
    'fractions',
    'from_raw',
    'lut',
    'matmul',
    'maximum',
    'minimum',
    'quantize',
    'reduce_max',
    'reduce_mean',
    'reduce_min',
    'reduce_sum',
    'relu',
    'rint',
    'to_raw',
    'trunc',
    'where',
]


def _map(fn, *arrays) -> np.ndarray:
    """fn on every element of the broadcast arrays, result as an object array."""
    arrs = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in arrays])
    out = np.empty(arrs[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = fn(*[a[idx] for a in arrs])
    return out


def fractions(x) -> np.ndarray:
    """Exact Fractions of numbers (floats are taken at their exact binary value)."""
    return _map(Fraction, x)


def from_raw(raw, f) -> np.ndarray:
    """Values ``raw * 2**-f`` (per element)."""
    return _map(lambda r, ff: Fraction(int(r)) / Fraction(2) ** int(ff), raw, f)


def to_raw(x, f) -> np.ndarray:
    """Raw integers of exact values on step 2**-f (ValueError if a value is off that grid)."""

    def one(v, ff):
        r = Fraction(v) * Fraction(2) ** int(ff)
        if r.denominator != 1:
            raise ValueError(f'{v} is not on the grid 2**-{ff}')
        return int(r)

    return _map(one, x, f)


def quantize(x, k, i, f, *, round_mode='TRN', overflow_mode='WRAP') -> np.ndarray:
    """Round first, then overflow, per element (precisions broadcast against x)."""

    def one(v, kk, ii, ff):
        raw = golden.quantize_value(Fraction(v), int(kk), int(ii), int(ff), round_mode, overflow_mode)
        return Fraction(raw) / Fraction(2) ** int(ff)

    return _map(one, x, k, i, f)


def relu(x) -> np.ndarray:
    return _map(lambda v: v if v > 0 else Fraction(0), x)


def maximum(a, b) -> np.ndarray:
    return _map(lambda x, y: max(x, y), fractions(a), fractions(b))


def minimum(a, b) -> np.ndarray:
    return _map(lambda x, y: min(x, y), fractions(a), fractions(b))


def absolute(x) -> np.ndarray:
    return _map(lambda v: -v if v < 0 else v, x)


def clip(x, lo, hi) -> np.ndarray:
    return minimum(maximum(x, lo), hi)


def where(cond, a, b) -> np.ndarray:
    return _map(lambda c, x, y: Fraction(x) if c != 0 else Fraction(y), cond, a, b)


_CMP = {
    '<': lambda x, y: x < y,
    '<=': lambda x, y: x <= y,
    '>': lambda x, y: x > y,
    '>=': lambda x, y: x >= y,
    '==': lambda x, y: x == y,
    '!=': lambda x, y: x != y,
}


def compare(a, b, op: str) -> np.ndarray:
    """0 or 1 per element."""
    test = _CMP[op]
    return _map(lambda x, y: Fraction(int(test(Fraction(x), Fraction(y)))), a, b)


def _reduce(x, axis, fn, keepdims=False):
    x = np.asarray(x, dtype=object)
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in np.atleast_1d(axis))
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(tuple(x.shape[d] for d in rest) + (-1,))
    out = np.empty(flat.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = fn(list(flat[idx]))
    if keepdims:
        out = out.reshape(tuple(1 if d in axes else x.shape[d] for d in range(x.ndim)))
    return out


def reduce_sum(x, axis=None, keepdims=False):
    return _reduce(x, axis, lambda vs: sum(vs, Fraction(0)), keepdims)


def reduce_mean(x, axis=None, keepdims=False):
    return _reduce(x, axis, lambda vs: sum(vs, Fraction(0)) / len(vs), keepdims)


def reduce_max(x, axis=None, keepdims=False):
    return _reduce(x, axis, max, keepdims)


def reduce_min(x, axis=None, keepdims=False):
    return _reduce(x, axis, min, keepdims)


def einsum(subscripts: str, *operands) -> np.ndarray:
    """numpy's einsum on exact object arrays (numpy only adds and multiplies the elements)."""
    ops = [fractions(o) for o in operands]
    out = np.einsum(subscripts, *ops, optimize=False)
    return np.asarray(out, dtype=object) if isinstance(out, np.ndarray) else np.array(out, dtype=object)


def matmul(a, b) -> np.ndarray:
    out = np.matmul(fractions(a), fractions(b))
    return np.asarray(out, dtype=object)


def lut(x, fn, k, i, f, *, round_mode='TRN', overflow_mode='WRAP') -> np.ndarray:
    """``quantize(fn(x))`` with fn evaluated in float64 on each exact input value."""
    vals = _map(lambda v: Fraction(float(np.asarray(fn(np.array([float(v)])), dtype=np.float64)[0])), x)
    return quantize(vals, k, i, f, round_mode=round_mode, overflow_mode=overflow_mode)


def floor(x) -> np.ndarray:
    return _map(lambda v: Fraction(v.numerator // v.denominator), x)


def ceil(x) -> np.ndarray:
    return _map(lambda v: Fraction(-((-v.numerator) // v.denominator)), x)


def rint(x) -> np.ndarray:
    """Nearest integer, ties to even."""
    return _map(lambda v: Fraction(round(v)), x)


def trunc(x) -> np.ndarray:
    return _map(lambda v: Fraction(int(v)), x)
