"""The cost model: every comparison (solver quality, reports, peers) uses this one function."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from .ops import Op, Opcode, QInt

__all__ = ['op_cost', 'adder_bits', 'adder_cost', 'ceil_log2', 'const_adder_bits', 'const_adder_inverted', 'negation_bits', 'table_luts', 'used_bits', 'absorbed']

TABLE_MAX_KEY_BITS = 16  # wider keys are priced by the width formula (their truth tables get large)


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


def const_adder_bits(a: QInt, out: QInt, c: int, top: int | None = None) -> tuple[int, int]:
    """(LUTs, carry-chain bits) of ``a + c * 2**-out.f``.

    The carry chain starts at the lowest set bit of the constant at or above the lowest bit of
    ``a`` and runs to the top of the output; below it the output bits are wires of ``a`` or
    constants.
    On the chain, a bit where the constant is 0 feeds ``a`` straight into the carry cell; a bit
    where it is 1 needs ``~a``: one LUT (:func:`const_adder_inverted`). Above the top of ``a``
    the sign extension and the constant meet in the carry cell alone (synthesis shares the one
    inverted sign). ``top``: only output bits below it are read (the LUTs above are dropped,
    not the chain).
    """
    width = out.width
    a_lsb = out.f - a.f
    touched = (c & ((1 << width) - 1)) >> a_lsb << a_lsb  # bits below a's are output constants
    if touched == 0:
        return 0, 0
    start = (touched & -touched).bit_length() - 1
    return len(const_adder_inverted(a, out, c, top)), width - start


def const_adder_inverted(a: QInt, out: QInt, c: int, top: int | None = None) -> frozenset[int]:
    """The bits of ``a`` (0 = its lowest) that ``a + c * 2**-out.f`` reads inverted: where the
    constant is 1, from its lowest set bit at or above ``a``'s lowest bit up to the top of ``a``
    (or ``top``). Synthesis builds one inverter per bit of a signal, whatever reads it."""
    width = out.width
    a_lsb = out.f - a.f  # position of a's lowest bit on the output grid (a is never finer)
    a_top = a_lsb + a.width
    touched = (c & ((1 << width) - 1)) >> a_lsb << a_lsb
    stop = a_top if top is None else min(a_top, top)
    return frozenset(j - a_lsb for j in range(a_lsb, max(stop, a_lsb)) if (touched >> j) & 1)


def negation_bits(src: QInt) -> tuple[int, int]:
    """(LUTs, carry-chain bits) of ``-src``: ``~src + 1``, one inverter per bit of ``src``, on a
    chain as wide as ``-src``."""
    return src.width, QInt(-src.hi, -src.lo, src.f).width


_PROJECTIONS = {n: frozenset(sum(1 << r for r in range(1 << n) if (r >> j) & 1) for j in range(n)) for n in range(7)}


def _cofactors(tt: int, n: int, j: int) -> tuple[int, int]:
    """Truth tables (over the other ``n - 1`` inputs) of the function with input ``j`` at 0 and 1."""
    f0 = f1 = 0
    low = (1 << j) - 1
    for r in range(1 << (n - 1)):
        r0 = (r & low) | ((r >> j) << (j + 1))
        f0 |= ((tt >> r0) & 1) << r
        f1 |= ((tt >> (r0 | (1 << j))) & 1) << r
    return f0, f1


def _support(tt: int, n: int) -> tuple[int, int]:
    """The same function over only the inputs it depends on."""
    for j in range(n - 1, -1, -1):
        f0, f1 = _cofactors(tt, n, j)
        if f0 == f1:
            tt, n = f0, n - 1
    return tt, n


def _function_luts(tt: int, n: int, built: set) -> int:
    """New LUTs for the ``n``-input function with truth table ``tt`` (bit r = f(r)), ``n <= 8``,
    as yosys ``synth_xilinx`` maps it: none for a constant, a plain input or (up to 6 inputs)
    a function already built; else over the inputs it depends on, one LUT6 for up to 6; at 7
    and 8 a LUT7 / LUT8, i.e. one LUT6 per non-constant cofactor of the top one or two inputs
    (joined by MUXF7 / MUXF8, free in LUTs), cofactors not shared with other functions."""
    if tt == 0 or tt == (1 << (1 << n)) - 1:
        return 0
    if n > 6:
        tt, n = _support(tt, n)
    if (n, tt) in built or (n <= 6 and tt in _PROJECTIONS[n]):
        return 0
    built.add((n, tt))
    return 1 if n <= 6 else _cofactor_luts(tt, n)


def _cofactor_luts(tt: int, n: int) -> int:
    """LUT6s of the cofactors of a LUT7 / LUT8 on its top inputs; constant cofactors are free."""
    if tt == 0 or tt == (1 << (1 << n)) - 1:
        return 0
    if n <= 6:
        return 1
    half = 1 << (n - 1)
    return _cofactor_luts(tt & ((1 << half) - 1), n - 1) + _cofactor_luts(tt >> half, n - 1)


_FREE_BITS = 6  # the low key bits each output bit's LUT6s read directly


def _decomposed_luts(tts: list[int], n: int) -> int:
    """LUTs of the output bits ``tts`` (truth tables over ``n > 8`` key bits), decomposed on the
    top ``n - 6`` key bits: they select one of a few functions of the low 6 bits. The distinct
    selections (tuples over all output bits) are encoded once in ``ceil(log2 count)`` shared
    signals (functions of the top bits; none when every pattern is distinct: the top bits are
    the code), each output bit is its distinct non-trivial low-bit functions (one LUT6 each)
    joined by MUXF7 / MUXF8 and, beyond four, one LUT6 per 4:1 mux."""
    n_hi = n - _FREE_BITS
    low = (1 << (1 << _FREE_BITS)) - 1
    classes: dict[tuple[int, ...], list[int]] = {}
    for h in range(1 << n_hi):
        classes.setdefault(tuple((tt >> (h << _FREE_BITS)) & low for tt in tts), []).append(h)
    built: set = set()
    total = 0
    code_bits = n_hi
    if len(classes) < 1 << n_hi:
        code_bits = (len(classes) - 1).bit_length()
        code = {h: j for j, hs in enumerate(classes.values()) for h in hs}
        for b in range(code_bits):
            enc = sum(1 << h for h in range(1 << n_hi) if (code[h] >> b) & 1)
            total += _function_luts(enc, n_hi, built) if n_hi <= 8 else _decomposed_luts([enc], n_hi)
    for tt in tts:
        leaves = {(tt >> (h << _FREE_BITS)) & low for h in range(1 << n_hi)}
        total += sum(_function_luts(g, _FREE_BITS, built) for g in leaves)
        if len(leaves) > 1 and code_bits > 2:
            total += -(-(1 << (code_bits - 2)) // 4)
    return total


def table_luts(table: Sequence[int], key: QInt, base: int, out_width: int, used: int | None = None) -> int:
    """LUTs of a lookup table read at the raw keys ``key.lo .. key.hi`` (entry ``table[k - base]``,
    unreachable keys give 0), one truth table per output bit (only the bits set in ``used``),
    equal sub-functions shared."""
    return _table_luts(tuple(table), key, base, out_width, (1 << out_width) - 1 if used is None else used)


@functools.lru_cache(maxsize=4096)
def _table_luts(table: tuple[int, ...], key: QInt, base: int, out_width: int, used: int) -> int:
    n = key.width
    bits = [b for b in range(out_width) if (used >> b) & 1]
    if n > TABLE_MAX_KEY_BITS:
        return len(bits) * 2 ** max(n - 6, 0)
    mask = (1 << n) - 1
    tts = []
    for b in bits:
        tt = 0
        for r in range(key.lo, key.hi + 1):
            if (table[r - base] >> b) & 1:
                tt |= 1 << (r & mask)
        tts.append(tt)
    if n > 8:
        return _decomposed_luts(tts, n)
    built: set = set()
    return sum(_function_luts(tt, n, built) for tt in tts)


def _full(q: QInt) -> int:
    return (1 << q.width) - 1


def _moved(u: int, d: int, src: QInt) -> int:
    """Bits of ``src`` read when output bit j is ``src``'s bit ``j + d`` (its sign above the top)."""
    shifted = u << d if d >= 0 else u >> -d
    mask = shifted & _full(src)
    if src.lo < 0 and src.width and shifted >> src.width:
        mask |= 1 << (src.width - 1)
    return mask


