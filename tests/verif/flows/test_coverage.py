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


def test_faults_injected_in_the_reference_by_hand():
    """Row x0 = 3, x1 = 3, x2 = 0: s = 6, r = 6, t = floor(0 + 1/2) = 0, m = x1 = 3 (s >= 0).
    s is 4 bits (k=1, i=3): its msb flipped, 6 becomes -2, so r = 0 and m takes r = 0; t one
    step up is 1; m's select inverted takes r = 6."""
    from verif.oracle.reference import FAULT_KINDS, evaluate_raw, evaluate_raw_faulty

    prog = _program()
    X = np.array([[3, 3, 0.0]] * 4)
    code = FAULT_KINDS.index
    ops, kinds = [-1, 3, 6, 7], [0, code('msb'), code('up'), code('select')]
    got, _ = evaluate_raw_faulty(prog, X, ops, kinds)
    assert got.tolist() == [[6, 0, 3], [0, 0, 0], [6, 1, 3], [6, 0, 6]]
    assert got[:1].tolist() == evaluate_raw(prog, X[:1])[0].tolist()
    with pytest.raises(ValueError, match='fault_ops and fault_kinds'):
        evaluate_raw_faulty(prog, X, [3], [0])


def test_clean_and_faulty_in_one_pass_agree_with_each_alone():
    """Ops outside the faults' forward cone are shared by both results; each result must still
    be the one its own evaluation gives. Bad op indices and kind codes are refused by name."""
    from verif.oracle.reference import FAULT_KINDS, evaluate_raw, evaluate_raw_clean_and_faulty, evaluate_raw_faulty

    prog = _program()
    rng = np.random.default_rng(3)
    X = np.stack([rng.integers(-4, 4, 64), rng.integers(0, 4, 64), rng.integers(-4, 4, 64) / 2], axis=1).astype(float)
    ops = rng.integers(-1, len(prog.ops), 64)
    kinds = rng.integers(0, len(FAULT_KINDS), 64)
    gold, bad, fs = evaluate_raw_clean_and_faulty(prog, X, ops, kinds)
    assert gold.tolist() == evaluate_raw(prog, X)[0].tolist()
    assert bad.tolist() == evaluate_raw_faulty(prog, X, ops, kinds)[0].tolist()
    assert fs == evaluate_raw(prog, X)[1]
    assert (bad != gold).any(), 'some of 64 random faults must show'
    assert (bad[ops == -1] == gold[ops == -1]).all()
    with pytest.raises(ValueError, match='fault_ops must name ops'):
        evaluate_raw_clean_and_faulty(prog, X[:1], [len(prog.ops)], [0])
    with pytest.raises(ValueError, match='fault_kinds must be codes'):
        evaluate_raw_clean_and_faulty(prog, X[:1], [0], [len(FAULT_KINDS)])


def test_an_event_hidden_downstream_is_unobserved_until_a_row_shows_it():
    """s at its max 6 shows through r; s at its min -4 is clamped by the relu and picked by
    the mux, yet flipping its msb (-4 -> 4) makes the relu pass 4 and the mux take x1: shown.
    The tie of x2 (raw 1) shows only through t, always: observed whenever hit."""
    prog = _program()
    c = cov.measure(prog, np.array([[3, 3, 0.5]]))
    assert c.per_kind['adder_max'] == {'hit': 1, 'total': 2, 'reachable': 2, 'reachable_hit': 1, 'observed': 1}
    assert c.per_kind['round_tie']['observed'] == 1 and c.unobserved == ()
    ev = [e for e in cov.events(prog) if e.kind == 'relu_pos']
    # relu_pos hit with s = 1 (x0 = -2, x1 = 3): r = 1 shows one step up or down
    assert cov.observing(prog, ev, np.array([[-2, 3, 0.0]])).tolist() == [True]


def test_the_exact_solve_finds_a_key_value_greedy_moves_miss():
    """38a + 162b + 186c + 454d with a..d in [0, 63]: 4 lies outside every value (all even
    coefficients: only even sums), 8186 is reached only by combining terms."""
    from da4ml_core.ir import QInt as Q
    from verif.flows.directed import _solve_exact

    terms = {0: 38, 1: 162, 2: 186, 3: 454}
    qs = {j: Q(0, 63, 0) for j in terms}
    got = _solve_exact(terms, qs, 0, 8186, 8186)
    assert got is not None and sum(terms[j] * got[j] for j in terms) == 8186
    assert all(0 <= v <= 63 for v in got.values())
    assert _solve_exact(terms, qs, 0, 5, 5) is None


def test_regression_stimulus_puts_every_saturation_key_on_its_edge():
    """The all-negative corner (SAT_SYM, RND_CONV): its clamp keys sit behind a rounding
    quantizer, so they have no linear form; the window walked back through the rounding and the
    exact solve put each key on both values either side of its split (before, the greedy solve
    and the search left 9 of the 20 missed)."""
    import tempfile

    from verif.flows import regress, specs
    from verif.flows.corners import corner_specs
    from verif.flows.ports import bus_to_floats

    spec = next(s for s in corner_specs() if s.name == 'all_negative')
    p = regress.prepare(spec, tempfile.mkdtemp())
    c = cov.measure(specs.compile_program(spec), bus_to_floats(p.meta, p.rows))
    edge = c.per_kind['mux_edge']
    assert (edge['hit'], edge['total']) == (20, 20)
