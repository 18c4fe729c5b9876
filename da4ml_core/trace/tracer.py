"""trace(): the graph between some inputs and outputs, written out as one DAIS Program."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..ir import Op, Opcode, Program, QInt, pack_lookup, pack_mux
from .var import FixedVar, as_var, frac_bits, ready

__all__ = ['flatten_vars', 'trace']


def flatten_vars(obj, what: str) -> list[FixedVar]:
    """Variables of a FixedArray / FixedVar / number / (nested) list or tuple, C order."""
    from .array import FixedArray

    if isinstance(obj, FixedArray):
        return list(obj._vars.ravel())
    if isinstance(obj, FixedVar):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [v for item in obj for v in flatten_vars(item, what)]
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return [as_var(x) for x in obj.ravel().tolist()]
    try:
        return [as_var(obj)]
    except TypeError:
        raise TypeError(f'{what} must be FixedArrays, FixedVars or numbers, got {type(obj).__name__}') from None


def _input_nodes(inputs) -> list:
    nodes = []
    for v in flatten_vars(inputs, 'inputs'):
        n = v.node
        if n is None or n.opcode != Opcode.INPUT or v.shift or v.neg or v.lazy is not None:
            raise ValueError('inputs must be arrays made by FixedArray.input (not values computed from them)')
        nodes.append(n)
    if len({id(n) for n in nodes}) != len(nodes):
        raise ValueError('the same input element is listed twice in inputs')
    return nodes


def _postorder(roots) -> list:
    """Every node the roots depend on, operands before users."""
    order, seen = [], set()
    for root in roots:
        if id(root) in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for a in reversed(node.args):
                if id(a) not in seen:
                    stack.append((a, False))
    return order


def _union_kif(reads) -> tuple[int, int, int]:
    """The narrowest precision every requested (k, i, f) of an input can be cut from."""
    if not reads:
        return (0, 0, 0)
    k = max(r[0] for r in reads)
    top = max(r[0] + r[1] for r in reads)
    f = max(r[2] for r in reads)
    return (k, top - k, f)


def trace(inputs, outputs, keep_dead_inputs: bool = True) -> Program:
    """The Program computing ``outputs`` from ``inputs`` (arrays or lists/tuples of them; each
    flattened in C order, then concatenated). Dead ops are removed and identical ops shared;
    inputs that feed nothing keep their INPUT op unless ``keep_dead_inputs`` is False."""
    in_nodes = _input_nodes(inputs)
    outs = flatten_vars(outputs, 'outputs')
    if any(v.node is not None and v.node.qint is None for v in outs):
        raise ValueError('an input of unknown precision reaches an output unquantized')
    outs = [ready(v) for v in outs]
    in_index = {id(n): j for j, n in enumerate(in_nodes)}
    order = _postorder([v.node for v in outs if not v.is_const])
    for node in order:
        if node.opcode == Opcode.INPUT and id(node) not in in_index:
            raise ValueError('an output depends on an input that is not listed in inputs')
    reads: dict[int, set] = {id(n): set() for n in in_nodes if n.qint is None}
    for node in order:  # only the quantizers of quant.py read an input of unknown precision
        if node.args and node.args[0].opcode == Opcode.INPUT and node.args[0].qint is None:
            reads[id(node.args[0])].add(node.qint.kif)
    ops: list[Op] = []
    index: dict[int, int] = {}
    resolved: dict[int, QInt] = {}
    for j, n in enumerate(in_nodes):
        q = n.qint if n.qint is not None else QInt.of_kif(*_union_kif(reads[id(n)]))
        resolved[id(n)] = q
        index[id(n)] = len(ops)
        ops.append(Op(Opcode.INPUT, j, -1, 0, q))
    tables: dict[tuple, int] = {}
    for node in order:
        if id(node) in index:
            continue
        code, args = node.opcode, node.args
        if args and id(args[0]) in resolved and args[0].qint is None and resolved[id(args[0])] == node.qint:
            index[id(node)] = index[id(args[0])]  # an inferred input read at its own precision
            continue
        ids = [index[id(a)] for a in args]
        ann = (node.latency, node.cost)  # the cost model's numbers already; Program re-checks them
        if abs(code) == Opcode.MUX:
            op = Op(code, ids[0], ids[1], pack_mux(ids[2], node.data), node.qint, *ann)
        elif code == Opcode.LOOKUP:
            t = tables.setdefault(node.table, len(tables))
            op = Op(code, ids[0], -1, pack_lookup(t, node.data), node.qint, *ann)
        elif code == Opcode.CONST:
            op = Op(code, -1, -1, node.data, node.qint, *ann)
        else:
            op = Op(code, ids[0], ids[1] if len(ids) > 1 else -1, node.data, node.qint, *ann)
        index[id(node)] = len(ops)
        ops.append(op)
    out_idxs, out_shifts, out_negs = [], [], []
    for v in outs:
        if v.is_const:
            if v.value == 0:
                out_idxs.append(-1)
            else:
                f = frac_bits(v.value)
                raw = int(v.value * Fraction(2) ** f)
                out_idxs.append(len(ops))
                ops.append(Op(Opcode.CONST, -1, -1, raw, QInt(raw, raw, f)))
            out_shifts.append(0)
            out_negs.append(False)
        else:
            out_idxs.append(index[id(v.node)])
            out_shifts.append(v.shift)
            out_negs.append(v.neg)
    prog = Program(
        len(in_nodes), len(outs), ops, None, out_idxs, out_shifts, out_negs, tables=list(tables), validate=False
    )
    return prog.dedup().dce(keep_inputs=keep_dead_inputs).validate()  # every interval checked once
