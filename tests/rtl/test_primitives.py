"""Property tests: the shift_add and negate templates equal verif.golden, bit for bit.

Each Hypothesis example picks widths, signedness, shift and output width, builds the
primitive (cached by content hash, so reruns and shrinks reuse the build) and drives random
plus extreme operands (min, max, 0, -1, every combination) through the per-cycle testbench.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verif import golden
from verif.drive import run_bulk, run_per_cycle
from verif.vectors import Field
from verif.wrappers import primitive_design

pytestmark = pytest.mark.rtl

N_RANDOM = 200


def rtl_max_examples() -> int:
    """A fifth of the active profile's examples (at least 5): every example is a new build."""
    return max(5, settings().max_examples // 5)


rtl_settings = settings(
    max_examples=rtl_max_examples(), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def operand_rows(fields: list[Field], seed: int, n_random: int = N_RANDOM) -> np.ndarray:
    """Every combination of each field's extremes, then ``n_random`` uniform rows."""
    rng = np.random.default_rng(seed)
    corners = list(itertools.product(*(f.extremes() for f in fields)))
    rand = [[int(rng.integers(f.lo, f.hi, endpoint=True)) for f in fields] for _ in range(n_random)]
    return np.array(corners + rand, dtype=np.int64)


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


@rtl_settings
@given(params=shift_add_params(), seed=st.integers(0, 2**32 - 1))
def test_shift_add(simulator, tmp_path_factory, params, seed):
    design = primitive_design('shift_add', params, tmp_path_factory.mktemp('shift_add'))
    rows = operand_rows(design.in_bus.fields, seed)
    outcome = run_per_cycle(design, rows, golden_shift_add(params, rows), simulator)
    assert outcome.mismatches == 0


@rtl_settings
@given(params=negate_params(), seed=st.integers(0, 2**32 - 1))
def test_negate(simulator, tmp_path_factory, params, seed):
    design = primitive_design('negate', params, tmp_path_factory.mktemp('negate'))
    rows = operand_rows(design.in_bus.fields, seed)
    outcome = run_per_cycle(design, rows, golden_negate(params, rows), simulator)
    assert outcome.mismatches == 0


BULK_PARAMS = {'WA': 17, 'SA': 1, 'WB': 13, 'SB': 0, 'S': -5, 'SUB': 1, 'WO': 20, 'SO': 1}  # truncating
N_BULK = 100_000


def test_shift_add_bulk(simulator, tmp_path):
    design = primitive_design('shift_add', BULK_PARAMS, tmp_path)
    rows = operand_rows(design.in_bus.fields, seed=20240601, n_random=N_BULK)
    expected = golden_shift_add(BULK_PARAMS, rows)
    outcome = run_bulk(design, rows, simulator, expected=expected)
    assert outcome.n_vectors == len(rows) >= N_BULK
    assert outcome.outputs.shape == expected.shape
    bad = np.flatnonzero(np.any(outcome.outputs != expected, axis=1))
    assert bad.size == 0, f'{bad.size} mismatches, first at vector {bad[0]}: inputs {rows[bad[0]]} ' \
        f'expected {expected[bad[0]]} got {outcome.outputs[bad[0]]}'


WIDE_PARAMS = {'WA': 40, 'SA': 0, 'WB': 39, 'SB': 1, 'S': 11, 'SUB': 0, 'WO': 52, 'SO': 1}  # 79-bit input bus


def test_shift_add_bulk_wide_bus(simulator, tmp_path):
    """Input words wider than 64 bits through $readmemh, per-cycle and bulk paths agreeing."""
    design = primitive_design('shift_add', WIDE_PARAMS, tmp_path)
    assert design.in_bus.width > 64
    rows = operand_rows(design.in_bus.fields, seed=99, n_random=3000)
    expected = golden_shift_add(WIDE_PARAMS, rows)
    bulk = run_bulk(design, rows, simulator, expected=expected)
    assert bulk.mismatches == 0
    per_cycle = run_per_cycle(design, rows[:500], expected[:500], simulator)
    assert np.array_equal(per_cycle.outputs, bulk.outputs[:500])
