"""Bad input is refused with an error that names the culprit."""

from __future__ import annotations

import numpy as np
import pytest

from da4ml_core.trace import FixedArray, cmvm_options, lut, quantize, trace


@pytest.fixture
def x():
    return FixedArray.input((2, 3), 1, 3, 2)


@pytest.mark.parametrize('call, name', [
    (lambda a: np.sort(a), 'numpy.sort'),
    (lambda a: np.cumsum(a), 'numpy.cumsum'),
    (lambda a: np.median(a), 'numpy.median'),
    (lambda a: np.arctan2(a, a), 'numpy.arctan2'),
    (lambda a: np.power(a, a), 'numpy.power'),
    (lambda a: np.add.accumulate(a), 'numpy.add.accumulate'),
    (lambda a: np.add(a, a, out=np.empty((2, 3), dtype=object)), 'numpy.add'),
    (lambda a: np.pad(a, 1, mode='mean'), 'numpy.pad'),
    (lambda a: np.sum(a, dtype=np.float32), 'numpy.sum'),
])
def test_unsupported_numpy_function_names_itself(x, call, name):
    with pytest.raises(TypeError, match=name.replace('.', r'\.')):
        call(x)


@pytest.mark.parametrize('kif, message', [
    ((2, 3, 2), 'k must be 0 or 1.*k=2'),
    ((1, 1.5, 2), 'i must be integer-valued.*i=1.5'),
    ((1, 3, 'a'), "f must be an integer.*f='a'"),
    ((0, -3, 1), r'width k \+ i \+ f must be >= 0.*k=0, i=-3, f=1'),
    ((1, [1, 2], 0), 'do not broadcast'),
    ((1, None, 2), 'missing i'),
])
def test_bad_precisions_raise_value_error_naming_the_argument(kif, message):
    with pytest.raises(ValueError, match=message):
        FixedArray.input((3,), *kif)
    if None not in kif:
        with pytest.raises(ValueError, match=message):
            quantize(FixedArray.input((3,), 1, 2, 2), *kif)


def test_bad_modes(x):
    with pytest.raises(ValueError, match="overflow_mode='TRN'"):
        quantize(x, 1, 2, 2, overflow_mode='TRN', round_mode='WRAP')
    with pytest.raises(ValueError, match="round_mode='ROUND'"):
        quantize(x, 1, 2, 2, overflow_mode='SAT', round_mode='ROUND')


def test_inexact_or_impossible_requests(x):
    with pytest.raises(ValueError, match='not a binary fraction'):
        x / 3
    with pytest.raises(ValueError, match='mean over 3 elements'):
        np.mean(x, axis=1)
    with pytest.raises(TypeError, match='division by a traced'):
        x / x
    with pytest.raises(ValueError, match='decimals=1'):
        np.round(x, 1)
    with pytest.raises(ValueError, match='must be finite'):
        x + np.inf
    with pytest.raises(ValueError, match='entries'):
        lut(FixedArray.input((1,), 1, 20, 0), np.tanh, 1, 0, 4)
    with pytest.raises(ValueError, match='not finite at'):
        trace(x, quantize(np.log(x), 1, 3, 3))
    with cmvm_options(method='fast'), pytest.raises(ValueError, match="method='fast'"):
        x @ np.ones((3, 2))
    with pytest.raises(TypeError, match='no truth value'):
        bool(x > 0)


def test_unknown_precision_inputs(x):
    u = FixedArray.input((2,))
    with pytest.raises(ValueError, match='SAT/RND_CONV'):
        quantize(u, 1, 2, 2, overflow_mode='SAT', round_mode='RND_CONV')
    with pytest.raises(ValueError, match='quantized before any other op'):
        u + 1
    with pytest.raises(ValueError, match='unquantized'):
        trace(u, u)


def test_trace_arguments(x):
    with pytest.raises(ValueError, match='FixedArray.input'):
        trace(x * 2, x)
    with pytest.raises(ValueError, match='not listed in inputs'):
        trace(x[0], x)
    with pytest.raises(ValueError, match='listed twice'):
        trace([x, x], x)
    with pytest.raises(TypeError, match='outputs must be'):
        trace(x, 'y')
