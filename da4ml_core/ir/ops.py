"""Opcodes, exact output intervals and the op record of the DAIS IR.

Opcode numbers are those of the DAIS binary format, so a program written here runs in any DAIS
interpreter and theirs run here. A negative opcode is the "negated operand" twin of its positive
opcode where the format has one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import NamedTuple

from ..fixed import Interval, Precision

__all__ = ['Opcode', 'QInt', 'Op', 'SUPPORTED_OPCODES', 'pack_mux', 'pack_lookup', 'signed32']


class Opcode(IntEnum):
    """Every operation the IR knows. ``data`` and operand meaning per opcode:

    ========== ===== ======================================================================
    INPUT       -1   read input ``id0`` (times ``2**inp_shifts[id0]``), TRN + WRAP to the op's precision
    ADD          0   ``a + (b << data)``                         (a = buf[id0], b = buf[id1])
    SUB          1   ``a - (b << data)``
    RELU         2   ``relu(a)`` truncated (TRN) and wrapped to the op's precision
    RELU_NEG    -2   ``relu(-a)`` likewise
    QUANTIZE     3   ``a`` truncated (TRN) and wrapped (WRAP) to the op's precision
    QUANTIZE_NEG -3  ``-a`` likewise
    CONST_ADD    4   ``a + data * step``                (step of the op's own interval)
    CONST        5   ``data * step``
    MUX          6   ``msb(buf[key]) ? a : (b << shift)``   data = key | shift << 32
    MUX_NEG     -6   ``msb(buf[key]) ? a : -(b << shift)``
    MUL          7   ``a * b``
    LOOKUP       8   ``tables[table][raw(a) - base] * step``    data = table | base << 32
    BIT_UNARY    9   reserved (bitwise not / any / all): not supported yet
    BIT_UNARY_NEG -9 reserved
    BIT_BINARY  10   reserved (bitwise and / or / xor): not supported yet
    ========== ===== ======================================================================

    ``msb(x)`` is the top bit of x in its minimal precision: the sign for a signed x, else
    ``x >= 2**(i-1)``. Shifts are signed powers of two. In LOOKUP, ``base`` is the raw value of the
    key (on the key's own grid) that maps to the table's first entry; the DAIS binary stores it as
    an offset from the bottom of the key's precision range instead (``pad_left``).
    """

    INPUT = -1
    ADD = 0
    SUB = 1
    RELU = 2
    RELU_NEG = -2
    QUANTIZE = 3
    QUANTIZE_NEG = -3
    CONST_ADD = 4
    CONST = 5
    MUX = 6
    MUX_NEG = -6
    MUL = 7
    LOOKUP = 8
    BIT_UNARY = 9
    BIT_UNARY_NEG = -9
    BIT_BINARY = 10


SUPPORTED_OPCODES = frozenset(op for op in Opcode if abs(op) not in (9, 10))


class QInt(NamedTuple):
    """An exact output interval as raw integers: values ``lo * 2**-f .. hi * 2**-f``, step ``2**-f``.

    Integers rather than Fractions: exact, hashable, and fast enough for 10^5-op programs.
    """

    lo: int
    hi: int
    f: int

    @classmethod
    def from_interval(cls, iv: Interval) -> QInt:
        """From a :class:`~da4ml_core.fixed.Interval` (lo, hi, step as exact numbers)."""
        iv = Interval.of(*iv)
        f = -_log2_exact(iv.step)
        scale = Fraction(2) ** f
        return cls(int(iv.lo * scale), int(iv.hi * scale), f)

    @classmethod
    def of_kif(cls, k: int, i: int, f: int) -> QInt:
        """The full range of precision (k, i, f)."""
        width = k + i + f
        if width <= 0:
            return cls(0, 0, f)
        top = 1 << (i + f)
        return cls(-top if k else 0, top - 1, f)

    @property
    def interval(self) -> Interval:
        step = Fraction(2) ** -self.f
        return Interval(self.lo * step, self.hi * step, step)

    @property
    def min(self) -> Fraction:
        return Fraction(self.lo) * Fraction(2) ** -self.f

    @property
    def max(self) -> Fraction:
        return Fraction(self.hi) * Fraction(2) ** -self.f

    @property
    def step(self) -> Fraction:
        return Fraction(2) ** -self.f

    @property
    def kif(self) -> Precision:
        """Minimal precision holding the interval (same answer as ``fixed.minimal_kif``)."""
        lo, hi, f = self
        k = int(lo < 0)
        if not k and hi == 0:
            return Precision(0, -f, f)
        bits = max(hi.bit_length() if hi > 0 else 0, (-lo - 1).bit_length() if lo < 0 else 0)
        return Precision(k, bits - f, f)

    @property
    def width(self) -> int:
        k, i, f = self.kif
        return k + i + f

    def shifted(self, s: int) -> QInt:
        """The interval of ``x * 2**s``: same raw bounds, grid moved."""
        return QInt(self.lo, self.hi, self.f - s)

    def at(self, f: int) -> QInt:
        """Same values on the finer grid ``2**-f`` (f >= self.f)."""
        d = f - self.f
        if d < 0:
            raise ValueError(f'cannot move {self} to the coarser grid f={f}')
        return QInt(self.lo << d, self.hi << d, f)

    def contains(self, other: QInt) -> bool:
        """Every value of ``other`` is a value of ``self`` (bounds and grid)."""
        if other.f > self.f and (other.lo != other.hi or other.lo % (1 << (other.f - self.f))):
            return False
        f = max(self.f, other.f)
        a, b = self.at(f), other.at(f)
        return a.lo <= b.lo and b.hi <= a.hi

    def __str__(self) -> str:
        return f'[{_fmt(self.min)}, {_fmt(self.max)}] step 2^{-self.f}'


def _fmt(x: Fraction) -> str:
    n, d = x.numerator, x.denominator
    if abs(n).bit_length() - d.bit_length() > 64:  # beyond any real width: the magnitude is enough
        return f'{"-" if n < 0 else ""}~2^{math.log2(abs(n)) - math.log2(d):.1f}'
    return str(n) if d == 1 else f'{float(x):.10g}'


def _log2_exact(x: Fraction) -> int:
    x = Fraction(x)
    n, d = x.numerator, x.denominator
    if n == 1 and d & (d - 1) == 0:
        return -(d.bit_length() - 1)
    if d == 1 and n > 0 and n & (n - 1) == 0:
        return n.bit_length() - 1
    raise ValueError(f'{x} is not a power of two')


def signed32(v: int) -> int:
    """Read the low 32 bits of ``v`` as a two's complement integer."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def pack_mux(key: int, shift: int) -> int:
    """MUX data word: key index in the low 32 bits, signed shift in the high 32 bits."""
    return (key & 0xFFFFFFFF) | (signed32(shift) << 32)


def pack_lookup(table: int, base: int) -> int:
    """LOOKUP data word: table index in the low 32 bits, signed base raw value in the high 32."""
    return (table & 0xFFFFFFFF) | (signed32(base) << 32)


_BINARY = frozenset({Opcode.ADD, Opcode.SUB, Opcode.MUL, Opcode.BIT_BINARY})
_NULLARY = frozenset({Opcode.INPUT, Opcode.CONST})
_SELECT = frozenset({Opcode.MUX, Opcode.MUX_NEG})


@dataclass(frozen=True, slots=True)
class Op:
    """One SSA statement: ``buf[i] = opcode(buf[id0], buf[id1], data)``, exact output ``qint``.

    ``latency`` and ``cost`` are filled in by :class:`Program` from the cost model; they follow
    from the intervals and are not part of the program's identity.
    """

    opcode: Opcode
    id0: int
    id1: int
    data: int
    qint: QInt
    latency: float = 0.0
    cost: float = 0.0

    def __post_init__(self):
        if type(self.qint) is not QInt:
            object.__setattr__(self, 'qint', QInt(*self.qint))
        if type(self.opcode) is not Opcode:
            try:
                object.__setattr__(self, 'opcode', Opcode(self.opcode))
            except ValueError:
                pass  # kept as a plain int; Program.validate() reports it with the op index

    @property
    def interval(self) -> Interval:
        return self.qint.interval

    @property
    def kif(self) -> Precision:
        return self.qint.kif

    @property
    def shift(self) -> int:
        """The shift of the second operand (ADD / SUB / MUX)."""
        if abs(self.opcode) == Opcode.MUX:
            return self.data >> 32
        return self.data

    @property
    def key(self) -> int:
        """MUX: index of the op whose MSB selects."""
        return signed32(self.data)

    @property
    def table(self) -> int:
        """LOOKUP: index of the table."""
        return signed32(self.data)

    @property
    def base(self) -> int:
        """LOOKUP: raw key value of the table's first entry."""
        return self.data >> 32

    @property
    def operands(self) -> tuple[int, ...]:
        """Indices of the ops this op reads."""
        code = self.opcode
        if code in _BINARY:
            return (self.id0, self.id1)
        if code in _NULLARY:
            return ()
        if code in _SELECT:
            return (self.key, self.id0, self.id1)
        return (self.id0,)

    def key_tuple(self) -> tuple:
        """Structural identity (opcode, operands, data, interval), ignoring cost and latency."""
        return (int(self.opcode), self.id0, self.id1, self.data, self.qint)

    def with_(self, **changes) -> Op:
        fields = {'opcode': self.opcode, 'id0': self.id0, 'id1': self.id1, 'data': self.data, 'qint': self.qint,
                  'latency': self.latency, 'cost': self.cost}
        fields.update(changes)
        return Op(**fields)  # not dataclasses.replace: passes run this once per op, it is 2x slower
