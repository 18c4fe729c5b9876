"""DAIS binaries shared with da4ml 0.6.0, both ways.

Ours run in da4ml's C++ interpreter; programs that da4ml traces or solves load here, pass our
validation, evaluate identically and write back to the same words. da4ml is a test dependency:
an import failure is a test failure, not a skip.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from da4ml_core.interp import run
from da4ml_core.ir import Opcode, Program, ProgramError
from verif.oracle import golden
from support.strategies import inputs_for, programs


def _their_run(words, X, threads=1):
    from da4ml._binary import dais_interp_run

    return dais_interp_run(np.asarray(words, dtype=np.int32), np.asarray(X, dtype=np.float64), threads)


@seed(200)
@given(programs(dais_safe=True, n_ops=(1, 30)), st.data())
def test_our_binaries_run_identically_in_da4ml(prog, data):
    X = np.asarray(data.draw(inputs_for(prog, extreme=False)), dtype=np.float64).reshape(-1, prog.n_in)
    theirs = _their_run(prog.to_binary(), X).reshape(X.shape[0], prog.n_out)
    assert np.array_equal(run(prog, X, backend='numba'), theirs)
    assert np.array_equal(run(prog, X, backend='numpy'), theirs)


def _check_their_binary(words, n_in, seed_=0, scale=10.0, strict=True) -> Program:
    """Load a da4ml binary, check the round trip and evaluate it against da4ml's interpreter.

    ``strict=False``: a later CMVM stage may size adders for the previous stage's output range,
    narrower than its input precision (the format cannot carry ranges); then only an adder
    overflow may be reported, and the program still runs identically."""
    try:
        prog = Program.from_binary(words)  # full validation
    except ProgramError as err:
        if strict:
            raise
        assert 'overflow' in str(err) and prog_opcode(words, err.op_index) in (Opcode.ADD, Opcode.SUB), err
        prog = Program.from_binary(words, validate=False).validate(bounds=False)
    assert np.array_equal(prog.to_binary(), np.asarray(words, dtype=np.int32))
    X = np.random.default_rng(seed_).uniform(-scale, scale, (2000, n_in))
    X[: 2 * n_in] = np.round(X[: 2 * n_in] * 4) / 4  # some on-grid values too
    theirs = _their_run(words, X).reshape(X.shape[0], prog.n_out)
    assert np.array_equal(run(prog, X, backend='numba'), theirs)
    assert np.array_equal(run(prog, X, n_threads=2, backend='numba'), theirs)
    assert np.array_equal(run(prog, X, backend='numpy'), theirs)
    return prog


def test_da4ml_traced_program_runs_identically():
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize, relu

    x = FixedVariableArrayInput((4,))
    xq = x.quantize(1, 3, 2)
    W = np.array([[1.5, -0.25], [2, 3], [0.75, -1], [1, 1]])
    y = xq @ W
    z = relu(y, i=np.array([3, 3]), f=np.array([1, 1]))
    w = quantize(y, 1, 2, 0)
    mx, mn, ab = y[0].max_of(y[1]), y[0].min_of(xq[2]), abs(y[1] - xq[0])
    prod, shifted = xq[0] * xq[1], y[0] + 0.375
    tanh = xq.apply(np.tanh).quantize(1, 1, 3)
    out = np.array([z[0], z[1], w[0], mx, mn, ab, prod, shifted, *tanh._vars], dtype=object)
    comb = comb_trace(x, out)
    prog = _check_their_binary(comb.to_binary(), 4)
    used = {op.opcode for op in prog.ops}
    assert {
        Opcode.ADD,
        Opcode.SUB,
        Opcode.RELU,
        Opcode.QUANTIZE,
        Opcode.CONST_ADD,
        Opcode.MUX,
        Opcode.MUX_NEG,
        Opcode.MUL,
        Opcode.LOOKUP,
    } <= used
    # and da4ml's own Python evaluation agrees on a few samples
    X = np.random.default_rng(3).uniform(-10, 10, (20, 4))
    assert np.array_equal(prog(X), np.array([comb(row, quantize=True) for row in X], dtype=np.float64))


def prog_opcode(words, i):
    return Program.from_binary(words, validate=False).ops[i].opcode


def _exact_stage(X, prog: Program, kernel) -> np.ndarray:
    """What a CMVM stage must give: inputs read as the program says (x * 2**shift, then TRN and
    WRAP to the input precision), scaled back, times the stage's kernel, in exact rationals."""
    cols = []
    for j in range(prog.n_in):
        op = next(o for o in prog.ops if o.opcode == Opcode.INPUT and o.id0 == j)
        k, i, f = op.qint.kif
        s = prog.inp_shifts[j]
        raw = golden.quantize(X[:, j] * 2.0**s, k, i, f, 'TRN', 'WRAP')
        cols.append(golden.raw_to_fraction(raw, f) / Fraction(2) ** s)
    xv = np.stack(cols, axis=1)
    return xv.dot(np.vectorize(Fraction, otypes=[object])(np.asarray(kernel, dtype=np.float64)))


