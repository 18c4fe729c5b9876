"""Small, deterministically trained HGQ2 models for the Keras converter's tests.

Each builder seeds everything (``keras.utils.set_random_seed``), builds a tiny model from HGQ2
layers, trains it for a few dozen steps on seeded synthetic data, calibrates the WRAP quantizers
with ``hgq.utils.trace_minmax`` and returns a :class:`ModelCase`: the model, float32 probe
inputs (calibration-like data, values far outside the calibrated ranges, exact rounding ties
of the first quantizer, range bounds) and the quantizers a test needs to know about.

The set covers: dense; conv1d + pooling; conv2d + max/avg pooling; einsum dense (+ batchnorm
fused) and QSum; batch normalization; LUT activations; add / subtract / multiply / max / min
branches joined by Concatenate; explicit Quantizer layers. Across the builders the first
(input) quantizer uses WRAP, SAT and SAT_SYM overflow and RND, TRN and RND_CONV rounding, with
per-element, per-channel and per-tensor granularity.

Keras must run on the JAX backend: set ``KERAS_BACKEND=jax`` before anything imports keras
(``tests/convert/conftest.py`` does this for pytest).

    case = build('dense')                     # or the ``hgq_case`` fixture in conftest.py
    y = case.model.predict(case.x, verbose=0)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault('KERAS_BACKEND', 'jax')

import keras
import numpy as np
from hgq.config import LayerConfigScope, QuantizerConfigScope
from hgq.layers import (
    QAdd,
    QAvgPool1D,
    QAvgPool2D,
    QBatchNormalization,
    QBatchNormDense,
    QConv1D,
    QConv2D,
    QDense,
    QEinsumDense,
    QEinsumDenseBatchnorm,
    QGlobalMaxPool1D,
    QMaximum,
    QMaxPool1D,
    QMaxPool2D,
    QMinimum,
    QMultiply,
    QSubtract,
    QSum,
    Quantizer,
    QUnaryFunctionLUT,
)
from hgq.quantizer.config import QuantizerConfig
from hgq.utils import trace_minmax

__all__ = ['BUILDERS', 'ModelCase', 'build', 'kif_of', 'quantizer_modes', 'reference_quantize']

N_TRAIN = 1024
BATCH = 64


@dataclass
class ModelCase:
    """A trained model plus what its tests need.

    x: float32 probe inputs (batch first), including out-of-range values and exact ties.
    x_calib: the float32 data trace_minmax was run on (in-range by construction).
    in_q: where the first quantizer applied to the model input lives: ``(layer_name, attr)``,
        attr ``'iq'`` for a layer's input quantizer or None for a ``Quantizer`` layer.
    out_q: same for the quantizer producing the model output (``'oq'`` or None), or None when
        the output is an unquantized accumulator; then ``out_f`` bounds its grid: every output
        times ``2**out_f`` is an integer.
    """

    name: str
    model: keras.Model
    x: np.ndarray
    x_calib: np.ndarray
    in_q: tuple[str, str | None]
    out_q: tuple[str, str | None] | None
    out_f: int | None = None
    modes: dict = field(default_factory=dict)

    def _resolve(self, where):
        layer = self.model.get_layer(where[0])
        return layer if where[1] is None else getattr(layer, where[1])

    @property
    def in_quantizer(self) -> Quantizer:
        return self._resolve(self.in_q)

    @property
    def out_quantizer(self) -> Quantizer | None:
        return None if self.out_q is None else self._resolve(self.out_q)


# ----------------------------------------------------------------------------------------------
# quantizer introspection (the recipe the converter uses too; see docs/hgq2_semantics.md)
# ----------------------------------------------------------------------------------------------


def kif_of(q: Quantizer, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effective per-element (k, i, f) of a fixed-point ``hgq`` Quantizer for one sample of ``shape``.

    Integers (int64), broadcast to ``shape`` (no batch axis). ``i`` and ``f`` are the trained
    values after the quantizer's own round-half-to-even. Elements whose width ``k + i + f`` is
    <= 0 always output 0 at inference.
    """
    inner = q.quantizer
    k, i, f = (np.asarray(keras.ops.convert_to_numpy(a)) for a in inner.kif)
    full = (1,) + tuple(shape)
    k, i, f = (np.asarray(keras.ops.convert_to_numpy(inner.bw_mapper.bw_to_x(a, full)))[0] for a in (k, i, f))
    return k.astype(np.int64), i.astype(np.int64), f.astype(np.int64)


