"""Read an HGQ2 quantizer's per-element precision and modes, and replay it on traced arrays.

At inference an HGQ2 fixed-point quantizer is ``quantize(x, k, i, f, round, overflow)`` per
element with the trained, rounded ``(k, i, f)`` (docs/hgq2_semantics.md, sections 2-3), except:
elements of width ``k + i + f <= 0`` give 0, and so does a signed 1-bit element under SAT_SYM.
Stochastic rounding names (``S_RND``, ``S_RND_CONV``) round as ``RND`` / ``RND_CONV``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..trace import FixedArray, quantize
from .errors import ConversionError, InputPrecisionError

__all__ = ['QuantSpec', 'apply_quantizer', 'check_quantizer', 'read_quantizer', 'unknown_mask']

_ROUND = ('TRN', 'RND', 'RND_CONV', 'TRN_ZERO', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF')
_OVERFLOW = ('WRAP', 'SAT', 'SAT_SYM')


@dataclass(frozen=True)
class QuantSpec:
    """One quantizer on one tensor shape: integer arrays of the per-sample shape, and modes."""

    name: str
    k: np.ndarray
    i: np.ndarray
    f: np.ndarray
    round_mode: str
    overflow_mode: str

    @property
    def zero(self) -> np.ndarray:
        """Elements that always output 0."""
        z = (self.k + self.i + self.f) <= 0
        if self.overflow_mode == 'SAT_SYM':
            z = z | ((self.k == 1) & (self.i + self.f == 0))
        return z

    def effective(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(k, i, f) with the always-0 elements set to width 0."""
        z = self.zero
        return tuple(np.where(z, 0, a) for a in (self.k, self.i, self.f))

    def describe(self) -> str:
        def span(a):
            lo, hi = int(np.min(a)), int(np.max(a))
            return str(lo) if lo == hi else f'{lo}..{hi}'

        return (f'{self.name}: k={span(self.k)} i={span(self.i)} f={span(self.f)} '
                f'{self.round_mode}/{self.overflow_mode}')


def check_quantizer(q) -> str | None:
    """Why ``q`` (an hgq ``Quantizer``) has no exact fixed-point replay, or None."""
    q_type = getattr(getattr(q, 'config', None), 'q_type', None)
    if q_type not in ('kif', 'kbi'):
        return f'quantizer {q.name} is of type {q_type!r} (only fixed-point kif / kbi quantizers are exact)'
    if getattr(q, 'scaler', None) is not None:
        return f'quantizer {q.name} has a scaler'
    if getattr(q, 'affine', None) is not None:
        return f'quantizer {q.name} has an affine transform'
    inner = q.quantizer
    rnd = str(inner.round_mode).removeprefix('S_')
    if rnd not in _ROUND:
        return f'quantizer {q.name} has round mode {inner.round_mode}'
    if inner.overflow_mode not in _OVERFLOW:
        return f'quantizer {q.name} has overflow mode {inner.overflow_mode} (not a fixed-point mode)'
    return None


def read_quantizer(q, shape) -> QuantSpec:
    """The spec of ``q`` applied to tensors whose per-sample shape is ``shape``."""
    import keras

    reason = check_quantizer(q)
    if reason:
        raise ConversionError(reason)
    inner = q.quantizer
    full = (1,) + tuple(int(d) for d in shape)
    arrs = []
    for a in inner.kif:
        b = inner.bw_mapper.bw_to_x(a, full)
        arrs.append(np.asarray(keras.ops.convert_to_numpy(b)).astype(np.float64)[0])
    k, i, f = (np.broadcast_to(a, tuple(shape)).astype(np.int64) for a in arrs)
    for name, a, raw in zip('kif', (k, i, f), arrs):
        if not np.array_equal(a, np.broadcast_to(raw, tuple(shape))):
            raise ConversionError(f'quantizer {q.name}: {name} is not integer-valued after rounding')
    return QuantSpec(q.name, k, i, f, str(inner.round_mode).removeprefix('S_'), inner.overflow_mode)


def unknown_mask(x: FixedArray) -> np.ndarray:
    """Elements that are raw model inputs of no precision yet."""
    return np.array([v.lazy is None and v.node is not None and v.node.qint is None for v in x._vars.flat],
                    dtype=bool).reshape(x.shape)


def apply_quantizer(spec: QuantSpec, x: FixedArray, ctx=None, layer: str = '') -> FixedArray:
    """``spec`` applied to ``x`` (batch axis first, of size 1), exactly as HGQ2 infers."""
    if x.shape[1:] != spec.k.shape:
        raise ConversionError(f'{layer}: quantizer {spec.name} is for shape {spec.k.shape}, got {x.shape[1:]}')
    k, i, f = (a[None] for a in spec.effective())
    unknown = unknown_mask(x)
    if np.any(unknown):
        x = _read_inputs(spec, x, unknown, (k, i, f), ctx, layer)
    elif ctx is not None:
        ctx.float32.quantizer_input(layer, x, k, i, f, spec.round_mode, spec.overflow_mode)
    return quantize(x, k, i, f, overflow_mode=spec.overflow_mode, round_mode=spec.round_mode)


def _read_inputs(spec: QuantSpec, x: FixedArray, unknown, kif, ctx, layer) -> FixedArray:
    """Raw model inputs meeting their first quantizer: WRAP with TRN / RND infers the input
    precision exactly; with ``input_kif='quantizer'`` the port carries this quantizer's precision."""
    mode = getattr(ctx, 'input_mode', None)
    if mode == 'quantizer':
        k, i, f = (np.broadcast_to(a, x.shape)[unknown] for a in kif)
        sub = FixedArray(x._vars[unknown])
        read = quantize(sub, k, i, f, overflow_mode='WRAP', round_mode='TRN')
        out = x._vars.copy()
        out[unknown] = read._vars
        return FixedArray(out)
    if spec.overflow_mode == 'WRAP' and spec.round_mode in ('TRN', 'RND'):
        return x
    raise InputPrecisionError(
        f'a model input first meets quantizer {spec.describe()} (layer {layer}); its overflow/rounding '
        f'happens on the input port, so the port precision must be given: input_kif=(k, i, f) '
        f'(CLI: --input-kif K I F), or input_kif="quantizer" for a port of exactly the quantizer\'s '
        f'precision (inputs arrive already quantized)'
    )
