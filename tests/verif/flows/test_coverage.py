"""Coverage events counted on a program small enough to check by hand, and directed rows that
fill what a stimulus misses (deterministically, within budget)."""

import numpy as np
import pytest

from da4ml_core.ir import Op, Opcode, Program, QInt
from da4ml_core.ir.ops import pack_mux
from verif.flows import coverage as cov
from verif.flows.directed import budget_for, directed_rows


def _program() -> Program:
    """x0 in [-4, 3], x1 in [0, 3] (integers), x2 in [-2, 1.5] step 1/2;
    s = x0 + x1 in [-4, 6]; r = relu(s); t = round(x2) as floor(x2 + 1/2) in [-2, 2];
    m = msb(s) ? r : x1 (s < 0 picks r). Outputs r, t, m."""
    ops = [
        Op(Opcode.INPUT, 0, -1, 0, QInt(-4, 3, 0)),
        Op(Opcode.INPUT, 1, -1, 0, QInt(0, 3, 0)),
        Op(Opcode.INPUT, 2, -1, 0, QInt(-4, 3, 1)),
        Op(Opcode.ADD, 0, 1, 0, QInt(-4, 6, 0)),
        Op(Opcode.RELU, 3, -1, 0, QInt(0, 6, 0)),
        Op(Opcode.CONST_ADD, 2, -1, 1, QInt(-3, 4, 1)),
        Op(Opcode.QUANTIZE, 5, -1, 0, QInt(-2, 2, 0)),
        Op(Opcode.MUX, 4, 1, pack_mux(3, 0), QInt(0, 6, 0)),
    ]
    return Program(3, 3, ops, out_idxs=[4, 6, 7])


def test_events_of_a_hand_checkable_program():
    evs = cov.events(_program())
    assert [(e.kind, e.op, e.target, e.reachable) for e in evs] == [
        ('adder_min', 3, -4, True), ('adder_max', 3, 6, True),
        ('relu_pos', 4, 1, False), ('relu_neg', 4, -1, False), ('relu_edge', 4, -1, False),
        ('adder_min', 5, -3, True), ('adder_max', 5, 4, True),
        ('round_tie', 6, 1, False),  # x2 dropping one bit: a tie is an odd raw x2
        ('mux_a', 7, 1, False), ('mux_b', 7, 0, False),
        ('mux_edge', 7, -1, False), ('mux_edge', 7, 0, False),  # the signed key s either side of its split
    ]


def test_counts_by_hand():
    """Row 1: x0 = -4, x1 = 0, x2 = 0: s = -4 (its min, relu clamps, mux takes a), x2 + 1/2 = 1/2
    (not an extreme, not a tie). Row 2: x0 = 3, x1 = 3, x2 = 1/2: s = 6 (its max, relu passes,
    mux takes b), x2 raw 1 is a tie, x2 + 1/2 = 1 (neither end of [-1.5, 2]). s is never -1 or 0:
    the relu's and the mux's edges are missed."""
    c = cov.measure(_program(), np.array([[-4, 0, 0.0], [3, 3, 0.5]]))
    got = {k: (v['hit'], v['total'], v['reachable'], v['reachable_hit']) for k, v in c.per_kind.items()}
    assert got == {'adder_min': (1, 2, 2, 1), 'adder_max': (1, 2, 2, 1), 'mux_a': (1, 1, 0, 0),
                   'mux_b': (1, 1, 0, 0), 'mux_edge': (0, 2, 0, 0), 'relu_pos': (1, 1, 0, 0),
                   'relu_neg': (1, 1, 0, 0), 'relu_edge': (0, 1, 0, 0), 'round_tie': (1, 1, 0, 0)}
    assert (c.hit, c.total) == (7, 12)
    assert [(e.kind, e.op, e.target) for e in c.missed] == [('relu_edge', 4, -1), ('adder_min', 5, -3),
                                                           ('adder_max', 5, 4), ('mux_edge', 7, -1), ('mux_edge', 7, 0)]
    hit = cov.measure(_program(), np.array([[-1, 0, 0.0], [0, 0, 0.0]]))  # s = -1, then s = 0
    assert (hit.per_kind['relu_edge']['hit'], hit.per_kind['mux_edge']['hit']) == (1, 2)
    # spans reached: s covers all of [-4, 6]; x2 + 1/2 saw raw 1 and 2 of [-3, 4]
    assert c.span == pytest.approx((1.0 + 1 / 7) / 2)


def test_directed_rows_fill_the_misses_deterministically():
    prog = _program()
    meta = {'inputs': [{'width': 3, 'signed': True, 'used': True, 'f': 0},
                       {'width': 2, 'signed': False, 'used': True, 'f': 0},
                       {'width': 3, 'signed': True, 'used': True, 'f': 1}]}
    base = np.array([[-4, 0, 0], [3, 3, 1]])
    rows = directed_rows(prog, meta, base, seed=2)
    assert rows.tolist() == directed_rows(prog, meta, base, seed=2).tolist()
    assert 0 < len(rows) <= budget_for(prog)
    X = np.concatenate([base, rows]) * np.array([1.0, 1.0, 0.5])
    assert cov.measure(prog, X).missed == ()
    assert len(directed_rows(prog, meta, base, budget=0)) == 0
    with pytest.raises(ValueError, match='budget=-1'):
        directed_rows(prog, meta, base, budget=-1)