def quantizer_modes(q: Quantizer) -> tuple[str, str]:
    """(round_mode, overflow_mode) of a fixed-point ``hgq`` Quantizer, as HGQ2 spells them."""
    return q.quantizer.round_mode, q.quantizer.overflow_mode


def reference_quantize(q: Quantizer, x: np.ndarray) -> np.ndarray:
    """What ``q(x, training=False)`` computes, from exact integer arithmetic (da4ml_core.fixed).

    ``x`` has a batch axis. Elements of width <= 0 give 0; a signed 1-bit element (k=1,
    i=-f) under SAT_SYM gives 0 too (HGQ2 clamps it to [0, 0], unlike ap_fixed). Only plain
    fixed-point quantizers: no scaler, no affine, no WRAP_SM.
    """
    from da4ml_core.fixed import quantize

    if q.scaler is not None or q.affine is not None:
        raise NotImplementedError('scaler / affine quantizers are not covered here')
    rnd, ovf = quantizer_modes(q)
    if ovf not in ('WRAP', 'SAT', 'SAT_SYM'):
        raise NotImplementedError(f'overflow mode {ovf}')
    rnd = rnd.removeprefix('S_')  # stochastic rounding is off at inference
    x = np.asarray(x, dtype=np.float64)
    k, i, f = kif_of(q, x.shape[1:])
    zero = (k + i + f) <= 0
    if ovf == 'SAT_SYM':
        zero |= (k == 1) & (i + f == 0)
    k, i, f = (np.where(zero, 0, a) for a in (k, i, f))
    y = quantize(x, k, i, f, round_mode=rnd, overflow_mode=ovf)
    return np.where(zero, 0.0, y)


# ----------------------------------------------------------------------------------------------
# data and training
# ----------------------------------------------------------------------------------------------


def _teacher_data(rng: np.random.Generator, shape, n_classes: int, n: int, scale: float = 1.0):
    """Gaussian inputs and labels from a fixed random linear teacher (learnable by a small net)."""
    x = (rng.normal(size=(n,) + tuple(shape)) * scale).astype(np.float32)
    w = rng.normal(size=(int(np.prod(shape)), n_classes))
    y = np.argmax(x.reshape(n, -1) @ w + 0.3 * np.sin(3 * x.reshape(n, -1)) @ w, axis=1)
    return x, y.astype(np.int64)


def _train(model: keras.Model, x, y, epochs: int = 2):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0)


def _probe_inputs(rng: np.random.Generator, q: Quantizer, x_calib: np.ndarray) -> np.ndarray:
    """Probe inputs for a model whose input first meets quantizer ``q``.

    In-range data, the same data scaled x4 and x16 (beyond calibration: exercises WRAP / SAT),
    uniform noise over 8x the quantizer's range, exact ties at the quantizer's step (where the
    rounding modes differ), and the exact range bounds and their neighbours.
    """
    shape = x_calib.shape[1:]
    k, i, f = kif_of(q, shape)
    width = k + i + f
    i = np.where(width > 0, i, 0)
    f = np.where(width > 0, f, 0)
    step = np.exp2(-f.astype(np.float64))
    hi = np.exp2(i.astype(np.float64))
    lo = -k * hi
    n = 64
    parts = [x_calib[:128], x_calib[:64] * 4, x_calib[:32] * 16]
    span = hi - lo + step
    parts.append(lo - 4 * span + 9 * span * rng.uniform(size=(n,) + shape))
    on_grid = np.floor((lo + (hi - lo) * rng.uniform(size=(n,) + shape)) / step) * step
    parts.append(on_grid + step / 2)  # ties
    parts.append(on_grid - step / 2)
    parts.append(on_grid)
    for b in (lo, hi - step, hi, lo - step, hi + step / 2, lo - step / 2):
        parts.append(np.broadcast_to(b, (1,) + shape))
    parts.append(np.zeros((1,) + shape))
    return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts]).astype(np.float32)


def _finish(name, model, x_calib, rng, in_q, out_q, out_f=None, **modes) -> ModelCase:
    trace_minmax(model, x_calib, batch_size=1024)
    case = ModelCase(name, model, np.empty(0, np.float32), x_calib, in_q, out_q, out_f, modes)
    case.x = _probe_inputs(rng, case.in_quantizer, x_calib)
    return case


