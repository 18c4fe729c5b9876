"""Comparisons, selections and everything built on them: max/min, abs, clip, where.

A comparison is the sign bit of a difference: a MUX reads it directly (no 0/1 value needed);
as a value it is one free QUANTIZE of the sign bit. A comparison against a constant
``m * 2**j`` first drops the bits below ``2**j`` (free), so its adder covers only the rest.
Keys are ``bool`` (known statically) or ``(node, invert)``: true iff msb(node) xor invert.
"""

from __future__ import annotations

from fractions import Fraction

from .var import (
    FixedVar,
    const_add,
    floor_to,
    floor_var,
    frac_bits,
    neg,
    ready,
    relu,
    scale,
    select,
    sub,
    trunc_wrap,
)

__all__ = [
    'absolute',
    'bool_of',
    'clip',
    'compare',
    'cond_key',
    'ge_const',
    'key_not',
    'lt0',
    'maximum',
    'minimum',
    'where',
]


def key_not(key):
    return (not key) if isinstance(key, bool) else (key[0], not key[1])


def lt0(v: FixedVar):
    """Key of ``v < 0``."""
    v = ready(v)
    if v.is_const:
        return bool(v.value < 0)
    q = v.qint
    if q.lo >= 0:
        return False
    if q.hi < 0:
        return True
    if not v.neg:
        return (v.node, False)
    # v = -N * 2**s: v < 0 iff N > 0 iff not (N - step < 0)
    m = const_add(FixedVar(v.node), -Fraction(2) ** -v.node.qint.f)
    return (m.node, True)


def ge_const(v: FixedVar, c) -> tuple | bool:
    """Key of ``v >= c`` for a constant c."""
    v = ready(v)
    c = Fraction(c)
    if v.is_const:
        return bool(v.value >= c)
    q = v.qint
    if q.min >= c:
        return True
    if q.max < c:
        return False
    if c == 0:
        return key_not(lt0(v))
    if v.neg:  # v >= c iff (-v + c) <= 0 iff (-v + c - step) < 0
        w = neg(v)
        f = max(w.qint.f, frac_bits(c))
        return lt0(const_add(w, c - Fraction(2) ** -f))
    u = floor_var(v, frac_bits(c))  # c is on this grid: v >= c iff floor(v) >= c
    return key_not(lt0(const_add(u, -c)))


def _next_above(v: FixedVar, c: Fraction) -> Fraction:
    """The smallest value on v's grid that is greater than c."""
    f = v.qint.f
    return Fraction(floor_to(c, f) + 1) / Fraction(2) ** f


def bool_of(key) -> FixedVar:
    """The 0/1 value of a key (unsigned, one bit); it remembers the key for later selections."""
    if isinstance(key, bool):
        return FixedVar(value=Fraction(int(key)))
    node, inv = key
    k, i, f = node.qint.kif
    if k:  # the sign bit alone: a 1-bit signed value, -2**i or 0
        b = neg(scale(trunc_wrap(FixedVar(node), 1, i, -i), -i))
    else:  # a one-bit unsigned node is its own msb
        b = scale(FixedVar(node), f)
    if inv:
        b = const_add(neg(b), 1)
    b = ready(b)
    if not b.is_const:
        b = FixedVar(b.node, b.shift, b.neg, key=key)
    return b


def cond_key(c: FixedVar):
    """Key of ``c != 0`` (for where)."""
    c = ready(c)
    if c.is_const:
        return bool(c.value != 0)
    if c.key is not None:
        return c.key
    if c.node.qint.width == 1:  # values {0, x}: msb is set exactly when it is non-zero
        return (c.node, False)
    r = ready(compare(c, FixedVar(value=Fraction(0)), '!='))
    if r.is_const:
        return bool(r.value != 0)
    assert r.node.qint.width == 1, 'a != comparison is one bit wide'
    return (r.node, False)


def _lt(a: FixedVar, b: FixedVar):
    """Key of a < b."""
    if b.is_const:
        return key_not(ge_const(a, b.value))
    if a.is_const:
        return ge_const(b, _next_above(b, a.value))
    return lt0(sub(a, b))


def _eq_keys(a: FixedVar, b: FixedVar):
    """(key of a >= b, key of a >= b + one step): a == b iff the first holds and not the second."""
    if a.is_const:
        a, b = b, a
    if b.is_const:
        return ge_const(a, b.value), ge_const(a, _next_above(a, b.value))
    d = sub(a, b)
    if d.is_const:
        return bool(d.value >= 0), bool(d.value > 0)
    return key_not(lt0(d)), ge_const(d, Fraction(2) ** -d.qint.f)


