"""FixedArray: an ndarray of FixedVars that behaves like a numpy array while tracing.

Shape operations act on the object array of variables; arithmetic is element by element with
numpy broadcasting; numpy functions and ufuncs reach npapi.py through ``__array_function__`` and
``__array_ufunc__``.
"""

from __future__ import annotations

import numpy as np

from ..fixed import check_bit_range, modes_keyword_only
from . import logic
from .node import input_node
from .quant import parse_modes, quantize_var
from .var import FixedVar, add, as_var, mul, mul_const, neg, sub
from .var import relu as relu_var

__all__ = [
    'FixedArray',
    'check_kif',
    'elementwise',
    'lut',
    'multiply',
    'obj_array',
    'quantize',
    'relu',
    'reshape_any',
    'to_vars',
]

_const_of = np.frompyfunc(as_var, 1, 1)


def obj_array(items, shape=None) -> np.ndarray:
    """An object array holding ``items`` (a list) as elements, reshaped to ``shape``."""
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr.reshape(shape if shape is not None else (len(items),))


def to_vars(x) -> np.ndarray:
    """Object array of FixedVars for a FixedArray, FixedVar, number or numeric array."""
    if isinstance(x, FixedArray):
        return x._vars
    if isinstance(x, FixedVar):
        return obj_array([x], ())
    arr = np.asarray(x)
    if arr.dtype == object:
        return np.asarray(_const_of(arr), dtype=object).reshape(arr.shape)
    if arr.dtype.kind not in 'biuf':
        raise TypeError(f'cannot use an array of dtype {arr.dtype} as fixed-point constants')
    if arr.dtype.kind == 'f' and not np.all(np.isfinite(arr)):
        raise ValueError('constants must be finite')
    return np.asarray(_const_of(arr), dtype=object).reshape(arr.shape)


def elementwise(fn, *args) -> FixedArray:
    """``fn`` applied element by element over the broadcast traced/constant arguments."""
    arrs = [to_vars(a) for a in args]
    res = np.frompyfunc(fn, len(arrs), 1)(*arrs)
    if not isinstance(res, np.ndarray):
        res = obj_array([res], ())
    return FixedArray(res)


