"""The one stimulus generator: in range, seeded, extremes first, rounding ties exact."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verif.hdl.bus import Field
from verif.hdl.stimulus import MAX_PRODUCT, Tie, n_structured, stimulus

fields_st = st.lists(st.builds(Field, st.integers(1, 40), st.booleans()), min_size=1, max_size=20)


@given(fields_st, st.integers(0, 50), st.integers(0, 2**32 - 1))
def test_rows_are_in_range_and_reproducible(fields, n_random, seed):
    rows = stimulus(fields, n_random, seed)
    assert rows.dtype == np.int64 and rows.shape[1] == len(fields)
    lo, hi = np.array([f.lo for f in fields]), np.array([f.hi for f in fields])
    assert ((rows >= lo) & (rows <= hi)).all()
    assert np.array_equal(rows, stimulus(fields, n_random, seed))
    assert rows[0].tolist() == lo.tolist() and rows[1].tolist() == hi.tolist() and not rows[2].any()
    assert len(rows) >= n_random + 7


def test_small_buses_get_every_combination_of_extremes():
    fields = [Field(4, True), Field(3, False), Field(1, True)]
    rows = {tuple(r) for r in stimulus(fields, 0, 1).tolist()}
    combos = set(itertools.product(*(f.extremes() for f in fields)))
    assert len(combos) <= MAX_PRODUCT and combos <= rows


def test_sweep_reads_every_value_of_every_field():
    fields = [Field(3, True), Field(2, False)]
    rows = stimulus(fields, 0, 3, sweep=True)
    for j, f in enumerate(fields):
        assert set(rows[:, j].tolist()) == set(range(f.lo, f.hi + 1))


@given(st.integers(1, 6), st.integers(1, 8), st.integers(0, 1000))
def test_tie_rows_sit_exactly_half_way(n_in, bits, seed):
    rng = np.random.default_rng(seed)
    weights = tuple(int(w) for w in rng.integers(-40, 40, n_in))
    fields = [Field(10, True)] * n_in
    tie = Tie(((weights, bits),))
    plain = stimulus(fields, 0, seed, max_structured=10**6)
    rows = stimulus(fields, 0, seed, ties=[tie], max_structured=10**6)
    extra = rows[len(plain):]
    assert all(int(np.dot(r, weights)) % 2**bits == 2 ** (bits - 1) for r in extra.tolist())
    if any(w % 2 for w in weights):  # an odd weight can always be solved for
        assert len(extra) == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match='n_random=-1'):
        stimulus([Field(3, True)], -1, 0)
    with pytest.raises(ValueError, match='62 bits'):
        stimulus([Field(63, True)], 1, 0)


def test_many_inputs_stay_small():
    """16 inputs have 4**16 corner combinations: mixed at random, never listed."""
    fields = [Field(8, True)] * 16
    rows = stimulus(fields, 10, 1, n_mixes=100)
    assert len(rows) == 7 + 2 * 16 + 100 + 10
    assert rows.min() == -128 and rows.max() == 127


def test_n_structured_counts_the_rows_before_the_random_ones():
    fields = [Field(5, True), Field(3, False), Field(7, True)]
    k = n_structured(fields, 4, n_mixes=8)
    with_random, without = stimulus(fields, 50, 4, n_mixes=8), stimulus(fields, 0, 4, n_mixes=8)
    assert len(with_random) == k + 50 and k == len(without) > 0
    assert np.array_equal(with_random[:k], without)  # the structured rows do not depend on n_random
