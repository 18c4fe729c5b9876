"""What the hardware of one program is, before any HDL text: cells, tables, registers, buses.

Why a separate pass: the Verilog and the VHDL writers must instantiate the same primitives with
the same parameters, read the same register copies and pack the same output bus, or the two
languages would drift apart. Everything decided here is a pure function of the program, the
layout and the schedule; the writers only spell it.

Each live op ``i`` becomes a cell computing value ``v<i>`` (its raw integer at its minimal
width, two's complement when it can be negative); a negated output ``j`` becomes a cell ``o<j>``.
An operand is a value name as seen in the reading stage (``v3_s2`` = v3 registered into stage
2), a sized literal, or the 1-bit zero that stands for a zero-width value.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Op, Opcode, Program
from .layout import Layout, const_raw_width
from .pipeline import Schedule

__all__ = ['Cell', 'Netlist', 'Operand', 'Rom', 'describe', 'netlist']


@dataclass(frozen=True)
class Operand:
    """A primitive input: a value ``name``, a literal ``raw`` (name None), or the 1-bit zero of a
    zero-width value (both None)."""

    name: str | None
    width: int
    signed: int
    raw: int | None = None

    @property
    def zero(self) -> bool:
        return self.name is None and self.raw is None


@dataclass(frozen=True)
class Rom:
    """A table restricted to the raw keys ``lo .. hi`` its key can take; shared by equal uses."""

    name: str
    table: int
    lo: int
    hi: int
    key_width: int
    base: int
    width: int
    entries: tuple[int, ...]  # raw output for key lo, lo + 1, ..., hi


@dataclass(frozen=True)
class Cell:
    """One value the hardware computes. ``kind``: 'input' (bits ``lsb +: width`` of inp),
    'const' (literal ``raw``), 'lookup' (``rom`` of ``ports[0]``) or a primitive's name, then
    instantiated as ``inst`` with ``params`` and input ``ports`` (the output is ``name``)."""

    name: str
    comment: str
    width: int
    kind: str
    inst: str = ''
    params: tuple[tuple[str, int], ...] = ()
    ports: tuple[tuple[str, Operand], ...] = ()
    lsb: int = 0
    raw: int = 0
    rom: str = ''


@dataclass(frozen=True)
class Netlist:
    """Cells in program order (negated outputs last), tables in first-use order, registers, and
    per output element the value it reads at the output stage (None: a pad, driven 0)."""

    cells: tuple[Cell, ...]
    roms: tuple[Rom, ...]
    registers: tuple[tuple[int, str, str, int], ...]  # (stage, register, source, width)
    outputs: tuple[str | None, ...]
    unused_inputs: tuple[tuple[int, int], ...]  # (lsb, msb) runs of inp bits no cell reads
    primitives: tuple[str, ...]  # sorted names of the primitives instantiated


def describe(op: Op) -> str:
    """The op in one line of pseudo-code, for the comment above its cell."""
    code = op.opcode
    if code == Opcode.INPUT:
        return f'INPUT x{op.id0}'
    if code in (Opcode.ADD, Opcode.SUB):
        sign = '+' if code == Opcode.ADD else '-'
        return f'v{op.id0} {sign} (v{op.id1} << {op.data})'
    if code == Opcode.CONST_ADD:
        return f'v{op.id0} + {op.data} steps'
    if code == Opcode.CONST:
        return f'CONST {op.data} steps'
    if abs(code) == Opcode.MUX:
        neg = '-' if code < 0 else ''
        return f'msb(v{op.key}) ? v{op.id0} : {neg}(v{op.id1} << {op.shift})'
    if code == Opcode.MUL:
        return f'v{op.id0} * v{op.id1}'
    if code == Opcode.LOOKUP:
        return f'table {op.table}[v{op.id0} - ({op.base})]'
    return f'{Opcode(code).name} v{op.id0}'


def _ranges(mask_bits: list[bool]) -> list[tuple[int, int]]:
    """Runs of True in ``mask_bits`` as (lsb, msb), ascending."""
    out, start = [], None
    for b, on in enumerate([*mask_bits, False]):
        if on and start is None:
            start = b
        elif not on and start is not None:
            out.append((start, b - 1))
            start = None
    return out


class _Builder:
    """Walks the live ops once, in program order; remembers the primitives and tables used."""

    def __init__(self, prog: Program, lay: Layout, sched: Schedule):
        self.prog, self.lay, self.sched = prog, lay, sched
        self.qints = [op.qint for op in prog.ops]
        self.cells: list[Cell] = []
        self.roms: dict[tuple, Rom] = {}
        self.primitives: set[str] = set()

    def operand(self, j: int, t: int) -> Operand:
        """Op j read in stage t."""
        q = self.qints[j]
        if q.width == 0:
            return Operand(None, 1, 0)
        return Operand(self.sched.read(f'v{j}', t), q.width, int(q.lo < 0))

    def where(self, name: str) -> tuple[int, str]:
        st = self.sched.stage_of(name)
        return (0 if st is None else st), ('' if st is None or not self.sched.clocked else f', stage {st}')

    def prim(self, name: str, comment: str, width: int, kind: str, inst: str, params: dict, ports: dict) -> None:
        self.primitives.add(kind)
        self.cells.append(Cell(name, comment, width, kind, inst, tuple(params.items()), tuple(ports.items())))

    def op(self, i: int, op: Op) -> None:
        q, name = op.qint, f'v{i}'
        w, so = q.width, int(q.lo < 0)
        t, where = self.where(name)
        comment = f'op {i}: {describe(op)} -> {q}{where}'
        code = op.opcode
        if code == Opcode.INPUT:
            lsb, width = self.lay.input_slices[i]
            self.cells.append(Cell(name, comment, width, 'input', lsb=lsb))
        elif code == Opcode.CONST:
            self.cells.append(Cell(name, comment, w, 'const', raw=op.data))
        elif code in (Opcode.ADD, Opcode.SUB):
            a, b = self.operand(op.id0, t), self.operand(op.id1, t)
            shift = self.qints[op.id0].f - self.qints[op.id1].f + op.data
            params = {'WA': a.width, 'SA': a.signed, 'WB': b.width, 'SB': b.signed, 'S': shift,
                      'SUB': int(code == Opcode.SUB), 'WO': w, 'SO': so}
            self.prim(name, comment, w, 'shift_add', f'u{i}', params, {'a': a, 'b': b})
        elif code == Opcode.CONST_ADD:
            a = self.operand(op.id0, t)
            wb, sb = const_raw_width(op.data)
            b = Operand(None, wb, int(sb), op.data) if wb else Operand(None, 1, 0)
            params = {'WA': a.width, 'SA': a.signed, 'WB': max(wb, 1), 'SB': int(sb), 'S': self.qints[op.id0].f - q.f,
                      'SUB': 0, 'WO': w, 'SO': so}
            self.prim(name, comment, w, 'shift_add', f'u{i}', params, {'a': a, 'b': b})
        elif abs(code) in (Opcode.QUANTIZE, Opcode.RELU):
            a = self.operand(op.id0, t)
            params = {'WA': a.width, 'SA': a.signed, 'D': self.qints[op.id0].f - q.f, 'NEG': int(code < 0),
                      'RELU': int(abs(code) == Opcode.RELU), 'WO': w, 'SO': so}
            self.prim(name, comment, w, 'quantize', f'u{i}', params, {'a': a})
        elif abs(code) == Opcode.MUX:
            k, a, b = self.operand(op.key, t), self.operand(op.id0, t), self.operand(op.id1, t)
            params = {'WK': k.width, 'WA': a.width, 'SA': a.signed, 'SHA': q.f - self.qints[op.id0].f,
                      'WB': b.width, 'SB': b.signed, 'SHB': q.f - self.qints[op.id1].f + op.shift,
                      'NEG': int(code < 0), 'WO': w, 'SO': so}
            self.prim(name, comment, w, 'mux', f'u{i}', params, {'key': k, 'a': a, 'b': b})
        elif code == Opcode.MUL:
            a, b = self.operand(op.id0, t), self.operand(op.id1, t)
            params = {'WA': a.width, 'SA': a.signed, 'WB': b.width, 'SB': b.signed, 'WO': w, 'SO': so}
            self.prim(name, comment, w, 'mul', f'u{i}', params, {'a': a, 'b': b})
        elif code == Opcode.LOOKUP:
            key = self.operand(op.id0, t)
            rom = self.rom(op, key.width, w)
            self.cells.append(Cell(name, comment, w, 'lookup', ports=(('key', key),), rom=rom))
        else:  # the writers' argument checks refuse these before rendering
            raise ValueError(f'op {i}: opcode {int(code)} cannot be emitted')

    def rom(self, op: Op, wk: int, w: int) -> str:
        key = self.qints[op.id0]
        sig = (op.table, key.lo, key.hi, wk, op.base, w)
        if sig not in self.roms:
            table = self.prog.tables[op.table]
            entries = tuple(int(table[r - op.base]) for r in range(key.lo, key.hi + 1))
            self.roms[sig] = Rom(f'rom{len(self.roms)}', op.table, key.lo, key.hi, wk, op.base, w, entries)
        return self.roms[sig].name

    def negated_output(self, j: int, idx: int) -> None:
        name = f'o{j}'
        el = self.lay.outputs[j]
        t, where = self.where(name)
        comment = f'output {j}: -v{idx}{where}'
        op = self.prog.ops[idx]
        if op.opcode == Opcode.CONST:
            self.cells.append(Cell(name, comment, el.width, 'const', raw=-op.data))
            return
        a = self.operand(idx, t)
        params = {'WA': a.width, 'SA': a.signed, 'WO': el.width, 'SO': int(el.signed)}
        self.prim(name, comment, el.width, 'negate', f'u_o{j}', params, {'a': a})


def netlist(prog: Program, lay: Layout, sched: Schedule) -> Netlist:
    """The hardware of a validated program under layout ``lay`` and schedule ``sched``."""
    b = _Builder(prog, lay, sched)
    for i, op in enumerate(prog.ops):
        if lay.live[i]:
            b.op(i, op)
    for j, (idx, neg) in enumerate(zip(prog.out_idxs, prog.out_negs)):
        if lay.outputs[j].used and neg:
            b.negated_output(j, idx)
    outputs = []
    for j, el in enumerate(lay.outputs):
        if not el.used:
            outputs.append(None)
        else:
            val = f'o{j}' if prog.out_negs[j] else f'v{prog.out_idxs[j]}'
            outputs.append(sched.read(val, sched.out_stage))
    used = [False] * lay.in_width
    for lsb, width in lay.input_slices.values():
        for bit in range(lsb, lsb + width):
            used[bit] = True
    return Netlist(tuple(b.cells), tuple(b.roms.values()), tuple(sched.registers()), tuple(outputs),
                   tuple(_ranges([not u for u in used])), tuple(sorted(b.primitives)))
