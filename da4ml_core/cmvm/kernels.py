"""Numba kernels of the CMVM optimizer: greedy common-subexpression elimination over signed
digits, then latency-balanced summation trees.

The problem is held as *terms* (signals: the inputs, then every adder made) and, per output
column, a list of *digits* ``(term, bit, sign)`` meaning ``sign * term * 2**bit``; an output is
the sum of its column. A *pattern* is a pair of digits in one column, ``t1 * 2**b`` and
``sign * t2 * 2**(b + shift)``; making the term ``t1 + sign * (t2 << shift)`` once replaces every
occurrence of the pattern by one digit. Pattern counts live in an open-addressing hash table and
are updated incrementally (only the columns a substitution touches); the best pattern comes
from a lazy max-heap. Term intervals are exact raw-integer bounds, so adder widths (the cost
model of ``da4ml_core.ir.cost``) are known when a pattern is scored.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from .arith import NO_BOUND, adder_bits, adders_bits, bit_length, chain_delay, combine, overlap_bits
from .trees import sum_column

__all__ = ["NO_BOUND", "SCORES", "adder_bits", "adders_bits", "bit_length", "optimize"]

# pattern scores
SCORE_COUNT = 0  # most common first (narrower adder on ties)
SCORE_WEIGHTED = 1  # count times the operands' overlapping bits
SCORE_DELAY = 2  # count, discounted by the new term's latency
SCORE_WEIGHTED_DELAY = 3  # weighted, discounted by the new term's latency
SCORES = {"mc": SCORE_COUNT, "wmc": SCORE_WEIGHTED, "mc-dc": SCORE_DELAY, "wmc-dc": SCORE_WEIGHTED_DELAY}

_SHIFT_OFFSET = 512
_EMPTY = -1


# ------------------------------------------------------------------ pattern keys and counts


@njit(cache=True)
def pack_key(t1, t2, shift, neg):
    return (((t1 << 24) | t2) << 11 | (shift + _SHIFT_OFFSET)) << 1 | neg


@njit(cache=True)
def unpack_key(key):
    neg = key & 1
    key >>= 1
    shift = (key & 2047) - _SHIFT_OFFSET
    key >>= 11
    return key >> 24, key & 0xFFFFFF, shift, neg


@njit(cache=True)
def pair_key(ta, ba, ga, tb, bb, gb):
    """The pattern two digits of one column form (first digit: lower term, then lower bit)."""
    if ta < tb or (ta == tb and ba < bb):
        return pack_key(ta, tb, bb - ba, 1 if ga != gb else 0)
    return pack_key(tb, ta, ba - bb, 1 if ga != gb else 0)


@njit(cache=True)
def _slot(keys, key):
    mask = keys.size - 1
    h = key * np.int64(-7046029254386353131)  # Fibonacci hashing, wrapping int64 multiply
    h ^= h >> 32
    i = h & mask
    while keys[i] != _EMPTY and keys[i] != key:
        i = (i + 1) & mask
    return i


@njit(cache=True)
def _grow(keys, vals):
    new_keys = np.full(keys.size * 2, _EMPTY, dtype=np.int64)
    new_vals = np.zeros(keys.size * 2, dtype=np.int64)
    for i in range(keys.size):
        if keys[i] != _EMPTY:
            j = _slot(new_keys, keys[i])
            new_keys[j] = keys[i]
            new_vals[j] = vals[i]
    return new_keys, new_vals


@njit(cache=True)
def _count_up(keys, vals, used, key):
    """One more occurrence of ``key``; the table doubles when half full. Returns the (possibly new)
    table, its fill and the key's slot."""
    i = _slot(keys, key)
    if keys[i] == _EMPTY:
        keys[i] = key
        used += 1
        if 2 * used > keys.size:
            keys, vals = _grow(keys, vals)
            i = _slot(keys, key)
    vals[i] += 1
    return keys, vals, used, i


# ------------------------------------------------------------------ the problem state


@njit(cache=True)
def score_of(key, count, method, t_lo, t_hi, t_f, t_lat, carry_size, lat_floor):
    """Value of making a pattern with ``count`` occurrences (higher is better).

    Weighted scores multiply the count by the bits where the two operands overlap: those are
    the bits that need a real carry chain in every sum the pattern would otherwise be part of,
    while bits that only one operand covers are cheaper to keep in the final sums."""
    t1, t2, shift, _neg = unpack_key(key)
    bits = adder_bits(t_lo[t1], t_hi[t1], t_f[t1], t_lo[t2], t_hi[t2], t_f[t2], shift)
    value = float(count)
    if method == SCORE_WEIGHTED or method == SCORE_WEIGHTED_DELAY:
        value *= overlap_bits(t_lo[t1], t_hi[t1], t_f[t1], t_lo[t2], t_hi[t2], t_f[t2], shift)
    if method == SCORE_DELAY or method == SCORE_WEIGHTED_DELAY:
        lat = max(t_lat[t1], t_lat[t2]) + chain_delay(bits, carry_size)
        value /= 1.0 + 0.5 * max(lat - lat_floor, 0.0)
    return value - bits * 1e-4


