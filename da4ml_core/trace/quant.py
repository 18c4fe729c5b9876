"""Quantization of traced values with every rounding and overflow mode, from IR primitives.

Rounding onto step ``lsb = 2**-f`` from a finer step ``e`` is ``floor(x + w)``, one adder, with
``w`` a constant or a MUX between two constants:

    TRN 0 | RND lsb/2 | RND_MIN_INF lsb/2 - e | RND_CONV (bit f of x) ? lsb/2 : lsb/2 - e
    RND_ZERO (x<0) ? lsb/2 : lsb/2 - e | RND_INF (x<0) ? lsb/2 - e : lsb/2 | TRN_ZERO (x<0) ? lsb - e : 0

(ties sit exactly at ``lsb/2`` above a grid point; ``- e`` moves a tie below the threshold).
The floor and WRAP are one free QUANTIZE. SAT / SAT_SYM clamp the floored value with MUXes
keyed by comparisons against the limits (comparisons with ``±2**i`` look at the bits above
``2**i`` only).
"""

from __future__ import annotations

from fractions import Fraction

from ..fixed import OverflowMode, Precision, RoundMode, overflow_mode, round_mode
from ..ir import Opcode, QInt
from .logic import ge_const, key_not, lt0
from .node import Node
from .var import FixedVar, add, floor_var, ready, scale, select, trunc_wrap

__all__ = ['parse_modes', 'quantize_const', 'quantize_var', 'round_only']


def parse_modes(overflow, rnd) -> tuple[OverflowMode, RoundMode]:
    return overflow_mode(overflow), round_mode(rnd)


def _limits(k: int, i: int, f: int, ovf: OverflowMode) -> tuple[Fraction, Fraction]:
    step = Fraction(2) ** -f
    largest = (1 << (i + f)) - 1
    if not k:
        lo = 0
    elif ovf is OverflowMode.SAT_SYM and k + i + f > 1:
        lo = -largest
    else:
        lo = -largest - 1
    return lo * step, largest * step


def _round_raw(c: Fraction, f: int, rnd: RoundMode) -> int:
    """c rounded onto step 2**-f, as a raw integer."""
    t = c * Fraction(2) ** f
    q = t.numerator // t.denominator
    r = t - q
    if r:
        half = Fraction(1, 2)
        up = {
            RoundMode.TRN: False,
            RoundMode.TRN_ZERO: t < 0,
            RoundMode.RND: r >= half,
            RoundMode.RND_MIN_INF: r > half,
            RoundMode.RND_ZERO: r > half or (r == half and t < 0),
            RoundMode.RND_INF: r > half or (r == half and t > 0),
            RoundMode.RND_CONV: r > half or (r == half and q % 2 == 1),
        }[rnd]
        q += int(up)
    return q


def quantize_const(c: Fraction, k: int, i: int, f: int, ovf: OverflowMode, rnd: RoundMode) -> Fraction:
    """Exact quantization of one constant (the same rules, on Fractions)."""
    width = k + i + f
    if width <= 0:
        return Fraction(0)
    q = _round_raw(c, f, rnd)
    if ovf is OverflowMode.WRAP:
        u = q % (1 << width)
        if k and u >= 1 << (width - 1):
            u -= 1 << width
        return Fraction(u) / Fraction(2) ** f
    lo, hi = _limits(k, i, f, ovf)
    return min(max(Fraction(q) / Fraction(2) ** f, lo), hi)


def _offset(v: FixedVar, f: int, rnd: RoundMode):
    """The w of floor(v + w) for rounding v onto step 2**-f (see the module docstring)."""
    e = Fraction(2) ** -v.qint.f
    lsb = Fraction(2) ** -f
    h = lsb / 2
    const = FixedVar
    if rnd is RoundMode.TRN:
        return None
    if rnd is RoundMode.RND:
        return const(value=h)
    if rnd is RoundMode.RND_MIN_INF:
        return const(value=h - e)
    if rnd is RoundMode.RND_CONV:
        bit = trunc_wrap(v, 0, 1 - f, f)  # bit f of v: 0 or lsb
        if h == e:
            return scale(bit, f - v.qint.f)
        bit = ready(bit)
        key = bit.value != 0 if bit.is_const else (bit.node, False)
        return select(key, const(value=h), const(value=h - e))
    sign = lt0(v)
    if rnd is RoundMode.RND_ZERO:
        return select(sign, const(value=h), const(value=h - e))
    if rnd is RoundMode.RND_INF:
        return select(sign, const(value=h - e), const(value=h))
    return select(sign, const(value=lsb - e), const(value=Fraction(0)))  # TRN_ZERO