def _dense_out_f(layer: QDense, f_in: np.ndarray) -> int:
    """Upper bound on the fractional bits of an unquantized QDense output: max f_in + max f_kernel."""
    _, _, f_k = kif_of(layer.kq, tuple(layer.kernel.shape))
    f_b = kif_of(layer.bq, tuple(layer.bias.shape))[2] if layer.bq is not None else np.array([-99])
    return int(max(np.max(f_in) + np.max(f_k), np.max(f_b)))


# ----------------------------------------------------------------------------------------------
# builders
# ----------------------------------------------------------------------------------------------


def build_dense(seed: int = 11) -> ModelCase:
    """16 -> 32 -> 16 -> 5 QDense + ReLU; WRAP/RND per-element activations; KBI SAT_SYM weights.

    No output quantizer: the output is the last QDense's exact accumulator (out_f gives its grid).
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (16,), 5, N_TRAIN + 512)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='RND', f0=5),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((16,))
        d1 = QDense(32, activation='relu', name='d1')
        d2 = QDense(16, activation='relu', name='d2')
        d3 = QDense(5, name='d3')
        out = d3(d2(d1(inp)))
    model = keras.Model(inp, out, name='dense')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    case = _finish('dense', model, x[N_TRAIN:], rng, ('d1', 'iq'), None, round='RND', overflow='WRAP')
    f_in = kif_of(d3.iq, (16,))[2]
    case.out_f = _dense_out_f(d3, f_in)
    return case


def build_dense_sat_trn(seed: int = 12) -> ModelCase:
    """SAT/TRN everywhere, KIF weights per output channel, one (k, i, f) per activation tensor."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (12,), 4, N_TRAIN + 512, scale=2.0)
    with (
        QuantizerConfigScope(
            place='datalane', q_type='kif', overflow_mode='SAT', round_mode='TRN', i0=3, f0=4, heterogeneous_axis=()
        ),
        QuantizerConfigScope(
            place=('weight', 'bias'), q_type='kif', overflow_mode='SAT', round_mode='TRN', i0=1, f0=5, default_q_type='kif'
        ),
        QuantizerConfigScope(place='weight', q_type='kif', homogeneous_axis=(0,)),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((12,))
        d1 = QDense(12, activation='relu', name='d1')
        d2 = QDense(4, enable_oq=True, name='d2')
        out = d2(d1(inp))
    model = keras.Model(inp, out, name='dense_sat_trn')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('dense_sat_trn', model, x[N_TRAIN:], rng, ('d1', 'iq'), ('d2', 'oq'), round='TRN', overflow='SAT')


def build_conv1d(seed: int = 13) -> ModelCase:
    """QConv1D + QMaxPool1D + strided 'same' QConv1D + QAvgPool1D(2) + QGlobalMaxPool1D + QDense.

    Input quantizer SAT_SYM / RND_CONV, per element; the rest WRAP / RND.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (16, 3), 4, N_TRAIN + 512)
    iq0 = QuantizerConfig('kif', 'datalane', overflow_mode='SAT_SYM', round_mode='RND_CONV', i0=2, f0=4)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='RND', f0=5),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((16, 3))
        c1 = QConv1D(6, 3, activation='relu', iq_conf=iq0, name='c1')
        h = QMaxPool1D(2, name='p1')(c1(inp))
        h = QConv1D(4, 3, strides=2, padding='same', activation='relu', name='c2')(h)
        h = QAvgPool1D(2, name='p2')(h)
        h = QGlobalMaxPool1D(name='gp')(h)
        d = QDense(4, enable_oq=True, name='d')
        out = d(h)
    model = keras.Model(inp, out, name='conv1d')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('conv1d', model, x[N_TRAIN:], rng, ('c1', 'iq'), ('d', 'oq'), round='RND_CONV', overflow='SAT_SYM')


def build_conv2d_pool(seed: int = 14) -> ModelCase:
    """QConv2D('same') + QMaxPool2D + QConv2D + QAvgPool2D(2x2) + Flatten + QDense; WRAP / TRN."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (8, 8, 2), 3, N_TRAIN + 512)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='TRN', f0=4),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((8, 8, 2))
        c1 = QConv2D(4, (3, 3), padding='same', activation='relu', name='c1')
        h = QMaxPool2D((2, 2), name='p1')(c1(inp))
        h = QConv2D(6, (3, 3), activation='relu', name='c2')(h)  # 4x4 -> 2x2
        h = QAvgPool2D((2, 2), name='p2')(h)
        h = keras.layers.Flatten()(h)
        d = QDense(3, enable_oq=True, name='d')
        out = d(h)
    model = keras.Model(inp, out, name='conv2d_pool')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('conv2d_pool', model, x[N_TRAIN:], rng, ('c1', 'iq'), ('d', 'oq'), round='TRN', overflow='WRAP')


def build_einsum(seed: int = 15) -> ModelCase:
    """QEinsumDense + QEinsumDenseBatchnorm over a (4, 8) input, QSum over the token axis, QDense."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (4, 8), 3, N_TRAIN + 512)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='RND', f0=5),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((4, 8))
        e1 = QEinsumDense('bnc,cd->bnd', (4, 6), bias_axes='d', activation='relu', name='e1')
        h = e1(inp)
        h = QEinsumDenseBatchnorm('bnd,de->bne', (4, 5), bias_axes='e', activation='relu', name='e2')(h)
        h = QSum(axes=1, scale=0.5, name='s')(h)
        d = QDense(3, enable_oq=True, name='d')
        out = d(h)
    model = keras.Model(inp, out, name='einsum')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('einsum', model, x[N_TRAIN:], rng, ('e1', 'iq'), ('d', 'oq'), round='RND', overflow='WRAP')


def build_batchnorm(seed: int = 16) -> ModelCase:
    """QBatchNormalization -> QDense -> QBatchNormDense -> QDense; SAT / RND activations."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (12,), 3, N_TRAIN + 512, scale=1.5)
    x = x + np.linspace(-1, 1, 12, dtype=np.float32)  # non-zero means for the batch norm to learn
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='SAT', round_mode='RND', i0=3, f0=5),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=7),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((12,))
        bn = QBatchNormalization(name='bn')
        h = bn(inp)
        h = QDense(8, activation='relu', name='d1')(h)
        h = QBatchNormDense(6, activation='relu', name='bnd')(h)
        d = QDense(3, enable_oq=True, name='d2')
        out = d(h)
    model = keras.Model(inp, out, name='batchnorm')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('batchnorm', model, x[N_TRAIN:], rng, ('bn', 'iq'), ('d2', 'oq'), round='RND', overflow='SAT')


