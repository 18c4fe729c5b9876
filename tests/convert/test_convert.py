"""The Keras converter: every test model's program equals ``model.predict``, bit for bit.

For each trained model of models.py the program runs on >= 10,000 float32 inputs (the model's
probes: calibration data, data scaled 4x / 16x, uniform noise over 8x the input range, exact
rounding ties, range bounds; plus more of the same) and its float64 outputs must equal
``model.predict``'s exactly. Models whose first quantizer saturates get a port precision wider
than that quantizer (3 more integer bits, 2 more fractional bits), so saturation and rounding
ties happen inside the design; they are then compared on the values the port can carry.

Also: the input-precision rules, unsupported layers (one error naming every offender, nothing
converted), the float32 exactness warning, and a set of small untrained models covering layer
options the trained ones do not (strides, dilation, groups, causal / same padding, odd pool
windows, channels_first, nested / sequential / multi-input models, ...).
"""

from __future__ import annotations

import warnings

import hgq  # noqa: F401  (the keras extra is a test requirement: missing it is an error, not a skip)
import hgq_test_models as models
import keras
import numpy as np
import pytest
from hgq.config import QuantizerConfigScope
from hgq.layers import (
    QAdd,
    QAveragePow2,
    QAvgPool1D,
    QAvgPool2D,
    QConv1D,
    QConv2D,
    QDense,
    QDot,
    QEinsum,
    QEinsumDense,
    QGlobalAvgPool1D,
    QGlobalAvgPool2D,
    QGlobalMaxPool2D,
    QMaxPool1D,
    QMaxPool2D,
    QMeanPow2,
    QUnaryFunctionLUT,
)
from hgq.quantizer.config import QuantizerConfig

from da4ml_core.convert import (
    ConversionError,
    Float32ExactnessError,
    Float32Warning,
    InputPrecisionError,
    UnsupportedLayerError,
    convert_model,
    supported_layers,
    trace_model,
)
from da4ml_core.fixed import quantize

pytestmark = pytest.mark.slow

NAMES = sorted(models.BUILDERS)
N_SAMPLES = 10_240
SAT_MODELS = [n for n in NAMES if n in ('dense_sat_trn', 'conv1d', 'batchnorm', 'branches')]


def probes(case, n_total: int = N_SAMPLES, seed: int = 0) -> np.ndarray:
    """float32 inputs: the case's probes, then calibration rows scaled by 1/2 .. 32, uniform noise
    over 8x the input quantizer's range, and grid points +- half a step (rounding ties)."""
    rng = np.random.default_rng(seed)
    shape = case.x.shape[1:]
    k, i, f = models.kif_of(case.in_quantizer, shape)
    width = k + i + f
    i, f = np.where(width > 0, i, 0), np.where(width > 0, f, 0)
    step, hi = np.exp2(-f.astype(np.float64)), np.exp2(i.astype(np.float64))
    lo = -k * hi
    span = hi - lo + step
    n = (n_total - len(case.x)) // 4 + 1
    rows = case.x_calib[rng.integers(0, len(case.x_calib), n)]
    scaled = rows * rng.choice([0.5, 1, 2, 4, 8, 32], size=(n,) + (1,) * len(shape))
    noise = lo - 4 * span + 9 * span * rng.uniform(size=(n,) + shape)
    grid = np.floor((lo + (hi - lo) * rng.uniform(size=(n,) + shape)) / step) * step
    ties = grid + step * rng.choice([-0.5, 0.5], size=grid.shape)
    near = grid + step * rng.choice([-0.25, 0.25, 0.0], size=grid.shape)
    x = np.concatenate([case.x, scaled, noise, ties, near]).astype(np.float32)
    assert len(x) >= n_total
    return x


def port_kif(case) -> tuple[int, int, int]:
    _, i, f = models.kif_of(case.in_quantizer, case.x.shape[1:])
    return 1, int(i.max()) + 3, int(f.max()) + 2


