"""Replays of products of two traced tensors: QEinsum and QDot (and Keras's Dot on quantized
inputs). Each input passes its own quantizer, then every product of two variables is one
multiplier (MUL) and the products are summed; no constant matrix, so no CMVM here."""

from __future__ import annotations

import numpy as np

from .errors import ConversionError
from .registry import quantizer_reasons, register

__all__ = ['dot_equation']

_LETTERS = 'abcdefghijklmnopqrstuvwxyz'


def _check_einsum(layer) -> str | None:
    n = layer.equation.split('->', 1)[0].count(',') + 1
    if n != 2:
        return f'an einsum of {n} inputs (only two are supported)'
    return quantizer_reasons(layer)


@register('hgq.layers:QEinsum', check=_check_einsum)
def einsum(ctx, layer, xs):
    a, b = ctx.iqs(layer, xs)
    ctx.float32.einsum(ctx.layer, layer.equation, a, b)
    return ctx.oq(layer, np.einsum(layer.equation, a, b))


def dot_equation(axes, ndim_a: int, ndim_b: int) -> tuple[str, bool]:
    """The einsum equation of Keras's ``batch_dot(a, b, axes)`` on batched tensors (axis 0 the
    batch) and whether Keras then adds a trailing axis (a result of rank 1 becomes (batch, 1))."""
    if isinstance(axes, int):
        axes = (axes % ndim_a, axes % ndim_b) if axes < 0 else (axes, axes)
    ax_a, ax_b = (int(ax) % nd for ax, nd in zip(axes, (ndim_a, ndim_b)))
    if 0 in (ax_a, ax_b):
        raise ConversionError(f'a dot product over the batch axis (axes {tuple(axes)})')
    if ndim_a + ndim_b - 1 > len(_LETTERS):
        raise ConversionError('a dot product of tensors with too many axes')
    sa = ['a'] + list(_LETTERS[1:ndim_a])
    sb = ['a'] + list(_LETTERS[ndim_a:ndim_a + ndim_b - 1])
    sb[ax_b] = sa[ax_a]
    out = [c for j, c in enumerate(sa) if j != ax_a] + [c for j, c in enumerate(sb) if j not in (0, ax_b)]
    return f'{"".join(sa)},{"".join(sb)}->{"".join(out)}', len(out) == 1


def _check_dot(layer) -> str | None:
    if getattr(layer, 'normalize', False):
        return 'normalize=True (an l2 normalisation is not a fixed-point operation)'
    return quantizer_reasons(layer)


@register('hgq.layers:QDot', 'keras.layers:Dot', check=_check_dot)
def dot(ctx, layer, xs):
    a, b = ctx.iqs(layer, xs)
    equation, expand = dot_equation(layer.axes, a.ndim, b.ndim)
    ctx.float32.einsum(ctx.layer, equation, a, b)
    y = np.einsum(equation, a, b)
    if expand:
        y = y.reshape((*y.shape, 1))
    return ctx.oq(layer, y)
