"""The IR: intervals, cost model, validation, serialization round trips, passes, text dump."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, seed
from hypothesis import strategies as st

from da4ml_core.fixed import minimal_kif
from da4ml_core.ir import Op, Opcode, Program, ProgramError, QInt, adder_bits, pack_lookup, pack_mux
from da4ml_core.ir.cost import absorbed, const_adder_bits, negation_bits, op_cost, table_luts, used_bits
from da4ml_core.ir.ranges import LinearRanges
from verif.oracle.reference import evaluate, evaluate_all
from support.strategies import inputs_for, programs

def inp(j, k, i, f):
    return Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(k, i, f))


def small_program() -> Program:
    ops = [
        inp(0, 1, 3, 2),  # [-8, 7.75]
        inp(1, 1, 3, 2),
        Op(Opcode.ADD, 0, 1, 1, QInt(-96, 93, 2)),  # x0 + 2 x1: [-24, 23.25]
        Op(Opcode.RELU, 2, -1, 0, QInt(0, 15, 0)),
        Op(Opcode.QUANTIZE_NEG, 2, -1, 0, QInt.of_kif(1, 2, 1)),
        Op(Opcode.CONST, -1, -1, 3, QInt(3, 3, 2)),
        Op(Opcode.MUX, 1, 5, pack_mux(0, 0), QInt(-32, 31, 2)),
    ]
    return Program(
        2, 4, ops, out_idxs=[2, 3, 4, 6], out_shifts=[0, 1, -1, 0], out_negs=[False, True, False, False]
    )


# ------------------------------------------------------------------------------ intervals


@seed(1)
@given(st.integers(-1000, 1000), st.integers(0, 1000), st.integers(-6, 6))
def test_qint_kif_matches_fixed_minimal_kif(lo, span, f):
    q = QInt(lo, lo + span, f)
    assert tuple(q.kif) == tuple(minimal_kif(q.min, q.max, q.step))
    assert QInt.from_interval(q.interval) == q


@seed(2)
@given(st.integers(0, 1), st.integers(-4, 8), st.integers(-4, 8))
def test_full_range_of_kif(k, i, f):
    assume(k + i + f >= 0)
    q = QInt.of_kif(k, i, f)
    if k + i + f:
        assert tuple(q.kif) == (k, i, f)
    assert q.width == max(k + i + f, 0)


def test_interval_views_are_exact():
    q = QInt(-5, 7, 3)
    assert q.interval == (Fraction(-5, 8), Fraction(7, 8), Fraction(1, 8))
    assert str(q) == '[-0.625, 0.875] step 2^-3'
    assert QInt(4, 4, -2).min == 16


# ------------------------------------------------------------------------------ cost model


def test_adder_cost_formula():
    # [-8, 7.75] step 1/4 plus ([-8, 7.75] << 1): f = 1 (coarser), i = 4 (16), k = 1
    a = QInt.of_kif(1, 3, 2)
    assert adder_bits(a, a, 1) == 6
    # unsigned operands: no sign bit; the upper bound counts one step above the max
    assert adder_bits(QInt(0, 7, 0), QInt(0, 7, 0)) == 3
    assert adder_bits(QInt(0, 8, 0), QInt(0, 7, 0)) == 4
    # bits below the coarser step are wires
    assert adder_bits(QInt(0, 3, 0), QInt(0, 255, 8)) == 2


def test_const_adder_cost_counts_the_ones_of_the_constant():
    a = QInt.of_kif(1, 7, 0)  # 8-bit signed integer
    out = lambda c: QInt(a.lo + c, a.hi + c, 0)  # noqa: E731
    # 6 = 0b110: the chain starts at bit 1, inverters at bits 1 and 2; the rest are wires into it
    assert const_adder_bits(a, out(6), 6) == (2, out(6).width - 1)
    # -2 = ...11110: ones at bits 1..7 of a; the bit above a (sign extension) needs none
    assert const_adder_bits(a, out(-2), -2) == (7, out(-2).width - 1)
    assert const_adder_bits(a, out(0), 0) == (0, 0)
    # a coarser than the constant: the constant's low bits are output constants, not chain bits
    coarse = QInt.of_kif(1, 7, -2)  # steps of 4
    o = QInt(coarse.lo * 4 + 3, coarse.hi * 4 + 3, 0)
    assert const_adder_bits(coarse, o, 3) == (0, 0)
    assert const_adder_bits(coarse, QInt(o.lo + 1, o.hi + 1, 0), 4 + 3) == (1, QInt(o.lo + 1, o.hi + 1, 0).width - 2)


def test_negation_cost():
    assert negation_bits(QInt.of_kif(1, 3, 0)) == (4, 5)  # -(-8) = 8 needs a fifth bit, no fifth inverter
    assert negation_bits(QInt.of_kif(0, 4, 0)) == (4, 5)


def test_table_cost_counts_distinct_nontrivial_bit_functions():
    key = QInt.of_kif(0, 3, 0)  # 3-bit keys 0..7
    assert table_luts([0] * 8, key, 0, 4) == 0  # constant
    assert table_luts(list(range(8)), key, 0, 3) == 0  # identity: every bit is a key bit (a wire)
    assert table_luts([r ^ 1 for r in range(8)], key, 0, 1) == 1  # an inverted key bit is a LUT
    assert table_luts([3 * int(r in (1, 2, 4, 7)) for r in range(8)], key, 0, 2) == 1  # two equal bits share one
    wide = QInt.of_kif(0, 7, 0)  # 7 inputs: two LUT6 cofactors and a MUXF7
    parity = [bin(r).count('1') & 1 for r in range(128)]
    assert table_luts(parity, wide, 0, 1) == 2
    assert table_luts([p if r < 64 else 0 for r, p in enumerate(parity)], wide, 0, 1) == 1
    nine = QInt.of_kif(0, 9, 0)  # 9 inputs: four LUT6s, two MUXF7, one MUXF8, then one LUT3 mux
    assert table_luts([bin(r).count('1') & 1 for r in range(512)], nine, 0, 1) == 2 + 1
    # 8 inputs: a LUT8, one LUT6 per non-constant cofactor of the top two key bits, cofactors
    # not shared between output bits (what synth_xilinx builds); equal whole functions are shared
    eight = QInt.of_kif(0, 8, 0)
    low = [bin(r & 63).count('1') & 1 for r in range(256)]  # parity of the low 6 bits
    gated = [p if r >> 6 == 0 else 0 for r, p in enumerate(low)]  # parity below 64, else 0
    assert table_luts(gated, eight, 0, 1) == 1
    assert table_luts([p * 3 for p in gated], eight, 0, 2) == 1  # two equal bits
    mixed = [p if r >> 6 in (0, 3) else 1 - p for r, p in enumerate(low)]  # parity or its complement
    assert table_luts(mixed, eight, 0, 1) == 4
    assert table_luts([m | (g << 1) for m, g in zip(mixed, gated)], eight, 0, 2) == 4 + 1
    # 10 inputs: the top 4 bits select one of few low-bit functions (a saturating table):
    # parity below 64, its complement from 64 to 127, constant 1 elsewhere: 2 code LUTs on the
    # top bits, then the two low-bit functions (MUXF7 / MUXF8 join them)
    ten = QInt.of_kif(0, 10, 0)
    sat = [low[r & 255] if r < 64 else 1 - low[r & 255] if r < 128 else 1 for r in range(1024)]
    assert table_luts(sat, ten, 0, 1) == 2 + 2
    # keys the input cannot take read as 0: a signed key
    assert table_luts([1, 1, 1, 1], QInt(-2, 1, 0), -2, 1) == 0  # all 4 patterns reachable: constant
    assert table_luts([1] * 5, QInt(-3, 1, 0), -3, 1) == 1  # 3-bit key, 5 of 8 patterns reachable


def test_used_bits_follow_truncation_wrapping_and_mux_keys():
    x = QInt.of_kif(1, 5, 2)  # 8 bits, step 1/4
    r = QInt.of_kif(0, 5, 2)  # relu: 7 bits
    q = QInt.of_kif(0, 3, 0)  # then keep integer bits 0..2 only: relu bits 2, 3, 4
    s = QInt(2 * x.lo, 2 * x.hi, 2)  # x + x: 9 bits
    w = QInt.of_kif(1, 3, 2)  # wrapped to 6 bits: the adder's top bits are never read
    ops = [Op(Opcode.INPUT, 0, -1, 0, x), Op(Opcode.RELU, 0, -1, 0, r), Op(Opcode.QUANTIZE, 1, -1, 0, q),
           Op(Opcode.ADD, 0, 0, 0, s), Op(Opcode.QUANTIZE, 3, -1, 0, w),
           Op(Opcode.MUX, 2, 4, pack_mux(3, 0), QInt(-32, 31, 2))]
    used = used_bits(ops, [2, 4, 5])
    assert used[1] == 0b0011100  # relu bits 2..4 (the QUANTIZE) ...
    assert used[0] == 0b11111111  # x: every bit (the adder's carry), and its sign for the relu
    assert used[3] == 0b100111111  # the adder: its low 6 bits (wrapped) and its top bit (MUX key)
    relu_cost = op_cost(ops[1], [op.qint for op in ops], used=used[1])[0]
    assert relu_cost == 3 and op_cost(ops[1], [op.qint for op in ops])[0] == r.width


def test_a_mux_into_a_mux_against_constants_is_absorbed():
    """Saturation: clamp high, then low; per bit one LUT3 (two keys, one data bit) in all."""
    x = QInt.of_kif(1, 5, 0)
    ops = [Op(Opcode.INPUT, 0, -1, 0, x), Op(Opcode.CONST, -1, -1, 7, QInt(7, 7, 0)),
           Op(Opcode.CONST, -1, -1, -8, QInt(-8, -8, 0)), Op(Opcode.CONST_ADD, 0, -1, -8, QInt(x.lo - 8, x.hi - 8, 0)),
           Op(Opcode.MUX, 0, 1, pack_mux(3, 0), QInt(-32, 7, 0)),
           Op(Opcode.CONST_ADD, 0, -1, 8, QInt(x.lo + 8, x.hi + 8, 0)),
           Op(Opcode.MUX, 2, 4, pack_mux(5, 0), QInt(-8, 7, 0))]
    assert absorbed(ops, [6]) == [False] * 4 + [True, False, False]
    assert absorbed(ops, [6, 4]) == [False] * 7  # an output is built on its own
    keyed = [*ops[:6], Op(Opcode.MUX, 2, 0, pack_mux(4, 0), QInt(-32, 31, 0))]
    assert absorbed(keyed, [6])[4] is False  # read as a key: its top bit only, not foldable bit by bit


def test_program_cost_latency_adders():
    p = small_program()
    assert p.n_adders == 1
    assert p.ops[2].cost == 6 and p.ops[2].latency == 1
    assert p.latency == 2  # QUANTIZE_NEG is a negation adder after the ADD
    assert p.cost == sum(op.cost for op in p.ops)
    wide = p.replace(adder_size=4, carry_size=2)
    assert wide.ops[2].cost == 2 and wide.ops[2].latency == 3
    s = p.summary()
    assert s['n_ops'] == 7 and s['ops']['INPUT'] == 2 and s['reg_bits'] == p.reg_bits > 0


# ------------------------------------------------------------------------------ validation


def _corrupt(prog: Program, i: int, **changes) -> Program:
    ops = list(prog.ops)
    ops[i] = ops[i].with_(**changes)
    return Program(
        prog.n_in,
        prog.n_out,
        ops,
        prog.inp_shifts,
        prog.out_idxs,
        prog.out_shifts,
        prog.out_negs,
        prog.tables,
        validate=False,
    )


def _expect_error(prog: Program, i: int, fragment: str):
    with pytest.raises(ProgramError) as info:
        prog.validate()
    assert info.value.op_index == i
    assert f'op {i} (' in str(info.value)
    assert fragment in str(info.value)


@seed(10)
@given(programs(n_ops=(2, 16)), st.data())
def test_validate_catches_non_causal_operand(prog, data):
    eligible = [i for i, op in enumerate(prog.ops) if op.operands]
    assume(eligible)
    i = data.draw(st.sampled_from(eligible))
    bad = data.draw(st.integers(i, len(prog.ops) + 3))
    op = prog.ops[i]
    if abs(op.opcode) == Opcode.MUX and data.draw(st.booleans()):
        p = _corrupt(prog, i, data=pack_mux(bad, op.shift))
    else:
        p = _corrupt(prog, i, id0=bad)
    _expect_error(p, i, 'non-causal operand')


@seed(11)
@given(
    programs(n_ops=(2, 16), opcodes=(Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD, Opcode.MUL, Opcode.QUANTIZE)),
    st.data(),
)
def test_validate_catches_overflowing_interval(prog, data):
    eligible = [
        i
        for i, op in enumerate(prog.ops)
        if op.opcode in (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD, Opcode.MUL)
    ]
    assume(eligible)
    i = data.draw(st.sampled_from(eligible))
    q = LinearRanges(prog.ops).range(i) if prog.ops[i].opcode != Opcode.MUL else prog.ops[i].qint
    if data.draw(st.booleans()):
        p = _corrupt(prog, i, qint=QInt(min(q.lo, q.hi - 1), q.hi - 1, q.f))
    else:
        p = _corrupt(prog, i, qint=QInt(q.lo + 1, max(q.hi, q.lo + 1), q.f))
    _expect_error(p, i, 'overflow')


@seed(12)
@given(programs(n_ops=(1, 12)), st.data())
def test_validate_catches_unknown_opcode(prog, data):
    i = data.draw(st.integers(0, len(prog.ops) - 1))
    code = data.draw(st.sampled_from([11, 42, -4, -100, 9, 10]))
    p = _corrupt(prog, i, opcode=code)
    _expect_error(p, i, 'opcode')


@seed(13)
@given(programs(n_ops=(2, 16), opcodes=(Opcode.LOOKUP, Opcode.QUANTIZE)), st.data())
def test_validate_catches_bad_table_index(prog, data):
    eligible = [i for i, op in enumerate(prog.ops) if op.opcode == Opcode.LOOKUP]
    assume(eligible)
    i = data.draw(st.sampled_from(eligible))
    op = prog.ops[i]
    if data.draw(st.booleans()):
        p = _corrupt(prog, i, data=pack_lookup(len(prog.tables) + data.draw(st.integers(0, 3)), op.base))
        _expect_error(p, i, 'table index')
    else:  # move the base so the key reads past either end of the table
        shift = data.draw(
            st.sampled_from([prog.ops[op.id0].qint.lo + 1 - op.base, -len(prog.tables[op.table])])
        )
        p = _corrupt(prog, i, data=pack_lookup(op.table, op.base + shift))
        _expect_error(p, i, 'leaves table')


@pytest.mark.parametrize(
    'i, changes, fragment',
    [
        (2, dict(qint=QInt(-192, 186, 3)), 'differs from the operands'),  # ADD on a finer grid than it makes
        (3, dict(qint=QInt(0, 127, 3)), 'finer than the operand'),  # RELU cannot refine
        (0, dict(qint=QInt(-8, 6, 0)), 'full range'),  # input narrower than its precision
        (0, dict(id0=5), 'reads input 5'),
        (5, dict(qint=QInt(2, 3, 2)), 'constant raw'),
        (3, dict(id1=1), 'must be -1'),
    ],
)
def test_validate_specific_faults(i, changes, fragment):
    _expect_error(_corrupt(small_program(), i, **changes), i, fragment)


def test_validate_program_level_faults():
    p = small_program()
    with pytest.raises(ProgramError, match='reads op 99'):
        p.replace(out_idxs=[2, 3, 4, 99])
    with pytest.raises(ProgramError, match='inp_shifts has 1 entries'):
        p.replace(inp_shifts=[0])


def test_linear_ranges_see_through_shared_terms():
    # (a + b) - (a - c) = b + c: op-by-op intervals give [-3, 1], the exact range is [-2, 0]
    a, b, c = (inp(j, 1, 0, 0) for j in range(3))  # each in [-1, 0]
    ops = [
        a,
        b,
        c,
        Op(Opcode.ADD, 0, 1, 0, QInt(-2, 0, 0)),
        Op(Opcode.SUB, 0, 2, 0, QInt(-1, 1, 0)),
        Op(Opcode.SUB, 3, 4, 0, QInt(-2, 0, 0)),
    ]
    p = Program(3, 1, ops, out_idxs=[5])  # op 5 declares b + c's exact range; accepted
    assert LinearRanges(p.ops).range(5) == QInt(-2, 0, 0)
    X = np.array([[0, -1, -1], [-1, 0, 0], [-1, -1, -1]], dtype=float)
    assert p(X).ravel().tolist() == [-2, 0, -2]


@seed(14)
@given(programs(n_ops=(1, 20)), st.data())
def test_every_value_lies_in_its_declared_interval(prog, data):
    """Soundness of the interval rules, checked against exact reference values."""
    X = data.draw(inputs_for(prog, n_samples=(1, 4)))
    for row in X:
        vals = evaluate_all(prog, row)
        for i, (v, op) in enumerate(zip(vals, prog.ops)):
            q = op.qint
            assert q.min <= v <= q.max and (v / q.step).denominator == 1, (i, v, q)


# ------------------------------------------------------------------------------ serialization


@seed(20)
@given(programs())
def test_json_round_trip_is_identity_and_byte_stable(prog):
    text = prog.to_json()
    back = Program.from_json(text)
    assert back == prog
    assert back.to_json() == text
    assert json.loads(text)['n_in'] == prog.n_in


@seed(21)
@given(programs())
def test_binary_round_trips(prog):
    words = prog.to_binary()
    assert words.dtype == np.int32
    back = Program.from_binary(words)
    assert np.array_equal(back.to_binary(), words)  # binary -> Program -> binary: identity
    assert [(o.opcode, o.id0, o.id1, o.data, o.kif) for o in back.ops] == [
        (o.opcode, o.id0, o.id1, o.data, o.kif) for o in prog.ops
    ]
    assert Program.from_binary(words.tobytes()) == back
    for a, b in zip(back.ops, prog.ops):  # intervals: re-derived, never looser than the precision
        assert QInt.of_kif(*b.kif).contains(a.qint)


@seed(22)
@given(programs(opcodes=(Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD, Opcode.QUANTIZE, Opcode.RELU, Opcode.MUL)))
def test_binary_round_trip_keeps_exact_intervals(prog):
    """Programs with op-by-op exact intervals come back unchanged, intervals included."""
    assert Program.from_binary(prog.to_binary()) == prog


def test_binary_layout():
    p = small_program()
    w = p.to_binary(version=7)
    assert w[:6].tolist() == [1, 7, 2, 4, 7, 0]
    body = w[6 + 2 + 3 * 4 :].reshape(-1, 8)
    mux = body[6]
    assert mux.tolist() == [
        6,
        1,
        5,
        0,
        0,
        1,
        3,
        2,
    ]  # opcode, id0, id1, data_lo (key), data_hi (shift), k, i, f
    assert body[2].tolist() == [0, 0, 1, 1, 0, 1, 5, 2]


@pytest.mark.parametrize(
    'words, fragment',
    [
        ([2, 0, 0, 0, 0, 0], 'spec version 2'),
        ([1, 0, 1, 1, 1], 'too short'),
        ([1, 0, 1, 1, 1, 0, 0, 0, 0, 0], 'header needs'),
    ],
)
def test_malformed_binary(words, fragment):
    with pytest.raises(ProgramError, match=fragment):
        Program.from_binary(np.asarray(words, dtype=np.int32))


# ------------------------------------------------------------------------------ passes and display


@seed(30)
@given(programs(), st.data())
def test_dce_and_dedup_keep_outputs_exact(prog, data):
    X = np.asarray(data.draw(inputs_for(prog, n_samples=(1, 6))), dtype=np.float64)
    want = prog(X)
    for p in (prog.dce(), prog.dedup(), prog.dedup().dce(), prog.dce(keep_inputs=True)):
        assert np.array_equal(p(X), want)
        assert len(p) <= len(prog)
        # the passes keep each op's cost and latency instead of re-running the cost model
        fresh = p.replace(ops=[op.with_(cost=-1.0, latency=-1.0) for op in p.ops])
        assert [(op.cost, op.latency) for op in p.ops] == [(op.cost, op.latency) for op in fresh.ops]
    doubled = prog.replace(ops=prog.ops + tuple(op for op in prog.ops if op.opcode != Opcode.INPUT))
    assert len(doubled.dedup()) == len(prog.dedup())


def test_dce_drops_unused_ops_and_tables():
    ops = [
        inp(0, 0, 2, 0),
        Op(Opcode.LOOKUP, 0, -1, pack_lookup(1, 0), QInt(0, 9, 0)),
        Op(Opcode.LOOKUP, 0, -1, pack_lookup(0, 0), QInt(-3, 0, 0)),
    ]
    p = Program(1, 1, ops, out_idxs=[1], tables=[[0, -1, -2, -3], [9, 8, 7, 6]])
    q = p.dce()
    assert len(q) == 2 and q.tables == ((9, 8, 7, 6),) and q.ops[1].table == 0
    assert q(np.array([[2.0]])).tolist() == [[7.0]]


def test_text_dump():
    text = str(small_program())
    assert text.splitlines()[0].startswith('program 2 -> 4: 7 ops, 1 adders')
    assert '%2 = %0 + (%1 << 1)' in text
    assert 'msb(%0) ? %1 : %5' in text
    assert 'out[1] = -(%3 << 1)' in text
    assert 'fixed<1,5,2>' in text


def test_reference_evaluator_on_hand_checked_program():
    p = small_program()
    out = list(evaluate(p, [[1.3, -2.6]])[0])
    # x0 -> 1.25, x1 -> -2.75; x0 + 2 x1 = -4.25; relu -> 0; -(-4.25) quantized to <1,2,1> wraps 4.0 -> -4
    # mux: msb(x0) is 0, so it picks the constant 0.75
    assert out == [Fraction(-17, 4), 0, Fraction(-2), Fraction(3, 4)]