def at_port(x: np.ndarray, kif) -> np.ndarray:
    """What a port of precision kif carries for x (truncated, wrapped), as float32 (exact)."""
    q = quantize(x.astype(np.float64), *kif, round_mode='TRN', overflow_mode='WRAP')
    assert np.array_equal(q.astype(np.float32).astype(np.float64), q)
    return q.astype(np.float32)


def assert_bit_exact(conv, model, x, what=''):
    y_keras = np.asarray(model.predict(x, verbose=0, batch_size=4096), dtype=np.float64)
    y_prog = conv.predict(x)
    bad = np.flatnonzero(np.any((y_keras != y_prog).reshape(len(x), -1), axis=1))
    assert bad.size == 0, (
        f'{what}: {bad.size} of {len(x)} samples differ; first {bad[0]}: '
        f'keras {y_keras[bad[0]].ravel()[:6]} program {y_prog[bad[0]].ravel()[:6]}'
    )
    return y_keras


@pytest.mark.parametrize('name', NAMES)
def test_program_equals_predict(hgq_case, name):
    case = hgq_case(name)
    x = probes(case)
    if name in SAT_MODELS:
        kif = port_kif(case)
        conv = convert_model(case.model, input_kif=kif, on_inexact='error')
        x = at_port(x, kif)
        assert conv.input_mode == 'given'
    else:
        conv = convert_model(case.model, on_inexact='error')
        assert conv.input_mode == 'inferred'
    y = assert_bit_exact(conv, case.model, x, name)
    assert len(x) >= 10_000
    assert len(np.unique(y)) > 8  # the comparison is not between constant outputs
    # the probes reach outside the input quantizer's range (overflow behaviour is compared)
    _, i, _ = models.kif_of(case.in_quantizer, case.x.shape[1:])
    assert np.any(np.abs(x) > np.exp2(i.max().astype(np.float64)))
    assert conv.float32_issues == [] and 0 < conv.max_accumulator_bits <= 24


@pytest.mark.parametrize('name', SAT_MODELS)
def test_saturating_input_needs_a_port_precision(hgq_case, name):
    case = hgq_case(name)
    with pytest.raises(InputPrecisionError, match='input_kif') as info:
        convert_model(case.model)
    assert '\n' not in str(info.value)
    assert case.in_q[0] in str(info.value)  # names the layer whose quantizer needs it


@pytest.mark.parametrize('name', ['branches', 'dense', 'conv1d', 'quantizer_layers'])
def test_quantizer_precision_ports(hgq_case, name):
    """input_kif='quantizer': the port holds already-quantized inputs, the design equals the
    model on them (and so on the raw inputs they came from)."""
    case = hgq_case(name)
    conv = convert_model(case.model, input_kif='quantizer')
    assert conv.input_mode == 'quantizer'
    x = probes(case, 2048, seed=3)
    xq = models.reference_quantize(case.in_quantizer, x).astype(np.float32)
    y_keras = case.model.predict(x, verbose=0, batch_size=4096).astype(np.float64)
    assert np.array_equal(conv.predict(xq), y_keras)
    k, i, f = models.kif_of(case.in_quantizer, x.shape[1:])
    width = np.where(k + i + f > 0, k + i + f, 0)
    in_bits = sum(q.width for q in conv.program.inp_qints if q is not None)
    assert 0 < in_bits <= int(width.sum())  # no wider than the quantizer (narrower where unused)


def test_wrap_inputs_are_exact_for_any_float(hgq_case):
    """Inferred WRAP ports: far out-of-range inputs wrap exactly as Keras wraps them."""
    case = hgq_case('dense')
    conv = convert_model(case.model)
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(4096, 16)) * rng.choice([1, 64, 4096], size=(4096, 1))).astype(np.float32)
    assert_bit_exact(conv, case.model, x, 'dense, wide inputs')


def test_trace_model_is_the_program(hgq_case):
    case = hgq_case('einsum')
    prog = trace_model(case.model, method='csd')
    x = probes(case, 2048, seed=4)
    y = case.model.predict(x, verbose=0).astype(np.float64)
    assert np.array_equal(prog(x.reshape(len(x), -1)), y.reshape(len(x), -1))


