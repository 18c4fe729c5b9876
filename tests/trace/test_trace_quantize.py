"""quantize (every overflow x rounding mode), relu and integer rounding, traced and run through
the interpreter, equal the golden model bit for bit, ties and extremes included."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from trace_support import OVERFLOW_MODES, ROUND_MODES, assert_bit_exact, input_matrix, kif_arrays, shapes

from da4ml_core.ir import Opcode
from da4ml_core.trace import FixedArray, quantize, relu, trace
from verif.oracle import golden_ops as G

seeds = st.integers(0, 2**32 - 1)


@given(shapes(), st.data(), st.sampled_from(OVERFLOW_MODES), st.sampled_from(ROUND_MODES), seeds)
def test_quantize_every_mode_is_bit_exact(shape, data, ovf, rnd, seed):
    k, i, f = data.draw(kif_arrays(shape, max_width=12, f_range=(-1, 7), min_width=0))
    ko, io, fo = data.draw(kif_arrays(shape, max_width=9, f_range=(-2, 5), min_width=0))
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, quantize(x, ko, io, fo, overflow_mode=ovf, round_mode=rnd))
    rng = np.random.default_rng(seed)
    X = input_matrix(k, i, f, rng, tie_bits=(1, 2, 3, 4))
    assert_bit_exact(prog, X, lambda v: G.quantize(v.reshape(shape), ko, io, fo, overflow_mode=ovf, round_mode=rnd), shape)


@given(shapes(max_dims=2), st.data(), st.sampled_from(OVERFLOW_MODES), st.sampled_from(ROUND_MODES), seeds)
def test_quantize_of_computed_values(shape, data, ovf, rnd, seed):
    """Quantizing a sum, a negated value (pending negation and shift reach the quantizer) and
    relu outputs (saturating to an unsigned type skips the RELU)."""
    k, i, f = data.draw(kif_arrays(shape, max_width=10))
    ko, io, fo = data.draw(kif_arrays(shape, max_width=8, f_range=(-2, 4)))
    x = FixedArray.input(shape, k, i, f)
    y = FixedArray.input(shape, k, i, f)
    out = [quantize(x - y * 0.5, ko, io, fo, overflow_mode=ovf, round_mode=rnd), quantize(-x * 4, ko, io, fo, overflow_mode=ovf, round_mode=rnd),
           quantize(relu(x - y), ko, io, fo, overflow_mode=ovf, round_mode=rnd), quantize(relu(-y * 2), ko, io, fo, overflow_mode=ovf, round_mode=rnd)]
    prog = trace([x, y], out)
    rng = np.random.default_rng(seed)
    X = np.concatenate([input_matrix(k, i, f, rng), input_matrix(k, i, f, rng)], axis=1)
    n = int(np.prod(shape))

    def golden(v):
        a, b = v[:n].reshape(shape), v[n:].reshape(shape)
        return np.concatenate([G.quantize(a - b / 2, ko, io, fo, overflow_mode=ovf, round_mode=rnd).ravel(),
                               G.quantize(-a * 4, ko, io, fo, overflow_mode=ovf, round_mode=rnd).ravel(),
                               G.quantize(G.relu(a - b), ko, io, fo, overflow_mode=ovf, round_mode=rnd).ravel(),
                               G.quantize(G.relu(-b * 2), ko, io, fo, overflow_mode=ovf, round_mode=rnd).ravel()])

    assert_bit_exact(prog, X, golden, None)


@given(shapes(), st.data(), seeds)
def test_relu_is_exact_and_one_op(shape, data, seed):
    k, i, f = data.draw(kif_arrays(shape))
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, [relu(x), np.maximum(-x, 0)])
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    assert_bit_exact(prog, X, lambda v: np.concatenate([G.relu(v), G.relu(-v)]), None)
    assert all(op.opcode in (Opcode.INPUT, Opcode.RELU, Opcode.MUX, Opcode.CONST) for op in prog.ops)
    assert prog.n_adders == 0


@given(shapes(max_dims=2), st.data(), seeds)
def test_floor_ceil_rint_trunc(shape, data, seed):
    k, i, f = data.draw(kif_arrays(shape, f_range=(0, 4)))
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, [np.floor(x), np.ceil(x), np.rint(x), np.trunc(x), np.round(x)])
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    assert_bit_exact(prog, X, lambda v: np.concatenate([G.floor(v), G.ceil(v), G.rint(v), G.trunc(v), G.rint(v)]),
                     None)


@given(shapes(max_dims=2), st.data(), st.sampled_from(('TRN', 'RND')), seeds)
def test_input_of_unknown_precision_takes_the_quantizer(shape, data, rnd, seed):
    ko, io, fo = data.draw(kif_arrays(shape, max_width=10, f_range=(-2, 5)))
    x = FixedArray.input(shape)
    prog = trace(x, quantize(x, ko, io, fo, overflow_mode='WRAP', round_mode=rnd))
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 2.0 ** rng.integers(-2, 8), size=(40, int(np.prod(shape))))
    X[:4] = np.round(X[:4] * 2.0 ** fo.ravel() * 2) / 2 / 2.0 ** fo.ravel()  # exact ties
    assert_bit_exact(prog, X, lambda v: G.quantize(v.reshape(shape), ko, io, fo, overflow_mode='WRAP', round_mode=rnd), shape)
    if rnd == 'TRN':  # read directly at the quantizer's precision: nothing but inputs
        assert all(op.opcode == Opcode.INPUT for op in prog.ops)
        for q, a, b, c in zip(prog.inp_qints, ko.ravel(), io.ravel(), fo.ravel()):
            assert q is None or tuple(q.kif) == (a, b, c) or a + b + c == 0


def test_input_of_unknown_precision_read_at_the_union_of_its_quantizers():
    x = FixedArray.input((1,))
    a = quantize(x, 1, 2, 3)
    b = quantize(x, 0, 4, 1)
    prog = trace(x, [a, b])
    assert tuple(prog.inp_qints[0].kif) == (1, 3, 3)
    X = np.array([[-7.3], [5.61], [-0.07], [3.99], [100.2]])
    assert_bit_exact(prog, X, lambda v: np.concatenate([G.quantize(v, 1, 2, 3), G.quantize(v, 0, 4, 1)]), None)


def test_quantize_is_free_when_it_drops_nothing():
    x = FixedArray.input((3,), 1, 3, 2)
    prog = trace(x, quantize(x, 1, 5, 4, overflow_mode='SAT', round_mode='RND_CONV'))
    assert len(prog.ops) == 3 and prog.cost == 0