@njit(cache=True)
def _column_latency(c, c_term, c_len, t_lat, drop_a, drop_b, add_lat, unit):
    """Latency of a balanced sum of column ``c`` with digits ``drop_a``/``drop_b`` replaced by one
    arriving at ``add_lat`` (pass -1 to drop nothing): combine the two earliest, ``unit`` per adder."""
    h = [0.0]
    h.pop()
    for k in range(c_len[c]):
        if k != drop_a and k != drop_b:
            h.append(t_lat[c_term[c, k]])
    if add_lat >= 0:
        h.append(add_lat)
    if len(h) == 0:
        return 0.0
    heapq.heapify(h)
    while len(h) > 1:
        a = heapq.heappop(h)
        b = heapq.heappop(h)
        heapq.heappush(h, max(a, b) + unit)
    return h[0]


@njit(cache=True)
def _fits(c, p, q, new_lat, c_term, c_len, t_lat, lat_bound, unit, col_s, sum_rule):
    """Can column c still finish by ``lat_bound`` with digits p, q replaced by one at ``new_lat``?
    With unit adder delays and integer arrival times the best balanced tree finishes at
    ceil(log2(sum 2**lat)), so a running sum per column answers in O(1)."""
    if lat_bound >= NO_BOUND:
        return True
    if sum_rule:
        s = col_s[c] - 2.0 ** t_lat[c_term[c, p]] - 2.0 ** t_lat[c_term[c, q]] + 2.0**new_lat
        return s <= 2.0**lat_bound
    return _column_latency(c, c_term, c_len, t_lat, p, q, new_lat, unit[c]) <= lat_bound


