"""Static checks of a program: causality, known opcodes, tables, and exact intervals.

An op that does not quantize (ADD, SUB, CONST_ADD, CONST, MUL) must declare an interval that holds
everything it can produce, on the grid it produces (no silent rounding, no overflow). Quantizing ops
(INPUT, RELU, QUANTIZE) must declare an interval that holds their image. Adder ranges are checked
op by op first and, where that is too loose, exactly over the whole shift-add tree (ranges.py).
MUX bounds may be narrower than the hull of its operands (a builder may know more, e.g.
``max(a, b) >= max(lo)``), so only its grid is checked; the interpreter, like the hardware,
keeps the declared width.
The grid rules also keep programs inside what every DAIS interpreter computes correctly.

Field limits come first (``check_op``, also run by the loaders before they derive anything):
every op's ``i`` and ``f`` within ``±MAX_BITS`` and every shift (ADD / SUB / MUX, inputs,
outputs) within ``±MAX_SHIFT``, so exact integer interval arithmetic stays small on any input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..fixed import MAX_BITS
from . import intervals
from .ops import SUPPORTED_OPCODES, Op, Opcode, QInt
from .ranges import LinearRanges

if TYPE_CHECKING:
    from .program import Program

__all__ = ['MAX_BITS', 'MAX_SHIFT', 'ProgramError', 'check_fields', 'check_op', 'validate']

_I32 = (-(1 << 31), (1 << 31) - 1)
# A shift moves a value's grid; a value of at most MAX_BITS integer and fractional bits has no
# use for a larger one (the result would need more than MAX_BITS bits, or be zero).
MAX_SHIFT = 2 * MAX_BITS


class ProgramError(ValueError):
    """A malformed program; ``op_index`` names the offending op (None for program-level faults)."""

    def __init__(self, message: str, op_index: int | None = None, op: Op | None = None):
        self.op_index = op_index
        if op_index is not None:
            name = _name(op.opcode) if op is not None else '?'
            message = f'op {op_index} ({name}): {message}'
        super().__init__(message)


def _name(code) -> str:
    try:
        return Opcode(code).name
    except ValueError:
        return f'opcode {int(code)}'


def _check_header(prog: Program) -> None:
    n_in, n_out, n_ops = prog.n_in, prog.n_out, len(prog.ops)
    if n_in < 0 or n_out < 0:
        raise ProgramError(f'shape ({n_in}, {n_out}) must be non-negative')
    if len(prog.inp_shifts) != n_in:
        raise ProgramError(f'inp_shifts has {len(prog.inp_shifts)} entries, expected n_in={n_in}')
    for name in ('out_idxs', 'out_shifts', 'out_negs'):
        if len(getattr(prog, name)) != n_out:
            raise ProgramError(f'{name} has {len(getattr(prog, name))} entries, expected n_out={n_out}')
    for name in ('inp_shifts', 'out_shifts'):
        for j, s in enumerate(getattr(prog, name)):
            if abs(s) > MAX_SHIFT:
                raise ProgramError(f'{name}[{j}] = {s} is out of range (|shift| <= {MAX_SHIFT})')
    for j, idx in enumerate(prog.out_idxs):
        if not -1 <= idx < n_ops:
            raise ProgramError(f'output {j} reads op {idx}, but the program has {n_ops} ops (-1 means zero)')
    for t, table in enumerate(prog.tables):
        if len(table) == 0:
            raise ProgramError(f'table {t} is empty')
        if min(table) < _I32[0] or max(table) > _I32[1]:
            raise ProgramError(f'table {t} has entries outside int32')


def check_op(i: int, op: Op, n_in: int) -> None:
    """Structure of op ``i`` on its own: known opcode, field limits, causal operands. Cheap, and
    safe on any field values (the loaders run it before deriving intervals)."""
    code = op.opcode
    if not isinstance(code, Opcode):
        raise ProgramError(f'unknown opcode {int(code)}', i, op)
    if code not in SUPPORTED_OPCODES:
        raise ProgramError(f'opcode {int(code)} is reserved and not supported yet', i, op)
    lo, hi, f = op.qint
    # |f| <= MAX_BITS and i <= MAX_BITS (i >= -f follows): i + f of the minimal kif is the bit length
    if not -MAX_BITS <= f <= MAX_BITS or max(hi, -lo - 1).bit_length() - f > MAX_BITS:
        _, ii, f = op.qint.kif
        name, v = ('f', f) if abs(f) > MAX_BITS else ('i', ii)
        raise ProgramError(f'precision {name}={v} is out of range (|{name}| <= {MAX_BITS})', i, op)
    if code == Opcode.ADD or code == Opcode.SUB or code == Opcode.MUX or code == Opcode.MUX_NEG:
        shift = op.shift
        if not -MAX_SHIFT <= shift <= MAX_SHIFT:
            raise ProgramError(f'shift {shift} is out of range (|shift| <= {MAX_SHIFT})', i, op)
    _check_operands(i, op, n_in)


def _check_operands(i: int, op: Op, n_in: int) -> None:
    code = op.opcode
    if code == Opcode.INPUT:
        if not 0 <= op.id0 < n_in:
            raise ProgramError(f'reads input {op.id0}, but the program has {n_in} inputs', i, op)
        if op.id1 != -1:
            raise ProgramError(f'id1={op.id1} must be -1 (unused)', i, op)
        return
    used = op.operands
    for idx in used:
        if not 0 <= idx < i:
            raise ProgramError(f'non-causal operand index {idx} (must be in [0, {i}))', i, op)
    if code == Opcode.CONST and (op.id0 != -1 or op.id1 != -1):
        raise ProgramError(f'id0={op.id0}, id1={op.id1} must be -1 (unused)', i, op)
    if len(used) == 1 and op.id1 != -1:
        raise ProgramError(f'id1={op.id1} must be -1 (unused)', i, op)


def _holds(i: int, op: Op, nat: QInt, what: str, linear: LinearRanges | None = None) -> None:
    if op.qint.contains(nat):
        return
    if linear is not None:  # op-by-op intervals are loose on shift-add trees: try the exact range
        exact = linear.range(i)
        if exact is not None and op.qint.contains(exact):
            return
        nat = exact or nat
    raise ProgramError(f'declared interval {op.qint} cannot hold {what} {nat} (overflow)', i, op)


def _check_interval(i: int, op: Op, qints: list[QInt], tables, linear: LinearRanges | None) -> None:
    """Grid rules always; bound rules (``_holds`` and friends) only when ``linear`` is given."""
    bounds = linear is not None
    code, out = op.opcode, op.qint
    if out.lo > out.hi:
        raise ProgramError(f'interval lo={out.lo} > hi={out.hi} (raw)', i, op)
    if code == Opcode.INPUT:
        if bounds and out != QInt.of_kif(*out.kif):
            raise ProgramError(
                f'input interval {out} must be the full range of its precision {tuple(out.kif)}', i, op
            )
        return
    if code == Opcode.CONST:
        if not out.lo == out.hi == op.data:
            raise ProgramError(f'constant raw {op.data} but interval raw bounds [{out.lo}, {out.hi}]', i, op)
        return
    if code == Opcode.LOOKUP:
        if not 0 <= op.table < len(tables):
            raise ProgramError(f'table index {op.table} out of range ({len(tables)} tables)', i, op)
        nat = intervals.natural(op, qints, tables)
        if not bounds:
            return
        if nat is None:
            key = qints[op.id0]
            raise ProgramError(
                f'key raw range [{key.lo}, {key.hi}] minus base {op.base} leaves table {op.table} '
                f'(size {len(tables[op.table])})',
                i,
                op,
            )
        _holds(i, op, nat, 'table values')
        return
    a = qints[op.id0]
    if abs(code) in (Opcode.RELU, Opcode.QUANTIZE):
        if out.f > a.f:
            raise ProgramError(f'output step 2^{-out.f} is finer than the operand step 2^{-a.f}', i, op)
        if bounds:
            _holds(i, op, intervals.natural(op, qints), 'the quantized operand')
        return
    if code == Opcode.CONST_ADD:
        if out.f < a.f:
            raise ProgramError(
                f'output step 2^{-out.f} is coarser than the operand step 2^{-a.f} (no rounding here)', i, op
            )
        if bounds:
            _holds(i, op, intervals.natural(op, qints), 'a + constant', linear)
        return
    nf = intervals.natural_f(op, qints)
    if out.f != nf:
        raise ProgramError(f"output step 2^{-out.f} differs from the operands' grid 2^{-nf}", i, op)
    if bounds and abs(code) != Opcode.MUX:
        _holds(i, op, intervals.natural(op, qints), 'the result', linear if code != Opcode.MUL else None)


def check_fields(prog: Program) -> None:
    """The part of :func:`validate` that derives nothing: header, opcodes, field limits and
    causality. Loaders run it even when asked not to validate, since evaluating or costing a
    program with corrupt fields could need unbounded time or memory."""
    _check_header(prog)
    for i, op in enumerate(prog.ops):
        check_op(i, op, prog.n_in)


def validate(prog: Program, bounds: bool = True) -> None:
    """Raise :class:`ProgramError` naming the first bad op; return None for a valid program.

    ``bounds=False`` checks structure only (causality, opcodes, tables, grids): what the
    interpreter needs to run safely. A DAIS binary that relied on input ranges narrower than
    its input precisions (the format cannot say so) passes that, but not the full check."""
    _check_header(prog)
    qints: list[QInt] = []
    linear = LinearRanges(prog.ops) if bounds else None
    for i, op in enumerate(prog.ops):
        check_op(i, op, prog.n_in)
        _check_interval(i, op, qints, prog.tables, linear)
        qints.append(op.qint)
