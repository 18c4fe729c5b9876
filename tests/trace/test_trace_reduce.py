"""sum / mean / max / min reductions over any axes, and the latency-ordered reduction trees."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from trace_support import assert_bit_exact, input_matrix, kif_arrays, shapes

from da4ml_core.trace import FixedArray, trace
from verif.oracle import golden_ops as G

seeds = st.integers(0, 2**32 - 1)


@st.composite
def axes_for(draw, ndim):
    kind = draw(st.sampled_from(['none', 'int', 'tuple']))
    if kind == 'none':
        return None
    if kind == 'int':
        return draw(st.integers(-ndim, ndim - 1))
    return tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))


@given(shapes(), st.data(), st.booleans(), seeds)
def test_reductions_over_axes(shape, data, keepdims, seed):
    axis = data.draw(axes_for(len(shape)))
    k, i, f = data.draw(kif_arrays(shape, max_width=8, min_width=0))
    x = FixedArray.input(shape, k, i, f)
    outs = [np.sum(x, axis=axis, keepdims=keepdims), np.max(x, axis=axis, keepdims=keepdims),
            np.min(x, axis=axis, keepdims=keepdims), np.amax(-x, axis=axis), x.sum(axis), np.add.reduce(x, axis=0),
            np.maximum.reduce(x, axis=-1)]
    want_shapes = [np.sum(np.zeros(shape), axis=axis, keepdims=keepdims).shape] * 3
    assert [o.shape for o in outs[:3]] == want_shapes
    prog = trace(x, outs)
    X = input_matrix(k, i, f, np.random.default_rng(seed))

    def golden(v):
        v = v.reshape(shape)
        return np.concatenate([np.ravel(r) for r in (
            G.reduce_sum(v, axis, keepdims), G.reduce_max(v, axis, keepdims), G.reduce_min(v, axis, keepdims),
            G.reduce_max(-v, axis), G.reduce_sum(v, axis), G.reduce_sum(v, 0), G.reduce_max(v, -1))])

    assert_bit_exact(prog, X, golden, None)


@given(st.data(), seeds)
def test_mean_over_power_of_two_counts(data, seed):
    shape = (data.draw(st.sampled_from([1, 2, 4])), data.draw(st.sampled_from([2, 4, 8])))
    k, i, f = data.draw(kif_arrays(shape, max_width=8))
    x = FixedArray.input(shape, k, i, f)
    prog = trace(x, [np.mean(x), np.mean(x, axis=1), x.mean(axis=0, keepdims=True)])
    X = input_matrix(k, i, f, np.random.default_rng(seed))
    assert_bit_exact(prog, X, lambda v: np.concatenate([np.ravel(G.reduce_mean(v.reshape(shape))),
                                                        G.reduce_mean(v.reshape(shape), 1),
                                                        G.reduce_mean(v.reshape(shape), 0).ravel()]), None)


def test_sum_combines_earliest_ready_operands_first():
    late = FixedArray.input((1,), 1, 4, 0, latency=5.0)
    early = FixedArray.input((3,), 1, 4, 0)
    x = np.concatenate([late, early])
    s = np.sum(x)
    # the three early values are added first (2 levels), the late one last: 5 + 1
    assert s.latency[()] == 6.0
    prog = trace([late, early], s)
    root = prog.ops[prog.out_idxs[0]]
    assert 0 in (root.id0, root.id1)  # the late input (input 0) enters at the root
    m = np.max(x)
    assert m.latency[()] == 5.0 + 2.0  # one subtraction and one MUX after the late operand


def test_constants_in_a_sum_become_one_constant_add():
    x = FixedArray.input((3,), 1, 4, 0)
    parts = np.concatenate([x, np.array([1.0, 2.5, -0.5])])
    prog = trace(x, np.sum(parts))
    assert prog.n_adders == 3  # two adders for the variables, one constant add
