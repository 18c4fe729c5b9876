"""Canonical signed digits and the exact integer split of constant matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from da4ml_core.csd import MAX_MANTISSA_BITS, csd_weight, from_csd, integer_matrix, to_csd


def _min_signed_digits(v: int, n: int) -> int:
    """Fewest non-zero digits of any {-1, 0, 1} form of v with n digits (brute force)."""
    best = None
    for digits in itertools.product((-1, 0, 1), repeat=n):
        if sum(d << b for b, d in enumerate(digits)) == v:
            w = sum(d != 0 for d in digits)
            best = w if best is None else min(best, w)
    return best


def test_csd_is_minimal_and_non_adjacent_for_every_small_integer():
    values = np.arange(-40, 41)
    D = to_csd(values, 8)
    assert np.array_equal(from_csd(D), values)
    assert not np.any((D[:, 1:] != 0) & (D[:, :-1] != 0)), "two adjacent non-zero digits"
    for v, row in zip(values, D):
        assert np.count_nonzero(row) == _min_signed_digits(int(v), 7), v
    assert np.array_equal(csd_weight(values), np.count_nonzero(D, axis=1))


@given(st.lists(st.integers(-(2**61), 2**61), min_size=1, max_size=50))
def test_csd_round_trip_and_weight(values):
    D = to_csd(values)
    assert np.array_equal(from_csd(D), np.array(values, dtype=np.int64))
    assert not np.any((D[..., 1:] != 0) & (D[..., :-1] != 0))
    assert np.array_equal(csd_weight(values), np.count_nonzero(D, axis=-1))


def test_csd_known_values():
    assert to_csd([7], 4).tolist() == [[-1, 0, 0, 1]]  # 7 = 8 - 1
    assert to_csd([-3], 3).tolist() == [[1, 0, -1]]  # -3 = -4 + 1
    assert csd_weight([0, 1, 3, 5, 7, 255, 0b1010101]).tolist() == [0, 1, 2, 2, 2, 2, 4]


def test_csd_rejects_too_few_digits_and_out_of_range():
    with pytest.raises(ValueError, match="n_digits=2"):
        to_csd([7], 2)
    with pytest.raises(ValueError, match="62-bit"):
        to_csd([2**62])


@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
    st.integers(-20, 20),
)
def test_integer_matrix_is_exact_with_common_factors_pulled_out(n_in, n_out, seed, scale):
    rng = np.random.default_rng(seed)
    M = (
        rng.integers(-64, 64, (n_in, n_out))
        * 2 ** rng.integers(0, 3, (n_in, 1))
        * 2 ** rng.integers(0, 3, (1, n_out))
    )
    W = np.ldexp(M.astype(np.float64), scale)
    im = integer_matrix(W)
    back = np.ldexp(im.M.astype(np.float64), (im.row_shift[:, None] + im.col_shift[None, :]))
    assert np.array_equal(back, W)
    for line in list(im.M) + list(im.M.T):  # no row or column left entirely even
        assert not line.any() or (line % 2 != 0).any()


@pytest.mark.parametrize(
    "W, error, text",
    [
        ([[1.0, np.nan]], ValueError, r"W\[\(0, 1\)\] = nan is not finite"),
        ([[np.inf]], ValueError, "not finite"),
        ([1.0, 2.0], ValueError, "must be 2-D"),
        (np.zeros((2, 2, 2)), ValueError, "must be 2-D"),
        (np.zeros((0, 3)), ValueError, "at least one row"),
        ([["a"]], TypeError, "numeric"),
        ([[1 + 2j]], TypeError, "real"),
        ([[2.0**60, 2.0**-10]], ValueError, f"at most {MAX_MANTISSA_BITS} bits"),
    ],
)
def test_integer_matrix_bad_input(W, error, text):
    with pytest.raises(error, match=text):
        integer_matrix(W)
