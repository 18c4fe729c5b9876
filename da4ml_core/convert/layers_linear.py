"""Replays of the layers with constant kernels: QDense (+ QBatchNormDense), QEinsumDense
(+ QEinsumDenseBatchnorm), QConv1D / QConv2D and QBatchNormalization.

Each: input quantizer, the exact linear map with the layer's quantized constants (``qkernel``,
``qbias``, ``qscaler_and_qoffset``, read once, never recomputed), activation, output quantizer.
Constant matrix products go through the tracer, hence the CMVM optimizer.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..trace import FixedArray
from .errors import ConversionError
from .exactness import bounds, frac_bits_array
from .registry import activation_reason, numpy_of, quantizer_reasons, register

__all__ = ['conv_geometry']


def _check_linear(layer) -> str | None:
    return quantizer_reasons(layer) or activation_reason(layer)


def _finish(ctx, layer, y: FixedArray) -> FixedArray:
    return ctx.oq(layer, ctx.activation(layer, y))


def _qbias(layer):
    if getattr(layer, 'bias', None) is None:
        return None
    b = layer.qbias
    return None if b is None else numpy_of(b)


@register('hgq.layers:QDense', 'hgq.layers:QBatchNormDense', check=_check_linear)
def dense(ctx, layer, xs):
    x = ctx.iq(layer, xs[0])
    W = numpy_of(layer.qkernel)
    b = _qbias(layer)
    ctx.float32.einsum(ctx.layer, '...j,jk->...k', x, W, b)
    y = x @ W
    if b is not None:
        y = y + b
    return _finish(ctx, layer, y)


@register('hgq.layers:QEinsumDense', 'hgq.layers:QEinsumDenseBatchnorm', check=_check_linear)
def einsum_dense(ctx, layer, xs):
    x = ctx.iq(layer, xs[0])
    W = numpy_of(layer.qkernel)
    b = _qbias(layer) if layer.bq is not None else None
    ctx.float32.einsum(ctx.layer, layer.equation, x, W, b)
    y = np.einsum(layer.equation, x, W)
    if b is not None:
        y = y + b
    return _finish(ctx, layer, y)


# ------------------------------------------------------------------ convolution


def conv_geometry(n: int, k: int, stride: int, dilation: int, padding: str) -> tuple[int, int, int]:
    """(pad before, pad after, output length) of one spatial axis, as Keras / XLA compute them."""
    span = (k - 1) * dilation + 1
    if padding == 'valid':
        before = after = 0
    elif padding == 'same':
        out = -(-n // stride)
        total = max((out - 1) * stride + span - n, 0)
        before, after = total // 2, total - total // 2
    elif padding == 'causal':
        before, after = span - 1, 0
    else:
        raise ConversionError(f'padding {padding!r}')
    out = (n + before + after - span) // stride + 1
    return before, after, max(out, 0)


def _check_conv(layer) -> str | None:
    reason = _check_linear(layer)
    if reason:
        return reason
    if layer.padding not in ('valid', 'same', 'causal'):
        return f'padding {layer.padding!r}'
    return None


def _channels_last(layer, x: FixedArray) -> FixedArray:
    if getattr(layer, 'data_format', 'channels_last') == 'channels_first':
        return np.moveaxis(x, 1, -1)
    return x


def _channels_back(layer, y: FixedArray) -> FixedArray:
    if getattr(layer, 'data_format', 'channels_last') == 'channels_first':
        return np.moveaxis(y, -1, 1)
    return y


def _patches(x: FixedArray, kernel_size, strides, dilations, padding) -> FixedArray:
    """(1, *out, *kernel, C) windows of channels-last ``x`` (1, *spatial, C), zero padded."""
    rank = len(kernel_size)
    geo = [conv_geometry(n, k, s, d, padding)
           for n, k, s, d in zip(x.shape[1:-1], kernel_size, strides, dilations)]
    if any(g[2] == 0 for g in geo):
        raise ConversionError(f'the window {tuple(kernel_size)} does not fit the input {x.shape[1:-1]}')
    pad = [(0, 0)] + [(g[0], g[1]) for g in geo] + [(0, 0)]
    if any(p != (0, 0) for p in pad):
        x = np.pad(x, pad)
    idx = []
    for d, (g, k, s, dl) in enumerate(zip(geo, kernel_size, strides, dilations)):
        pos = np.arange(g[2])[:, None] * s + np.arange(k)[None, :] * dl
        shape = [1] * (2 * rank)
        shape[d], shape[rank + d] = g[2], k
        idx.append(pos.reshape(shape))
    return x[(0, *idx)][None]


def _full_kernel(W: np.ndarray, groups: int) -> np.ndarray:
    """Block-diagonal (*kernel, C_in, C_out) kernel of a grouped convolution."""
    if groups == 1:
        return W
    cin_g, cout = W.shape[-2], W.shape[-1]
    cout_g = cout // groups
    full = np.zeros(W.shape[:-2] + (cin_g * groups, cout))
    for g in range(groups):
        full[..., g * cin_g:(g + 1) * cin_g, g * cout_g:(g + 1) * cout_g] = W[..., g * cout_g:(g + 1) * cout_g]
    return full


@register('hgq.layers:QConv1D', 'hgq.layers:QConv2D', check=_check_conv)
def conv(ctx, layer, xs):
    """Each output position is one constant matrix-vector product of its window (solved once
    per distinct input precision, so the CMVMs stay small)."""
    x = _channels_last(layer, ctx.iq(layer, xs[0]))
    W = _full_kernel(numpy_of(layer.qkernel), int(getattr(layer, 'groups', 1)))
    b = _qbias(layer)
    rank = len(layer.kernel_size)
    p = _patches(x, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    out_shape = p.shape[1:1 + rank]
    cols = p.reshape((1, *out_shape, -1))
    Wm = W.reshape(-1, W.shape[-1])
    ctx.float32.einsum(ctx.layer, '...k,ko->...o', cols, Wm, b)
    res = np.empty((1, *out_shape, Wm.shape[1]), dtype=object)
    for pos in itertools.product(*(range(n) for n in out_shape)):
        res[(0, *pos)] = (cols[(0, *pos)] @ Wm)._vars
    y = FixedArray(res)
    if b is not None:
        y = y + b
    return _finish(ctx, layer, _channels_back(layer, y))


# ------------------------------------------------------------------ batch normalization


@register('hgq.layers:QBatchNormalization', check=quantizer_reasons)
def batch_norm(ctx, layer, xs):
    x = ctx.iq(layer, xs[0])
    s, o = layer.qscaler_and_qoffset
    s = numpy_of(s).reshape(layer._shape)
    o = numpy_of(o).reshape(layer._shape)
    mx, fx, _ = bounds(x)
    ctx.float32.accumulation(ctx.layer, [mx * np.abs(s), np.abs(o)], [fx + frac_bits_array(s), frac_bits_array(o)])
    return ctx.oq(layer, x * s + o)
