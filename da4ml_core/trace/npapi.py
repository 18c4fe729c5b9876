"""What numpy calls on a FixedArray: the ufunc and function tables.

Shape functions run numpy itself on the object array of variables; arithmetic ufuncs map to
the exact primitives; any other one-input ufunc (tanh, exp, sigmoid-like scipy ufuncs ...)
becomes a lookup table whose precision the next quantize sets. Everything else raises
TypeError naming the function.
"""

from __future__ import annotations

import numpy as np

from . import linalg, logic
from .array import FixedArray, elementwise, multiply, obj_array, to_vars
from .quant import round_only
from .reduce import reduce_tree, sum_tree
from .tables import apply_fn
from .var import add, neg, scale, sub

__all__ = ['SUPPORTED_FUNCTIONS', 'SUPPORTED_UFUNCS', 'dispatch_function', 'dispatch_ufunc']

_NOVALUE = getattr(np, '_NoValue', None)


def _name(f) -> str:
    """``numpy.sort``, ``numpy.linalg.inv``: the name the user called it by."""
    module = getattr(f, '__module__', None) or 'numpy'
    if not module.startswith('numpy'):
        module = 'numpy'
    return f'{module}.{getattr(f, "__name__", repr(f))}'


def _cmp(op):
    return lambda a, b: elementwise(lambda x, y: logic.compare(x, y, op), a, b)


def _divide(a, b):
    if isinstance(b, FixedArray):
        raise TypeError('numpy.divide by a traced array is not supported (use lut(x, lambda v: 1 / v, ...))')
    return a / b if isinstance(a, FixedArray) else FixedArray(to_vars(a)) / b


def _ldexp(a, n):
    if isinstance(n, FixedArray):
        raise TypeError('numpy.ldexp needs constant exponents')
    return elementwise(lambda v, e: scale(v, int(e.value)), a, np.asarray(n, dtype=np.int64))


UFUNCS = {
    np.add: lambda a, b: elementwise(add, a, b),
    np.subtract: lambda a, b: elementwise(sub, a, b),
    np.multiply: multiply,
    np.negative: lambda a: elementwise(neg, a),
    np.positive: lambda a: FixedArray(to_vars(a)),
    np.absolute: lambda a: elementwise(logic.absolute, a),
    np.fabs: lambda a: elementwise(logic.absolute, a),
    np.maximum: lambda a, b: elementwise(logic.maximum, a, b),
    np.minimum: lambda a, b: elementwise(logic.minimum, a, b),
    np.fmax: lambda a, b: elementwise(logic.maximum, a, b),
    np.fmin: lambda a, b: elementwise(logic.minimum, a, b),
    np.greater: _cmp('>'),
    np.greater_equal: _cmp('>='),
    np.less: _cmp('<'),
    np.less_equal: _cmp('<='),
    np.equal: _cmp('=='),
    np.not_equal: _cmp('!='),
    np.matmul: linalg.matmul,
    np.square: lambda a: multiply(a, a),
    np.true_divide: _divide,
    np.floor: lambda a: elementwise(lambda v: round_only(v, 0, 'TRN'), a),
    np.ceil: lambda a: elementwise(lambda v: neg(round_only(neg(v), 0, 'TRN')), a),
    np.rint: lambda a: elementwise(lambda v: round_only(v, 0, 'RND_CONV'), a),
    np.trunc: lambda a: elementwise(lambda v: round_only(v, 0, 'TRN_ZERO'), a),
    np.ldexp: _ldexp,
}


def _tree_max(vs):
    return reduce_tree(vs, logic.maximum)


def _tree_min(vs):
    return reduce_tree(vs, logic.minimum)


def _reduce(a, axis, keepdims, tree, name):
    v = to_vars(a)
    nd = v.ndim
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(sorted({int(x) % max(nd, 1) for x in (axis if isinstance(axis, (tuple, list)) else (axis,))}))
        if any(not -nd <= int(x) < max(nd, 1) for x in (axis if isinstance(axis, (tuple, list)) else (axis,))):
            raise ValueError(f'{name}: axis {axis} is out of bounds for {nd} dimensions')
    keep = [d for d in range(nd) if d not in axes]
    kept_shape = tuple(v.shape[d] for d in keep)
    n = int(np.prod([v.shape[d] for d in axes], dtype=np.int64))
    rows = v.transpose(keep + list(axes)).reshape(-1, n)
    if n == 0 and tree is not sum_tree:
        raise ValueError(f'{name} of an empty selection has no value')
    out = obj_array([tree(list(r)) for r in rows], kept_shape)
    if keepdims:
        out = out.reshape(tuple(1 if d in axes else v.shape[d] for d in range(nd)))
    return FixedArray(out), n


def _no_extras(name, **kw):
    for key, val in kw.items():
        if val is not None and val is not _NOVALUE and val is not False:
            raise TypeError(f'{name}: argument {key}= is not supported on FixedArray')


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_extras('numpy.sum', dtype=dtype, out=out, initial=initial, where=where)
    return _reduce(a, axis, keepdims is True, sum_tree, 'sum')[0]


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _no_extras('numpy.mean', dtype=dtype, out=out, where=where)
    s, n = _reduce(a, axis, keepdims is True, sum_tree, 'mean')
    if n <= 0 or n & (n - 1):
        raise ValueError(f'numpy.mean over {n} elements is not exact in fixed point (only power-of-two counts)')
    return elementwise(lambda v: scale(v, -(n.bit_length() - 1)), s)


def _max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    _no_extras('numpy.max', out=out, initial=initial, where=where)
    return _reduce(a, axis, keepdims is True, _tree_max, 'max')[0]


