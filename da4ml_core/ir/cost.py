"""The cost model: every comparison (solver quality, reports, peers) uses this one function."""

from __future__ import annotations

from collections.abc import Sequence

from .ops import Op, Opcode, QInt

__all__ = ['op_cost', 'adder_bits', 'adder_cost', 'ceil_log2']


def ceil_log2(num: int, den: int = 1) -> int:
    """Smallest integer ``i`` with ``2**i >= num / den`` (num, den > 0)."""
    i = num.bit_length() - den.bit_length()
    # now 2**(i-1) < num/den < 2**(i+1); settle which side
    if i >= 0:
        return i if den << i >= num else i + 1
    return i if num << -i <= den else i + 1


def adder_bits(a: QInt, b: QInt, shift: int = 0) -> int:
    """LUT-bits of the adder ``a ± b * 2**shift`` (see :func:`op_cost`)."""
    lo_a, hi_a, f_a = a
    lo_b, hi_b, f_b = b
    f_b -= shift
    # i = ceil(log2(max |bound|)), upper bounds one step above the max; compare on one grid
    g = max(f_a, f_b)
    top = max(max(-lo_a, hi_a + 1) << (g - f_a), max(-lo_b, hi_b + 1) << (g - f_b))
    if top <= 0:
        return 0
    i = ceil_log2(top, 1 << g) if g >= 0 else ceil_log2(top << -g)
    k = 1 if lo_a < 0 or lo_b < 0 else 0
    return max(k + i + min(f_a, f_b), 0)  # bits below the coarser operand's step are wires


def _scale(bits: int, size: int) -> float:
    return float(-(-bits // size)) if size > 0 else float(bits)


def _chain(bits: int, carry_size: int) -> float:
    """Adder levels of a ``bits``-wide carry chain."""
    if bits <= 0:
        return 0.0
    return float(-(-bits // carry_size)) if carry_size > 0 else 1.0


def adder_cost(a: QInt, b: QInt, shift: int, adder_size: int = 1, carry_size: int = -1) -> tuple[float, float]:
    """``(cost, levels)`` of the adder ``a ± b * 2**shift``: :func:`op_cost` of ADD / SUB."""
    bits = adder_bits(a, b, shift)
    return _scale(bits, adder_size), _chain(bits, carry_size)


def op_cost(op: Op, qints: Sequence[QInt], adder_size: int = 1, carry_size: int = -1) -> tuple[float, float]:
    """Cost and delay of one op: ``(cost, levels)``.

    Cost is in LUT-bits (divided by ``adder_size`` and rounded up when ``adder_size > 0``); delay
    is in adder levels: 1 per carry chain, or ``ceil(bits / carry_size)`` when ``carry_size > 0``.

    - ADD / SUB ``a ± (b << s)``: ``k + i + f`` bits, f = fractional bits of the coarser operand
      after the shift (finer bits are wires), i = ceil(log2(max |bound|)) over both operands'
      bounds with upper bounds taken one step above the max, k = 1 if either can be negative.
    - CONST_ADD: the same adder with the constant as second operand.
    - INPUT, CONST, QUANTIZE: free, no delay (truncation and wrap-around drop wires).
    - Negated operands (QUANTIZE_NEG, RELU_NEG, MUX_NEG): add a negation adder as wide as ``-a``.
    - RELU: one LUT per output bit, no adder level.
    - MUX: one LUT per output bit, one level.
    - MUL: ``width(a) * width(b)`` bits, ``ceil(log2(min width)) + 1`` adder levels.
    - LOOKUP: ``width(out) * 2**max(width(key) - 6, 0)`` bits (LUT6 per 64 entries), one level.
    """
    code = op.opcode
    out = op.qint

    def chain(bits: int) -> float:
        return _chain(bits, carry_size)

    if code in (Opcode.INPUT, Opcode.CONST, Opcode.QUANTIZE):
        return 0.0, 0.0
    if code in (Opcode.ADD, Opcode.SUB):
        return adder_cost(qints[op.id0], qints[op.id1], op.data, adder_size, carry_size)
    if code == Opcode.CONST_ADD:
        return adder_cost(qints[op.id0], QInt(op.data, op.data, out.f), 0, adder_size, carry_size)

    bits, levels = 0, 0.0
    if code < 0:  # negation of the (last) operand
        src = qints[op.id1] if abs(code) == Opcode.MUX else qints[op.id0]
        neg_bits = QInt(-src.hi, -src.lo, src.f).width
        bits, levels = neg_bits, chain(neg_bits)
    if abs(code) in (Opcode.RELU, Opcode.QUANTIZE):
        bits += out.width if abs(code) == Opcode.RELU else 0
        return _scale(bits, adder_size), levels
    if abs(code) == Opcode.MUX:
        return _scale(bits + out.width, adder_size), levels + 1.0
    if code == Opcode.MUL:
        wa, wb = qints[op.id0].width, qints[op.id1].width
        if min(wa, wb) == 0:
            return 0.0, 0.0
        depth = ceil_log2(min(wa, wb)) + 1
        return _scale(wa * wb, adder_size), depth * chain(wa + wb)
    if code == Opcode.LOOKUP:
        w_in = qints[op.id0].width
        return _scale(out.width * 2 ** max(w_in - 6, 0), adder_size), 1.0
    return 0.0, 0.0
