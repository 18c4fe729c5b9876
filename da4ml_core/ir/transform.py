"""Program-to-program passes that keep the outputs bit-exact: dead code, duplicate ops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ops import Op, Opcode, pack_lookup, pack_mux

if TYPE_CHECKING:
    from .program import Program

__all__ = ['dead_code_elimination', 'deduplicate', 'remap_op']


def remap_op(op: Op, new_index: list[int], new_table: list[int] | None = None) -> Op:
    """``op`` with every operand index (and table index) sent through the maps."""
    if op.opcode in (Opcode.INPUT, Opcode.CONST):
        return op
    id0 = new_index[op.id0] if op.id0 >= 0 else op.id0
    id1 = new_index[op.id1] if op.id1 >= 0 else op.id1
    data = op.data
    if abs(op.opcode) == Opcode.MUX:
        data = pack_mux(new_index[op.key], op.shift)
    elif op.opcode == Opcode.LOOKUP and new_table is not None:
        data = pack_lookup(new_table[op.table], op.base)
    if (id0, id1, data) == (op.id0, op.id1, op.data):
        return op
    return op.with_(id0=id0, id1=id1, data=data)


def dead_code_elimination(prog: Program, keep_inputs: bool = False) -> Program:
    """Drop ops no output depends on (and tables no op reads). ``keep_inputs`` keeps INPUT ops."""
    n = len(prog.ops)
    live = [False] * n
    for idx in prog.out_idxs:
        if idx >= 0:
            live[idx] = True
    for i in range(n - 1, -1, -1):
        op = prog.ops[i]
        if keep_inputs and op.opcode == Opcode.INPUT:
            live[i] = True
        if live[i]:
            for j in op.operands:
                live[j] = True
    new_index = [-1] * n
    kept = []
    for i, op in enumerate(prog.ops):
        if live[i]:
            new_index[i] = len(kept)
            kept.append(op)
    used_tables = sorted({op.table for op in kept if op.opcode == Opcode.LOOKUP})
    new_table = [-1] * len(prog.tables)
    for t_new, t_old in enumerate(used_tables):
        new_table[t_old] = t_new
    ops = [remap_op(op, new_index, new_table) for op in kept]
    return prog.replace(
        keep_annotations=True,
        ops=ops,
        out_idxs=[new_index[i] if i >= 0 else -1 for i in prog.out_idxs],
        tables=[prog.tables[t] for t in used_tables],
    )


def _commutative_key(op: Op) -> tuple:
    key = op.key_tuple()
    if op.opcode == Opcode.MUL or (op.opcode == Opcode.ADD and op.data == 0):
        a, b = sorted((op.id0, op.id1))
        key = (key[0], a, b) + key[3:]
    return key


def deduplicate(prog: Program) -> Program:
    """Merge structurally identical ops (same opcode, operands, data and interval) into the first
    copy. ``a + b`` and ``b + a`` (no shift) count as identical, as do ``a * b`` and ``b * a``.
    Only the merged copies are removed; run :func:`dead_code_elimination` for the rest."""
    seen: dict[tuple, int] = {}
    n = len(prog.ops)
    new_index = [-1] * n  # old index -> position in the result
    ops: list[Op] = []
    for i, op in enumerate(prog.ops):
        op = remap_op(op, new_index)
        key = _commutative_key(op)
        if key in seen:
            new_index[i] = new_index[seen[key]]
            continue
        seen[key] = i
        new_index[i] = len(ops)
        ops.append(op)
    out_idxs = [new_index[i] if i >= 0 else -1 for i in prog.out_idxs]
    return prog.replace(keep_annotations=True, ops=ops, out_idxs=out_idxs)