def _min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    _no_extras('numpy.min', out=out, initial=initial, where=where)
    return _reduce(a, axis, keepdims is True, _tree_min, 'min')[0]


def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kw):
    _no_extras('numpy.clip', out=out, **kw)
    lo = a_min if a_min is not None and a_min is not _NOVALUE else min
    hi = a_max if a_max is not None and a_max is not _NOVALUE else max
    lo = None if lo is _NOVALUE else lo
    hi = None if hi is _NOVALUE else hi
    if lo is None and hi is None:
        return FixedArray(to_vars(a))
    if lo is None:
        return elementwise(logic.minimum, a, hi)
    if hi is None:
        return elementwise(logic.maximum, a, lo)
    return elementwise(lambda v, x, y: logic.clip(v, x, y), a, lo, hi)


def _where(cond, *xy):
    if len(xy) != 2:
        raise TypeError('numpy.where on FixedArray needs the three-argument form where(cond, x, y)')
    x, y = xy
    if isinstance(cond, FixedArray):
        return elementwise(logic.where, cond, x, y)
    c = np.asarray(cond)
    if c.dtype.kind not in 'biuf':
        raise TypeError(f'numpy.where: condition of dtype {c.dtype} is not supported')
    return FixedArray.from_vars(np.where(c != 0, to_vars(x), to_vars(y)))


def _round(a, decimals=0, out=None):
    _no_extras('numpy.round', out=out)
    if decimals != 0:
        raise ValueError(f'numpy.round with decimals={decimals} is not exact in binary fixed point')
    return elementwise(lambda v: round_only(v, 0, 'RND_CONV'), a)


def _einsum(subscripts, *operands, out=None, **kw):
    _no_extras('numpy.einsum', out=out)
    return linalg.einsum(subscripts, *operands)


_PAD_MODES = ('constant', 'edge', 'reflect', 'symmetric', 'wrap')


def _pad(array, pad_width, mode='constant', **kw):
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise TypeError(f'numpy.pad mode={mode!r} is not supported on FixedArray (use one of {_PAD_MODES})')
    if 'constant_values' in kw:
        kw['constant_values'] = np.asarray(kw['constant_values'], dtype=object)
    return FixedArray.from_vars(np.pad(to_vars(array), pad_width, mode=mode, **kw))


def _one(func):
    """A shape function of one array: run numpy on the variables."""

    def impl(a, *args, **kw):
        return FixedArray.from_vars(np.asarray(func(to_vars(a), *args, **kw), dtype=object))

    return impl


def _seq(func):
    """A shape function of a sequence of arrays (concatenate, stack, ...)."""

    def impl(arrays, *args, **kw):
        return FixedArray.from_vars(func([to_vars(a) for a in arrays], *args, **kw))

    return impl


FUNCTIONS = {
    np.sum: _sum,
    np.mean: _mean,
    np.max: _max,
    np.min: _min,
    np.amax: _max,
    np.amin: _min,
    np.clip: _clip,
    np.where: _where,
    np.round: _round,
    np.einsum: _einsum,
    np.dot: linalg.dot,
    np.tensordot: linalg.tensordot,
    np.inner: linalg.inner,
    np.outer: linalg.outer,
    np.pad: _pad,
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
}
for _f in (np.reshape, np.transpose, np.moveaxis, np.swapaxes, np.ravel, np.repeat, np.tile, np.expand_dims,
           np.squeeze, np.broadcast_to, np.flip, np.roll, np.atleast_1d, np.atleast_2d, np.atleast_3d, np.copy,
           np.fliplr, np.flipud, np.rot90, np.diagonal):
    FUNCTIONS[_f] = _one(_f)
for _f in (np.concatenate, np.stack, np.hstack, np.vstack, np.dstack, np.column_stack):
    FUNCTIONS[_f] = _seq(_f)
if hasattr(np, 'around'):
    FUNCTIONS.setdefault(np.around, _round)

SUPPORTED_UFUNCS = sorted(u.__name__ for u in UFUNCS)
SUPPORTED_FUNCTIONS = sorted({f.__name__ for f in FUNCTIONS})

_REDUCERS = {np.add: sum_tree, np.maximum: _tree_max, np.minimum: _tree_min, np.fmax: _tree_max, np.fmin: _tree_min}


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    if kwargs.get('out') is not None or (method == '__call__' and kwargs):
        raise TypeError(f'{_name(ufunc)}: keyword arguments {sorted(kwargs)} are not supported on FixedArray')
    if method == 'reduce' and ufunc in _REDUCERS:
        axis = kwargs.get('axis', 0)
        extra = {k: v for k, v in kwargs.items() if k not in ('axis', 'keepdims', 'out')}
        _no_extras(f'{_name(ufunc)}.reduce', **extra)
        return _reduce(inputs[0], axis, bool(kwargs.get('keepdims', False)), _REDUCERS[ufunc], ufunc.__name__)[0]
    if method != '__call__':
        raise TypeError(f'{_name(ufunc)}.{method} is not supported on FixedArray')
    impl = UFUNCS.get(ufunc)
    if impl is not None:
        return impl(*inputs)
    if ufunc.nin == 1 and ufunc.nout == 1:
        return elementwise(lambda v: apply_fn(v, ufunc), inputs[0])
    raise TypeError(f'{_name(ufunc)} is not supported on FixedArray')


def dispatch_function(func, args, kwargs):
    impl = FUNCTIONS.get(func)
    if impl is None:
        raise TypeError(f'{_name(func)} is not supported on FixedArray')
    return impl(*args, **kwargs)