@njit(cache=True)
def optimize(
    n_terms0,
    t_lo0,
    t_hi0,
    t_f0,
    t_lat0,
    col_of,
    dig_term,
    dig_bit,
    dig_sign,
    n_out,
    method,
    lat_bound,
    col_unit,
    carry_size,
    do_cse,
    noise_seed,
):
    """Greedy CSE then balanced summation. Returns the term table (inputs first; every later term
    is ``a ± (b << shift)``) and, per column, the output digit (term, bit, sign); term -1 = zero.

    ``lat_bound`` caps every column's latency (NO_BOUND: none); ``col_unit[c]`` is the per-adder
    delay assumed for column c's summation tree when checking it; ``noise_seed`` > 0 breaks score
    ties pseudo-randomly (deterministically)."""
    n_dig = dig_term.size
    cap = n_terms0 + n_dig + 1
    t_lo = np.zeros(cap, np.int64)
    t_hi = np.zeros(cap, np.int64)
    t_f = np.zeros(cap, np.int64)
    t_lat = np.zeros(cap, np.float64)
    t_a = np.full(cap, -1, np.int64)
    t_b = np.full(cap, -1, np.int64)
    t_shift = np.zeros(cap, np.int64)
    t_sub = np.zeros(cap, np.int64)
    t_lo[:n_terms0] = t_lo0
    t_hi[:n_terms0] = t_hi0
    t_f[:n_terms0] = t_f0
    t_lat[:n_terms0] = t_lat0
    n_terms = n_terms0

    # columns as digit lists
    c_len = np.zeros(n_out, np.int64)
    for d in range(n_dig):
        c_len[col_of[d]] += 1
    width = max(1, c_len.max())
    c_term = np.zeros((n_out, width), np.int64)
    c_bit = np.zeros((n_out, width), np.int64)
    c_sign = np.zeros((n_out, width), np.int64)
    c_len[:] = 0
    for d in range(n_dig):
        c = col_of[d]
        k = c_len[c]
        c_term[c, k] = dig_term[d]
        c_bit[c, k] = dig_bit[d]
        c_sign[c, k] = dig_sign[d]
        c_len[c] = k + 1

    lat_floor = t_lat0.min() if n_terms0 > 0 else 0.0
    sum_rule = carry_size <= 0
    for c in range(n_out):
        sum_rule = sum_rule and col_unit[c] == 1.0
    for t in range(n_terms0):
        sum_rule = sum_rule and t_lat0[t] == np.floor(t_lat0[t]) and t_lat0[t] < 900.0
    col_s = np.zeros(n_out)
    for c in range(n_out):
        for k in range(c_len[c]):
            col_s[c] += 2.0 ** t_lat[c_term[c, k]]
    # digits of each term in each column: columns missing either term of a pattern are skipped
    in_col = np.zeros((cap if do_cse else 1, n_out), np.int32)
    if do_cse:
        for c in range(n_out):
            for k in range(c_len[c]):
                in_col[c_term[c, k], c] += 1
    if do_cse:
        keys = np.full(1 << 12, _EMPTY, dtype=np.int64)
        vals = np.zeros(1 << 12, dtype=np.int64)
        used = 0
        heap = [(0.0, 0, 0)]
        heap.pop()
        # initial counts
        for c in range(n_out):
            for p in range(c_len[c]):
                for q in range(p + 1, c_len[c]):
                    key = pair_key(
                        c_term[c, p], c_bit[c, p], c_sign[c, p], c_term[c, q], c_bit[c, q], c_sign[c, q]
                    )
                    keys, vals, used, i = _count_up(keys, vals, used, key)
        for i in range(keys.size):
            if keys[i] != _EMPTY and vals[i] >= 2:
                s = score_of(keys[i], vals[i], method, t_lo, t_hi, t_f, t_lat, carry_size, lat_floor)
                heapq.heappush(heap, (-s, _tiebreak(keys[i], noise_seed), keys[i]))

        blocked = np.full(1 << 6, _EMPTY, dtype=np.int64)
        n_blocked = 0
        while len(heap) > 0:
            neg_s, _, key = heapq.heappop(heap)
            i = _slot(keys, key)
            count = vals[i]
            if count < 2:
                continue
            s = score_of(key, count, method, t_lo, t_hi, t_f, t_lat, carry_size, lat_floor)
            if s != -neg_s:  # stale: a fresher entry exists if the count rose; re-queue if it fell
                if s < -neg_s:
                    heapq.heappush(heap, (-s, _tiebreak(key, noise_seed), key))
                continue
            j = _slot(blocked, key)
            if blocked[j] == key:
                continue
            t1, t2, shift, neg = unpack_key(key)
            lo, hi, f = combine(t_lo[t1], t_hi[t1], t_f[t1], t_lo[t2], t_hi[t2], t_f[t2], shift, neg == 1)
            bits = adder_bits(t_lo[t1], t_hi[t1], t_f[t1], t_lo[t2], t_hi[t2], t_f[t2], shift)
            new_lat = max(t_lat[t1], t_lat[t2]) + chain_delay(bits, carry_size)
            n_occ = 0
            for c in range(n_out):
                if in_col[t1, c] == 0 or in_col[t2, c] == 0:
                    continue
                n_occ += _count_matches(
                    c,
                    c_term,
                    c_bit,
                    c_sign,
                    c_len,
                    t_lat,
                    t1,
                    t2,
                    shift,
                    neg,
                    new_lat,
                    lat_bound,
                    col_unit,
                    col_s,
                    sum_rule,
                )
            if n_occ < 2:
                j = _slot(blocked, key)
                blocked[j] = key
                n_blocked += 1
                if 2 * n_blocked > blocked.size:
                    blocked, _unused = _grow(blocked, np.zeros(blocked.size, np.int64))
                continue
            t = n_terms
            n_terms += 1
            t_lo[t], t_hi[t], t_f[t], t_lat[t] = lo, hi, f, new_lat
            t_a[t], t_b[t], t_shift[t], t_sub[t] = t1, t2, shift, neg
            # substitute column by column, re-checking the latency bound on the current column
            no_digit_used = np.zeros(width, np.bool_)
            for c in range(n_out):
                while in_col[t1, c] > 0 and in_col[t2, c] > 0:
                    p, q = _find_match(
                        c,
                        c_term,
                        c_bit,
                        c_sign,
                        c_len,
                        t_lat,
                        t1,
                        t2,
                        shift,
                        neg,
                        new_lat,
                        lat_bound,
                        col_unit,
                        col_s,
                        sum_rule,
                        no_digit_used,
                    )
                    if p < 0:
                        break
                    bit, sign = c_bit[c, p], c_sign[c, p]
                    col_s[c] += 2.0**new_lat - 2.0 ** t_lat[c_term[c, p]] - 2.0 ** t_lat[c_term[c, q]]
                    in_col[t1, c] -= 1
                    in_col[t2, c] -= 1
                    in_col[t, c] += 1
                    # forget every pattern the two digits formed
                    for r in range(c_len[c]):
                        for x in (p, q):
                            if r == x or (x == q and r == p):
                                continue
                            kk = pair_key(
                                c_term[c, x],
                                c_bit[c, x],
                                c_sign[c, x],
                                c_term[c, r],
                                c_bit[c, r],
                                c_sign[c, r],
                            )
                            vals[_slot(keys, kk)] -= 1
                    # remove p and q (larger index first), append the new digit
                    for x in (max(p, q), min(p, q)):
                        last = c_len[c] - 1
                        c_term[c, x], c_bit[c, x], c_sign[c, x] = (
                            c_term[c, last],
                            c_bit[c, last],
                            c_sign[c, last],
                        )
                        c_len[c] = last
                    k = c_len[c]
                    c_term[c, k], c_bit[c, k], c_sign[c, k] = t, bit, sign
                    c_len[c] = k + 1
                    for r in range(k):
                        kk = pair_key(t, bit, sign, c_term[c, r], c_bit[c, r], c_sign[c, r])
                        keys, vals, used, i = _count_up(keys, vals, used, kk)
                        if vals[i] >= 2:
                            s = score_of(kk, vals[i], method, t_lo, t_hi, t_f, t_lat, carry_size, lat_floor)
                            heapq.heappush(heap, (-s, _tiebreak(kk, noise_seed), kk))

    out_term = np.full(n_out, -1, np.int64)
    out_bit = np.zeros(n_out, np.int64)
    out_sign = np.ones(n_out, np.int64)
    # summation trees: with unit delays and integer arrivals, every column may take as long as the
    # slowest balanced column (never beyond the bound) and spends its slack on cheaper adders
    target = NO_BOUND
    if do_cse and sum_rule:
        target = 0.0
        for c in range(n_out):
            if c_len[c] > 0:
                target = max(target, np.ceil(np.log2(col_s[c]) - 1e-9))
        if lat_bound < NO_BOUND:
            target = max(target, lat_bound)
    for c in range(n_out):
        n_terms = sum_column(
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
        )
    return (
        t_lo[:n_terms],
        t_hi[:n_terms],
        t_f[:n_terms],
        t_lat[:n_terms],
        t_a[:n_terms],
        t_b[:n_terms],
        t_shift[:n_terms],
        t_sub[:n_terms],
        out_term,
        out_bit,
        out_sign,
    )


