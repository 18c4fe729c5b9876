"""The numba interpreter against the exact reference evaluator and the golden model."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from da4ml_core.fixed import quantize
from da4ml_core.interp import plan_of, run, run_raw
from da4ml_core.ir import Op, Opcode, Program, ProgramError, QInt
from verif.oracle import golden
from verif.oracle.reference import evaluate
from support.strategies import inputs_for, programs, quantize_programs


def _all_ops_out(prog: Program) -> Program:
    n = len(prog.ops)
    return prog.replace(n_out=n, out_idxs=list(range(n)), out_shifts=[0] * n, out_negs=[False] * n)


def _as_array(X, prog):
    return np.asarray(X, dtype=np.float64).reshape(-1, prog.n_in)


BACKENDS = pytest.mark.parametrize('backend', ['numba', 'numpy'])


@BACKENDS
@seed(100)
@given(programs(), st.data())
def test_interpreter_equals_reference(backend, prog, data):
    X = _as_array(data.draw(inputs_for(prog)), prog)
    ours = run(prog, X, backend=backend)
    ref = evaluate(prog, X)
    assert ours.shape == ref.shape
    for got, want in zip(ours.ravel(), ref.ravel()):
        assert Fraction(got) == want


@BACKENDS
@seed(101)
@settings(max_examples=15)
@given(programs(max_width=60, in_width=30), st.data())
def test_wide_values_exact_as_raw_integers(backend, prog, data):
    X = _as_array(data.draw(inputs_for(prog, n_samples=(1, 4))), prog)
    raw = run_raw(prog, X, backend=backend)
    exp = plan_of(prog).out_exp
    ref = evaluate(prog, X)
    for r, want in zip(raw, ref):
        assert [Fraction(int(v)) * Fraction(2) ** int(e) for v, e in zip(r, exp)] == list(want)


@seed(102)
@settings(max_examples=10)
@given(programs(n_ops=(5, 40)), st.data())
def test_threads_agree_with_serial(prog, data):
    X = _as_array(data.draw(inputs_for(prog, n_samples=(3, 8))), prog)
    X = np.tile(X, (400, 1))  # enough samples for the threaded path
    serial = run(prog, X, backend='numba')
    assert np.array_equal(run(prog, X, n_threads=2, backend='numba'), serial)
    assert np.array_equal(run(prog, X, n_threads=0, backend='numba'), serial)
    assert np.array_equal(run(prog, X, backend='numpy'), serial)


def _golden_values(prog: Program, x) -> list[Fraction]:
    """Each op of an INPUT / RELU / QUANTIZE program, stepped through the golden model."""
    vals: list[Fraction] = []
    for op in prog.ops:
        k, i, f = op.qint.kif
        if op.opcode == Opcode.INPUT:
            v = Fraction(x[op.id0]) * Fraction(2) ** prog.inp_shifts[op.id0]
        else:
            v = vals[op.id0] if op.opcode > 0 else -vals[op.id0]
            if abs(op.opcode) == Opcode.RELU:
                v = max(v, Fraction(0))
        raw = golden.quantize_value(v, k, i, f, 'TRN', 'WRAP')
        vals.append(Fraction(raw) * Fraction(2) ** -f)
    return vals


@BACKENDS
@seed(103)
@given(quantize_programs(), st.data())
def test_quantization_ops_equal_golden_model(backend, prog, data):
    prog = _all_ops_out(prog)
    X = _as_array(data.draw(inputs_for(prog, n_samples=(1, 6))), prog)
    ours = run(prog, X, backend=backend)
    ref = evaluate(prog, X)
    for row, got, want in zip(X, ours, ref):
        gold = _golden_values(prog, row)
        assert [Fraction(v) for v in got] == gold == list(want)


@BACKENDS
@seed(104)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(-4, 20), st.integers(-4, 20), st.integers(-3, 3)),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_input_quantization_equals_fixed_quantize(backend, kifs, data):
    ops, shifts = [], []
    for j, (k, i, f, s) in enumerate(kifs):
        i = min(i, 60 - k - f)
        if k + i + f < 0:
            i = -k - f
        ops.append(Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(k, i, f)))
        shifts.append(s)
    prog = Program(len(ops), len(ops), ops, inp_shifts=shifts)
    X = _as_array(data.draw(inputs_for(prog, n_samples=(1, 10))), prog)
    ours = run(prog, X, backend=backend)
    for j, op in enumerate(ops):
        k, i, f = op.qint.kif
        s = shifts[j]
        want = quantize(X[:, j], k, i - s, f + s) * 2.0**s
        assert np.array_equal(ours[:, j], want)


def test_call_shapes_and_errors():
    ops = [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 2)), Op(Opcode.INPUT, 1, -1, 0, QInt.of_kif(0, 2, 0))]
    p = Program(2, 2, ops)
    assert p([1.3, 2.7]).tolist() == [1.25, 2.0]
    assert p(np.zeros((0, 2))).shape == (0, 2)
    assert p(np.array([[1, 5]])).tolist() == [[1.0, 1.0]]  # integer input, 5 wraps to 1
    with pytest.raises(ValueError, match='shape'):
        p(np.zeros((3, 3)))
    with pytest.raises(ValueError, match='finite'):
        p([np.nan, 0.0])


def test_too_wide_for_int64_names_the_op():
    ops = [
        Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 40, 0)),
        Op(Opcode.INPUT, 1, -1, 0, QInt.of_kif(1, 40, 0)),
    ]
    ops.append(Op(Opcode.MUL, 0, 1, 0, QInt(-(1 << 80) + (1 << 40), 1 << 80, 0)))
    p = Program(2, 1, ops, out_idxs=[2])
    with pytest.raises(ProgramError, match=r'op 2 \(MUL\).*82-bit'):
        p(np.zeros((1, 2)))
    with pytest.raises(ProgramError, match='int64'):
        p(np.zeros((1, 2)))


def test_mux_msb_of_unsigned_and_signed_keys():
    """The select bit is the key's top bit: sign when signed, x >= 2**(i-1) when unsigned."""
    ops = [
        Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(0, 3, 0)),  # unsigned key 0..7: msb set from 4
        Op(Opcode.INPUT, 1, -1, 0, QInt.of_kif(1, 2, 0)),  # signed key -4..3
        Op(Opcode.CONST, -1, -1, 1, QInt(1, 1, 0)),
        Op(Opcode.CONST, -1, -1, 2, QInt(2, 2, 0)),
    ]
    ops.append(Op(Opcode.MUX, 2, 3, 0, QInt(1, 2, 0)))  # key 0
    ops.append(Op(Opcode.MUX_NEG, 2, 3, (1 << 32) | 1, QInt(-4, 1, 0)))  # key 1, -(2 << 1)
    p = Program(2, 2, ops, out_idxs=[4, 5])
    X = np.array([[v, v - 4] for v in range(8)], dtype=float)
    for backend in ('numba', 'numpy'):
        out = run(p, X, backend=backend)
        assert out[:, 0].tolist() == [2, 2, 2, 2, 1, 1, 1, 1]
        assert out[:, 1].tolist() == [1, 1, 1, 1, -4, -4, -4, -4]


def test_auto_backend_picks_numpy_for_small_batches_only():
    import sys

    ops = [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 2))]
    p = Program(1, 1, ops)
    assert run(p, np.ones((4, 1)), backend='auto').tolist() == [[1.0]] * 4
    big = np.ones((100_000, 1))
    assert np.array_equal(run(p, big), run(p, big, backend='numpy'))
    assert 'da4ml_core.interp.kernels' in sys.modules
    with pytest.raises(ValueError, match='backend'):
        run(p, big, backend='cuda')
