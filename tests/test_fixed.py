"""Unit and property tests of da4ml_core.fixed against verif.oracle.golden and hand-worked values."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from da4ml_core.fixed import (
    Interval,
    OverflowMode,
    Precision,
    RoundMode,
    minimal_kif,
    parse_type,
    quantize,
    quantize_raw,
)
from verif.oracle import golden

ROUNDS = [m.value for m in RoundMode]
OVERFLOWS = [m.value for m in OverflowMode]

# x, mode -> value at (k=1, i=3, f=0) before overflow; worked by hand from the ap_fixed manual
HAND_ROUNDING = {
    'TRN': [2, -3, 3, -4, 1, -2],
    'TRN_ZERO': [2, -2, 3, -3, 1, -1],
    'RND': [3, -2, 4, -3, 1, -2],
    'RND_ZERO': [2, -2, 3, -3, 1, -2],
    'RND_MIN_INF': [2, -3, 3, -4, 1, -2],
    'RND_INF': [3, -3, 4, -4, 1, -2],
    'RND_CONV': [2, -2, 4, -4, 1, -2],
}
HAND_X = [2.5, -2.5, 3.5, -3.5, 1.25, -1.75]


@pytest.mark.parametrize('mode', ROUNDS)
def test_rounding_by_hand(mode):
    assert quantize(HAND_X, 1, 3, 0, round_mode=mode, overflow_mode='SAT').tolist() == HAND_ROUNDING[mode]


def test_overflow_by_hand():
    x = [8.0, 9.0, -9.0, -8.0, 100.0, -100.0]
    assert quantize(x, 1, 3, 0, round_mode='TRN', overflow_mode='WRAP').tolist() == [-8, -7, 7, -8, 4, -4]
    assert quantize(x, 1, 3, 0, round_mode='TRN', overflow_mode='SAT').tolist() == [7, 7, -8, -8, 7, -8]
    assert quantize(x, 1, 3, 0, round_mode='TRN', overflow_mode='SAT_SYM').tolist() == [7, 7, -7, -7, 7, -7]
    assert quantize(x, 0, 3, 0, round_mode='TRN', overflow_mode='WRAP').tolist() == [0, 1, 7, 0, 4, 4]
    assert quantize(x, 0, 3, 0, round_mode='TRN', overflow_mode='SAT').tolist() == [7, 7, 0, 0, 7, 0]
    assert quantize(x, 0, 3, 0, round_mode='TRN', overflow_mode='SAT_SYM').tolist() == [7, 7, 0, 0, 7, 0]


def test_round_then_overflow():
    # 7.5 rounds up to 8 first, which then wraps (ap_fixed order), or saturates to 7
    assert quantize(7.5, 1, 3, 0, round_mode='RND', overflow_mode='WRAP') == -8
    assert quantize(7.5, 1, 3, 0, round_mode='RND', overflow_mode='SAT') == 7


def test_negative_i_and_f():
    # (k=0, i=-3, f=7): 0.0859375 = 0.0001011b is representable
    assert quantize(0.0859375, 0, -3, 7) == 0.0859375
    # (k=1, i=5, f=-3): step 8, -24 is representable, -21 floors to -24
    assert quantize(-24.0, 1, 5, -3) == -24.0
    assert quantize(-21.0, 1, 5, -3) == -24.0
    assert quantize(-21.0, 1, 5, -3, round_mode='RND') == -24.0
    assert quantize(-20.0, 1, 5, -3, round_mode='RND') == -16.0


def test_zero_width_is_always_zero():
    x = np.array([-3.0, -0.5, 0.0, 0.25, 7.0])
    for k, i, f in [(0, 0, 0), (0, -3, 3), (1, -1, 0), (1, 2, -3)]:
        for rnd in ROUNDS:
            for ovf in OVERFLOWS:
                assert np.all(quantize(x, k, i, f, round_mode=rnd, overflow_mode=ovf) == 0)


def test_elementwise_precisions_broadcast():
    x = np.array([[0.3, 0.3, 0.3], [-5.7, -5.7, -5.7]])
    f = np.array([0, 2, 4])
    out = quantize(x, 1, 3, f, round_mode='RND', overflow_mode='SAT')
    assert out.shape == (2, 3)
    assert out.tolist() == [[0.0, 0.25, 0.3125], [-6.0, -5.75, -5.6875]]
    k = np.array([[0], [1]])
    assert quantize(-1.0, k, 2, 0, round_mode='TRN', overflow_mode='SAT').tolist() == [[0.0], [-1.0]]


def test_extreme_floats_are_exact():
    tiny = 5e-324
    assert quantize([tiny, -tiny], 1, 3, 4).tolist() == [0.0, -1 / 16]
    assert quantize([1e300, -1e300], 1, 3, 4, round_mode='TRN', overflow_mode='SAT').tolist() == [8 - 1 / 16, -8.0]
    # 2**80 is a multiple of 2**8: wraps to zero
    assert quantize(2.0**80, 1, 7, 0) == 0.0
    assert quantize(2.0**80 + 2.0**40, 1, 61, 0) == 2.0**40  # width 63 keeps bit 40
    assert quantize(3 * 2.0**40, 0, 42, 0) == 3 * 2.0**40


def test_wide_python_int_path_matches_golden():
    rng = np.random.default_rng(7)
    x = rng.normal(size=200) * 2.0 ** rng.integers(-30, 80, size=200)
    for rnd in ROUNDS:
        for ovf in OVERFLOWS:
            raw = quantize_raw(x, 1, 70, 20, round_mode=rnd, overflow_mode=ovf)
            assert raw.dtype == object
            assert raw.tolist() == golden.quantize(x, 1, 70, 20, rnd, ovf).tolist()


def near_grid(f: int):
    """Floats a few bits finer than the grid 2**-f: exact ties, quarter steps, and overflows."""
    return st.builds(
        lambda n, extra: float(n) * 2.0 ** -(f + extra), st.integers(-(2**45), 2**45), st.integers(0, 3)
    )


@given(
    data=st.data(),
    k=st.integers(0, 1),
    i=st.integers(-12, 40),
    f=st.integers(-12, 40),
    rnd=st.sampled_from(ROUNDS),
    ovf=st.sampled_from(OVERFLOWS),
)
def test_quantize_matches_golden(data, k, i, f, rnd, ovf):
    if k + i + f < 0:
        i = -k - f
    anything = st.floats(allow_nan=False, allow_infinity=False, width=64)
    x = data.draw(st.lists(st.one_of(near_grid(f), anything), min_size=1, max_size=40))
    ours = quantize_raw(np.array(x), k, i, f, round_mode=rnd, overflow_mode=ovf)
    assert ours.dtype == (np.int64 if k + i + f <= 62 else object)
    assert ours.tolist() == golden.quantize(x, k, i, f, rnd, ovf).tolist()


@given(
    data=st.data(),
    n=st.integers(1, 30),
    rnd=st.sampled_from(ROUNDS),
    ovf=st.sampled_from(OVERFLOWS),
)
def test_elementwise_quantize_matches_golden(data, n, rnd, ovf):
    ints = st.integers(-8, 20)
    k = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    i = np.array(data.draw(st.lists(ints, min_size=n, max_size=n)))
    f = np.array(data.draw(st.lists(ints, min_size=n, max_size=n)))
    i = np.maximum(i, -k - f)
    x = np.array(data.draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n)))
    assert quantize_raw(x, k, i, f, round_mode=rnd, overflow_mode=ovf).tolist() == golden.quantize(x, k, i, f, rnd, ovf).tolist()


@given(x=st.floats(-1e9, 1e9), k=st.integers(0, 1), i=st.integers(-4, 30), f=st.integers(-4, 20))
def test_quantize_is_idempotent_and_in_range(x, k, i, f):
    i = max(i, -k - f)
    p = Precision.of(k, i, f)
    for ovf in OVERFLOWS:
        once = quantize(x, k, i, f, round_mode='RND_CONV', overflow_mode=ovf)
        assert quantize(once, k, i, f, round_mode='TRN', overflow_mode='WRAP') == once
        assert p.min <= Fraction(float(once)) <= p.max


# ---------------------------------------------------------------- precisions and intervals


def test_precision_properties():
    p = Precision.of(1, 3, 4)
    assert (p.width, p.min, p.max, p.step) == (8, -8, Fraction(127, 16), Fraction(1, 16))
    assert str(p) == 'fixed<1,3,4>'
    assert p.to_ap() == 'ap_fixed<8,4>'
    assert Precision.of(0, 2, 3).to_ap() == 'ap_ufixed<5,2>'


@pytest.mark.parametrize(
    'lo, hi, step, expected',
    [
        (-3, 5, 1, (1, 3, 0)),
        (0, 0, Fraction(1, 4), (0, -2, 2)),
        (-1, Fraction(3, 4), Fraction(1, 4), (1, 0, 2)),
        (-1, 0, 1, (1, 0, 0)),
        (0, 7, 1, (0, 3, 0)),
        (0, 8, 1, (0, 4, 0)),
        (-8, 7, 1, (1, 3, 0)),
        (-9, 7, 1, (1, 4, 0)),
        (-16, 0, 8, (1, 4, -3)),
        (0, Fraction(3, 32), Fraction(1, 32), (0, -3, 5)),
    ],
)
def test_minimal_kif(lo, hi, step, expected):
    assert tuple(minimal_kif(lo, hi, step)) == expected


@given(k=st.integers(0, 1), i=st.integers(-6, 20), f=st.integers(-6, 20))
def test_minimal_kif_of_full_range_is_identity(k, i, f):
    if k + i + f <= 0:
        return
    p = Precision.of(k, i, f)
    assert minimal_kif(p.min, p.max, p.step) == p
    assert Interval.of(p.min, p.max, p.step).kif() == p


@given(
    lo=st.integers(-(2**40), 2**40), span=st.integers(0, 2**40), f=st.integers(-10, 30)
)
def test_minimal_kif_is_minimal(lo, span, f):
    step = Fraction(2) ** -f
    lo_v, hi_v = lo * step, (lo + span) * step
    p = minimal_kif(lo_v, hi_v, step)
    assert p.min <= lo_v and hi_v <= p.max
    if p.width > 0:  # one bit fewer no longer holds the interval
        smaller = Precision(p.k, p.i - 1, p.f)
        assert not (smaller.min <= lo_v and hi_v <= smaller.max) or smaller.width < 0


@pytest.mark.parametrize(
    'text, expected',
    [
        ('ap_fixed<8,3>', ((1, 2, 5), 'TRN', 'WRAP')),
        ('ap_fixed<16, 6, AP_RND, AP_SAT>', ((1, 5, 10), 'RND', 'SAT')),
        ('ap_ufixed<8,10,AP_RND_CONV,AP_SAT_SYM,0>', ((0, 10, -2), 'RND_CONV', 'SAT_SYM')),
        ('ap_fixed<4,-2>', ((1, -3, 6), 'TRN', 'WRAP')),
        ('ap_int<6>', ((1, 5, 0), 'TRN', 'WRAP')),
        ('ap_uint<6>', ((0, 6, 0), 'TRN', 'WRAP')),
        ('fixed<1,3,-2,RND_ZERO,SAT>', ((1, 3, -2), 'RND_ZERO', 'SAT')),
        ('ufixed<4,4>', ((0, 4, 4), 'TRN', 'WRAP')),
    ],
)
def test_parse_type(text, expected):
    t = parse_type(text)
    assert (tuple(t.precision), t.round_mode.value, t.overflow_mode.value) == expected


@given(k=st.integers(0, 1), i=st.integers(-8, 20), f=st.integers(-8, 20))
def test_format_parse_round_trip(k, i, f):
    if k + i + f < 1:
        return
    p = Precision.of(k, i, f)
    assert parse_type(str(p)).precision == p
    assert parse_type(p.to_ap()).precision == p


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    'kwargs, exc, needle',
    [
        (dict(round_mode='ROUND'), ValueError, 'round_mode'),
        (dict(overflow_mode='CLAMP'), ValueError, 'overflow_mode'),
        (dict(round_mode=3), TypeError, 'round_mode'),
        (dict(k=2), ValueError, 'k must be 0 or 1'),
        (dict(k=-1), ValueError, 'k must be 0 or 1'),
        (dict(k=0, i=-3, f=2), ValueError, 'width'),
        (dict(f=1.5), TypeError, 'f must be integer'),
        (dict(i='3'), TypeError, 'i must be integer'),
        (dict(x=float('nan')), ValueError, 'x must be finite'),
        (dict(x=[1.0, float('inf')]), ValueError, 'x must be finite'),
        (dict(x=['a']), TypeError, 'x must be'),
        (dict(x=None), TypeError, 'x must be a real numeric array, got dtype object'),
        (dict(x=1 + 2j), TypeError, 'x must be a real numeric array, got dtype complex128'),
        (dict(overflow_mode=None), TypeError, 'overflow_mode must be a string naming a OverflowMode, got None'),
        (dict(f=float('nan')), TypeError, 'f must be integer-valued, got f='),
    ],
)
def test_bad_input_is_named(kwargs, exc, needle):
    args = dict(x=[1.0], k=1, i=3, f=2, round_mode='TRN', overflow_mode='WRAP')
    args.update(kwargs)
    with pytest.raises(exc, match=needle):
        quantize(**args)


@pytest.mark.parametrize(
    'call, exc, needle',
    [
        (lambda: Precision.of(3, 1, 1), ValueError, 'k must be 0 or 1'),
        (lambda: Precision.of(0, -5, 2), ValueError, 'width'),
        (lambda: parse_type('ap_fixed<8>'), ValueError, 'ap_fixed'),
        (lambda: parse_type('float<8,3>'), ValueError, 'float<8,3>'),
        (lambda: parse_type('ap_fixed<8,3,AP_BOGUS>'), ValueError, 'round_mode'),
        (lambda: parse_type('ap_fixed<0,0>'), ValueError, 'width'),
        (lambda: parse_type(8), TypeError, 'type must be a string'),
        (lambda: minimal_kif(0, 1, Fraction(1, 3)), ValueError, 'power of two'),
        (lambda: minimal_kif(2, 1, 1), ValueError, 'greater than'),
        (lambda: Interval.of(0, Fraction(1, 3), 1), ValueError, 'not multiples'),
    ],
)
def test_bad_types_and_intervals(call, exc, needle):
    with pytest.raises(exc, match=needle):
        call()
