"""The numba kernels of the interpreter (imported on first use: numba's start-up is slow).

Every op value is held as its raw integer on the op's own grid (value = raw * 2**-f). The
kernel walks the plan's rows once per block of samples, so each op's dispatch is paid once per
block and the inner loop over samples is a plain integer loop. Threads split the samples into
contiguous chunks, each with its own block buffer. Inputs are quantized (TRN, WRAP) here from
the exact binary expansion of each float64, so the result equals ``fixed.quantize`` for any
finite input, however large.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from .lowering import K_ADD, K_CADD, K_CONST, K_INPUT, K_LOOKUP, K_MUL, K_MUX, K_QUANT

__all__ = ['run_serial', 'run_parallel', 'set_threads', 'max_threads']


def _jit(**options):
    """``njit(cache=True)``: numba caches beside the source, or under the user's cache dir when
    the package is read-only (or in NUMBA_CACHE_DIR); if no place is writable, compile per process."""

    def wrap(fn):
        try:
            return njit(cache=True, **options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(cache=False, **options)(fn)

    return wrap


@_jit(inline='always')
def _wrap(r, w, k):
    """Keep the low w bits of r (0 <= w <= 62), two's complement when k."""
    if w <= 0:
        return np.int64(0)
    u = r & ((np.int64(1) << w) - 1)
    if k != 0 and (u >> (w - 1)) & 1:
        u -= np.int64(1) << w
    return u


@_jit(inline='always')
def _quantize_float(x, scale, e_shift, w, k):
    """TRN + WRAP of float x to raw on grid 2**-(e_shift), width w, exactly (scale = 2.0**e_shift)."""
    y = x * scale  # exact whenever |y| >= 1 (a normal number times a power of two)
    if y == 0.0:  # x is 0, or x * 2**e_shift underflowed: floor is -1 below zero, 0 above
        return _wrap(np.int64(-1) if x < 0 else np.int64(0), w, k)
    if -4.0e18 < y < 4.0e18:  # below 2**62: floor fits int64 (|y| < 1 floors by sign, also right)
        return _wrap(np.int64(math.floor(y)), w, k)
    m, e = math.frexp(x)  # huge: wrap from the exact binary expansion
    mant = np.int64(m * 9007199254740992.0)  # m * 2**53, exact
    ex = e - 53 + e_shift
    if ex >= 0:
        if ex >= 63:
            return np.int64(0)  # every kept bit (w <= 62) is zero
        r = mant << ex  # low 64 bits are exact mod 2**64, enough for w <= 62
    elif ex <= -63:
        r = np.int64(-1) if mant < 0 else np.int64(0)
    else:
        r = mant >> (-ex)
    return _wrap(r, w, k)


@_jit()
def _eval_block(code, tables, X, s0, n, buf, out_idx, out_sign, out):
    """Samples s0 .. s0+n of X through every plan row; buf[i, j] holds op i of sample s0+j."""
    for i in range(code.shape[0]):
        kind = code[i, 0]
        a = code[i, 1]
        b = code[i, 2]
        p0 = code[i, 3]
        p1 = code[i, 4]
        p2 = code[i, 5]
        p3 = code[i, 6]
        p4 = code[i, 7]
        if kind == K_ADD:
            if p2 == 0:
                for j in range(n):
                    buf[i, j] = (buf[a, j] << p0) + (buf[b, j] << p1)
            else:
                for j in range(n):
                    buf[i, j] = (buf[a, j] << p0) - (buf[b, j] << p1)
        elif kind == K_QUANT:  # p0 neg, p1 relu, p2 right shift, p3 width, p4 signed
            for j in range(n):
                v = buf[a, j]
                if p0 != 0:
                    v = -v
                if p1 != 0 and v < 0:
                    v = 0
                buf[i, j] = _wrap(v >> p2, p3, p4)
        elif kind == K_CADD:
            for j in range(n):
                buf[i, j] = (buf[a, j] << p0) + p1
        elif kind == K_MUX:
            # p0 key, p1 its top bit (-1: zero width), p2/p3 shifts, p4 negate, cols 8/9 width/signed
            w = code[i, 8]
            k = code[i, 9]
            for j in range(n):
                sel = p1 >= 0 and ((buf[p0, j] >> p1) & 1) != 0
                if sel:
                    v = buf[a, j] << p2
                else:
                    v = buf[b, j] << p3
                    if p4 != 0:
                        v = -v
                buf[i, j] = _wrap(v, w, k)
        elif kind == K_MUL:
            for j in range(n):
                buf[i, j] = (buf[a, j] * buf[b, j]) << p0
        elif kind == K_LOOKUP:  # p0 base, p1 offset, p2 size
            for j in range(n):
                t = buf[a, j] - p0
                buf[i, j] = tables[p1 + t] if 0 <= t < p2 else 0
        elif kind == K_INPUT:  # a column, p0 grid exponent, p1 width, p2 signed
            scale = math.ldexp(1.0, p0)
            for j in range(n):
                buf[i, j] = _quantize_float(X[s0 + j, a], scale, p0, p1, p2)
        elif kind == K_CONST:
            for j in range(n):
                buf[i, j] = p0
    for o in range(out_idx.shape[0]):
        idx = out_idx[o]
        for j in range(n):
            if idx < 0:
                out[s0 + j, o] = 0
            else:
                out[s0 + j, o] = buf[idx, j] * out_sign[o]


@_jit()
def run_serial(code, tables, X, out_idx, out_sign, out, block):
    """All samples, one block of ``block`` samples at a time, into ``out`` (raw, signed)."""
    n_samples = X.shape[0]
    buf = np.empty((max(code.shape[0], 1), block), dtype=np.int64)
    for s0 in range(0, n_samples, block):
        n = min(block, n_samples - s0)
        _eval_block(code, tables, X, s0, n, buf, out_idx, out_sign, out)


@_jit(parallel=True)
def run_parallel(code, tables, X, out_idx, out_sign, out, block, n_chunks):
    """As run_serial, the samples split in ``n_chunks`` contiguous chunks run by numba threads."""
    n_samples = X.shape[0]
    per = (n_samples + n_chunks - 1) // n_chunks
    per = ((per + block - 1) // block) * block
    for c in prange(n_chunks):
        buf = np.empty((max(code.shape[0], 1), block), dtype=np.int64)
        start = c * per
        stop = min(n_samples, start + per)
        for s0 in range(start, stop, block):
            n = min(block, stop - s0)
            _eval_block(code, tables, X, s0, n, buf, out_idx, out_sign, out)


def max_threads() -> int:
    """Threads numba can use (its NUMBA_NUM_THREADS, by default the core count)."""
    return numba.config.NUMBA_NUM_THREADS


def set_threads(n: int) -> None:
    numba.set_num_threads(n)
