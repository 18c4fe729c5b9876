"""The trace() contract: output order, dead code, shared ops, dead inputs, FixedVar facts, and a
mixed end-to-end network checked against the golden model."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from trace_support import assert_bit_exact

from da4ml_core.ir import Opcode, Program, QInt
from da4ml_core.trace import FixedArray, FixedVar, cmvm_options, quantize, relu, trace
from verif.oracle import golden_ops as G


def test_outputs_are_c_order_and_lists_concatenate():
    x = FixedArray.input((2, 3), 1, 4, 0)
    prog = trace(x, [x.T, (x[0, 0], 7.0)])
    X = np.arange(6, dtype=float)[None] - 3
    want = list(X[0].reshape(2, 3).T.ravel()) + [X[0, 0], 7.0]
    assert list(prog(X)[0]) == want


def test_dead_ops_removed_identical_ops_shared_dead_inputs_kept_or_dropped():
    x = FixedArray.input((3,), 1, 4, 2)
    _unused = x * 3 + 1
    y = (x[0] + x[1]) * 1
    z = x[1] + x[0]  # the same adder, operands swapped
    prog = trace(x, [y, z])
    assert prog.n_adders == 1 and prog.n_in == 3
    assert sum(op.opcode == Opcode.INPUT for op in prog.ops) == 3
    dropped = trace(x, [y, z], keep_dead_inputs=False)
    assert sum(op.opcode == Opcode.INPUT for op in dropped.ops) == 2 and dropped.n_in == 3
    assert list(dropped(np.array([1.0, 2.0, 3.0]))) == [3.0, 3.0]


def test_programs_round_trip_through_json_and_binary():
    x = FixedArray.input((4,), 1, 3, 2)
    y = quantize(np.tanh(x), 1, 0, 5, overflow_mode='SAT', round_mode='RND') + np.maximum(x, x[::-1]) * 3
    prog = trace(x, y)
    X = np.linspace(-8, 7.75, 64).reshape(16, 4)
    assert np.array_equal(Program.from_json(prog.to_json())(X), prog(X))
    assert np.array_equal(Program.from_binary(prog.to_binary())(X), prog(X))


def test_fixed_var_reports_interval_latency_cost_and_op():
    x = FixedArray.input((2,), 1, 3, 2)
    v = (x[0] + x[1])._vars[()]
    assert isinstance(v, FixedVar)
    assert v.qint == QInt(-64, 62, 2) and v.op == Opcode.ADD and v.latency == 1.0 and v.cost > 0
    c = (x[0] * 0 + 1.5)._vars[()]
    assert c.is_const and c.value == Fraction(3, 2) and c.cost == 0
    k, i, f = (x * 4).kif
    assert k.tolist() == [1, 1] and i.tolist() == [5, 5] and f.tolist() == [0, 0]


@given(st.integers(0, 2**32 - 1))
def test_mixed_network_end_to_end(seed):
    """quantize input, relu, slice/transpose, repeat, *3+4, max of a stack, matrix product,
    quantize, einsum with a constant."""
    rng = np.random.default_rng(seed)
    W1 = rng.integers(-8, 8, (4, 3)) / 4
    W2 = rng.integers(-8, 8, (2, 3, 2)) / 8
    x = FixedArray.input((2, 4))
    with cmvm_options(method='auto'):
        h = quantize(x, 1, 3, 3, overflow_mode='WRAP', round_mode='TRN')
        h = relu(h)
        t = h[:, 1:].T  # (3, 2)
        r = np.repeat(t, 2, axis=1)  # (3, 4)
        s = r * 3 + 4
        m = np.max(np.stack([s, r * -2, s[::-1]]), axis=0)  # (3, 4)
        p = quantize(m @ W1, 1, 4, 2, overflow_mode='SAT', round_mode='RND_CONV')  # (3, 3)
        out = np.einsum('ij,kjl->ikl', p, W2)  # (3, 2, 2)
    prog = trace(x, out)
    X = rng.normal(0, 4, (32, 8))
    X[:8] = np.round(X[:8] * 8) / 8  # values on the input grid as well

    def golden(v):
        hh = G.relu(G.quantize(v.reshape(2, 4), 1, 3, 3, overflow_mode='WRAP', round_mode='TRN'))
        rr = np.repeat(hh[:, 1:].T, 2, axis=1)
        ss = rr * 3 + 4
        mm = G.reduce_max(np.stack([ss, rr * -2, ss[::-1]]), 0)
        pp = G.quantize(G.matmul(mm, W1), 1, 4, 2, overflow_mode='SAT', round_mode='RND_CONV')
        return G.einsum('ij,kjl->ikl', pp, W2).ravel()

    assert_bit_exact(prog, X, golden, None)