def _below(h: int, pos: int, src: QInt) -> int:
    """Bits of ``src`` (lowest bit at output position ``pos``) an adder needs for its output bits
    up to position ``h``: every bit at or below it (the carry), the sign if extended that far."""
    if h < pos or src.width == 0:
        return 0
    n = h - pos + 1
    mask = (1 << min(n, src.width)) - 1
    if src.lo < 0 and n > src.width:
        mask |= 1 << (src.width - 1)
    return mask


def used_bits(ops: Sequence[Op], out_idxs: Sequence[int]) -> list[int]:
    """Per op, the mask of its output bits that something reads (bit 0 = its lowest bit).

    Synthesis removes logic nobody reads: a RELU whose result is truncated by a later
    QUANTIZE builds only the bits that survive, an adder whose top bits are wrapped away stops
    its carry chain below them. Outputs read every bit; so do multipliers, tables, negations
    and ops nothing reads (priced as if alone). A MUX key reads its top bit only.
    """
    qints = [op.qint for op in ops]
    used = [0] * len(ops)
    read = [False] * len(ops)
    for idx in out_idxs:
        if idx >= 0:
            used[idx] = _full(qints[idx])
            read[idx] = True

    def need(j: int, mask: int) -> None:
        used[j] |= mask
        read[j] = True

    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        code, out = op.opcode, op.qint
        u = used[i] if read[i] else _full(out)
        if code in (Opcode.INPUT, Opcode.CONST):
            continue
        if code in (Opcode.QUANTIZE, Opcode.RELU):
            a = qints[op.id0]
            m = _moved(u, a.f - out.f, a)
            if code == Opcode.RELU and u and a.lo < 0:
                m |= 1 << (a.width - 1)
            need(op.id0, m)
        elif abs(code) == Opcode.MUX:
            a, b, k = qints[op.id0], qints[op.id1], qints[op.key]
            need(op.id0, _moved(u, a.f - out.f, a))
            need(op.id1, _moved(u, b.f - op.shift - out.f, b) if code > 0 else _full(b))
            need(op.key, (1 << (k.width - 1)) if k.width else 0)
        elif code in (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD):
            h = u.bit_length() - 1
            a = qints[op.id0]
            need(op.id0, _below(h, out.f - a.f, a))
            if code != Opcode.CONST_ADD:
                b = qints[op.id1]
                need(op.id1, _below(h, out.f - b.f + op.data, b))
        else:  # negations, multipliers, tables: every operand bit
            for j in op.operands:
                need(j, _full(qints[j]))
    return [used[i] if read[i] else _full(qints[i]) for i in range(len(ops))]