def round_only(v: FixedVar, f: int, rnd) -> FixedVar:
    """``v`` rounded onto step 2**-f, no overflow handling (floor, ceil, rint, ...)."""
    rnd = round_mode(rnd)
    v = ready(v)
    if v.is_const:
        return FixedVar(value=Fraction(_round_raw(v.value, f, rnd)) / Fraction(2) ** f)
    if v.qint.f <= f:
        return v
    w = _offset(v, f, rnd)
    return floor_var(add(v, w) if w is not None else v, f)


def _read_input(node: Node, k: int, i: int, f: int) -> FixedVar:
    """An input of unknown precision read at (k, i, f) (TRN + WRAP, as INPUT ops read)."""
    if k + i + f <= 0:
        return FixedVar(value=Fraction(0))
    reads = node.slot.reads
    q = reads.get((k, i, f))
    if q is None:
        q = Node(Opcode.QUANTIZE, (node,), 0, QInt.of_kif(k, i, f))
        q.latency = node.latency
        reads[(k, i, f)] = q
    return FixedVar(q)


def _skip_relu(v: FixedVar) -> FixedVar:
    """The operand of an exact relu: saturating to an unsigned type clamps at 0 anyway, and a MUX
    on the sign after rounding is narrower than the RELU before it."""
    n = v.node
    if abs(n.opcode) != Opcode.RELU:
        return v
    a = n.args[0].qint
    top = -a.lo if n.opcode < 0 else a.hi
    if n.qint.f != a.f or n.qint.hi < top:  # the RELU also truncated or wrapped: keep it
        return v
    return FixedVar(n.args[0], v.shift, n.opcode < 0)


def quantize_var(v: FixedVar, k: int, i: int, f: int, ovf: OverflowMode, rnd: RoundMode) -> FixedVar:
    """Round (``rnd``) then handle overflow (``ovf``) into precision (k, i, f), exactly."""
    Precision.of(k, i, f)
    if v.lazy is not None:
        from .tables import quantize_lazy

        return quantize_lazy(v, k, i, f, ovf, rnd)
    if v.node is not None and v.node.qint is None:  # input of unknown precision
        if ovf is not OverflowMode.WRAP or rnd not in (RoundMode.TRN, RoundMode.RND):
            raise ValueError(
                f'an input of unknown precision can be quantized with overflow_mode=WRAP and round_mode '
                f'TRN or RND only (other modes need the exact input), got {ovf.value}/{rnd.value}: '
                f'give the input its precision'
            )
        v = _read_input(v.node, k, i, f if rnd is RoundMode.TRN else f + 1)
    v = ready(v)
    if v.is_const:
        return FixedVar(value=quantize_const(v.value, k, i, f, ovf, rnd))
    if k + i + f <= 0:
        return FixedVar(value=Fraction(0))
    if ovf is not OverflowMode.WRAP and not k:
        v = _skip_relu(v)
    y = v
    if v.qint.f > f:
        w = _offset(v, f, rnd)
        if w is not None:
            y = add(v, w)
    if ovf is OverflowMode.WRAP:
        return trunc_wrap(y, k, i, f)
    lo, hi = _limits(k, i, f, ovf)
    t = floor_var(y, f)
    if t.is_const:
        return FixedVar(value=min(max(t.value, lo), hi))
    q = t.qint
    if q.min >= hi:
        return FixedVar(value=hi)
    if q.max <= lo:
        return FixedVar(value=lo)
    clamps = []  # (key, is upper limit): the clamp whose key is ready first goes first
    if q.max > hi:
        clamps.append((ge_const(t, hi + Fraction(2) ** -f), True))
    if q.min < lo:
        clamps.append((key_not(ge_const(t, lo)), False))
    clamps.sort(key=lambda c: c[0][0].latency if isinstance(c[0], tuple) else 0.0)
    r, r_lo, r_hi = t, q.min, q.max
    for key, upper in clamps:
        if upper:
            r_hi = hi
        else:
            r_lo = lo
        r = select(key, FixedVar(value=hi if upper else lo), r, (r_lo, r_hi))
    return r

