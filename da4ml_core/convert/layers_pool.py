"""Replays of the HGQ2 pooling layers (1D / 2D, max / average, windowed / global).

Max pooling is exact. Average pooling is the window sum times ``1/N``; Keras (JAX backend)
computes ``fl32(S * fl32(1/N))``, exact when ``N`` is a power of two. For other ``N`` the sum
is passed through a table holding exactly that float32 expression, built at the precision of
the next quantizer (so the layer must be followed by one; the table's key is the exact sum).
Windows follow Keras: ``strides`` default to ``pool_size``; 'same' padding never wins a max and
is not counted in an average (each window divides by its own number of valid elements).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..trace import FixedArray
from .errors import ConversionError
from .exactness import bounds
from .layers_linear import _channels_back, _channels_last, conv_geometry
from .registry import quantizer_reasons, register

__all__ = []


def _scale_by(s: FixedArray, n: int) -> FixedArray:
    """What Keras computes for ``s / n`` (window sums ``s``): exact for powers of two, else the
    float32 product with the float32 reciprocal, left as a table for the next quantizer."""
    if n & (n - 1) == 0:
        return s * (1.0 / n)
    c = np.float32(1.0) / np.float32(n)

    def avg_f32(v, _c=c):
        return (np.asarray(v, dtype=np.float32) * _c).astype(np.float64)

    avg_f32.__name__ = f'avg{n}_f32'
    return s.apply(avg_f32)


def _windows(layer, x0_shape, rank):
    pool = tuple(layer.pool_size)
    strides = tuple(layer.strides) if layer.strides is not None else pool
    ranges = []
    for n, k, s in zip(x0_shape[:rank], pool, strides):
        before, _, out = conv_geometry(n, k, s, 1, layer.padding)
        if out <= 0:
            raise ConversionError(f'the pool window {pool} does not fit the input {x0_shape[:rank]}')
        ranges.append([(max(o * s - before, 0), min(o * s - before + k, n)) for o in range(out)])
    return ranges


def _check_pool(layer) -> str | None:
    reason = quantizer_reasons(layer)
    if reason:
        return reason
    if getattr(layer, 'padding', 'valid') not in ('valid', 'same'):
        return f'padding {layer.padding!r}'
    return None


def _pool(ctx, layer, xs, average: bool):
    x = _channels_last(layer, ctx.iq(layer, xs[0]))
    rank = x.ndim - 2
    x0 = x[0]
    mag, f, _ = bounds(x0)
    ranges = _windows(layer, x0.shape, rank)
    out_shape = tuple(len(r) for r in ranges)
    res = np.empty((1, *out_shape, x0.shape[-1]), dtype=object)
    axes = tuple(range(rank))
    for pos in itertools.product(*(range(n) for n in out_shape)):
        sl = tuple(slice(*ranges[d][p]) for d, p in enumerate(pos))
        win = x0[sl]
        if average:
            n = int(np.prod([s.stop - s.start for s in sl]))
            ctx.float32.accumulation(ctx.layer, list(mag[sl].reshape(n, -1)), list(f[sl].reshape(n, -1)))
            r = _scale_by(np.sum(win, axis=axes), n)
        else:
            r = np.max(win, axis=axes)
        res[(0, *pos)] = r._vars
    return ctx.oq(layer, _channels_back(layer, FixedArray(res)))


@register('hgq.layers:QMaxPooling1D', 'hgq.layers:QMaxPooling2D', check=_check_pool)
def max_pool(ctx, layer, xs):
    return _pool(ctx, layer, xs, average=False)


@register('hgq.layers:QAveragePooling1D', 'hgq.layers:QAveragePooling2D', check=_check_pool)
def avg_pool(ctx, layer, xs):
    return _pool(ctx, layer, xs, average=True)


def _global(ctx, layer, xs, average: bool):
    x = _channels_last(layer, ctx.iq(layer, xs[0]))
    axes = tuple(range(1, x.ndim - 1))
    keep = bool(getattr(layer, 'keepdims', False))
    if average:
        ctx.float32.axis_sum(ctx.layer, x, axes)
        y = _scale_by(np.sum(x, axis=axes, keepdims=keep), int(np.prod([x.shape[a] for a in axes])))
    else:
        y = np.max(x, axis=axes, keepdims=keep)
    if keep:
        y = _channels_back(layer, y)
    return ctx.oq(layer, y)


@register('hgq.layers:QGlobalMaxPooling1D', 'hgq.layers:QGlobalMaxPooling2D', check=quantizer_reasons)
def global_max_pool(ctx, layer, xs):
    return _global(ctx, layer, xs, average=False)


@register('hgq.layers:QGlobalAveragePooling1D', 'hgq.layers:QGlobalAveragePooling2D', check=quantizer_reasons)
def global_avg_pool(ctx, layer, xs):
    return _global(ctx, layer, xs, average=True)
