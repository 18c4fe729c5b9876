"""+ - * with arrays and constants, constant multiplication as shift-add graphs, variable
products, negation and exact division by powers of two: bit exact against the golden model."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from trace_support import assert_bit_exact, input_matrix, kif_arrays, shapes

from da4ml_core.ir import Opcode
from da4ml_core.trace import FixedArray, trace
from da4ml_core.trace.var import csd_digits

seeds = st.integers(0, 2**32 - 1)
# binary fractions: powers of two, zero, negatives, long mantissas
constants = st.one_of(
    st.integers(-40, 40),
    st.builds(lambda m, e: m * 2.0**e, st.integers(-(2**12), 2**12), st.integers(-8, 4)),
    st.builds(lambda s, e: s * 2.0**e, st.sampled_from((-1, 1)), st.integers(-6, 6)),
)


def _const_array(data, shape):
    n = int(np.prod(shape))
    vals = data.draw(st.lists(constants, min_size=n, max_size=n))
    return np.array(vals, dtype=np.float64).reshape(shape)


@given(shapes(), st.data(), seeds)
def test_add_sub_neg_with_arrays_and_constants(shape, data, seed):
    k, i, f = data.draw(kif_arrays(shape))
    k2, i2, f2 = data.draw(kif_arrays(shape[-1:]))  # broadcasts along the last axis
    c = _const_array(data, shape)
    x = FixedArray.input(shape, k, i, f)
    y = FixedArray.input(shape[-1:], k2, i2, f2)
    outs = [x + y, x - y, y - x, -x + 3, c - x, x + c, x - x, (x + y) - y]
    prog = trace([x, y], outs)
    rng = np.random.default_rng(seed)
    X = np.concatenate([input_matrix(k, i, f, rng), input_matrix(k2, i2, f2, rng)[: 7 + 4 * 3 + 24]], axis=1)
    n = int(np.prod(shape))
    cf = np.vectorize(Fraction, otypes=[object])(c)

    def golden(v):
        a, b = v[:n].reshape(shape), v[n:]
        res = [a + b, a - b, b - a, -a + 3, cf - a, a + cf, a - a, a]
        return np.concatenate([np.broadcast_to(r, shape).ravel() for r in res])

    assert_bit_exact(prog, X, golden, None)


@given(shapes(max_dims=2), st.data(), seeds)
def test_multiply_by_constants(shape, data, seed):
    k, i, f = data.draw(kif_arrays(shape))
    c = _const_array(data, shape)
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, [x * c, c * x, x * 3 + 4, x / 4, x * -0.5])
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    cf = np.vectorize(Fraction, otypes=[object])(c)
    assert_bit_exact(prog, X, lambda v: np.concatenate(
        [(v.reshape(shape) * cf).ravel(), (v.reshape(shape) * cf).ravel(), v * 3 + 4, v / 4, v * Fraction(-1, 2)]),
        None)


@given(shapes(max_dims=2), st.data(), seeds)
def test_multiply_variables(shape, data, seed):
    k, i, f = data.draw(kif_arrays(shape, max_width=10))
    x = FixedArray.input(shape, k, i, f)
    y = FixedArray.input(shape, k, i, f)
    prog = trace([x, y], [x * y, x * x, (x * 2) * (-y), x**3])
    rng = np.random.default_rng(seed)
    X = np.concatenate([input_matrix(k, i, f, rng), input_matrix(k, i, f, rng)], axis=1)
    n = int(np.prod(shape))
    assert_bit_exact(prog, X, lambda v: np.concatenate([v[:n] * v[n:], v[:n] * v[:n], -2 * v[:n] * v[n:],
                                                         v[:n] ** 3]), None)


@given(st.integers(1, 4000), st.integers(-5, 5))
def test_constant_product_is_one_adder_per_extra_csd_digit(m, e):
    c = (2 * m + 1) * 2.0**e  # odd mantissa
    x = FixedArray.input((1,), 1, 4, 3)
    prog = trace(x, x * c)
    assert prog.n_adders <= len(csd_digits(2 * m + 1)) - 1  # shared partial sums can save more
    assert all(op.opcode in (Opcode.INPUT, Opcode.ADD, Opcode.SUB) for op in prog.ops)
    # the declared interval is exact: c times the input range (not the loose op-by-op bound)
    q = prog.out_qints[0]
    assert sorted((q.min, q.max)) == sorted((Fraction(c) * -16, Fraction(c) * (16 - Fraction(1, 8))))


def test_power_of_two_products_and_negation_are_free():
    x = FixedArray.input((3,), 1, 4, 3)
    minus_x = -x
    prog = trace(x, [x * 8, -x, x * -0.25, x / 2, -minus_x])
    assert len(prog.ops) == 3 and prog.cost == 0
    assert prog.out_shifts == tuple(np.repeat([3, 0, -2, -1, 0], 3))
    assert prog.out_negs == tuple(np.repeat([False, True, True, False, False], 3))
    assert prog.out_idxs == (0, 1, 2) * 5


def test_shifts_fold_into_the_adder():
    x = FixedArray.input((1,), 1, 4, 0)
    y = FixedArray.input((1,), 1, 4, 0)
    prog = trace([x, y], x * 4 - y * 0.5)
    assert prog.n_adders == 1
    assert_bit_exact(prog, np.array([[3.0, -7.0], [-16, 15]]), lambda v: [4 * v[0] - v[1] / 2], None)


@given(st.data(), seeds)
def test_constants_added_in_a_row_are_one_adder(data, seed):
    """(x + c1) + c2 is one CONST_ADD x + (c1 + c2), also through shifts and negations, and a
    bias followed by RND rounding costs one adder, not two."""
    from da4ml_core.trace import quantize

    rng = np.random.default_rng(seed)
    k, i, f = data.draw(kif_arrays((1,), max_width=8, f_range=(0, 4)))
    x = FixedArray.input((1,), k, i, f)
    c1, c2 = (Fraction(int(v), 8) for v in rng.integers(1, 64, 2))
    if c2 == 4 * c1:  # then -(x + c1) * 4 + c2 is just -4x: no constant adder at all
        c2 += Fraction(1, 8)
    y = -((x + c1) * 4) + c2
    prog = trace(x, [y, x + c1 - c1])
    assert [op.opcode for op in prog.ops].count(Opcode.CONST_ADD) == 1
    assert_bit_exact(prog, input_matrix(k, i, f, rng), lambda v: [-(v[0] + c1) * 4 + c2, v[0]], None)
    w = FixedArray.input((1,), 1, 3, 2)
    z = quantize(w * 3 + c1, 1, 8, 0, overflow_mode='WRAP', round_mode='RND')  # bias, then round half up: one constant adder
    prog = trace(w, z)
    assert [op.opcode for op in prog.ops].count(Opcode.CONST_ADD) == 1
    X = np.arange(-32, 32)[:, None] / 4.0
    assert np.array_equal(prog(X)[:, 0], np.floor(X[:, 0] * 3 + float(c1) + 0.5))  # |value| < 2**8: no wrap


@given(shapes(max_dims=2), st.data(), seeds)
def test_arithmetic_ufuncs(shape, data, seed):
    k, i, f = data.draw(kif_arrays(shape, max_width=8))
    x = FixedArray.input(shape, k, i, f)
    outs = [np.add(x, 1), np.subtract(2, x), np.multiply(x, -3), np.negative(x), np.positive(x), np.square(x),
            np.fabs(x), np.divide(x, -8), np.ldexp(x, 3), np.ldexp(x, -2), np.fmax(x, 0.5), np.fmin(x, x * 2)]
    prog = trace(x, outs)
    X = input_matrix(k, i, f, np.random.default_rng(seed))

    def golden(v):
        res = [v + 1, 2 - v, v * -3, -v, v, v * v, np.abs(v), v / -8, v * 8, v / 4,
               np.maximum(v, Fraction(1, 2)), np.minimum(v, v * 2)]
        return np.concatenate([np.asarray(r, dtype=object).ravel() for r in res])

    assert_bit_exact(prog, X, golden, None)
