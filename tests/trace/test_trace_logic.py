"""Comparisons, maximum/minimum, abs, clip and where: bit exact against the golden model, with
equal operands, constants on and off the grid, and both pending signs drawn."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from trace_support import assert_bit_exact, input_matrix, kif_arrays, shapes

from da4ml_core.ir import QInt
from da4ml_core.trace import FixedArray, trace
from verif.oracle import golden_ops as G

seeds = st.integers(0, 2**32 - 1)
OPS = ('<', '<=', '>', '>=', '==', '!=')
_NP = {'<': np.less, '<=': np.less_equal, '>': np.greater, '>=': np.greater_equal, '==': np.equal,
       '!=': np.not_equal}
consts = st.builds(lambda m, e: m * 2.0**e, st.integers(-64, 64), st.integers(-4, 2))


def _pair(data, shape, seed):
    """Two traced arrays (same precisions, so equal values happen) and their input matrix."""
    k, i, f = data.draw(kif_arrays(shape, max_width=6, f_range=(-1, 3), min_width=0))
    x = FixedArray.input(shape, k, i, f)
    y = FixedArray.input(shape, k, i, f)
    rng = np.random.default_rng(seed)
    a = input_matrix(k, i, f, rng)
    b = a.copy()
    b[::3] = input_matrix(k, i, f, rng)[::3]  # two rows in three compare equal values
    return x, y, np.concatenate([a, b], axis=1), int(np.prod(shape))


@given(shapes(max_dims=2), st.data(), st.sampled_from(OPS), st.booleans(), consts, seeds)
def test_comparisons(shape, data, op, negate, c, seed):
    x, y, X, n = _pair(data, shape, seed)
    a = -x if negate else x  # a pending negation reaches the comparison
    outs = [_NP[op](a, y), _NP[op](a, c), _NP[op](c, y), _NP[op](a, a)]
    prog = trace([x, y], outs)
    for q in prog.out_qints:
        assert q.lo >= 0 and q.hi <= 1 and q.f == 0 or q.lo == q.hi  # unsigned one-bit values

    def golden(v):
        va, vb = (-v[:n] if negate else v[:n]), v[n:]
        return np.concatenate([G.compare(va, vb, op), G.compare(va, c, op), G.compare(c, vb, op),
                               G.compare(va, va, op)])

    assert_bit_exact(prog, X, golden, None)


@given(shapes(max_dims=2), st.data(), st.booleans(), st.booleans(), consts, seeds)
def test_maximum_minimum_abs_clip(shape, data, neg_a, neg_b, c, seed):
    x, y, X, n = _pair(data, shape, seed)
    a = -x if neg_a else x
    b = -y if neg_b else y
    lo, hi = min(c, 0.5), max(c, 0.5)
    outs = [np.maximum(a, b), np.minimum(a, b), np.maximum(a, c), np.minimum(c, b), np.maximum(a, 0),
            np.minimum(a, 0), abs(a), np.abs(b * 3), np.clip(a, lo, hi), np.clip(a, None, c)]
    prog = trace([x, y], outs)

    def golden(v):
        va = -v[:n] if neg_a else v[:n]
        vb = -v[n:] if neg_b else v[n:]
        return np.concatenate([G.maximum(va, vb), G.minimum(va, vb), G.maximum(va, c), G.minimum(c, vb),
                               G.maximum(va, 0), G.minimum(va, 0), G.absolute(va), G.absolute(vb * 3),
                               G.clip(va, lo, hi), G.minimum(va, c)])

    assert_bit_exact(prog, X, golden, None)


@given(shapes(max_dims=2), st.data(), consts, seeds)
def test_where_on_comparisons_and_masks(shape, data, c, seed):
    x, y, X, n = _pair(data, shape, seed)
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))).reshape(shape)
    outs = [np.where(x > c, x, y * 0.5), np.where(x <= y, -x, c), np.where(mask, x, y), np.where(x == y, 1, x),
            np.where(x - y, x, 0)]
    prog = trace([x, y], outs)

    def golden(v):
        va, vb = v[:n], v[n:]
        return np.concatenate([G.where(G.compare(va, c, '>'), va, vb / 2), G.where(G.compare(va, vb, '<='), -va, c),
                               G.where(mask.ravel(), va, vb), G.where(G.compare(va, vb, '=='), 1, va),
                               G.where(va - vb, va, 0)])

    assert_bit_exact(prog, X, golden, None)


def test_max_of_disjoint_ranges_is_static_and_bounds_are_tight():
    x = FixedArray.input((1,), 0, 3, 0)  # 0..7
    prog = trace(x, [np.maximum(x, -1), np.minimum(x + 8, 8), np.maximum(x, x - 2)])
    assert prog.n_adders == 0 and not any(abs(op.opcode) == 6 for op in prog.ops)
    y = FixedArray.input((2,), 1, 3, 0)
    prog = trace(y, np.maximum(y[0], y[1] * 0 + 2))
    assert prog.out_qints[0] == QInt(2, 7, 0)
    assert Fraction(prog(np.array([-5.0, 1.0]))[0]) == 2
