"""Replays of the quantizer, merge, reduction, lookup-table, activation and shape layers."""

from __future__ import annotations

import functools
import operator

import numpy as np

from ..trace import FixedArray, lut, relu
from .errors import ConversionError
from .exactness import bounds
from .quantizers import check_quantizer, read_quantizer
from .registry import Ctx, activation_reason, quantizer_reasons, register

__all__ = ['LayerTable']

MAX_TABLE = 1 << 16  # input values per element (as the tracer's tables)


# ------------------------------------------------------------------ quantizers


@register('hgq.quantizer:Quantizer', check=check_quantizer)
def quantizer_layer(ctx: Ctx, layer, xs):
    return ctx.quantize(layer, xs[0])


# ------------------------------------------------------------------ merges


def _sum_check(ctx: Ctx, xs):
    bs = [bounds(x) for x in xs]
    ctx.float32.accumulation(ctx.layer, [b[0] for b in bs], [b[1] for b in bs])


def _summed(ctx: Ctx, layer, xs) -> FixedArray:
    xs = ctx.iqs(layer, xs)
    _sum_check(ctx, xs)
    return functools.reduce(operator.add, xs)


@register('hgq.layers:QAdd', 'keras.layers:Add', check=quantizer_reasons)
def add(ctx, layer, xs):
    return ctx.oq(layer, _summed(ctx, layer, xs))


@register('hgq.layers:QAveragePow2', check=quantizer_reasons)
def average_pow2(ctx, layer, xs):
    return ctx.oq(layer, _summed(ctx, layer, xs) * float(layer._scale))


@register('hgq.layers:QSubtract', 'keras.layers:Subtract', check=quantizer_reasons)
def subtract(ctx, layer, xs):
    a, b = ctx.iqs(layer, xs)
    _sum_check(ctx, [a, b])
    return ctx.oq(layer, a - b)


@register('hgq.layers:QMultiply', 'keras.layers:Multiply', check=quantizer_reasons)
def multiply(ctx, layer, xs):
    xs = ctx.iqs(layer, xs)
    y = xs[0]
    for x in xs[1:]:
        (ma, fa, _), (mb, fb, _) = bounds(y), bounds(x)
        ctx.float32.accumulation(ctx.layer, [ma * mb], [fa + fb], what='a product')
        y = y * x
    return ctx.oq(layer, y)


@register('hgq.layers:QMaximum', 'keras.layers:Maximum', check=quantizer_reasons)
def maximum(ctx, layer, xs):
    return ctx.oq(layer, functools.reduce(np.maximum, ctx.iqs(layer, xs)))


@register('hgq.layers:QMinimum', 'keras.layers:Minimum', check=quantizer_reasons)
def minimum(ctx, layer, xs):
    return ctx.oq(layer, functools.reduce(np.minimum, ctx.iqs(layer, xs)))


# ------------------------------------------------------------------ reductions


@register('hgq.layers:QSum', 'hgq.layers:QMeanPow2', check=quantizer_reasons)
def qsum(ctx, layer, xs):
    x = ctx.iq(layer, xs[0])
    axes = tuple(a % x.ndim for a in layer.axes)
    if 0 in axes:
        raise ConversionError(f'{ctx.layer}: a sum over the batch axis')
    ctx.float32.axis_sum(ctx.layer, x, axes)
    y = np.sum(x, axis=axes, keepdims=bool(layer.keepdims)) * float(layer.scale)
    return ctx.oq(layer, y)


# ------------------------------------------------------------------ lookup tables


class LayerTable:
    """The layer's own output for every value of its elements: the layer (element-wise) is
    called eagerly, once, on a batch whose rows hold one candidate value in every element."""

    def __init__(self, layer, shape, values: np.ndarray):
        import keras

        self.layer = layer
        self.values = np.unique(np.asarray(values, dtype=np.float64))
        v32 = self.values.astype(np.float32)
        if not np.array_equal(v32.astype(np.float64), self.values):
            raise ConversionError(f'{layer.name}: a table key is not exact in float32')
        batch = np.broadcast_to(v32.reshape((-1,) + (1,) * len(shape)), (len(v32), *shape))
        out = layer(keras.ops.convert_to_tensor(np.ascontiguousarray(batch)), training=False)
        self.table = np.asarray(keras.ops.convert_to_numpy(out)).astype(np.float64).reshape(len(v32), -1)
        if not np.all(np.isfinite(self.table)):
            raise ConversionError(f'{layer.name}: the function is not finite on its input range')

    def column(self, flat_index: int):
        def fn(values, _j=flat_index):
            values = np.asarray(values, dtype=np.float64)
            pos = np.searchsorted(self.values, values)
            if np.any(pos >= len(self.values)) or not np.array_equal(self.values[pos], values):
                raise ConversionError(f'{self.layer.name}: a table key outside the tabulated values')
            return self.table[pos, _j]

        fn.__name__ = f'{self.layer.name}[{flat_index}]'
        return fn