@njit(cache=True)
def _tiebreak(key, seed):
    if seed <= 0:
        return key
    h = (key ^ (seed * 0x5851F42D4C957F2D)) * 0x2545F4914F6CDD1D
    return (h ^ (h >> 29)) & 0x7FFFFFFFFFFFFFFF


@njit(cache=True)
def _find_match(
    c,
    c_term,
    c_bit,
    c_sign,
    c_len,
    t_lat,
    t1,
    t2,
    shift,
    neg,
    new_lat,
    lat_bound,
    unit,
    col_s,
    sum_rule,
    used,
):
    """First pair of digits of column c, neither ``used``, forming the pattern whose substitution
    keeps the column within ``lat_bound``; (-1, -1) if none."""
    for p in range(c_len[c]):
        if c_term[c, p] != t1 or used[p]:
            continue
        for q in range(c_len[c]):
            if q == p or used[q] or c_term[c, q] != t2 or c_bit[c, q] != c_bit[c, p] + shift:
                continue
            if (c_sign[c, q] != c_sign[c, p]) != (neg == 1):
                continue
            if not _fits(c, p, q, new_lat, c_term, c_len, t_lat, lat_bound, unit, col_s, sum_rule):
                continue
            return p, q
    return -1, -1


@njit(cache=True)
def _count_matches(
    c, c_term, c_bit, c_sign, c_len, t_lat, t1, t2, shift, neg, new_lat, lat_bound, unit, col_s, sum_rule
):
    """Disjoint pattern occurrences in column c that each fit the latency bound on their own."""
    n = 0
    used = np.zeros(c_len[c], np.bool_)
    while True:
        p, q = _find_match(
            c,
            c_term,
            c_bit,
            c_sign,
            c_len,
            t_lat,
            t1,
            t2,
            shift,
            neg,
            new_lat,
            lat_bound,
            unit,
            col_s,
            sum_rule,
            used,
        )
        if p < 0:
            return n
        used[p] = True
        used[q] = True
        n += 1