def test_input_kif_errors(hgq_case):
    case = hgq_case('dense')
    with pytest.raises(ValueError, match='input_kif'):
        convert_model(case.model, input_kif='bogus')
    with pytest.raises(ValueError, match='input_kif'):
        convert_model(case.model, input_kif=(1, 2))
    with pytest.raises(InputPrecisionError):
        convert_model(case.model, input_kif=(2, 3, 4))


def test_unquantized_input_needs_input_kif():
    keras.utils.set_random_seed(7)
    inp = keras.Input((4,))
    model = keras.Model(inp, QDense(3, enable_iq=False, name='raw')(inp))
    with pytest.raises(InputPrecisionError, match=r'raw \(QDense\).*input_kif'):
        convert_model(model)
    conv = convert_model(model, input_kif=(1, 3, 4))
    assert_bit_exact(conv, model, at_port(_data((4,)), (1, 3, 4)), 'raw input')


# ------------------------------------------------------------------ unsupported layers


def test_unsupported_layers_are_all_named():
    inp = keras.Input((6,))
    h = QDense(8, name='ok1')(inp)
    h = keras.layers.Dense(4, name='float_dense')(h)
    h = QDense(4, activation='tanh', name='tanh_dense')(h)
    out = keras.layers.LayerNormalization(name='ln')(h)
    model = keras.Model(inp, out)
    with pytest.raises(UnsupportedLayerError) as info:
        convert_model(model)
    err = info.value
    names = [n for n, _, _ in err.layers]
    assert names == ['float_dense', 'tanh_dense', 'ln']
    msg = str(err)
    assert '\n' not in msg
    for text in ('float_dense (Dense)', 'tanh_dense (QDense)', 'activation tanh', 'ln (LayerNormalization)',
                 'Supported layers:', 'QConv2D', 'QUnaryFunctionLUT'):
        assert text in msg
    assert isinstance(err, ConversionError) and isinstance(err, ValueError)
    assert 'QDense' in supported_layers() and 'Dense' not in supported_layers()


def test_product_layers_outside_the_supported_forms_are_named():
    a, b, c = keras.Input((3,)), keras.Input((3,)), keras.Input((3,))
    three = QEinsum('bi,bi,bi->bi', name='three')([a, b, c])
    norm = keras.layers.Dot(axes=1, normalize=True, name='cosine')([a, b])
    with pytest.raises(UnsupportedLayerError) as info:
        convert_model(keras.Model([a, b, c], [three, norm]))
    msg = str(info.value)
    assert 'three (QEinsum): an einsum of 3 inputs (only two are supported)' in msg
    assert 'cosine (Dot): normalize=True' in msg


def test_non_fixed_point_quantizers_are_unsupported():
    from hgq.layers import Quantizer

    inp = keras.Input((4,))
    h = QDense(3, iq_conf=QuantizerConfig('dummy', 'datalane'), name='dq')(inp)
    out = Quantizer(QuantizerConfig('kif', 'datalane', overflow_mode='WRAP_SM', round_mode='RND'), name='wsm')(h)
    with pytest.raises(UnsupportedLayerError) as info:
        convert_model(keras.Model(inp, out))
    assert "dq (QDense): quantizer dq_iq is of type 'dummy'" in str(info.value)
    assert 'wsm (Quantizer): quantizer wsm has overflow mode WRAP_SM' in str(info.value)


# ------------------------------------------------------------------ float32 exactness


def _wide_model(f0: int):
    keras.utils.set_random_seed(3)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='SAT', round_mode='RND', i0=3, f0=f0),
        QuantizerConfigScope(place='weight', q_type='kbi', b0=14, i0=1),
    ):
        inp = keras.Input((64,))
        out = QDense(4, name='wide')(inp)
    return keras.Model(inp, out)


def test_wide_accumulator_warns_or_raises():
    model = _wide_model(10)
    with pytest.warns(Float32Warning, match='wide: an accumulator needs'):
        conv = convert_model(model, input_kif=(1, 3, 10), method='csd')
    assert conv.max_accumulator_bits > 24 and conv.float32_issues
    with pytest.raises(Float32ExactnessError, match='wide'):
        convert_model(model, input_kif=(1, 3, 10), on_inexact='error', method='csd')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        convert_model(model, input_kif=(1, 3, 10), on_inexact='ignore', method='csd')
    with pytest.raises(ValueError, match='on_inexact'):
        convert_model(model, on_inexact='maybe')


