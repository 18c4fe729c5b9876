"""FixedVar: one symbolic fixed-point scalar, and the exact primitives every op is built from.

A variable is ``(-1)**neg * 2**shift * node`` or an exact constant. Shifts and negations stay
pending on the variable (free) and fold into the next op: an adder's shift and ADD/SUB choice,
a MUX_NEG, a QUANTIZE_NEG, or the program's out_shifts/out_negs. Intervals are exact QInts.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Rational

import numpy as np

from ..ir import Opcode, QInt
from .node import Node, const_node, make

__all__ = [
    'FixedVar',
    'add',
    'as_var',
    'const',
    'const_add',
    'floor_to',
    'floor_var',
    'frac_bits',
    'mul',
    'mul_const',
    'neg',
    'ready',
    'relu',
    'scale',
    'select',
    'sub',
    'trunc_wrap',
]


def frac_bits(c: Fraction) -> int:
    """Least f with c * 2**f an integer (c a binary fraction; 0 gives 0)."""
    if c == 0:
        return 0
    d = c.denominator
    if d & (d - 1):
        raise ValueError(f'{c} is not a binary fraction (not exact in fixed point)')
    if d > 1:
        return d.bit_length() - 1
    n = abs(c.numerator)
    return -((n & -n).bit_length() - 1)


def floor_to(c: Fraction, f: int) -> int:
    """floor(c * 2**f)."""
    v = c * Fraction(2) ** f
    return v.numerator // v.denominator


class FixedVar:
    """A scalar of the traced computation: exact interval (``qint``), ``latency`` (adder levels
    when it is ready), ``cost`` (LUT-bits of the op that made it) and that op (``node``)."""

    __slots__ = ('key', 'lazy', 'neg', 'node', 'shift', 'value')
    __array_priority__ = 200

    def __init__(self, node: Node | None = None, shift: int = 0, neg: bool = False, value=None, key=None, lazy=None):
        self.node = node
        self.shift = shift
        self.neg = neg
        self.value = value
        self.key = key  # (node, invert): this 0/1 variable is 1 iff msb(node) xor invert
        self.lazy = lazy  # (fn, source var): a unary function still waiting for its precision

    @property
    def is_const(self) -> bool:
        return self.value is not None

    @property
    def qint(self) -> QInt:
        if self.value is not None:
            f = frac_bits(self.value)
            raw = int(self.value * Fraction(2) ** f)
            return QInt(raw, raw, f)
        q = ready(self).node.qint.shifted(self.shift)
        return QInt(-q.hi, -q.lo, q.f) if self.neg else q

    @property
    def kif(self):
        return self.qint.kif

    @property
    def latency(self) -> float:
        return 0.0 if self.value is not None else ready(self).node.latency

    @property
    def cost(self) -> float:
        return 0.0 if self.value is not None else ready(self).node.cost

    @property
    def op(self):
        """The opcode of the op that made this variable (None for a constant)."""
        return None if self.value is not None else Opcode(ready(self).node.opcode)

    def same(self, other: FixedVar) -> bool:
        if self.value is not None or other.value is not None:
            return self.value == other.value
        return self.node is other.node and self.shift == other.shift and self.neg == other.neg

    def __repr__(self):
        if self.value is not None:
            return f'FixedVar(const {self.value})'
        if self.lazy is not None:
            return f'FixedVar(pending {getattr(self.lazy[0], "__name__", "fn")})'
        return f'FixedVar({self.qint}, latency={self.latency:g})'

    # python operators, so object arrays of variables work with plain numpy code too
    def __add__(self, o):
        return add(self, as_var(o))

    __radd__ = __add__

    def __sub__(self, o):
        return sub(self, as_var(o))

    def __rsub__(self, o):
        return sub(as_var(o), self)

    def __mul__(self, o):
        return mul(self, as_var(o))

    __rmul__ = __mul__

    def __neg__(self):
        return neg(self)

    def __bool__(self):
        raise TypeError('a traced fixed-point value has no truth value while tracing')


def const(v) -> FixedVar:
    """An exact constant variable (ints, binary-fraction floats, Fractions)."""
    if isinstance(v, FixedVar):
        return v
    if isinstance(v, (bool, np.bool_)):
        v = int(v)
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        raise ValueError(f'constant {v} is not finite')
    if not isinstance(v, (int, float, np.integer, np.floating, Rational)):
        raise TypeError(f'cannot use {type(v).__name__} {v!r} as a fixed-point constant')
    c = Fraction(int(v)) if isinstance(v, np.integer) else Fraction(v)
    frac_bits(c)
    return FixedVar(value=c)


as_var = const


def _from_node(node: Node, shift: int = 0, negate: bool = False) -> FixedVar:
    q = node.qint
    if q.lo == q.hi and node.opcode != Opcode.INPUT:
        val = Fraction(q.lo) * Fraction(2) ** (shift - q.f)
        return FixedVar(value=-val if negate else val)
    return FixedVar(node, shift, negate)


def ready(v: FixedVar) -> FixedVar:
    """Build the table of a pending unary function (see tables.py); constant-fold point nodes."""
    if v.lazy is not None:
        from .tables import materialize

        return materialize(v)
    node = v.node
    if node is not None and node.qint is None:
        raise ValueError('an input of unknown precision must be quantized before any other op')
    if node is not None and node.qint.lo == node.qint.hi:
        val = Fraction(node.qint.lo) * Fraction(2) ** (v.shift - node.qint.f)
        return FixedVar(value=-val if v.neg else val)
    return v


def _const_in_frame(c: Fraction, shift: int, negate: bool, f_hint: int) -> FixedVar:
    """Constant ``c`` as a CONST node seen through the frame ``(-1)**negate * 2**shift``."""
    cn = c / Fraction(2) ** shift
    if negate:
        cn = -cn
    f = frac_bits(cn) if cn != 0 else f_hint
    return FixedVar(const_node(floor_to(cn, f), f), shift, negate)


def neg(v: FixedVar) -> FixedVar:
    v = ready(v)
    if v.is_const:
        return FixedVar(value=-v.value)
    return FixedVar(v.node, v.shift, not v.neg)


def scale(v: FixedVar, s: int) -> FixedVar:
    """``v * 2**s`` (free)."""
    v = ready(v)
    if v.is_const:
        return FixedVar(value=v.value * Fraction(2) ** s)
    return FixedVar(v.node, v.shift + s, v.neg)


def _pow2(c: Fraction):
    """(negative, exponent) if c = ±2**e, else None."""
    a = abs(c)
    n, d = a.numerator, a.denominator
    if n & (n - 1) == 0 and d & (d - 1) == 0:
        return c < 0, n.bit_length() - d.bit_length()
    return None


def add(a: FixedVar, b: FixedVar) -> FixedVar:
    a, b = ready(a), ready(b)
    if a.is_const and b.is_const:
        return FixedVar(value=a.value + b.value)
    if b.is_const:
        return const_add(a, b.value)
    if a.is_const:
        return const_add(b, a.value)
    if a.node is b.node:  # x*c1 + x*c2: stay free when the sum is 0 or ± a power of two
        coef = (Fraction(-1) if a.neg else Fraction(1)) * Fraction(2) ** a.shift
        coef += (Fraction(-1) if b.neg else Fraction(1)) * Fraction(2) ** b.shift
        if coef == 0:
            return FixedVar(value=Fraction(0))
        p = _pow2(coef)
        if p is not None:
            return FixedVar(a.node, p[1], p[0])
    if a.neg and not b.neg:
        a, b = b, a
    code = Opcode.SUB if a.neg != b.neg else Opcode.ADD
    node = make(code, (a.node, b.node), b.shift - a.shift)
    return _from_node(node, a.shift, a.neg)


def sub(a: FixedVar, b: FixedVar) -> FixedVar:
    return add(a, neg(b))


def const_add(a: FixedVar, c) -> FixedVar:
    """``a + c`` for an exact constant c (one CONST_ADD)."""
    a = ready(a)
    c = Fraction(c)
    if c == 0:
        return a
    if a.is_const:
        return FixedVar(value=a.value + c)
    cn = c / Fraction(2) ** a.shift
    if a.neg:
        cn = -cn
    base = a.node
    if base.opcode == Opcode.CONST_ADD:  # (x + c1) + c2 is one adder x + (c1 + c2), not two
        cn += Fraction(base.data) * Fraction(2) ** -base.qint.f
        base = base.args[0]
        if cn == 0:
            return ready(FixedVar(base, a.shift, a.neg))
    f = max(base.qint.f, frac_bits(cn))
    node = make(Opcode.CONST_ADD, (base,), floor_to(cn, f), QInt(0, 0, f))
    return _from_node(node, a.shift, a.neg)


def mul(a: FixedVar, b: FixedVar) -> FixedVar:
    """``a * b``: constant factors become shift-add graphs, two variables one MUL."""
    a, b = ready(a), ready(b)
    if b.is_const:
        return mul_const(a, b.value)
    if a.is_const:
        return mul_const(b, a.value)
    node = make(Opcode.MUL, (a.node, b.node))
    return _from_node(node, a.shift + b.shift, a.neg != b.neg)


def csd_digits(m: int) -> list[tuple[int, int]]:
    """Canonical signed digits of a positive integer: [(position, ±1)], fewest non-zero digits."""
    out, pos = [], 0
    while m:
        if m & 1:
            d = 2 - (m & 3)
            out.append((pos, d))
            m -= d
        m >>= 1
        pos += 1
    return out


def mul_const(a: FixedVar, c) -> FixedVar:
    """``a * c``: a power of two is a free shift; else one adder per extra CSD digit, summed
    latency-first (reduce.py)."""
    from .reduce import sum_tree

    a = ready(a)
    c = Fraction(c)
    if c == 0:
        return FixedVar(value=Fraction(0))
    if a.is_const:
        return FixedVar(value=a.value * c)
    e = frac_bits(c)
    m = abs(c) * Fraction(2) ** e  # odd integer
    base = neg(a) if c < 0 else a
    digits = csd_digits(int(m))
    terms = [scale(base if d > 0 else neg(base), pos - e) for pos, d in digits]
    return sum_tree(terms)


def trunc_wrap(v: FixedVar, k: int, i: int, f: int) -> FixedVar:
    """The QUANTIZE op: floor onto step 2**-f, then wrap into (k, i, f). Free when nothing is
    dropped (then no op is emitted at all)."""
    v = ready(v)
    width = k + i + f
    if v.is_const:
        return FixedVar(value=Fraction(_wrap_raw(floor_to(v.value, f), k, width)) / Fraction(2) ** f)
    if width <= 0:
        return FixedVar(value=Fraction(0))
    n = v.node
    i2, f2 = i - v.shift, f + v.shift
    f2 = min(f2, n.qint.f)
    if k + i2 + f2 <= 0:
        return FixedVar(value=Fraction(0))
    q = v.qint.shifted(-v.shift)  # the (possibly negated) node range, before shifting
    full = QInt.of_kif(k, i2, f2)
    d = q.f - f2
    lo, hi = q.lo >> d, q.hi >> d
    if full.lo <= lo and hi <= full.hi and d == 0:
        return v  # exact already: nothing to drop, nothing wraps
    code = Opcode.QUANTIZE_NEG if v.neg else Opcode.QUANTIZE
    node = make(code, (n,), 0, full)
    return _from_node(node, v.shift, False)


def _wrap_raw(raw: int, k: int, width: int) -> int:
    if width <= 0:
        return 0
    u = raw % (1 << width)
    if k and u >= 1 << (width - 1):
        u -= 1 << width
    return u


def relu(v: FixedVar, kif=None) -> FixedVar:
    """``max(v, 0)`` (RELU op), optionally floored and wrapped to ``kif`` in the same op."""
    v = ready(v)
    if v.is_const:
        r = max(v.value, Fraction(0))
        return trunc_wrap(FixedVar(value=r), *kif) if kif is not None else FixedVar(value=r)
    q = v.qint
    if q.lo >= 0:
        return trunc_wrap(v, *kif) if kif is not None else v
    if q.hi <= 0:
        return FixedVar(value=Fraction(0))
    n = v.node
    if kif is None:
        qn = q.shifted(-v.shift)  # the (possibly negated) node range on the node's grid
        k, i2, f2 = QInt(0, qn.hi, qn.f).kif
    else:
        k, i, f = kif
        i2, f2 = i - v.shift, min(f + v.shift, n.qint.f)
        if k + i2 + f2 <= 0:
            return FixedVar(value=Fraction(0))
    code = Opcode.RELU_NEG if v.neg else Opcode.RELU
    node = make(code, (n,), 0, QInt.of_kif(k, i2, f2))
    return _from_node(node, v.shift, False)


def select(key, a: FixedVar, b: FixedVar, bounds: tuple[Fraction, Fraction] | None = None) -> FixedVar:
    """``a if key else b``; ``key`` is a bool or ``(node, invert)`` meaning msb(node) xor invert.

    One MUX (MUX_NEG when the pending signs differ); constants become CONST nodes in the frame
    of the other operand. ``bounds`` (exact value bounds the caller knows) narrow the result.
    """
    if isinstance(key, (bool, np.bool_)):
        return a if key else b
    knode, inv = key
    if knode.qint.lo >= 0 and knode.qint.width != 1:
        raise ValueError('internal: a MUX key must be signed or one bit wide')
    if inv:
        a, b = b, a
    a, b = ready(a), ready(b)
    if a.same(b):
        return a
    if a.is_const and b.is_const:
        a = _const_in_frame(a.value, 0, False, frac_bits(b.value))
    if a.is_const:
        a = _const_in_frame(a.value, b.shift, b.neg, b.node.qint.f)
    if b.is_const:
        b = _const_in_frame(b.value, a.shift, a.neg, a.node.qint.f)
    code = Opcode.MUX_NEG if a.neg != b.neg else Opcode.MUX
    bq = None
    if bounds is not None:
        lo, hi = bounds
        s = Fraction(2) ** a.shift
        lo, hi = (-hi / s, -lo / s) if a.neg else (lo / s, hi / s)
        f = max(a.node.qint.f, b.node.qint.f - (b.shift - a.shift))
        bq = QInt(-floor_to(-lo, f), floor_to(hi, f), f)
    node = make(code, (a.node, b.node, knode), b.shift - a.shift, bounds=bq)
    return _from_node(node, a.shift, a.neg)


def floor_var(v: FixedVar, f: int) -> FixedVar:
    """floor(v) onto step 2**-f without any wrap-around (a free QUANTIZE when bits drop)."""
    v = ready(v)
    if v.is_const:
        return FixedVar(value=Fraction(floor_to(v.value, f)) / Fraction(2) ** f)
    q = v.qint
    if f >= q.f:
        return v
    d = q.f - f
    k, i, _ = QInt(q.lo >> d, q.hi >> d, f).kif
    return trunc_wrap(v, k, i, f)
