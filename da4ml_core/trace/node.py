"""Graph nodes: one future DAIS op each, with its exact interval, latency and cost.

Nodes are hash-consed (an identical op built twice is one node), so common subexpressions are
shared while tracing and the later dedup pass has little left to do. Adders also keep their
linear form over non-linear "leaf" nodes: op-by-op interval arithmetic loses exactness on
shift-add trees (``8x - x`` looks wider than ``7x``), the form does not. The IR validator checks
adders the same way, so every interval declared here is accepted there.
"""

from __future__ import annotations

import weakref

from ..ir import Op, Opcode, QInt, intervals, op_cost, pack_lookup, pack_mux
from ..ir.cost import adder_cost
from ..ir.ranges import linear_range

__all__ = ['FORM_CAP', 'Node', 'const_node', 'input_node', 'make']

# Largest linear form kept per adder; a wider sum becomes a leaf (its interval stays sound).
FORM_CAP = 256

_LINEAR = frozenset({Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD})
_ADDERS = frozenset({Opcode.ADD, Opcode.SUB})


class Node:
    """A DAIS op in the making: ``opcode`` over ``args`` (nodes), ``data`` as in the IR.

    For MUX ``args`` is ``(a, b, key)`` and ``data`` the shift of ``b``; for LOOKUP ``data`` is
    the key's raw base and ``table`` the entries. INPUT nodes carry an :class:`InputSlot`.
    """

    __slots__ = ('__weakref__', 'args', 'cost', 'data', 'form', 'latency', 'opcode', 'qint', 'slot', 'table')

    def __init__(self, opcode, args, data, qint, table=None, slot=None):
        self.opcode = opcode
        self.args = args
        self.data = data
        self.qint = qint
        self.table = table
        self.slot = slot
        self.form = None
        self.latency = 0.0
        self.cost = 0.0

    def __repr__(self):
        return f'Node({Opcode(self.opcode).name}, {self.qint})'


class InputSlot:
    """One program input. ``kif`` is None while the precision is still to be inferred from the
    quantizers applied to it (``reads`` collects them)."""

    __slots__ = ('kif', 'latency', 'reads')

    def __init__(self, kif, latency: float):
        self.kif = kif
        self.latency = float(latency)
        self.reads: dict = {}  # requested (k, i, f) -> its QUANTIZE node


_POOL: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _op_for_cost(opcode, args, data, qint) -> tuple[Op, list[QInt]]:
    qints = [a.qint for a in args]
    if abs(opcode) == Opcode.MUX:
        return Op(opcode, 0, 1, pack_mux(2, data), qint), qints
    if opcode == Opcode.LOOKUP:
        return Op(opcode, 0, -1, pack_lookup(0, data), qint), qints
    if len(args) == 2:
        return Op(opcode, 0, 1, data, qint), qints
    if len(args) == 1:
        return Op(opcode, 0, -1, data, qint), qints
    return Op(opcode, -1, -1, data, qint), qints


def _natural(opcode, args, data, qint, table) -> QInt:
    op, qints = _op_for_cost(opcode, args, data, qint)
    nat = intervals.natural(op, qints, [table] if table is not None else ())
    if nat is None:
        raise ValueError(f'{Opcode(opcode).name}: key range leaves its table')
    return nat


def _form_of(node: Node):
    return node.form if node.form is not None else ({node: 1}, 0, node.qint.f)


def _linear_form(opcode, args, data, f):
    """(terms, const) of an adder on grid f, or None when it would exceed FORM_CAP terms."""
    ta, ca, fa = _form_of(args[0])
    sa = f - fa
    terms = {n: c << sa for n, c in ta.items()} if sa else dict(ta)
    const = ca << sa
    if opcode == Opcode.CONST_ADD:
        return terms, const + data
    tb, cb, fb = _form_of(args[1])
    sb = f - fb + data
    sign = -1 if opcode == Opcode.SUB else 1
    for n, c in tb.items():
        v = terms.get(n, 0) + sign * (c << sb)
        if v:
            terms[n] = v
        else:
            terms.pop(n, None)
    if len(terms) > FORM_CAP:
        return None
    return terms, const + sign * (cb << sb)


def _form_range(terms, const, f) -> QInt:
    return linear_range(((c, n.qint) for n, c in terms.items()), const, f)


def make(opcode, args: tuple, data: int = 0, qint: QInt | None = None, table=None, bounds: QInt | None = None) -> Node:
    """The node for ``opcode(args, data)``: interval = natural one (intersected with the exact
    linear range for adders and with ``bounds`` when the caller knows more, e.g. for MUX).

    ``qint`` gives the output precision of quantizing ops and LOOKUP, the grid of CONST_ADD
    (its ``f``) and the value of CONST; other ops ignore it.
    """
    if type(opcode) is not Opcode:
        opcode = Opcode(opcode)
    if opcode in _ADDERS:  # the bulk of every traced program: no Op record needed
        nat = intervals.shift_add(args[0].qint, args[1].qint, data, opcode == Opcode.SUB)
    elif opcode == Opcode.CONST:
        nat = QInt(data, data, qint.f)
    else:
        nat = _natural(opcode, args, data, qint if qint is not None else QInt(0, 0, 0), table)
    form = None
    if opcode in _LINEAR:
        form = _linear_form(opcode, args, data, nat.f)
        if form is not None:
            exact = _form_range(*form, nat.f)
            nat = QInt(max(nat.lo, exact.lo), min(nat.hi, exact.hi), nat.f)
    if bounds is not None:
        nat = QInt(max(nat.lo, bounds.lo), min(nat.hi, bounds.hi), nat.f)
    key = (int(opcode), tuple(map(id, args)), data, nat, table)
    node = _POOL.get(key)
    if node is not None:
        return node
    node = Node(opcode, tuple(args), data, nat, table)
    if form is not None:
        node.form = (form[0], form[1], nat.f)
    if opcode in _ADDERS:
        cost, delay = adder_cost(args[0].qint, args[1].qint, data)
    else:
        cost, delay = op_cost(*_op_for_cost(opcode, node.args, data, nat))
    node.cost = cost
    start = 0.0
    for a in node.args:
        if a.latency > start:
            start = a.latency
    node.latency = start + delay
    _POOL[key] = node
    return node


def input_node(kif, latency: float = 0.0) -> Node:
    """A fresh INPUT node (never shared); ``kif`` None for a precision to be inferred."""
    slot = InputSlot(tuple(kif) if kif is not None else None, latency)
    qint = QInt.of_kif(*kif) if kif is not None else None
    node = Node(Opcode.INPUT, (), 0, qint, slot=slot)
    node.latency = float(latency)
    return node


def const_node(raw: int, f: int) -> Node:
    """A CONST node of value ``raw * 2**-f``."""
    return make(Opcode.CONST, (), int(raw), QInt(int(raw), int(raw), int(f)))