def build_lut(seed: int = 17) -> ModelCase:
    """QDense -> QUnaryFunctionLUT(tanh) -> QDense -> QUnaryFunctionLUT(sigmoid) -> QDense.

    The LUT layers quantize their input (WRAP / RND, per element) and their output (the 'table'
    default: KBI, SAT_SYM / RND, one precision per tensor).
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (8,), 3, N_TRAIN + 512)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='RND', f0=4),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        QuantizerConfigScope(place='table', q_type='kbi', b0=6, i0=1),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((8,))
        d1 = QDense(8, name='d1')
        h = QUnaryFunctionLUT('tanh', name='tanh')(d1(inp))
        h = QDense(6, name='d2')(h)
        h = QUnaryFunctionLUT('sigmoid', name='sigmoid')(h)
        d = QDense(3, enable_oq=True, name='d3')
        out = d(h)
    model = keras.Model(inp, out, name='lut')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('lut', model, x[N_TRAIN:], rng, ('d1', 'iq'), ('d3', 'oq'), round='RND', overflow='WRAP')


def build_branches(seed: int = 18) -> ModelCase:
    """Two QDense branches joined by QAdd, QSubtract, QMultiply, QMaximum, QMinimum; Concatenate; QDense.

    Merge-layer input quantizers are TRN / WRAP; the first layer's input is SAT / RND.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (10,), 4, N_TRAIN + 512)
    iq0 = QuantizerConfig('kif', 'datalane', overflow_mode='SAT', round_mode='RND', i0=2, f0=4)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='TRN', f0=4),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((10,))
        first = Quantizer(iq0, name='in_q')
        xq = first(inp)
        a = QDense(6, activation='relu', name='a')(xq)
        b = QDense(6, name='b')(xq)
        merged = [
            QAdd(name='add')([a, b]),
            QSubtract(name='sub')([a, b]),
            QMultiply(name='mul')([a, b]),
            QMaximum(name='max')([a, b]),
            QMinimum(name='min')([a, b]),
        ]
        h = keras.layers.Concatenate(name='cat')(merged)
        d = QDense(4, enable_oq=True, name='d')
        out = d(h)
    model = keras.Model(inp, out, name='branches')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('branches', model, x[N_TRAIN:], rng, ('in_q', None), ('d', 'oq'), round='RND', overflow='SAT')


