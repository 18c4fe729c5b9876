"""Exact interval arithmetic of the optimizer's terms (numba): adder widths, delays, sums.

The same formulas as ``da4ml_core.ir.cost.adder_bits`` and ``ir.intervals.shift_add`` on raw
int64 bounds, so the search ranks candidates by the cost the program will report (a test checks
that they agree).
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_BOUND = 1e300  # "no latency bound"


@njit(cache=True)
def bit_length(v):
    n = 0
    while v > 0:
        v >>= 1
        n += 1
    return n


@njit(cache=True)
def adder_bits(lo_a, hi_a, f_a, lo_b, hi_b, f_b, shift):
    """LUT-bits of ``a ± (b << shift)``: the same formula as ``da4ml_core.ir.cost.adder_bits``."""
    f_b = f_b - shift
    f = min(f_a, f_b)
    k = 1 if (lo_a < 0 or lo_b < 0) else 0
    g = max(f_a, f_b)
    da, db = g - f_a, g - f_b
    top = max(max(abs(lo_a) << da, (hi_a + 1) << da), max(abs(lo_b) << db, (hi_b + 1) << db))
    if top <= 0:
        return 0
    bits = k + bit_length(top - 1) - g + f
    return max(bits, 0)


@njit(cache=True)
def adders_bits(lo, hi, f, a, b, shift, first):
    """``adder_bits`` of every term from index ``first`` on."""
    out = np.zeros(max(lo.size - first, 0), np.int64)
    for t in range(first, lo.size):
        x, y = a[t], b[t]
        out[t - first] = adder_bits(lo[x], hi[x], f[x], lo[y], hi[y], f[y], shift[t])
    return out


@njit(cache=True)
def overlap_bits(lo_a, hi_a, f_a, lo_b, hi_b, f_b, shift):
    """Bit positions both operands of ``a ± (b << shift)`` occupy (where carries really form)."""
    f_b = f_b - shift
    msb_a = bit_length(max(abs(lo_a), abs(hi_a))) - f_a
    msb_b = bit_length(max(abs(lo_b), abs(hi_b))) - f_b
    return max(min(msb_a, msb_b) - max(-f_a, -f_b), 0)


@njit(cache=True)
def chain_delay(bits, carry_size):
    if bits <= 0:
        return 0.0
    if carry_size > 0:
        return float((bits + carry_size - 1) // carry_size)
    return 1.0


@njit(cache=True)
def combine(lo_a, hi_a, f_a, lo_b, hi_b, f_b, shift, sub):
    """Exact interval of ``a ± (b << shift)`` on the finer grid (as ir.intervals.shift_add)."""
    f_b = f_b - shift
    f = max(f_a, f_b)
    la, ha = lo_a << (f - f_a), hi_a << (f - f_a)
    lb, hb = lo_b << (f - f_b), hi_b << (f - f_b)
    if sub:
        return la - hb, ha - lb, f
    return la + lb, ha + hb, f
