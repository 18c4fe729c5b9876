"""The golden model: fixed-point arithmetic written from the spec, for obviousness, not speed.

It shares no code with ``da4ml_core`` (no import of it, ever): values are exact ``Fraction``s
or Python ints, rounding picks between the two neighbouring grid points by comparing exact
distances, overflow is a plain modulo or clamp. Two oracles that agree are worth more than one
that checks itself.

Raw integers: a value ``v`` on a grid of step ``2**-f`` is stored as ``raw = v * 2**f``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

ROUND_MODES = ('TRN', 'TRN_ZERO', 'RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF', 'RND_CONV')
OVERFLOW_MODES = ('WRAP', 'SAT', 'SAT_SYM')

HALF = Fraction(1, 2)


def round_to_int(t: Fraction, mode: str) -> int:
    """Round the exact rational ``t`` to an integer as ap_fixed's quantization mode says."""
    below = t.numerator // t.denominator  # the grid point at or below t
    above = below + 1
    if t == below:
        return below
    if mode == 'TRN':
        return below
    if mode == 'TRN_ZERO':
        return below if t > 0 else above
    distance_to_below = t - below
    if distance_to_below < HALF:
        return below
    if distance_to_below > HALF:
        return above
    # exactly half way
    tie_choice = {
        'RND': above,  # toward +inf
        'RND_ZERO': below if t > 0 else above,  # toward zero
        'RND_MIN_INF': below,  # toward -inf
        'RND_INF': above if t > 0 else below,  # away from zero
        'RND_CONV': below if below % 2 == 0 else above,  # to even
    }
    if mode not in tie_choice:
        raise ValueError(f'unknown rounding mode {mode!r}')
    return tie_choice[mode]


def wrap(raw: int, width: int, signed: bool) -> int:
    """Keep the low ``width`` bits of ``raw``, read them as two's complement when signed."""
    if width == 0:
        return 0
    low = raw % (2**width)
    if signed and low >= 2 ** (width - 1):
        low -= 2**width
    return low


def raw_limits(k: int, i: int, f: int, overflow_mode: str) -> tuple[int, int]:
    """Smallest and largest raw integer of precision (k, i, f) under a saturating mode."""
    width = k + i + f
    if width == 0:
        return 0, 0
    largest = 2 ** (i + f) - 1
    if not k:
        return 0, largest
    if overflow_mode == 'SAT_SYM' and width > 1:  # ap_fixed leaves a 1-bit signed type at [-1, 0]
        return -largest, largest
    return -largest - 1, largest


def quantize_value(v, k: int, i: int, f: int, round_mode: str = 'TRN', overflow_mode: str = 'WRAP') -> int:
    """Quantize one exact value to (k, i, f): round, then overflow. Returns the raw integer."""
    if round_mode not in ROUND_MODES:
        raise ValueError(f'unknown rounding mode {round_mode!r}')
    if overflow_mode not in OVERFLOW_MODES:
        raise ValueError(f'unknown overflow mode {overflow_mode!r}')
    scaled = Fraction(v) * Fraction(2) ** f
    raw = round_to_int(scaled, round_mode)
    if overflow_mode == 'WRAP':
        return wrap(raw, k + i + f, bool(k))
    lowest, highest = raw_limits(k, i, f, overflow_mode)
    return min(max(raw, lowest), highest)


def quantize(x, k, i, f, round_mode: str = 'TRN', overflow_mode: str = 'WRAP') -> np.ndarray:
    """Element-wise :func:`quantize_value` over broadcast arrays; returns raw Python ints."""
    xb, kb, ib, fb = np.broadcast_arrays(np.asarray(x, dtype=object), k, i, f)
    out = np.empty(xb.shape, dtype=object)
    for idx in np.ndindex(xb.shape):
        out[idx] = quantize_value(xb[idx], int(kb[idx]), int(ib[idx]), int(fb[idx]), round_mode, overflow_mode)
    return out


