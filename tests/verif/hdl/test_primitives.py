"""Property tests: the shift_add and negate templates equal verif.oracle.golden, bit for bit.

Each Hypothesis example picks widths, signedness, shift and output width, builds the
primitive (cached by content hash, so reruns and shrinks reuse the build) and drives random
plus extreme operands (min, max, 0, -1, every combination) through the per-cycle testbench.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.strategies import rtl_settings

from verif import sim
from verif.flows import judge
from verif.hdl.primitives import primitive_design
from verif.hdl.stimulus import stimulus
from verif.oracle import golden

pytestmark = pytest.mark.rtl

N_RANDOM = 200


@st.composite
def shift_add_params(draw) -> dict[str, int]:
    wa, wb = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    s = draw(st.integers(-12, 12))
    exact = max(wa + max(0, -s), wb + max(0, s)) + 2  # enough for any sign mix plus carry
    return {
        'WA': wa, 'SA': draw(st.integers(0, 1)), 'WB': wb, 'SB': draw(st.integers(0, 1)), 'S': s,
        'SUB': draw(st.integers(0, 1)), 'WO': draw(st.integers(1, exact + 2)), 'SO': draw(st.integers(0, 1)),
    }


@st.composite
def negate_params(draw) -> dict[str, int]:
    wa = draw(st.integers(1, 40))
    return {'WA': wa, 'SA': draw(st.integers(0, 1)), 'WO': draw(st.integers(1, wa + 3)),
            'SO': draw(st.integers(0, 1))}


def golden_shift_add(p: dict[str, int], rows: np.ndarray) -> np.ndarray:
    return np.array([[golden.shift_add(int(a), int(b), p['S'], bool(p['SUB']), p['WO'], bool(p['SO']))]
                     for a, b in rows], dtype=np.int64)


def golden_negate(p: dict[str, int], rows: np.ndarray) -> np.ndarray:
    return np.array([[golden.negate(int(a), p['WO'], bool(p['SO']))] for (a,) in rows], dtype=np.int64)


def _per_cycle_equals_golden(kind: str, params: dict, golden_fn, seed: int, simulator: str, workdir) -> None:
    design = primitive_design(kind, params, workdir)
    rows = stimulus(design.in_bus.fields, N_RANDOM, seed)
    expected = golden_fn(params, rows)
    outcome = sim.per_cycle(design, rows, expected, simulator, check=True)
    assert judge.compare(outcome.outputs[0], outcome.unknown[0], expected).count == 0


@rtl_settings
@given(params=shift_add_params(), seed=st.integers(0, 2**32 - 1))
def test_shift_add(simulator, tmp_path_factory, params, seed):
    _per_cycle_equals_golden('shift_add', params, golden_shift_add, seed, simulator, tmp_path_factory.mktemp('sa'))


@rtl_settings
@given(params=negate_params(), seed=st.integers(0, 2**32 - 1))
def test_negate(simulator, tmp_path_factory, params, seed):
    _per_cycle_equals_golden('negate', params, golden_negate, seed, simulator, tmp_path_factory.mktemp('neg'))


BULK_PARAMS = {'WA': 17, 'SA': 1, 'WB': 13, 'SB': 0, 'S': -5, 'SUB': 1, 'WO': 20, 'SO': 1}  # truncating
N_BULK = 100_000


def test_shift_add_bulk(simulator, tmp_path):
    design = primitive_design('shift_add', BULK_PARAMS, tmp_path)
    rows = stimulus(design.in_bus.fields, N_BULK, seed=20240601)
    expected = golden_shift_add(BULK_PARAMS, rows)
    outcome = sim.replay([design], [rows], simulator, tmp_path / 'run')
    assert outcome.n_vectors == len(rows) >= N_BULK
    assert outcome.outputs[0].shape == expected.shape
    found = judge.compare(outcome.outputs[0], outcome.unknown[0], expected)
    bad = found.vectors
    assert found.count == 0, f'{bad.size} mismatches, first at vector {bad[0]}: inputs {rows[bad[0]]} ' \
        f'expected {expected[bad[0]]} got {outcome.outputs[0][bad[0]]}'


WIDE_PARAMS = {'WA': 40, 'SA': 0, 'WB': 39, 'SB': 1, 'S': 11, 'SUB': 0, 'WO': 52, 'SO': 1}  # 79-bit input bus


def test_shift_add_bulk_wide_bus(simulator, tmp_path):
    """Input words wider than 64 bits through $readmemh, per-cycle and bulk paths agreeing."""
    design = primitive_design('shift_add', WIDE_PARAMS, tmp_path)
    assert design.in_bus.width > 64
    rows = stimulus(design.in_bus.fields, 3000, seed=99)
    expected = golden_shift_add(WIDE_PARAMS, rows)
    bulk = sim.replay([design], [rows], simulator, tmp_path / 'run')
    assert judge.compare(bulk.outputs[0], bulk.unknown[0], expected).count == 0
    per_cycle = sim.per_cycle(design, rows[:500], expected[:500], simulator)
    assert np.array_equal(per_cycle.outputs[0], bulk.outputs[0][:500])
