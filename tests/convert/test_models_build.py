"""The converter's test models build, predict, and behave as docs/hgq2_semantics.md says.

Each model (tests/convert/models.py) is checked for:
- predict runs on the probe inputs (which include far out-of-range values) and is finite;
- outputs lie on the output quantizer's grid and inside its range (or on the accumulator grid);
- every quantized kernel / bias constant lies on its quantizer's grid and range, and the WRAP
  bias quantizers calibrated by trace_minmax do not wrap their biases;
- the input quantizer equals the exact fixed-point quantizer of da4ml_core.fixed on the probes;
- WRAP input quantizers do not wrap calibration data, and inputs one period apart give the
  same model output; SAT / SAT_SYM inputs give the same output as the clipped input.
"""

from __future__ import annotations

import hgq  # noqa: F401  (the keras extra is a test requirement: missing it is an error, not a skip)
import hgq_test_models as models
import keras
import numpy as np
import pytest

NAMES = sorted(models.BUILDERS)

pytestmark = pytest.mark.slow


def _grid_and_range(y, k, i, f, symmetric=False):
    """Assert y (batch first) is on the 2**-f grid and in [-k 2**i, 2**i - 2**-f] per element."""
    width = k + i + f
    f = np.where(width > 0, f, 0)
    scaled = np.ldexp(y.astype(np.float64), f)
    assert np.array_equal(scaled, np.round(scaled)), 'values off the 2**-f grid'
    hi = np.where(width > 0, np.exp2(i.astype(np.float64)) - np.exp2(-f.astype(np.float64)), 0.0)
    lo = np.where(width > 0, -k * np.exp2(i.astype(np.float64)), 0.0)
    if symmetric:
        lo = np.where((k == 1) & (width > 1), -hi, np.where(width > 0, lo, 0.0))
        lo = np.where((k == 1) & (width == 1), 0.0, lo)
    assert np.all(y >= lo) and np.all(y <= hi), 'values outside the quantizer range'
    assert np.all(y[:, width <= 0] == 0), 'zero-width elements must be 0'


@pytest.mark.parametrize('name', NAMES)
def test_predict_output_grid(hgq_case, name):
    case = hgq_case(name)
    y = case.model.predict(case.x, verbose=0, batch_size=1024)
    assert y.shape[0] == case.x.shape[0]
    assert np.all(np.isfinite(y))
    q = case.out_quantizer
    if q is None:
        scaled = np.ldexp(y.astype(np.float64), case.out_f)
        assert np.array_equal(scaled, np.round(scaled)), f'{name}: output not on the 2**-{case.out_f} grid'
    else:
        k, i, f = models.kif_of(q, y.shape[1:])
        _grid_and_range(y, k, i, f, symmetric=models.quantizer_modes(q)[1] == 'SAT_SYM')
    # the output is not degenerate: the probes reach several distinct output values
    assert len(np.unique(y)) > 4


@pytest.mark.parametrize('name', NAMES)
def test_constants_on_grid(hgq_case, name):
    case = hgq_case(name)
    seen = 0
    for layer in case.model.layers:
        for attr, qattr in (('qkernel', 'kq'), ('qbias', 'bq')):
            if not hasattr(layer, qattr) or getattr(layer, qattr) is None:
                continue
            try:
                value = getattr(layer, attr)
            except AttributeError:
                continue
            if value is None:
                continue
            value = np.asarray(keras.ops.convert_to_numpy(value))
            q = getattr(layer, qattr)
            k, i, f = models.kif_of(q, value.shape)
            _grid_and_range(value[None], k, i, f, symmetric=models.quantizer_modes(q)[1] == 'SAT_SYM')
            if attr == 'qbias' and not hasattr(layer, 'moving_mean'):  # batch-norm biases are fused
                raw = np.asarray(keras.ops.convert_to_numpy(layer.bias))
                assert np.array_equal(value, models.reference_quantize(q, raw[None])[0])
                # WRAP bias quantizers were recalibrated by trace_minmax: rounding only, no wrap
                assert np.all(np.abs(value - raw) <= np.exp2(-f.astype(np.float64)))
            seen += 1
    assert seen > 0


@pytest.mark.parametrize('name', NAMES)
def test_input_quantizer_matches_exact(hgq_case, name):
    case = hgq_case(name)
    q = case.in_quantizer
    got = np.asarray(keras.ops.convert_to_numpy(q(case.x, training=False)))
    want = models.reference_quantize(q, case.x)
    assert np.array_equal(got.astype(np.float64), want), f'{name}: {int(np.sum(got != want))} mismatches'


def _half_grid_inputs(case):
    """Calibration data rounded to half the input quantizer's step (exact in float32 when shifted)."""
    k, i, f = models.kif_of(case.in_quantizer, case.x_calib.shape[1:])
    x = np.ldexp(np.round(np.ldexp(case.x_calib[:128].astype(np.float64), f + 1)), -(f + 1))
    return x.astype(np.float32), k, i, f


@pytest.mark.parametrize('name', NAMES)
def test_input_overflow_behaviour(hgq_case, name):
    case = hgq_case(name)
    q = case.in_quantizer
    _rnd, ovf = models.quantizer_modes(q)
    x, k, i, f = _half_grid_inputs(case)
    y0 = case.model.predict(x, verbose=0)
    if ovf == 'WRAP':
        # calibration covered these inputs: the quantizer rounds them and never wraps
        qx = np.asarray(keras.ops.convert_to_numpy(q(case.x_calib, training=False)))
        step = np.exp2(-f.astype(np.float64))
        assert np.all(np.abs(qx - case.x_calib) <= step), 'calibration data wrapped'
        period = np.where(k + i + f > 0, np.exp2((k + i).astype(np.float64)), 0.0)
        for n in (-1, 1, 3):
            shifted = (x.astype(np.float64) + n * period).astype(np.float32)
            assert np.array_equal(shifted.astype(np.float64), x + n * period)  # exact shift
            assert np.array_equal(case.model.predict(shifted, verbose=0), y0), f'shift by {n} periods'
    else:
        width = k + i + f
        hi = np.exp2(i.astype(np.float64)) - np.exp2(-f.astype(np.float64))
        lo = -k * (hi if ovf == 'SAT_SYM' else np.exp2(i.astype(np.float64)))
        lo = np.where(width > 0, lo, 0.0)
        hi = np.where(width > 0, hi, 0.0)
        big = (x.astype(np.float64) * 8 + np.sign(x) * 64).astype(np.float32)
        clipped = np.clip(big.astype(np.float64), lo, hi).astype(np.float32)
        assert np.any(big != clipped), 'probe did not leave the range'
        assert np.array_equal(case.model.predict(big, verbose=0), case.model.predict(clipped, verbose=0))