def compare(a: FixedVar, b: FixedVar, op: str) -> FixedVar:
    """``a op b`` as an unsigned one-bit 0/1 value; op in < <= > >= == !=."""
    a, b = ready(a), ready(b)
    if op == '<':
        return bool_of(_lt(a, b))
    if op == '>':
        return bool_of(_lt(b, a))
    if op == '>=':
        return bool_of(key_not(_lt(a, b)))
    if op == '<=':
        return bool_of(key_not(_lt(b, a)))
    if op in ('==', '!='):
        k_ge, k_gt = _eq_keys(a, b)
        if op == '==':
            r = select(k_ge, bool_of(key_not(k_gt)), FixedVar(value=Fraction(0)), (Fraction(0), Fraction(1)))
        else:
            r = select(k_ge, bool_of(k_gt), FixedVar(value=Fraction(1)), (Fraction(0), Fraction(1)))
        return ready(r)
    raise ValueError(f'unknown comparison {op!r}')


def _ordered(a: FixedVar, b: FixedVar) -> bool:
    """a >= b whatever values they take."""
    return a.qint.min >= b.qint.max


def maximum(a: FixedVar, b: FixedVar) -> FixedVar:
    a, b = ready(a), ready(b)
    if _ordered(a, b):
        return a
    if _ordered(b, a):
        return b
    if a.is_const and not b.is_const:
        a, b = b, a
    if b.is_const:
        if a.is_const:
            return FixedVar(value=max(a.value, b.value))
        c = b.value
        if c == 0:  # relu, or a MUX on the sign when a is pending-negated (no negation needed)
            return relu(a) if not a.neg else neg(minimum(neg(a), b))
        return _select_bounded(ge_const(a, c), a, b, max)
    if a.same(b):
        return a
    d = sub(a, b)
    if d.is_const:
        return a if d.value >= 0 else b
    if d.neg:  # ties pick either: test b - a < 0 instead, which needs no negation
        return _select_bounded(lt0(neg(d)), a, b, max)
    return _select_bounded(lt0(d), b, a, max)


def minimum(a: FixedVar, b: FixedVar) -> FixedVar:
    a, b = ready(a), ready(b)
    if _ordered(a, b):
        return b
    if _ordered(b, a):
        return a
    if a.is_const and not b.is_const:
        a, b = b, a
    if b.is_const:
        if a.is_const:
            return FixedVar(value=min(a.value, b.value))
        c = b.value
        if c == 0:
            return _select_bounded(lt0(a), a, b, min) if not a.neg else neg(relu(neg(a)))
        return _select_bounded(ge_const(a, c), b, a, min)
    if a.same(b):
        return a
    d = sub(a, b)
    if d.is_const:
        return b if d.value >= 0 else a
    if d.neg:
        return _select_bounded(lt0(neg(d)), b, a, min)
    return _select_bounded(lt0(d), a, b, min)


def _select_bounded(key, x: FixedVar, y: FixedVar, pick) -> FixedVar:
    """select(key, x, y) for max/min: the result lies between pick of the lower bounds and pick
    of the upper bounds (tighter than the hull of x and y)."""
    qx, qy = x.qint, y.qint
    return select(key, x, y, (pick(qx.min, qy.min), pick(qx.max, qy.max)))


def absolute(v: FixedVar) -> FixedVar:
    """|v|: one MUX_NEG giving -|v| (its negation stays pending, so it is free)."""
    v = ready(v)
    if v.is_const:
        return FixedVar(value=abs(v.value))
    q = v.qint
    if q.lo >= 0:
        return v
    if q.hi <= 0:
        return neg(v)
    n = FixedVar(v.node)
    qn = n.qint
    top = max(-qn.min, qn.max)
    m = select((v.node, False), n, neg(n), (-top, Fraction(0)))
    return scale(neg(m), v.shift)


def where(c: FixedVar, a: FixedVar, b: FixedVar) -> FixedVar:
    return select(cond_key(c), ready(a), ready(b))


def clip(v: FixedVar, lo: FixedVar | None, hi: FixedVar | None) -> FixedVar:
    if lo is not None:
        v = maximum(v, lo)
    if hi is not None:
        v = minimum(v, hi)
    return v