def _bit_inputs(op: Op, ops: Sequence[Op]) -> int:
    """Signals one output bit of a RELU / MUX reads (a constant operand is no signal)."""
    if op.opcode == Opcode.RELU:
        return 2  # the bit and the sign
    return 1 + sum(ops[j].opcode != Opcode.CONST for j in (op.id0, op.id1))


def absorbed(ops: Sequence[Op], out_idxs: Sequence[int]) -> list[bool]:
    """Per op, whether synthesis folds it into the LUTs of its one reader: a RELU or MUX read by
    nothing but one RELU or MUX, the two bit functions together reading at most 6 signals (a
    saturating quantizer's two muxes against constants become one LUT3 per bit)."""
    readers: list[list[int]] = [[] for _ in ops]
    for i, op in enumerate(ops):
        if op.opcode not in (Opcode.INPUT, Opcode.CONST):
            for j in op.operands:
                readers[j].append(i)
    outs = {i for i in out_idxs if i >= 0}
    bitwise = (Opcode.RELU, Opcode.MUX)
    out = []
    for i, op in enumerate(ops):
        r = readers[i]
        ok = (op.opcode in bitwise and i not in outs and len(r) == 1 and ops[r[0]].opcode in bitwise
              and (ops[r[0]].opcode != Opcode.MUX or ops[r[0]].key != i)
              and _bit_inputs(op, ops) + _bit_inputs(ops[r[0]], ops) - 1 <= 6)
        out.append(ok)
    return out


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


