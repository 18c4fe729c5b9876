"""Shared helpers of the tracing tests: Hypothesis strategies for shapes, per-element precisions
and input values (extremes, rounding ties and near-ties included), and the bit-exact check of a
traced program against the golden model."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

ROUND_MODES = ('TRN', 'RND', 'RND_CONV', 'TRN_ZERO', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF')
OVERFLOW_MODES = ('WRAP', 'SAT', 'SAT_SYM')


@st.composite
def shapes(draw, max_dims=3, max_side=4, min_size=1):
    dims = draw(st.integers(1, max_dims))
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(dims))
    if int(np.prod(shape)) < min_size:
        shape = shape[:-1] + (shape[-1] + min_size,)
    return shape


@st.composite
def kif_arrays(draw, shape, max_width=12, f_range=(-2, 6), signed=None, min_width=1):
    """Per-element (k, i, f) int arrays of ``shape``; sometimes one precision for all. A width
    below 1 (``min_width=0``) is a value that is always zero."""
    n = int(np.prod(shape))
    if draw(st.booleans()):
        n_draw = 1
    else:
        n_draw = n
    ks, iis, fs = [], [], []
    for _ in range(n_draw):
        k = draw(st.integers(0, 1)) if signed is None else int(signed)
        f = draw(st.integers(*f_range))
        w = draw(st.integers(min(max(k, 1), min_width), max_width))
        ks.append(k)
        iis.append(w - k - f)
        fs.append(f)
    arrs = [np.array(a * (n // n_draw), dtype=np.int64).reshape(shape) for a in (ks, iis, fs)]
    return tuple(arrs)


def raw_samples(k, i, f, n_random, rng, tie_bits=(1, 2, 3)):
    """Raw input integers per element: both extremes, zero and its neighbours, exact ties and
    near-ties at ``tie_bits`` below the element's step, then random values. Shape
    (n_samples, n_elements)."""
    k, i, f = (np.asarray(a, dtype=np.int64).ravel() for a in (k, i, f))
    top = np.left_shift(1, np.maximum(i + f, 0))
    live = k + i + f > 0
    lo = np.where((k == 1) & live, -top, 0)
    hi = np.where(live, top - 1, 0)
    rows = [lo, hi, np.zeros_like(lo), np.clip(np.ones_like(lo), lo, hi), np.clip(-np.ones_like(lo), lo, hi),
            np.clip(lo + 1, lo, hi), np.clip(hi - 1, lo, hi)]
    for d in tie_bits:
        base = rng.integers(lo, hi + 1)
        for low in (1 << (d - 1), (1 << (d - 1)) - 1, (1 << (d - 1)) + 1, 0):
            v = (base >> d << d) + low
            rows.append(np.clip(v, lo, hi))
    for _ in range(n_random):
        rows.append(rng.integers(lo, hi + 1))
    return np.stack(rows)


def input_matrix(k, i, f, rng, n_random=24, tie_bits=(1, 2, 3)):
    """(X floats for the program, exact Fraction values per row) for inputs of precision (k,i,f)."""
    raw = raw_samples(k, i, f, n_random, rng, tie_bits)
    f_flat = np.asarray(f, dtype=np.int64).ravel()
    X = np.ldexp(raw.astype(np.float64), -f_flat[None, :])
    return X


def exact(X) -> np.ndarray:
    """Exact Fractions of a float array."""
    out = np.empty(np.shape(X), dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = Fraction(float(X[idx]))
    return out


def assert_bit_exact(prog, X, golden_fn, out_shape):
    """Run ``prog`` on every row of X and compare each output with ``golden_fn(row_values)``
    (a function of the row's exact input values, returning an object array of Fractions)."""
    got = prog(X)
    assert got.shape == (X.shape[0], prog.n_out)
    for r in range(X.shape[0]):
        want = np.asarray(golden_fn(exact(X[r])), dtype=object).reshape(-1)
        assert want.size == prog.n_out, (want.size, prog.n_out)
        for j in range(prog.n_out):
            g = Fraction(float(got[r, j]))
            assert g == want[j], f'row {r} output {j}: program {g} != golden {want[j]} (inputs {list(X[r])})'