def _value_set(v) -> np.ndarray:
    """Every value a traced scalar can take."""
    if v.is_const:
        return np.array([float(v.value)])
    if v.lazy is not None:
        raise ConversionError('the input is a float32 function value (e.g. a non-power-of-two average): '
                              'quantize it first (enable_iq)')
    q = v.qint
    n = q.hi - q.lo + 1
    if n > MAX_TABLE:
        raise ConversionError(f'a lookup table over {n} input values (more than {MAX_TABLE}): narrow the input quantizer')
    return np.ldexp(np.arange(q.lo, q.hi + 1, dtype=np.float64), -q.f)


def _check_lut(layer) -> str | None:
    return quantizer_reasons(layer)


@register('hgq.layers:QUnaryFunctionLUT', 'hgq.layers:QAffinedUnaryFunctionLUT', check=_check_lut)
def unary_lut(ctx, layer, xs):
    """One table per element, over the values its (quantized) input can take, holding what the
    layer itself returns for them (activation in float32, output quantizer included)."""
    x = ctx.iq(layer, xs[0])
    shape = x.shape[1:]
    flat = x._vars.reshape(-1)
    table = LayerTable(layer, shape, np.concatenate([_value_set(v) for v in flat]))
    out = np.empty(len(flat), dtype=object)
    spec = read_quantizer(layer.oq, shape) if layer.enable_oq else None
    if spec is not None:
        k, i, f = (a.reshape(-1) for a in spec.effective())
    for j, v in enumerate(flat):
        xe = FixedArray.from_vars(np.array([v], dtype=object))
        if spec is None:
            out[j] = xe.apply(table.column(j))._vars[0]
        elif k[j] + i[j] + f[j] <= 0:
            out[j] = FixedArray.from_vars(np.array([0.0]))._vars[0]
        else:
            out[j] = lut(xe, table.column(j), int(k[j]), int(i[j]), int(f[j]), overflow_mode='WRAP', round_mode='TRN')._vars[0]
    return FixedArray(out.reshape(x.shape))


def _check_softmax(layer) -> str | None:
    return quantizer_reasons(layer) or quantizer_reasons(layer.exp_table) or quantizer_reasons(layer.inv_table)


@register('hgq.layers:QSoftmax', check=_check_softmax)
def softmax(ctx, layer, xs):
    """HGQ2's table softmax: (stable: max over the axes minus x), the exp table, the sum over the
    axes, the inverse table on the sum, and the product exp * inverse (one MUL per element)."""
    x = ctx.iq(layer, xs[0])
    axes = tuple(sorted(a % x.ndim for a in layer.axes))
    if 0 in axes:
        raise ConversionError(f'{ctx.layer}: a softmax over the batch axis')
    if layer.stable:
        m = np.max(x, axis=axes, keepdims=True)
        _sum_check(ctx, [np.broadcast_to(m, x.shape), x])
        x = m - x
    e = unary_lut(ctx, layer.exp_table, [x])
    ctx.float32.axis_sum(ctx.layer, e, axes)
    inv = unary_lut(ctx, layer.inv_table, [np.sum(e, axis=axes, keepdims=True)])
    (me, fe, _), (mi, fi, _) = bounds(e), bounds(np.broadcast_to(inv, e.shape))
    ctx.float32.accumulation(ctx.layer, [me * mi], [fe + fi], what='a product')
    return e * inv


# ------------------------------------------------------------------ Keras activations


def _relu_reason(layer) -> str | None:
    if layer.negative_slope != 0 or layer.threshold != 0:
        return f'ReLU with negative_slope={layer.negative_slope}, threshold={layer.threshold}'
    return None


@register('keras.layers:ReLU', check=_relu_reason)
def relu_layer(ctx, layer, xs):
    y = relu(xs[0])
    if layer.max_value is not None:
        y = np.minimum(y, float(np.float32(layer.max_value)))
    return y


@register('keras.layers:Activation', check=activation_reason)
def activation_layer(ctx, layer, xs):
    return ctx.activation(layer, xs[0])


# ------------------------------------------------------------------ shapes and no-ops


@register('keras.layers:Dropout', 'keras.layers:SpatialDropout1D', 'keras.layers:SpatialDropout2D',
          'keras.layers:GaussianNoise', 'keras.layers:GaussianDropout', 'keras.layers:AlphaDropout',
          'keras.layers:Identity', 'keras.layers:ActivityRegularization')
def identity(ctx, layer, xs):
    return xs[0]


@register('keras.layers:Reshape')
def reshape(ctx, layer, xs):
    return xs[0].reshape((1, *layer.target_shape))


@register('keras.layers:Flatten')
def flatten(ctx, layer, xs):
    x = xs[0]
    if getattr(layer, 'data_format', 'channels_last') == 'channels_first' and x.ndim > 2:
        x = np.moveaxis(x, 1, -1)
    return x.reshape((1, -1))


@register('keras.layers:Permute')
def permute(ctx, layer, xs):
    return xs[0].transpose((0, *layer.dims))


@register('keras.layers:Concatenate')
def concatenate(ctx, layer, xs):
    return np.concatenate(list(xs), axis=layer.axis)

