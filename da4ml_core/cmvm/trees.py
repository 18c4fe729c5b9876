"""Summation trees: each output column's remaining digits added into one term (numba).

Why a module of its own: this is where latency and cost trade. A column must finish by its
latency target; within that, adding the two smallest items first keeps most adders narrow.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from .arith import NO_BOUND, adder_bits, bit_length, chain_delay, combine


@njit(cache=True)
def _add_pair(
    x, y, terms, bits, signs, t_lo, t_hi, t_f, t_lat, t_a, t_b, t_shift, t_sub, n_terms, carry_size
):
    """Make the adder for items x and y of a column (a positive item leads); returns its term."""
    if signs[x] < 0 and signs[y] > 0:
        x, y = y, x
    a, b = terms[x], terms[y]
    shift = bits[y] - bits[x]
    sub = 1 if signs[x] != signs[y] else 0
    lo, hi, f = combine(t_lo[a], t_hi[a], t_f[a], t_lo[b], t_hi[b], t_f[b], shift, sub == 1)
    nb = adder_bits(t_lo[a], t_hi[a], t_f[a], t_lo[b], t_hi[b], t_f[b], shift)
    t = n_terms
    t_lo[t], t_hi[t], t_f[t] = lo, hi, f
    t_lat[t] = max(t_lat[a], t_lat[b]) + chain_delay(nb, carry_size)
    t_a[t], t_b[t], t_shift[t], t_sub[t] = a, b, shift, sub
    return t, bits[x], signs[x]


@njit(cache=True)
def _size(t, bit, t_lo, t_hi, t_f):
    """Top bit position of ``term * 2**bit``: what the adders that read it will span."""
    return bit_length(max(abs(t_lo[t]), abs(t_hi[t]))) - t_f[t] + bit


@njit(cache=True)
def _two_best(size, t_lat, terms, alive, m, by_size):
    """Indices of the two alive items first in (size, latency) order, or (latency, size) order."""
    x, y = -1, -1
    kx = (0.0, 0.0)
    ky = (0.0, 0.0)
    for k in range(m):
        if not alive[k]:
            continue
        key = (float(size[k]), t_lat[terms[k]]) if by_size else (t_lat[terms[k]], float(size[k]))
        if x < 0 or key < kx:
            x, kx, y, ky = k, key, x, kx
        elif y < 0 or key < ky:
            y, ky = k, key
    return x, y


@njit(cache=True)
def sum_column(
    c,
    c_term,
    c_bit,
    c_sign,
    c_len,
    t_lo,
    t_hi,
    t_f,
    t_lat,
    t_a,
    t_b,
    t_shift,
    t_sub,
    n_terms,
    carry_size,
    out_term,
    out_bit,
    out_sign,
    target,
):
    """Sum column ``c``: with a latency ``target`` (>= its balanced-tree latency, unit delays,
    integer arrivals) add the two smallest items whose merge still lets the column finish by the
    target (cheap adders first, where slack allows); otherwise the two earliest-ready items,
    smaller first on a tie. A positive item leads each adder, so only an all-negative sum carries
    a sign to the output."""
    n = c_len[c]
    if n == 0:
        return n_terms
    terms = np.empty(n + n, np.int64)
    bits = np.empty(n + n, np.int64)
    signs = np.empty(n + n, np.int64)
    alive = np.zeros(n + n, np.bool_)
    for k in range(n):
        terms[k], bits[k], signs[k] = c_term[c, k], c_bit[c, k], c_sign[c, k]
        alive[k] = True
    m = n
    if target < NO_BOUND:
        total = 0.0
        for k in range(n):
            total += 2.0 ** t_lat[terms[k]]
        limit = 2.0**target
        size = np.empty(n + n, np.int64)
        for k in range(n):
            size[k] = _size(terms[k], bits[k], t_lo, t_hi, t_f)
        for _ in range(n - 1):
            # the two smallest items, if merging them keeps the column on time ...
            x, y = _two_best(size, t_lat, terms, alive, m, True)
            lx, ly = t_lat[terms[x]], t_lat[terms[y]]
            new = total - 2.0**lx - 2.0**ly + 2.0 ** (max(lx, ly) + 1.0)
            if new > limit:  # ... else the two earliest, which always keeps it on time
                x, y = _two_best(size, t_lat, terms, alive, m, False)
                lx, ly = t_lat[terms[x]], t_lat[terms[y]]
                new = total - 2.0**lx - 2.0**ly + 2.0 ** (max(lx, ly) + 1.0)
            t, bt, sg = _add_pair(
                x,
                y,
                terms,
                bits,
                signs,
                t_lo,
                t_hi,
                t_f,
                t_lat,
                t_a,
                t_b,
                t_shift,
                t_sub,
                n_terms,
                carry_size,
            )
            n_terms += 1
            alive[x] = False
            alive[y] = False
            terms[m], bits[m], signs[m], alive[m] = t, bt, sg, True
            size[m] = _size(t, bt, t_lo, t_hi, t_f)
            total = new
            m += 1
        x = m - 1 if n > 1 else 0
        out_term[c], out_bit[c], out_sign[c] = terms[x], bits[x], signs[x]
        return n_terms
    h = [(0.0, 0, 0)]
    h.pop()
    for k in range(n):
        h.append((t_lat[terms[k]], _size(terms[k], bits[k], t_lo, t_hi, t_f), k))
    heapq.heapify(h)
    while len(h) > 1:
        _, _, x = heapq.heappop(h)
        _, _, y = heapq.heappop(h)
        t, bt, sg = _add_pair(
            x, y, terms, bits, signs, t_lo, t_hi, t_f, t_lat, t_a, t_b, t_shift, t_sub, n_terms, carry_size
        )
        n_terms += 1
        terms[m], bits[m], signs[m] = t, bt, sg
        heapq.heappush(h, (t_lat[t], _size(t, bt, t_lo, t_hi, t_f), m))
        m += 1
    _, _, x = h[0]
    out_term[c], out_bit[c], out_sign[c] = terms[x], bits[x], signs[x]
    return n_terms
