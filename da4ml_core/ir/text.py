"""A readable listing of a program (what ``print(prog)`` shows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ops import Op, Opcode

if TYPE_CHECKING:
    from .program import Program

__all__ = ['dump', 'op_text']


def _shifted(ref: str, s: int, neg: bool = False) -> str:
    text = ref if s == 0 else f'({ref} << {s})' if s > 0 else f'({ref} >> {-s})'
    return f'-{text}' if neg else text


def op_text(op: Op) -> str:
    """The op as an expression over ``%i`` references."""
    code = op.opcode
    a, b = f'%{op.id0}', f'%{op.id1}'
    step = op.qint.step
    if code == Opcode.INPUT:
        return f'input[{op.id0}]'
    if code in (Opcode.ADD, Opcode.SUB):
        return f'{a} {"+" if code == Opcode.ADD else "-"} {_shifted(b, op.data)}'
    if abs(code) == Opcode.RELU:
        return f'relu({"-" if code < 0 else ""}{a})'
    if abs(code) == Opcode.QUANTIZE:
        return f'quantize({"-" if code < 0 else ""}{a})'
    if code == Opcode.CONST_ADD:
        return f'{a} + {_num(op.data * step)}'
    if code == Opcode.CONST:
        return f'const {_num(op.data * step)}'
    if abs(code) == Opcode.MUX:
        return f'msb(%{op.key}) ? {a} : {_shifted(b, op.shift, code < 0)}'
    if code == Opcode.MUL:
        return f'{a} * {b}'
    if code == Opcode.LOOKUP:
        return f'table{op.table}[raw({a}) - {op.base}]'
    return f'opcode {int(code)}({a}, {b}, data={op.data})'


def _num(x) -> str:
    return str(x.numerator) if x.denominator == 1 else f'{float(x):.10g}'


def dump(prog: Program) -> str:
    k_max = len(str(max(len(prog.ops) - 1, 0)))
    lines = [
        f'program {prog.n_in} -> {prog.n_out}: {len(prog.ops)} ops, {prog.n_adders} adders, '
        f'cost {prog.cost:g}, latency {prog.latency:g}'
    ]
    exprs = [op_text(op) for op in prog.ops]
    width = max((len(e) for e in exprs), default=0)
    for i, (op, expr) in enumerate(zip(prog.ops, exprs)):
        k, ii, f = op.qint.kif
        prec = f'fixed<{k},{ii},{f}>'
        lines.append(f'  %{i:<{k_max}} = {expr:<{width}}  {prec} {op.qint}  lat {op.latency:g} cost {op.cost:g}')
    for j, (idx, s, neg) in enumerate(zip(prog.out_idxs, prog.out_shifts, prog.out_negs)):
        lines.append(f'  out[{j}] = {_shifted(f"%{idx}", s, neg) if idx >= 0 else "0"}')
    for t, table in enumerate(prog.tables):
        head = ', '.join(map(str, table[:8])) + (', ...' if len(table) > 8 else '')
        lines.append(f'  table{t} ({len(table)} entries): [{head}]')
    return '\n'.join(lines)
