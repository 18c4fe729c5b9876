"""The exact reference evaluator: its raw-integer form equals its Fraction form on any program,
wide values (beyond int64) included, and refuses what has no meaning."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.programs import every_opcode_program
from support.strategies import inputs_for, programs

from da4ml_core.ir import Op, Opcode, Program, QInt
from verif.oracle.reference import evaluate, evaluate_raw


def _agree(prog, X) -> None:
    raw, fs = evaluate_raw(prog, X)
    exact = evaluate(prog, X)
    assert raw.shape == exact.shape == (len(X), prog.n_out)
    for (n, j), v in np.ndenumerate(exact):
        assert Fraction(int(raw[n, j])) / Fraction(2) ** fs[j] == v, (n, j)


@given(st.data())
def test_raw_integers_equal_fractions(data):
    prog = data.draw(programs())
    X = data.draw(inputs_for(prog))
    _agree(prog, np.atleast_2d(np.asarray(X, dtype=np.float64)))


@given(st.data())
def test_wide_programs_use_python_integers(data):
    """Values past 62 bits (products of products) take the exact Python-int path."""
    prog = data.draw(programs(max_width=120, n_ops=(4, 16)))
    X = data.draw(inputs_for(prog))
    _agree(prog, np.atleast_2d(np.asarray(X, dtype=np.float64)))


def test_every_opcode_program_and_huge_inputs():
    prog = every_opcode_program()
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.uniform(-40, 40, (200, prog.n_in)), np.full((2, prog.n_in), 1e300)])
    _agree(prog, X)


def test_a_product_past_int64_is_exact():
    a = Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 40, 0))
    sq = Op(Opcode.MUL, 0, 0, 0, QInt(-(2**80), 2**80, 0))
    prog = Program(1, 1, [a, sq], out_idxs=[1])
    raw, fs = evaluate_raw(prog, [[-(2.0**40)], [2.0**40 - 1]])
    assert raw.dtype == object and raw[:, 0].tolist() == [2**80, (2**40 - 1) ** 2] and fs == [0]


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match=r'shape \(n, 2\)'):
        evaluate_raw(every_opcode_program(), np.zeros((3, 5)))
