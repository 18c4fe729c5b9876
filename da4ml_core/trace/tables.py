"""Arbitrary unary functions as lookup tables over a quantized key.

``lut(x, fn, k, i, f, ...)`` tabulates ``quantize(fn(value))`` for every value x can take. A
numpy ufunc applied to a traced array (``np.tanh(x)``) waits for its output precision: the
next quantize builds the table directly at that precision and modes, so
``quantize(np.tanh(x), ...)`` equals quantizing the float function exactly. Used any other way,
the table gets a default precision: exact if the values need at most ``max(f_in, 0) + 8``
fractional bits, else rounded to nearest there, always wide enough not to overflow.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..fixed import OverflowMode, RoundMode, quantize_raw
from ..ir import Opcode, QInt
from .node import make
from .var import FixedVar, ready

__all__ = ['DEFAULT_EXTRA_F', 'MAX_KEY_VALUES', 'apply_fn', 'lookup', 'materialize', 'quantize_lazy']

MAX_KEY_VALUES = 1 << 16  # largest table (number of key values) built
DEFAULT_EXTRA_F = 8
_CACHE: dict = {}
_COMPOSED: dict = {}


def _name(fn) -> str:
    return getattr(fn, '__name__', None) or repr(fn)


def _evaluate(fn, values: np.ndarray) -> np.ndarray:
    """fn on a float64 vector (element by element if fn is not vectorised); finite floats."""
    try:
        with np.errstate(all='ignore'):
            out = np.asarray(fn(values), dtype=np.float64)
        if out.shape != values.shape:
            raise ValueError
    except Exception:  # noqa: BLE001 - not vectorised: any failure means try element by element
        try:
            out = np.array([float(fn(float(v))) for v in values], dtype=np.float64)
        except Exception as err:
            raise TypeError(f'function {_name(fn)} cannot be tabulated on float values: {err}') from err
    if not np.all(np.isfinite(out)):
        bad = values[~np.isfinite(out)][0]
        raise ValueError(f'function {_name(fn)} is not finite at x={bad} (inside the input range)')
    return out


def _key_values(v: FixedVar) -> np.ndarray:
    """Every value v can take, ordered by the raw value of its node (the table key)."""
    q = v.node.qint
    n = q.hi - q.lo + 1
    if n > MAX_KEY_VALUES:
        raise ValueError(
            f'a lookup table over {q} would need {n} entries (more than {MAX_KEY_VALUES}); quantize the input first'
        )
    if q.width > 53:
        raise ValueError(f'a lookup key of {q.width} bits cannot be tabulated exactly')
    raws = np.arange(q.lo, q.hi + 1, dtype=np.int64).astype(np.float64)
    vals = np.ldexp(raws, v.shift - q.f)
    return -vals if v.neg else vals


def _table_var(v: FixedVar, raws: np.ndarray, f: int) -> FixedVar:
    raws = [int(r) for r in raws]
    if min(raws) < -(1 << 31) or max(raws) > (1 << 31) - 1:
        raise ValueError(f'table entries need more than 32 bits (range [{min(raws)}, {max(raws)}] at f={f})')
    if min(raws) == max(raws):
        return FixedVar(value=Fraction(raws[0]) / Fraction(2) ** f)
    node = make(Opcode.LOOKUP, (v.node,), v.node.qint.lo, QInt(0, 0, f), table=tuple(raws))
    return FixedVar(node)


def _cached(key, fn, build):
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is fn:
        return hit[1]
    if len(_CACHE) > 4096:
        _CACHE.clear()
    val = build()
    _CACHE[key] = (fn, val)
    return val


def lookup(v: FixedVar, fn, k: int, i: int, f: int, ovf: OverflowMode, rnd: RoundMode) -> FixedVar:
    """``quantize(fn(v), k, i, f)`` as one LOOKUP op."""
    v = ready(v)
    if v.is_const:
        raw = quantize_raw(_evaluate(fn, np.array([float(v.value)])), k, i, f, round_mode=rnd.value, overflow_mode=ovf.value)
        return FixedVar(value=Fraction(int(raw[0])) / Fraction(2) ** f)
    key = (id(fn), v.node.qint, v.shift, v.neg, k, i, f, ovf, rnd)
    raws = _cached(key, fn, lambda: quantize_raw(_evaluate(fn, _key_values(v)), k, i, f, round_mode=rnd.value, overflow_mode=ovf.value))
    return _table_var(v, raws, f)


def _default_table(v: FixedVar, fn) -> tuple[np.ndarray, int]:
    vals = _evaluate(fn, _key_values(v))
    f = max(v.qint.f, 0) + DEFAULT_EXTRA_F
    scaled = np.ldexp(vals, f)
    if np.all(scaled == np.floor(scaled)) and np.max(np.abs(scaled)) < 2.0**62:
        raws = scaled.astype(np.int64)
        while f > -64 and np.any(raws) and not np.any(raws & 1):
            raws, f = raws >> 1, f - 1
        return raws, f
    top = float(np.max(np.abs(vals)))
    i = int(np.ceil(np.log2(top + 1.0))) + 1
    return quantize_raw(vals, 1, i, f, round_mode='RND', overflow_mode='WRAP'), f


def materialize(v: FixedVar) -> FixedVar:
    """A pending function gets its table at the default precision (see the module docstring)."""
    fn, src = v.lazy
    src = ready(src)
    if src.is_const:
        val = float(_evaluate(fn, np.array([float(src.value)]))[0])
        return FixedVar(value=Fraction(val))
    key = (id(fn), src.node.qint, src.shift, src.neg, 'default')
    raws, f = _cached(key, fn, lambda: _default_table(src, fn))
    return _table_var(src, raws, f)


def quantize_lazy(v: FixedVar, k, i, f, ovf: OverflowMode, rnd: RoundMode) -> FixedVar:
    fn, src = v.lazy
    return lookup(src, fn, k, i, f, ovf, rnd)


def apply_fn(v: FixedVar, fn) -> FixedVar:
    """fn(v) with its table precision left to the next quantize (chains compose into one table)."""
    if v.lazy is not None:
        inner, src = v.lazy
        composed = _COMPOSED.get((id(fn), id(inner)))
        if composed is None or composed.parts != (fn, inner):
            def composed(x, _f=fn, _g=inner):
                return _f(_g(x))

            composed.__name__ = f'{_name(fn)}({_name(inner)})'
            composed.parts = (fn, inner)  # keeps both alive, so the ids stay unique
            _COMPOSED[(id(fn), id(inner))] = composed
        return FixedVar(lazy=(composed, src))
    if v.node is not None and v.node.qint is None:
        raise ValueError(f'{_name(fn)}: an input of unknown precision must be quantized first')
    return FixedVar(lazy=(fn, v))