def op_cost(op: Op, qints: Sequence[QInt], adder_size: int = 1, carry_size: int = -1,
            tables: Sequence[Sequence[int]] | None = None, used: int | None = None) -> tuple[float, float]:
    """Cost and delay of one op: ``(cost, levels)``.

    Cost is in LUT-bits (divided by ``adder_size`` and rounded up when ``adder_size > 0``); delay
    is in adder levels: 1 per carry chain, or ``ceil(bits / carry_size)`` when ``carry_size > 0``.

    - ADD / SUB ``a ± (b << s)``: ``k + i + f`` bits, f = fractional bits of the coarser operand
      after the shift (finer bits are wires), i = ceil(log2(max |bound|)) over both operands'
      bounds with upper bounds taken one step above the max, k = 1 if either can be negative.
    - CONST_ADD: one LUT per bit where the constant is 1, from its lowest set bit up to the top
      of ``a`` (:func:`const_adder_bits`); one level (the chain runs from that bit to the top).
    - INPUT, CONST, QUANTIZE: free, no delay (truncation and wrap-around drop wires).
    - Negated operands (QUANTIZE_NEG, RELU_NEG, MUX_NEG): add a negation, one LUT per bit of
      ``a`` on a chain as wide as ``-a`` (:func:`negation_bits`).
    - RELU: one LUT per output bit, no adder level.
    - MUX: one LUT per output bit, one level.
    - MUL: ``width(a) * width(b)`` bits, ``ceil(log2(min width)) + 1`` adder levels.
    - LOOKUP: with ``tables``, the LUTs of each output bit's truth table over the key bits
      (:func:`table_luts`); without, ``width(out) * 2**max(width(key) - 6, 0)``; one level.

    ``used`` (:func:`used_bits`; None: all) is the mask of output bits something reads: RELU,
    MUX and LOOKUP build only those, adders and constant adders only the LUTs up to the highest
    one. Delays never depend on it. ``Program.cost`` prices each op alone (None), so passes that
    drop or renumber ops keep every op's cost; the resource estimate of ``metadata.json`` passes
    the program's :func:`used_bits`.

    ADD / SUB and the inverters of CONST_ADD and negations are what yosys ``synth_xilinx``
    builds in isolation (``bench/resources.py``); RELU and MUX are upper bounds that synthesis
    can beat when it merges them with their neighbours.
    """
    code = op.opcode
    out = op.qint

    def chain(bits: int) -> float:
        return _chain(bits, carry_size)

    if code in (Opcode.INPUT, Opcode.CONST, Opcode.QUANTIZE):
        return 0.0, 0.0
    top = None if used is None else used.bit_length()  # output bits at and above it: nobody reads them
    if code in (Opcode.ADD, Opcode.SUB):
        a, b = qints[op.id0], qints[op.id1]
        bits = adder_bits(a, b, op.data)
        if top is not None:  # the chain's LUTs start at the coarser operand's lowest bit
            bits = max(0, min(bits, top - (out.f - min(a.f, b.f - op.data))))
        return _scale(bits, adder_size), chain(adder_bits(a, b, op.data))
    if code == Opcode.CONST_ADD:
        bits = const_adder_bits(qints[op.id0], out, op.data, top)[0]
        return _scale(bits, adder_size), chain(const_adder_bits(qints[op.id0], out, op.data)[1])
    n_used = out.width if used is None else bin(used & ((1 << out.width) - 1)).count('1')

    bits, levels = 0, 0.0
    if code < 0:  # negation of the (last) operand
        bits, chain_bits = negation_bits(qints[op.id1] if abs(code) == Opcode.MUX else qints[op.id0])
        levels = chain(chain_bits)
    if abs(code) in (Opcode.RELU, Opcode.QUANTIZE):
        bits += n_used if abs(code) == Opcode.RELU else 0
        return _scale(bits, adder_size), levels
    if abs(code) == Opcode.MUX:
        return _scale(bits + n_used, adder_size), levels + 1.0
    if code == Opcode.MUL:
        wa, wb = qints[op.id0].width, qints[op.id1].width
        if min(wa, wb) == 0:
            return 0.0, 0.0
        depth = ceil_log2(min(wa, wb)) + 1
        return _scale(wa * wb, adder_size), depth * chain(wa + wb)
    if code == Opcode.LOOKUP:
        key = qints[op.id0]
        if tables is not None:
            return _scale(table_luts(tables[op.table], key, op.base, out.width, used), adder_size), 1.0
        return _scale(out.width * 2 ** max(key.width - 6, 0), adder_size), 1.0
    return 0.0, 0.0
