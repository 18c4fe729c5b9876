"""Products with constant matrices (through the CMVM optimizer or per-output CSD sums) and
between traced arrays: matmul, dot, einsum, tensordot, inner, outer, bit exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from trace_support import assert_bit_exact, input_matrix, kif_arrays

from da4ml_core.ir import Opcode
from da4ml_core.trace import FixedArray, cmvm_options, trace
from da4ml_core.trace.cmvm import run_program
from verif.oracle import golden_ops as G

seeds = st.integers(0, 2**32 - 1)
METHODS = pytest.mark.parametrize('method', ['csd', 'auto'])


def _weights(rng, shape, zero_frac=0.3):
    W = rng.integers(-32, 33, shape) * 2.0 ** rng.integers(-4, 2, shape)
    W[rng.random(shape) < zero_frac] = 0
    return W


@st.composite
def product_case(draw):
    b, n, m = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    k, i, f = draw(kif_arrays((b, n), max_width=8, f_range=(-1, 4)))
    return b, n, m, (k, i, f), draw(seeds)


@METHODS
@given(product_case())
def test_products_with_constant_matrices(method, case):
    b, n, m, (k, i, f), seed = case
    rng = np.random.default_rng(seed)
    W = _weights(rng, (n, m))
    V = _weights(rng, (2, m))
    x = FixedArray.input((b, n), k, i, f)
    with cmvm_options(method=method):
        outs = [x @ W, np.matmul(x[0], W), np.dot(x, W), np.einsum('bi,ij->jb', x, W), V @ (x @ W).T,
                np.tensordot(W, x, axes=([0], [1])), np.inner(x, W.T), np.einsum('bi,bi->b', x, x * 0 + 1.5)]
    prog = trace(x, outs)
    X = input_matrix(k, i, f, rng, n_random=12)

    def golden(v):
        v = v.reshape(b, n)
        xw = G.matmul(v, W)
        res = [xw, G.matmul(v[0], W), xw, G.einsum('bi,ij->jb', v, W), G.matmul(V, xw.T),
               G.einsum('ij,bi->jb', W, v), xw, G.reduce_sum(v * 1.5, 1)]
        return np.concatenate([np.ravel(r) for r in res])

    assert_bit_exact(prog, X, golden, None)


@METHODS
@given(st.data(), seeds)
def test_constant_and_repeated_inputs_are_folded_before_the_solver(method, data, seed):
    k, i, f = data.draw(kif_arrays((3,), max_width=8))
    rng = np.random.default_rng(seed)
    W = _weights(rng, (8, 3), zero_frac=0.2)
    x = FixedArray.input((3,), k, i, f)
    z = np.concatenate([x, np.array([0.0, 1.5]), x[:2] * 2, -x[2:]])  # constants, a repeat, shifts, signs
    with cmvm_options(method=method):
        y = z @ W
    prog = trace(x, y)
    X = input_matrix(k, i, f, rng)

    def golden(v):
        zz = np.concatenate([v, G.fractions([0.0, 1.5]), v[:2] * 2, -v[2:]])
        return G.matmul(zz, W)

    assert_bit_exact(prog, X, golden, None)


@given(st.data(), seeds)
def test_products_of_traced_arrays(data, seed):
    k, i, f = data.draw(kif_arrays((2, 3), max_width=6))
    x = FixedArray.input((2, 3), k, i, f)
    y = FixedArray.input((2, 3), k, i, f)
    prog = trace([x, y], [x @ y.T, np.einsum('ij,ij->j', x, y), np.outer(x[0], y[1]), np.einsum('ii->i', x[:, :2]),
                          np.einsum('ij->i', x)])
    rng = np.random.default_rng(seed)
    X = np.concatenate([input_matrix(k, i, f, rng), input_matrix(k, i, f, rng)], axis=1)

    def golden(v):
        a, b = v[:6].reshape(2, 3), v[6:].reshape(2, 3)
        res = [G.matmul(a, b.T), G.einsum('ij,ij->j', a, b), G.einsum('i,j->ij', a[0], b[1]),
               G.einsum('ii->i', a[:, :2]), G.reduce_sum(a, 1)]
        return np.concatenate([np.ravel(r) for r in res])

    assert_bit_exact(prog, X, golden, None)
    assert any(op.opcode == Opcode.MUL for op in prog.ops)


@given(st.data(), seeds)
def test_inlined_program_is_bit_exact(data, seed):
    """A program (here a traced CSD product) inlined into a new trace with narrower inputs."""
    rng = np.random.default_rng(seed)
    W = _weights(rng, (4, 3))
    a = FixedArray.input((4,), 1, 8, 8)  # holds every precision drawn below
    with cmvm_options(method='csd'):
        inner_prog = trace(a, a @ W)
    k, i, f = data.draw(kif_arrays((4,), max_width=7, f_range=(-1, 6)))
    x = FixedArray.input((4,), k, i, f)
    ys = run_program(inner_prog, list(x.ravel()._vars))
    prog = trace(x, FixedArray(np.array(ys, dtype=object)))
    X = input_matrix(k, i, f, rng)
    assert_bit_exact(prog, X, lambda v: G.matmul(v, W), None)
    assert prog.cost <= inner_prog.cost


@given(st.data(), seeds)
def test_solver_graph_inlines_like_its_program(data, seed):
    """The tracer inlines ``solve_graph``'s adder graph; running ``solve``'s Program instead must
    give the same ops (same intervals, costs and latencies), not merely the same values."""
    from da4ml_core.cmvm import solve, solve_graph
    from da4ml_core.trace.cmvm import run_graph

    rng = np.random.default_rng(seed)
    W = _weights(rng, (5, 4))
    k, i, f = data.draw(kif_arrays((5,), max_width=7, f_range=(-1, 6)))
    x = FixedArray.input((5,), k, i, f)
    xs = list(x.ravel()._vars)
    qints = [v.qint for v in xs]
    graph, _ = solve_graph(W, input_qints=qints)
    via_graph = trace(x, FixedArray(np.array(run_graph(graph, xs), dtype=object)))
    via_prog = trace(x, FixedArray(np.array(run_program(solve(W, input_qints=qints), xs), dtype=object)))
    assert via_graph.ops == via_prog.ops
    assert (via_graph.out_idxs, via_graph.out_shifts, via_graph.out_negs) == (
        via_prog.out_idxs,
        via_prog.out_shifts,
        via_prog.out_negs,
    )
    X = input_matrix(k, i, f, rng)
    assert_bit_exact(via_graph, X, lambda v: G.matmul(v, W), None)


def test_identical_blocks_are_solved_once():
    from da4ml_core.trace import cmvm as C

    rng = np.random.default_rng(3)
    W = _weights(rng, (5, 4))
    C._PROGRAMS.clear()
    x = FixedArray.input((6, 5), 1, 3, 2)
    with cmvm_options(method='auto'):
        y = x @ W
    assert len(C._PROGRAMS) == 1
    prog = trace(x, y)
    X = input_matrix(*np.broadcast_arrays(1, 3, 2, np.zeros(30, int))[:3], rng)
    assert_bit_exact(prog, X, lambda v: G.matmul(v.reshape(6, 5), W), None)
