"""Values onto ports and back: bus integers -> floats -> interpreter and exact reference agree,
spec values onto narrower ports, unrepresentable expectations are mismatches."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from support.strategies import programs

from da4ml_core.emit import write_verilog
from verif.flows import judge
from verif.flows.ports import bus_expected, bus_to_floats
from verif.flows.program_oracle import expected_interp, expected_reference
from verif.hdl.design import emitted_design, load_metadata
from verif.hdl.stimulus import stimulus


@given(prog=programs(), seed=st.integers(0, 2**16))
def test_bus_helpers_agree_with_both_models(tmp_path_factory, prog, seed):
    """Bus integers -> floats -> interpreter and reference give the same output integers."""
    out = tmp_path_factory.mktemp('bus')
    write_verilog(prog, out)
    meta = load_metadata(out)
    design = emitted_design(out, meta)
    rows = stimulus(design.in_bus.fields, 20, seed)
    X = bus_to_floats(meta, rows)
    expected = expected_interp(prog, meta, X)
    assert np.array_equal(expected, expected_reference(prog, meta, X))
    assert design.in_bus.width == meta['inp_width'] and design.out_bus.width == meta['out_width']
    design.out_bus.pack(expected)  # every expected value fits its output field
    for j, e in enumerate(meta['inputs']):  # extremes are in the stimulus
        if e['used']:
            col = rows[:, j]
            assert col.min() == design.in_bus.fields[j].lo and col.max() == design.in_bus.fields[j].hi


def test_unrepresentable_expectation_is_a_mismatch():
    meta = {'outputs': [{'used': True, 'width': 3, 'signed': True, 'f': 0, 'k': 1, 'i': 2},
                        {'used': False, 'width': 1, 'signed': False, 'f': 0, 'k': 0, 'i': 1}]}
    exp = bus_expected(meta, [1, 0], [[6, 0], [7, 0], [20, 0], [2, 1]])
    assert exp.tolist() == [[3, 0], [None, 0], [None, 0], [1, None]]
    found = judge.compare([[3, 0], [3, 0], [2, 0], [1, 0]], np.zeros(4, bool), exp)
    assert found.vectors.tolist() == [1, 2, 3]


def test_judge_counts_integers_and_unknown_words():
    """The int64 fast path and the object path agree; an x / z word is always wrong."""
    got = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int64)
    want = np.array([[1, 2], [3, 5], [5, 6]], dtype=np.int64)
    unknown = np.array([False, False, True])
    fast = judge.compare(got, unknown, want)
    slow = judge.compare(got.astype(object), unknown, want.astype(object))
    assert fast.vectors.tolist() == slow.vectors.tolist() == [1, 2]
    assert fast.mask.tolist() == slow.mask.tolist()
    wide = np.array([[2**70]], dtype=object)
    assert judge.compare(wide, [False], np.array([[2**70 + 1]], dtype=object)).count == 1
