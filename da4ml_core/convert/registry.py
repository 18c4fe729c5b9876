"""The layer registry: which Keras / HGQ2 classes have a replay, and the shared per-layer steps.

A handler replays one layer on traced arrays that carry a leading batch axis of size 1 (so
Keras axis numbers, einsum equations and broadcasting apply unchanged). Classes are matched
exactly (a user subclass may change ``call``), and registered by import path so that the
registry can be listed without importing Keras.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..trace import FixedArray, relu
from .errors import ConversionError
from .exactness import Float32Report
from .quantizers import apply_quantizer, check_quantizer, read_quantizer

__all__ = ['Ctx', 'Handler', 'activation_reason', 'handler_for', 'register', 'supported_layers']


@dataclass(frozen=True)
class Handler:
    paths: tuple[str, ...]
    fn: Callable
    check: Callable | None = None


_HANDLERS: list[Handler] = []
_BY_CLASS: dict[type, Handler] = {}
_RESOLVED = False


def register(*paths: str, check: Callable | None = None):
    """Register ``fn(ctx, layer, inputs) -> FixedArray`` for the classes at ``paths``
    ('module:Class'). ``check(layer) -> reason | None`` rejects unsupported settings up front."""

    def deco(fn):
        _HANDLERS.append(Handler(paths, fn, check))
        return fn

    return deco


def _resolve():
    global _RESOLVED
    if _RESOLVED:
        return
    for h in _HANDLERS:
        for path in h.paths:
            mod, _, name = path.partition(':')
            try:
                cls = getattr(importlib.import_module(mod), name)
            except (ImportError, AttributeError):
                continue  # not in this version of the library
            _BY_CLASS[cls] = h
    _RESOLVED = True


def handler_for(op) -> Handler | None:
    _resolve()
    return _BY_CLASS.get(type(op))


def supported_layers() -> list[str]:
    """Class names with a replay (sorted)."""
    return sorted({p.partition(':')[2] for h in _HANDLERS for p in h.paths})


# ------------------------------------------------------------------ per-layer shared steps


def activation_reason(layer) -> str | None:
    act = getattr(layer, 'activation', None)
    if act is None:
        return None
    name = getattr(act, '__name__', None)
    if name in ('relu', 'linear'):
        return None
    return f'activation {name or repr(act)} (only relu and linear are exact; use QUnaryFunctionLUT)'


def quantizer_reasons(layer) -> str | None:
    """First non fixed-point quantizer among the layer's iq / oq / kq / bq, or None."""
    qs = []
    if getattr(layer, 'enable_iq', False):
        iq = layer.iq
        qs += list(iq.quantizers) if hasattr(iq, 'quantizers') else [iq]
    if getattr(layer, 'enable_oq', False):
        qs.append(layer.oq)
    for attr in ('kq', 'bq'):
        q = getattr(layer, attr, None)
        if q is not None:
            qs.append(q)
    for q in qs:
        reason = check_quantizer(q)
        if reason:
            return reason
    return None


@dataclass
class Ctx:
    """State shared by the handlers during one conversion."""

    input_mode: str | None = None  # None: infer WRAP inputs; 'quantizer': ports at the first quantizer
    float32: Float32Report = field(default_factory=Float32Report)
    layer: str = ''

    def quantize(self, q, x: FixedArray) -> FixedArray:
        return apply_quantizer(read_quantizer(q, x.shape[1:]), x, self, self.layer)

    def iq(self, layer, x: FixedArray, j: int | None = None) -> FixedArray:
        if not layer.enable_iq:
            return x
        q = layer.iq if j is None else layer.iq.quantizers[j]
        return self.quantize(q, x)

    def iqs(self, layer, xs: list[FixedArray]) -> list[FixedArray]:
        """Each input of a multi-input layer through its own input quantizer (if enabled)."""
        return [self.iq(layer, x, j) for j, x in enumerate(xs)] if getattr(layer, 'enable_iq', False) else list(xs)

    def oq(self, layer, y: FixedArray) -> FixedArray:
        if not getattr(layer, 'enable_oq', False):
            return y
        return self.quantize(layer.oq, y)

    def activation(self, layer, y: FixedArray) -> FixedArray:
        reason = activation_reason(layer)
        if reason:
            raise ConversionError(f'{self.layer}: {reason}')
        act = getattr(layer, 'activation', None)
        if act is not None and act.__name__ == 'relu':
            return relu(y)
        return y


def numpy_of(t) -> np.ndarray:
    """A Keras tensor / variable as a float64 numpy array (exact: float32 values)."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(t)).astype(np.float64)