def raw_to_fraction(raw, f) -> np.ndarray:
    """Raw integers on grid 2**-f back to exact Fractions."""
    rb, fb = np.broadcast_arrays(np.asarray(raw, dtype=object), f)
    out = np.empty(rb.shape, dtype=object)
    for idx in np.ndindex(rb.shape):
        out[idx] = Fraction(int(rb[idx])) / Fraction(2) ** int(fb[idx])
    return out


# --------------------------------------------------------------------------------------------
# hardware primitives, on raw integers
# --------------------------------------------------------------------------------------------


def shift_add(a: int, b: int, shift: int, subtract: bool, out_width: int, out_signed: bool) -> int:
    """``a ± (b << shift)`` as the adder primitive computes it.

    A negative shift means b is the finer operand: a is shifted up by ``-shift`` instead, so no
    bit of either operand is dropped. The result is truncated to ``out_width`` bits.
    """
    a_scaled = a * 2 ** max(0, -shift)
    b_scaled = b * 2 ** max(0, shift)
    exact = a_scaled - b_scaled if subtract else a_scaled + b_scaled
    return wrap(exact, out_width, out_signed)


def negate(a: int, out_width: int, out_signed: bool) -> int:
    """``-a`` truncated to ``out_width`` bits."""
    return wrap(-a, out_width, out_signed)


def signed_range(width: int, signed: bool) -> tuple[int, int]:
    """Range of a ``width``-bit port."""
    if width == 0:
        return 0, 0
    if signed:
        return -(2 ** (width - 1)), 2 ** (width - 1) - 1
    return 0, 2**width - 1


# --------------------------------------------------------------------------------------------
# constant matrix-vector products
# --------------------------------------------------------------------------------------------


def cmvm(x, W, in_kif, out_kif, in_modes=('TRN', 'WRAP'), out_modes=('TRN', 'WRAP')) -> np.ndarray:
    """``y = quantize_out(quantize_in(x) @ W)``, exactly.

    ``x``: (n_samples, n_in) numbers; ``W``: (n_in, n_out) exact binary fractions (floats are
    taken at their exact value); ``in_kif`` / ``out_kif``: (k, i, f) triples, scalars or per
    element arrays broadcasting to (n_in,) / (n_out,). Returns raw output integers (object
    array, value = raw * 2**-f_out).
    """
    x = np.asarray(x)
    W = np.asarray(W)
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(f'cmvm needs x (n, n_in) and W (n_in, n_out); got {x.shape} and {W.shape}')
    kin, iin, fin = (np.broadcast_to(np.asarray(a), (W.shape[0],)) for a in in_kif)
    kout, iout, fout = (np.broadcast_to(np.asarray(a), (W.shape[1],)) for a in out_kif)
    x_raw = quantize(x, kin, iin, fin, *in_modes)
    x_val = raw_to_fraction(x_raw, fin)
    w_val = np.vectorize(Fraction, otypes=[object])(W)
    y_val = x_val.dot(w_val) if x.shape[0] else np.empty((0, W.shape[1]), dtype=object)
    return quantize(y_val, kout, iout, fout, *out_modes)


def matmul_exact(x, W, in_kif, in_modes=('TRN', 'WRAP')) -> np.ndarray:
    """``quantize_in(x) @ W`` as exact Fractions (object array (n_samples, n_out)), no output
    quantization: what a CMVM program must compute."""
    x = np.asarray(x)
    W = np.asarray(W)
    kin, iin, fin = (np.broadcast_to(np.asarray(a), (W.shape[0],)) for a in in_kif)
    x_val = raw_to_fraction(quantize(x, kin, iin, fin, *in_modes), fin)
    w_val = np.vectorize(Fraction, otypes=[object])(W)
    return x_val.dot(w_val) if x.shape[0] else np.empty((0, W.shape[1]), dtype=object)
