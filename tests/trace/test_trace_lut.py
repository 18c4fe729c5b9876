"""Lookup tables: lut(x, fn, ...) and numpy ufuncs on traced arrays, bit exact against
quantize(fn(x)) evaluated in float64 on each exact input value."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from trace_support import OVERFLOW_MODES, ROUND_MODES, assert_bit_exact, input_matrix, kif_arrays, shapes

from da4ml_core.ir import Opcode
from da4ml_core.trace import FixedArray, lut, quantize, trace
from da4ml_core.trace.tables import DEFAULT_EXTRA_F
from verif.oracle import golden_ops as G

seeds = st.integers(0, 2**32 - 1)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


FUNCTIONS = [np.tanh, np.exp, sigmoid, np.sin, lambda v: v * v * 0.375 - 1, np.abs]


@given(shapes(max_dims=2), st.data(), st.sampled_from(FUNCTIONS), st.sampled_from(OVERFLOW_MODES),
       st.sampled_from(ROUND_MODES), seeds)
def test_lut_equals_quantized_function(shape, data, fn, ovf, rnd, seed):
    k, i, f = data.draw(kif_arrays(shape, max_width=7, f_range=(0, 4)))
    ko, io, fo = data.draw(kif_arrays(shape, max_width=8, f_range=(0, 6)))
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, [lut(x, fn, ko, io, fo, overflow_mode=ovf, round_mode=rnd), x.lut(fn, ko, io, fo, overflow_mode=ovf, round_mode=rnd)])
    assert all(op.opcode in (Opcode.INPUT, Opcode.LOOKUP, Opcode.CONST) for op in prog.ops)
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    one = lambda v: G.lut(v.reshape(shape), fn, ko, io, fo, overflow_mode=ovf, round_mode=rnd).ravel()
    assert_bit_exact(prog, X, lambda v: np.concatenate([one(v), one(v)]), None)


@pytest.mark.parametrize('ufunc', [np.tanh, np.exp, np.sin, np.sqrt, np.log1p])
@given(st.data(), seeds)
def test_numpy_ufunc_takes_the_next_quantizer(ufunc, data, seed):
    shape = (3,)
    k, i, f = data.draw(kif_arrays(shape, max_width=6, f_range=(0, 4), signed=ufunc not in (np.sqrt, np.log1p)))
    ko, io, fo = data.draw(kif_arrays(shape, max_width=8, f_range=(0, 6)))
    rnd = data.draw(st.sampled_from(ROUND_MODES))
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, quantize(ufunc(x), ko, io, fo, overflow_mode='SAT', round_mode=rnd))
    assert sum(op.opcode == Opcode.LOOKUP for op in prog.ops) <= 3 and prog.n_adders == 0
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    assert_bit_exact(prog, X, lambda v: G.lut(v, ufunc, ko, io, fo, overflow_mode='SAT', round_mode=rnd), None)


@given(st.data(), seeds)
def test_chained_functions_are_one_table(data, seed):
    k, i, f = data.draw(kif_arrays((2,), max_width=6, f_range=(0, 3)))
    x = FixedArray.input((2,), k, i, f)
    prog = trace(x, quantize(np.exp(np.tanh(x)), 0, 3, 5, overflow_mode='WRAP', round_mode='RND'))
    assert sum(op.opcode == Opcode.LOOKUP for op in prog.ops) <= 2
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    assert_bit_exact(prog, X, lambda v: G.lut(v, lambda t: np.exp(np.tanh(t)), 0, 3, 5, overflow_mode='WRAP', round_mode='RND'), None)


def test_unquantized_function_gets_a_default_precision():
    x = FixedArray.input((4,), 1, 2, 3)
    square = x.apply(lambda v: v * v)  # exact: needs 6 fractional bits, within the default
    t = np.tanh(x) + 0  # not exact: rounded to nearest at max(f_in, 0) + DEFAULT_EXTRA_F bits
    prog = trace(x, [square, t])
    X = np.array([[-4.0, 3.875, 0.125, -0.375]])
    got = prog(X)[0]
    assert [Fraction(g) for g in got[:4]] == [Fraction(v) ** 2 for v in X[0]]
    step = 2.0 ** -(3 + DEFAULT_EXTRA_F)
    assert np.all(np.abs(got[4:] - np.tanh(X[0])) <= step / 2)


def test_tables_are_shared_between_equal_keys():
    x = FixedArray.input((8,), 1, 3, 2)
    prog = trace(x, quantize(np.tanh(x), 1, 0, 6, overflow_mode='SAT', round_mode='RND'))
    assert len(prog.tables) == 1