def test_narrow_accumulator_is_silent():
    model = _wide_model(2)
    with warnings.catch_warnings():
        warnings.simplefilter('error', Float32Warning)
        conv = convert_model(model, input_kif=(1, 3, 2), method='csd')
    assert conv.max_accumulator_bits <= 24


# ------------------------------------------------------------------ layer options (untrained models)


def _data(shape, n=2000, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)) * scale
    x[: n // 4] *= 8  # out of range for the default quantizers
    return x.astype(np.float32)


def conv1d_options():
    inp = keras.Input((9, 3))
    a = QConv1D(4, 3, strides=2, padding='same', name='c_same_s2')(inp)
    per_channel = QuantizerConfig('kif', 'datalane', homogeneous_axis=(0, 1))  # HGQ2 quantizes after the causal pad
    b = QConv1D(4, 3, dilation_rate=2, padding='causal', activation='relu', iq_conf=per_channel, name='c_causal')(inp)
    c = QConv1D(6, 2, groups=3, name='c_groups')(inp)
    return keras.Model(inp, [a, b, c]), [(9, 3)]


def conv2d_options():
    inp = keras.Input((7, 6, 2))
    h = QConv2D(4, (3, 2), strides=(2, 1), padding='same', name='c2_same')(inp)
    h2 = QConv2D(3, (2, 2), dilation_rate=(2, 2), activation='relu', name='c2_dil')(inp)
    return keras.Model(inp, [h, h2]), [(7, 6, 2)]


def channels_first():
    inp = keras.Input((2, 6, 5))
    h = QConv2D(3, (3, 3), padding='same', data_format='channels_first', name='c2_cf')(inp)
    h = QMaxPool2D((2, 2), padding='same', data_format='channels_first', name='p_cf')(h)
    return keras.Model(inp, keras.layers.Flatten(data_format='channels_first')(h)), [(2, 6, 5)]


def pool1d_options():
    inp = keras.Input((10, 3))
    a = QDense(2, name='after_avg3')(QAvgPool1D(3, name='avg3')(inp))  # window 3: a float32 table
    b = QDense(2, name='after_avg4')(QAvgPool1D(4, strides=3, padding='same', name='avg4_same')(inp))
    c = QMaxPool1D(3, strides=2, padding='same', name='max_same')(inp)
    d = QDense(2, name='after_gavg')(QGlobalAvgPool1D(name='gavg')(inp))  # 10 steps: a table too
    return keras.Model(inp, [a, b, c, d]), [(10, 3)]


def pool2d_options():
    inp = keras.Input((4, 4, 3))
    a = QGlobalAvgPool2D(keepdims=True, name='gavg2')(inp)
    b = QGlobalMaxPool2D(name='gmax2')(inp)
    c = QAvgPool2D((3, 3), strides=(1, 1), name='avg33')(inp)
    c = QDense(2, name='after_avg33')(keras.layers.Flatten()(c))
    return keras.Model(inp, [a, b, c]), [(4, 4, 3)]


def multi_io():
    a_in, b_in = keras.Input((5,), name='a_in'), keras.Input((2, 5), name='b_in')
    a = QDense(5, name='da')(a_in)
    b = QEinsumDense('bnc,cd->bnd', (2, 5), bias_axes='n', name='eb')(b_in)
    b = keras.layers.Permute((2, 1))(b)
    b = QMeanPow2(axes=-1, name='mean')(b)
    s = QAveragePow2(name='avgp2')([a, b, a])
    r = keras.layers.Reshape((5, 1))(keras.layers.ReLU(max_value=1.5)(s))
    return keras.Model([a_in, b_in], [r, QAdd(name='qadd')([a, b])]), [(5,), (2, 5)]


def sequential_nested():
    sub_in = keras.Input((4,))
    sub = keras.Model(sub_in, QDense(3, activation='relu', name='inner')(sub_in), name='sub')
    seq = keras.Sequential([keras.Input((6,)), QDense(4, name='s1'), keras.layers.Dropout(0.5), sub,
                            QUnaryFunctionLUT('sigmoid', name='sig'), keras.layers.Activation('linear')])
    return seq, [(6,)]


def products():
    """Products of two traced tensors (particle-interaction style): QEinsum and QDot with several
    axes, Keras Dot on quantized inputs, a rank-1 dot result (Keras makes it (batch, 1))."""
    inp = keras.Input((5, 4))
    h = QEinsumDense('bnc,cd->bnd', (5, 3), bias_axes='d', activation='relu', name='embed')(inp)
    pair = QEinsum('bnd,bmd->bnm', name='pairs')([h, h])  # every particle with every other one
    cross = QEinsum('bnd,bnc->bdc', name='cross')([h, inp])
    d_feat = QDot(axes=(1, 1), name='dot_feat')([h, inp])  # (b, 3, 4)
    d_last = QDot(axes=-1, name='dot_last')([h, h])  # (b, 5, 5)
    flat_a, flat_b = keras.layers.Flatten()(h), keras.layers.Flatten()(inp)
    q = QDense(20, name='to_20')(flat_b)
    d_vec = QDot(axes=1, name='dot_vec')([flat_a, QDense(15, name='to_15')(flat_b)])  # (b, 1)
    from hgq.layers import Quantizer

    xq = Quantizer(QuantizerConfig('kif', 'datalane', overflow_mode='SAT', round_mode='RND', i0=2, f0=2),
                   name='xq')(h)
    plain = keras.layers.Dot(axes=2, name='keras_dot')([xq, xq])  # inputs already quantized
    outs = [pair, cross, d_feat, d_last, d_vec, q, plain]
    return keras.Model(inp, [keras.layers.Flatten()(o) if len(o.shape) > 2 else o for o in outs]), [(5, 4)]


def softmax_tables():
    """HGQ2's table softmax: stable over the last axis after a dense layer, and not stable over
    the token axis of a (4, 3) input."""
    from hgq.layers import QSoftmax

    inp = keras.Input((4, 3))
    h = QEinsumDense('bnc,cd->bnd', (4, 5), bias_axes='d', name='logits')(inp)
    a = QSoftmax(axis=-1, name='sm_last')(h)
    b = QSoftmax(axis=1, stable=False, enable_iq=True, name='sm_tokens')(inp)
    return keras.Model(inp, [a, b]), [(4, 3)]


OPTION_MODELS = [conv1d_options, conv2d_options, channels_first, pool1d_options, pool2d_options, multi_io,
                 sequential_nested, products, softmax_tables]


@pytest.mark.parametrize('builder', OPTION_MODELS, ids=[b.__name__ for b in OPTION_MODELS])
def test_layer_options(builder):
    keras.utils.set_random_seed(100)
    model, shapes = builder()
    x = [_data(shape, seed=j) for j, shape in enumerate(shapes)]
    x = x[0] if len(x) == 1 else x
    conv = convert_model(model, on_inexact='error')
    ys = model.predict(x, verbose=0, batch_size=4096)
    ys = ys if isinstance(ys, list) else [ys]
    ps = conv.predict(x)
    ps = ps if isinstance(ps, list) else [ps]
    assert len(ys) == len(ps)
    for j, (y, p) in enumerate(zip(ys, ps)):
        y = np.asarray(y, dtype=np.float64)
        bad = np.flatnonzero(np.any((y != p).reshape(len(y), -1), axis=1))
        assert bad.size == 0, f'{builder.__name__}, output {j}: {bad.size} of {len(y)} samples differ'
        assert len(np.unique(y)) > 2, f'{builder.__name__}, output {j} is degenerate'


def test_float_function_at_the_output_is_refused():
    inp = keras.Input((6,))
    out = QAvgPool1D(3, name='avg3')(keras.layers.Reshape((6, 1))(QDense(6, name='d')(inp)))
    with pytest.raises(ConversionError, match='no quantizer rounds'):
        convert_model(keras.Model(inp, out))
