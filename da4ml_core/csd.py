"""Canonical signed digits and the integer form of constant matrices.

A CMVM works on integers: a fixed-point matrix ``W`` is split into an integer mantissa matrix and
powers of two (a global exponent, one per row, one per column), and each integer is written in
canonical signed digits (CSD, the non-adjacent form): digits in {-1, 0, 1}, no two adjacent
non-zero, the fewest non-zero digits of any signed-digit form. Every non-zero digit of ``W`` is
one term to add, so digit counts are what the optimizer minimises.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["MAX_MANTISSA_BITS", "IntegerMatrix", "csd_weight", "from_csd", "integer_matrix", "to_csd"]

# Integer mantissas up to this many bits keep every partial sum of the optimizer inside int64.
MAX_MANTISSA_BITS = 52


def _n_digits(values: np.ndarray) -> int:
    """Digits a CSD form of these integers needs (one more than the binary width)."""
    top = int(np.max(np.abs(values), initial=0))
    return top.bit_length() + 1


def to_csd(values, n_digits: int | None = None) -> np.ndarray:
    """CSD digits of an integer array: shape ``values.shape + (n_digits,)``, int8, digit ``b``
    weighs ``2**b``. Vectorised over the array (one pass per digit position)."""
    v = np.array(values, dtype=np.int64, copy=True)
    if v.size and int(np.max(np.abs(v))) >= 1 << 62:
        raise ValueError(f"values up to {int(np.max(np.abs(v)))} do not fit the 62-bit CSD range")
    n = _n_digits(v) if n_digits is None else int(n_digits)
    out = np.zeros(v.shape + (n,), dtype=np.int8)
    for b in range(n):
        odd = (v & 1).astype(bool)
        # an odd v ending in ...01 takes digit +1, one ending in ...11 takes -1 (then v becomes
        # divisible by 4, which is what keeps non-zero digits apart)
        d = np.where(odd, 2 - (v & 3), 0)
        out[..., b] = d
        v = (v - d) >> 1
    if np.any(v):
        raise ValueError(f"n_digits={n} is too few for these values")
    return out


def from_csd(digits) -> np.ndarray:
    """Integers from CSD (or any signed-digit) arrays, last axis = digit position."""
    d = np.asarray(digits, dtype=np.int64)
    weights = np.left_shift(np.int64(1), np.arange(d.shape[-1], dtype=np.int64))
    return d @ weights


def csd_weight(values) -> np.ndarray:
    """Number of non-zero CSD digits of each integer (the adder-count measure)."""
    v = np.abs(np.asarray(values, dtype=np.int64))
    # the non-zero NAF digits sit where v and 3v differ, one place up: popcount((v ^ 3v) >> 1)
    x = (v ^ (3 * v)) >> 1
    count = np.zeros(v.shape, dtype=np.int64)
    while np.any(x):
        count += x & 1
        x = x >> 1
    return count


class IntegerMatrix(NamedTuple):
    """``W == M * 2**(row_shift[:, None] + col_shift[None, :])`` exactly, with odd-free rows and
    columns pulled out: no row and no column of ``M`` is entirely even (unless entirely zero)."""

    M: np.ndarray  # int64 (n_in, n_out)
    row_shift: np.ndarray  # int64 (n_in,)
    col_shift: np.ndarray  # int64 (n_out,)


def _check_matrix(W) -> np.ndarray:
    try:
        arr = np.asarray(W)
    except (TypeError, ValueError) as err:
        raise TypeError(f"W must be a 2-D numeric array, got {type(W).__name__}") from err
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"W must be a 2-D numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError("W must be real; got a complex array")
    if arr.ndim != 2:
        raise ValueError(f"W must be 2-D (n_in, n_out), got shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"W must have at least one row and one column, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"W[{idx}] = {arr[idx]} is not finite")
    return arr


def _trailing_zeros(m: np.ndarray) -> np.ndarray:
    """Trailing zero bits of each non-zero int64 (0 for zeros)."""
    m = np.abs(m)
    low = m & -m  # lowest set bit
    return np.where(m != 0, np.log2(np.where(m != 0, low, 1).astype(np.float64)).astype(np.int64), 0)


def integer_matrix(W) -> IntegerMatrix:
    """Split a real matrix exactly into integer mantissas and powers of two.

    Raises ``TypeError``/``ValueError`` naming the entry for non-numeric, non-2-D or non-finite
    input, and for matrices whose entries span more than ``MAX_MANTISSA_BITS`` bits (not
    representable in 64-bit fixed point with room for the sums)."""
    arr = _check_matrix(W)
    mant, expo = np.frexp(arr)  # arr = mant * 2**expo, 0.5 <= |mant| < 1
    m53 = (mant * 2.0**53).astype(np.int64)  # exact: a float64 mantissa has 53 bits
    nz = m53 != 0
    e = np.where(nz, expo.astype(np.int64) - 53 + _trailing_zeros(m53), 0)
    m = np.where(nz, m53 >> _trailing_zeros(m53), 0)  # arr = m * 2**e, m odd
    if not nz.any():
        return IntegerMatrix(
            np.zeros(arr.shape, np.int64), np.zeros(arr.shape[0], np.int64), np.zeros(arr.shape[1], np.int64)
        )
    e_min = int(e[nz].min())
    big = np.where(nz, e - e_min + np.frexp(np.abs(m).astype(np.float64))[1], 0)
    if int(big.max()) > MAX_MANTISSA_BITS:
        idx = tuple(int(v) for v in np.unravel_index(int(np.argmax(big)), big.shape))
        raise ValueError(
            f"W spans {int(big.max())} bits (W[{idx}] = {arr[idx]!r} against its smallest non-zero "
            f"step 2**{e_min}); at most {MAX_MANTISSA_BITS} bits fit 64-bit fixed point"
        )
    M = np.where(nz, m << (e - e_min), 0)
    row = _common_shift(M, axis=1)
    M = M >> row[:, None]
    col = _common_shift(M, axis=0)
    M = M >> col[None, :]
    return IntegerMatrix(M.astype(np.int64), row + e_min, col)


def _common_shift(M: np.ndarray, axis: int) -> np.ndarray:
    """Largest power of two dividing every entry along ``axis`` (0 for all-zero lines)."""
    tz = np.where(M != 0, _trailing_zeros(M), 64)
    s = tz.min(axis=axis)
    return np.where(s == 64, 0, s).astype(np.int64)