@seed(201)
@settings(max_examples=8)
@given(
    st.integers(2, 10),
    st.integers(1, 8),
    st.integers(0, 2**32 - 1),
    st.tuples(st.integers(0, 1), st.integers(1, 5), st.integers(0, 4)),
)
def test_da4ml_cmvm_solutions_run_identically_and_compute_their_kernel(n_in, n_out, s, kif):
    """Each stage of a da4ml CMVM solution: same outputs as da4ml's interpreter, and exactly
    (quantized input) @ (the stage's kernel). Stages are checked one by one: da4ml's next-stage
    input precision does not include the previous stage's output shift, so chaining them through
    any DAIS interpreter wraps (in hardware the shift is only wiring). Later stages, and stages
    with unsigned inputs, are loaded without the bound check: da4ml 0.6.0 sizes their adders for
    ranges the binary cannot express, and for some adders records the mirror image of the true
    range (e.g. declares [0, 127.75] for values in [-43.75, 0]); only adder overflows may show."""
    from da4ml.cmvm import solve

    rng = np.random.default_rng(s)
    W = (rng.integers(-16, 16, (n_in, n_out)) / 8).astype(np.float32)
    k, i, f = kif
    lo, hi, step = -k * 2.0**i, 2.0**i - 2.0**-f, 2.0**-f
    pipe = solve(W, qintervals=[(lo, hi, step)] * n_in, adder_size=1, carry_size=-1)
    assert np.array_equal(pipe.kernel, W)
    for n, stage in enumerate(pipe.solutions):
        prog = _check_their_binary(
            stage.to_binary(), stage.shape[0], seed_=s % 1000, strict=n == 0 and k == 1
        )
        bound = max(float(max(abs(q.min), abs(q.max))) for q in prog.inp_qints if q is not None)
        X = rng.uniform(-1.5 * bound - 1, 1.5 * bound + 1, (200, prog.n_in))
        want = _exact_stage(X, prog, stage.kernel)
        assert all(Fraction(v) == w for v, w in zip(prog(X).ravel(), want.ravel()))


def test_cost_matches_da4ml_on_cmvm_adders():
    """Same adder cost unit: at most a bit apart, where da4ml's recorded interval is looser."""
    from da4ml.cmvm import solve

    rng = np.random.default_rng(0)
    W = (rng.integers(-8, 8, (16, 8)) / 4).astype(np.float32)
    stage = solve(W, qintervals=[(-8.0, 7.75, 0.25)] * 16, adder_size=1, carry_size=-1).solutions[0]
    prog = Program.from_binary(stage.to_binary())
    adders = [j for j, op in enumerate(prog.ops) if op.opcode in (Opcode.ADD, Opcode.SUB)]
    diffs = [prog.ops[j].cost - stage.ops[j].cost for j in adders]
    assert sum(d == 0 for d in diffs) >= 0.95 * len(adders)
    assert max(abs(d) for d in diffs) <= 1
    assert abs(prog.cost - stage.cost) <= 0.01 * stage.cost
    assert prog.latency_range == tuple(stage.latency)