def build_quantizer_layers(seed: int = 19) -> ModelCase:
    """Explicit Quantizer layers: a KBI WRAP / TRN input quantizer on a (6, 4) input, Flatten,
    a QDense without its own input quantizer, ReLU, a final KIF SAT_SYM / RND_CONV Quantizer."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _teacher_data(rng, (6, 4), 3, N_TRAIN + 512)
    qin = QuantizerConfig('kbi', 'datalane', overflow_mode='WRAP', round_mode='TRN', b0=6, i0=2)
    qout = QuantizerConfig('kif', 'datalane', overflow_mode='SAT_SYM', round_mode='RND_CONV', i0=3, f0=3)
    with (
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=6),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((6, 4))
        first = Quantizer(qin, name='in_q')
        h = keras.layers.Flatten()(first(inp))
        h = QDense(8, enable_iq=False, enable_ebops=False, name='d1')(h)
        h = keras.layers.ReLU()(h)
        h = QDense(3, name='d2')(h)
        last = Quantizer(qout, name='out_q')
        out = last(h)
    model = keras.Model(inp, out, name='quantizer_layers')
    _train(model, x[:N_TRAIN], y[:N_TRAIN])
    return _finish('quantizer_layers', model, x[N_TRAIN:], rng, ('in_q', None), ('out_q', None), round='TRN', overflow='WRAP')


BUILDERS: dict[str, Callable[[], ModelCase]] = {
    'dense': build_dense,
    'dense_sat_trn': build_dense_sat_trn,
    'conv1d': build_conv1d,
    'conv2d_pool': build_conv2d_pool,
    'einsum': build_einsum,
    'batchnorm': build_batchnorm,
    'lut': build_lut,
    'branches': build_branches,
    'quantizer_layers': build_quantizer_layers,
}


def _cache_key(name: str) -> str:
    import hashlib
    import importlib.metadata as md

    h = hashlib.sha256()
    with open(__file__, 'rb') as fh:
        h.update(fh.read())
    for dist in ('hgq2', 'keras', 'jax', 'jaxlib', 'numpy'):
        h.update(f'{dist}={md.version(dist)};'.encode())
    h.update(name.encode())
    return h.hexdigest()[:16]


def build(name: str, cache_dir: str | os.PathLike | None = None) -> ModelCase:
    """Build, train and calibrate the named model (see BUILDERS).

    With ``cache_dir``, a model built before by this same file and the same library versions is
    loaded from there instead (saved as ``.keras`` + ``.npz``; writes are atomic, so parallel
    test workers may share the directory).
    """
    try:
        builder = BUILDERS[name]
    except KeyError:
        raise KeyError(f'unknown test model {name!r}; choose one of {", ".join(BUILDERS)}') from None
    if cache_dir is None:
        return builder()

    import json
    from pathlib import Path

    cache = Path(cache_dir)
    stem = cache / f'{name}-{_cache_key(name)}'
    keras_path, npz_path = stem.with_suffix('.keras'), stem.with_suffix('.npz')
    if keras_path.exists() and npz_path.exists():
        model = keras.saving.load_model(keras_path)
        with np.load(npz_path) as data:
            meta = json.loads(str(data['meta']))
            x, x_calib = data['x'], data['x_calib']
        out_q = tuple(meta['out_q']) if meta['out_q'] is not None else None
        return ModelCase(name, model, x, x_calib, tuple(meta['in_q']), out_q, meta['out_f'], meta['modes'])

    case = builder()
    cache.mkdir(parents=True, exist_ok=True)
    tag = f'.tmp{os.getpid()}'
    tmp_keras = keras_path.with_name(keras_path.stem + tag + '.keras')
    tmp_npz = npz_path.with_name(npz_path.stem + tag + '.npz')
    meta = {'in_q': case.in_q, 'out_q': case.out_q, 'out_f': case.out_f, 'modes': case.modes}
    case.model.save(tmp_keras)
    np.savez(tmp_npz, x=case.x, x_calib=case.x_calib, meta=np.array(json.dumps(meta)))
    os.replace(tmp_npz, npz_path)
    os.replace(tmp_keras, keras_path)
    return case
