"""quantize vs ``quantizers`` (the fixed-point library HGQ2 trains with) on random data."""

import numpy as np
import pytest
from quantizers import get_fixed_quantizer_np

from da4ml_core.fixed import OverflowMode, RoundMode, quantize

ROUNDS = [m.value for m in RoundMode]
OVERFLOWS = [m.value for m in OverflowMode]


def _random_case(seed: int, n: int = 20_000):
    """Per-element precisions and inputs whose scaled values stay far inside float64's exact range,
    so the float-based reference is exact too. Includes exact ties and out-of-range values."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 2, n)
    f = rng.integers(-6, 16, n)
    i = rng.integers(-6, 16, n)
    i = np.maximum(i, 1 - k - f)  # width >= 1
    i = np.where((k == 1) & (i + f == 0), i + 1, i)  # no 1-bit signed types: see the test below
    step = 2.0 ** -f.astype(np.float64)
    span = 2.0 ** (i + 2).astype(np.float64)
    x = rng.uniform(-1, 1, n) * span
    ties = rng.random(n) < 0.3  # a third lands exactly half way between grid points
    x = np.where(ties, (np.round(x / step) + 0.5) * step, x)
    return x, k, i, f


@pytest.mark.parametrize('ovf', OVERFLOWS)
@pytest.mark.parametrize('rnd', ROUNDS)
def test_quantize_equals_quantizers(rnd, ovf):
    x, k, i, f = _random_case(seed=ROUNDS.index(rnd) * len(OVERFLOWS) + OVERFLOWS.index(ovf))
    theirs = get_fixed_quantizer_np(rnd, ovf)(x, k, i, f)
    ours = quantize(x, k, i, f, round_mode=rnd, overflow_mode=ovf)
    bad = np.flatnonzero(ours != theirs)
    assert bad.size == 0, [(x[j], k[j], i[j], f[j], ours[j], theirs[j]) for j in bad[:5]]


def test_one_bit_signed_sat_sym_follows_ap_fixed():
    """The one place the two references differ: a 1-bit signed type (values {-2**i, 0}) under
    SAT_SYM. quantizers clamps to [0, 0]; Xilinx ap_fixed keeps [-2**i, 0], and so do we (the
    ap_fixed comparison test checks it bit for bit)."""
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 3.0])
    theirs = get_fixed_quantizer_np('TRN', 'SAT_SYM')(x, 1, 0, 0)
    ours = quantize(x, 1, 0, 0, round_mode='TRN', overflow_mode='SAT_SYM')
    assert theirs.tolist() == [0, 0, 0, 0, 0, 0]
    assert ours.tolist() == [-1, -1, -1, 0, 0, 0]