def check_kif(k, i, f, shape=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate per-element precisions: integer k in {0, 1}, integer i and f within
    ``±MAX_BITS``, width >= 0. Raises ValueError naming the argument and the bad value."""
    out = []
    for name, val in (('k', k), ('i', i), ('f', f)):
        try:
            arr = np.asarray(val)
        except (TypeError, ValueError):
            raise ValueError(f'{name} must be an integer or an array of integers, got {name}={val!r}') from None
        if arr.dtype.kind not in 'biuf':
            raise ValueError(f'{name} must be an integer or an array of integers, got {name}={val!r}')
        bad = ~np.isfinite(arr.astype(np.float64)) | (arr != np.round(arr.astype(np.float64)))
        if np.any(bad):
            raise ValueError(f'{name} must be integer-valued, got {name}={arr[bad].flat[0].item()!r}')
        if name != 'k':
            check_bit_range(**{name: arr})  # before the int64 cast, which would wrap it
        out.append(arr.astype(np.int64))
    k, i, f = out
    if np.any((k != 0) & (k != 1)):
        raise ValueError(f'k must be 0 or 1 (keep_negative), got k={int(k[(k != 0) & (k != 1)].flat[0])}')
    msg = f'k, i, f of shapes {k.shape}, {i.shape}, {f.shape} do not broadcast to the array shape {shape}'
    try:
        target = np.broadcast_shapes(k.shape, i.shape, f.shape, *([shape] if shape is not None else []))
    except ValueError:
        raise ValueError(msg) from None
    if shape is not None and target != tuple(shape):
        raise ValueError(msg)
    k, i, f = (np.broadcast_to(a, target) for a in (k, i, f))
    bad = k + i + f < 0
    if np.any(bad):
        j = tuple(np.argwhere(bad)[0])
        raise ValueError(f'width k + i + f must be >= 0, got k={k[j]}, i={i[j]}, f={f[j]}')
    return k, i, f


def _shape_arg(shape) -> tuple[int, ...]:
    dims = [shape] if np.ndim(shape) == 0 else list(np.ravel(np.asarray(shape, dtype=object)))
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f'shape must be non-negative integers, got shape={shape!r}')
    return tuple(int(d) for d in dims)


def _latency_arg(latency, shape) -> np.ndarray:
    try:
        lat = np.asarray(latency, dtype=np.float64)
        lat = np.broadcast_to(lat, shape)
    except (TypeError, ValueError):
        raise ValueError(f'latency must be a number or an array broadcasting to {shape}, got latency={latency!r}') from None
    if not np.all(np.isfinite(lat) & (lat >= 0)):
        bad = lat[~(np.isfinite(lat) & (lat >= 0))].flat[0]
        raise ValueError(f'latency must be finite and >= 0, got latency={bad}')
    return lat


class FixedArray:
    """Symbolic fixed-point array. Build inputs with :meth:`input`, compute with numpy, and pass
    inputs and outputs to :func:`~da4ml_core.trace.trace`."""

    __array_priority__ = 100
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, vars_):
        arr = np.asarray(vars_, dtype=object) if not isinstance(vars_, np.ndarray) else vars_
        if arr.dtype != object:
            arr = to_vars(arr)
        self._vars = arr

    @classmethod
    def from_vars(cls, arr: np.ndarray) -> FixedArray:
        if arr.size and not all(isinstance(v, FixedVar) for v in arr.flat):
            arr = np.asarray(_const_of(arr), dtype=object).reshape(arr.shape)
        return cls(arr)

    @classmethod
    def input(cls, shape, k=None, i=None, f=None, latency=0.0) -> FixedArray:
        """Program inputs of ``shape`` with per-element (broadcastable) precision ``k, i, f``.
        Leave all three as None to infer the precision from the quantizer applied to it
        (WRAP with TRN reads the input at exactly that precision, WRAP with RND one bit finer;
        other modes need the input's precision)."""
        shape = _shape_arg(shape)
        lat = _latency_arg(latency, shape)
        n = int(np.prod(shape, dtype=np.int64))
        if k is None and i is None and f is None:
            items = [FixedVar(input_node(None, float(lt))) for lt in lat.ravel()]
            return cls(obj_array(items, shape))
        missing = [name for name, v in (('k', k), ('i', i), ('f', f)) if v is None]
        if missing:
            raise ValueError(f'give all of k, i, f or none of them; missing {", ".join(missing)}')
        kk, ii, ff = check_kif(k, i, f, shape)
        items = [
            FixedVar(input_node((int(a), int(b), int(c)), float(lt)))
            for a, b, c, lt in zip(kk.ravel(), ii.ravel(), ff.ravel(), lat.ravel())
        ]
        assert len(items) == n
        return cls(obj_array(items, shape))

    # ------------------------------------------------------------------ array protocol
    @property
    def shape(self) -> tuple[int, ...]:
        return self._vars.shape

    @property
    def ndim(self) -> int:
        return self._vars.ndim

    @property
    def size(self) -> int:
        return self._vars.size

    @property
    def dtype(self):
        return self._vars.dtype

    def __len__(self):
        return len(self._vars)

    def __iter__(self):
        for j in range(len(self)):
            yield self[j]

    def __getitem__(self, idx):
        return FixedArray.from_vars(np.asarray(self._vars[idx], dtype=object))

    def __setitem__(self, idx, value):
        vals = to_vars(value)
        target = self._vars[idx]
        if isinstance(target, np.ndarray):
            self._vars[idx] = np.broadcast_to(vals, target.shape)
        elif vals.size == 1:
            self._vars[idx] = vals.reshape(())[()]
        else:
            raise ValueError(f'cannot set one element from an array of shape {vals.shape}')

    def __repr__(self):
        return f'FixedArray(shape={self.shape})'

    @property
    def kif(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Minimal (k, i, f) of every element, as three int arrays."""
        kifs = [v.qint.kif for v in self._vars.flat]
        return tuple(np.array([p[j] for p in kifs], dtype=np.int64).reshape(self.shape) for j in range(3))

    @property
    def latency(self) -> np.ndarray:
        return np.array([v.latency for v in self._vars.flat], dtype=np.float64).reshape(self.shape)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .npapi import dispatch_ufunc

        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .npapi import dispatch_function

        return dispatch_function(func, args, kwargs)

    # ------------------------------------------------------------------ shape methods
    def reshape(self, *shape, order='C'):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape
        return FixedArray(self._vars.reshape(shape, order=order))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)) else axes
        return FixedArray(self._vars.transpose(*(axes or ())))

    @property
    def T(self):
        return FixedArray(self._vars.T)

    def flatten(self):
        return FixedArray(self._vars.flatten())

    def ravel(self):
        return FixedArray(self._vars.ravel())

    def squeeze(self, axis=None):
        return FixedArray(self._vars.squeeze(axis))

    def swapaxes(self, a, b):
        return FixedArray(self._vars.swapaxes(a, b))

    def repeat(self, repeats, axis=None):
        return FixedArray(self._vars.repeat(repeats, axis))

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, o):
        return elementwise(add, self, o)

    def __radd__(self, o):
        return elementwise(add, o, self)

    def __sub__(self, o):
        return elementwise(sub, self, o)

    def __rsub__(self, o):
        return elementwise(sub, o, self)

    def __mul__(self, o):
        return multiply(self, o)

    def __rmul__(self, o):
        return multiply(o, self)

    def __truediv__(self, o):
        if isinstance(o, (FixedArray, FixedVar)):
            raise TypeError('division by a traced value is not supported (use lut(x, lambda v: 1 / v, ...))')
        cs = to_vars(o)
        recip = [_reciprocal(c.value) for c in cs.flat]
        return multiply(self, FixedArray(obj_array(recip, cs.shape)))

    def __neg__(self):
        return elementwise(neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return elementwise(logic.absolute, self)

    def __pow__(self, n):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise TypeError(f'only positive integer powers are supported, got {n!r}')
        r = self
        for _ in range(int(n) - 1):
            r = multiply(r, self)
        return r

    def __matmul__(self, o):
        from .linalg import matmul

        return matmul(self, o)

    def __rmatmul__(self, o):
        from .linalg import matmul

        return matmul(o, self)

    def __lt__(self, o):
        return elementwise(lambda a, b: logic.compare(a, b, '<'), self, o)

    def __le__(self, o):
        return elementwise(lambda a, b: logic.compare(a, b, '<='), self, o)

    def __gt__(self, o):
        return elementwise(lambda a, b: logic.compare(a, b, '>'), self, o)

    def __ge__(self, o):
        return elementwise(lambda a, b: logic.compare(a, b, '>='), self, o)

    def __eq__(self, o):  # type: ignore[override]
        return elementwise(lambda a, b: logic.compare(a, b, '=='), self, o)

    def __ne__(self, o):  # type: ignore[override]
        return elementwise(lambda a, b: logic.compare(a, b, '!='), self, o)

    def __bool__(self):
        raise TypeError('a traced fixed-point array has no truth value while tracing')

    # ------------------------------------------------------------------ fixed-point ops
    def quantize(self, k, i, f, *positional, round_mode='TRN', overflow_mode='WRAP'):
        modes_keyword_only('FixedArray.quantize', positional)
        return quantize(self, k, i, f, overflow_mode=overflow_mode, round_mode=round_mode)

    def relu(self):
        return relu(self)

    def lut(self, fn, k, i, f, *positional, round_mode='TRN', overflow_mode='WRAP'):
        modes_keyword_only('FixedArray.lut', positional)
        return lut(self, fn, k, i, f, overflow_mode=overflow_mode, round_mode=round_mode)

    def apply(self, fn):
        """fn on every element as a lookup table; its precision is set by the next quantize."""
        from .tables import apply_fn

        return elementwise(lambda v: apply_fn(v, fn), self)

    def sum(self, axis=None, keepdims=False):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return np.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return np.min(self, axis=axis, keepdims=keepdims)

    def clip(self, lo=None, hi=None):
        return np.clip(self, lo, hi)


def _reciprocal(c) -> FixedVar:
    if c == 0:
        raise ZeroDivisionError('division of a traced array by zero')
    return as_var(1 / c)


def map_kif(fn, x, kk, ii, ff) -> FixedArray:
    """``fn(var, k, i, f)`` over x broadcast against per-element precisions."""
    xb, kb, ib, fb = np.broadcast_arrays(to_vars(x), kk, ii, ff)
    out = [fn(v, int(a), int(b), int(c)) for v, a, b, c in zip(xb.flat, kb.flat, ib.flat, fb.flat)]
    return FixedArray(obj_array(out, xb.shape))


def multiply(a, b) -> FixedArray:
    def _mul(x, y):
        if y.is_const:
            return mul_const(x, y.value)
        return mul(x, y)

    return elementwise(_mul, a, b)


def reshape_any(x, shape) -> FixedArray:
    return FixedArray(to_vars(x).reshape(shape))


def quantize(x, k, i, f, *positional, round_mode='TRN', overflow_mode='WRAP') -> FixedArray:
    """Round (``round_mode``) then handle overflow (``overflow_mode``) into per-element precision
    (k, i, f); exact for every mode, built from IR ops (see quant.py). Modes are keyword-only."""
    modes_keyword_only('quantize', positional)
    ovf, rnd = parse_modes(overflow_mode, round_mode)
    kk, ii, ff = check_kif(k, i, f, to_vars(x).shape)
    return map_kif(lambda v, a, b, c: quantize_var(v, a, b, c, ovf, rnd), x, kk, ii, ff)


def relu(x) -> FixedArray:
    return elementwise(relu_var, x)


def lut(x, fn, k, i, f, *positional, round_mode='TRN', overflow_mode='WRAP') -> FixedArray:
    """``quantize(fn(x), k, i, f, round_mode=..., overflow_mode=...)`` as one lookup table per
    element; ``fn`` takes float64 arrays (or floats) and must be finite over x's range."""
    modes_keyword_only('lut', positional)
    from .tables import lookup

    if not callable(fn):
        raise TypeError(f'fn must be a callable taking float64 arrays, got fn={fn!r}')
    ovf, rnd = parse_modes(overflow_mode, round_mode)
    kk, ii, ff = check_kif(k, i, f, to_vars(x).shape)
    return map_kif(lambda v, a, b, c: lookup(v, fn, a, b, c, ovf, rnd), x, kk, ii, ff)

