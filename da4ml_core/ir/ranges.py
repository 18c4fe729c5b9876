"""Exact ranges of linear sub-graphs (shift-add trees), where plain interval arithmetic is loose.

``(a + b) - (a - c)`` never depends on ``a``, but op-by-op interval arithmetic counts a's range
twice. Solvers for constant matrix-vector products declare the exact range of every adder (the
sum of |weight| times each input's range), so checking them needs the same view: each ADD, SUB,
CONST_ADD and CONST op is an integer combination of "leaves" (every other op, taken as an
independent value in its declared interval) plus a constant, on the op's own raw grid. The range
of such a form over independent leaves is exact, and it is sound whatever the leaves depend on.

A form whose coefficients (or constant) pass ``MAX_COEF_BITS`` bits is dropped (None, as for
misaligned grids): the range of a value that fits ``MAX_BITS`` bits never needs one that large,
and a corrupt program repeating large shifts would otherwise grow them without bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..fixed import MAX_BITS
from .ops import Op, Opcode, QInt

__all__ = ['LinearRanges', 'linear_range', 'MAX_COEF_BITS']

MAX_COEF_BITS = 3 * MAX_BITS

_LINEAR = (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD, Opcode.CONST)


class LinearRanges:
    """Lazily built linear forms ``raw_i = sum(c_j * raw_j) + const`` over leaf ops."""

    def __init__(self, ops: Sequence[Op]):
        self.ops = ops
        self._forms: dict[int, tuple[dict[int, int], int, int] | None] = {}

    def _form(self, i: int):
        """(coefficients by leaf, constant, grid f) of op i, or None if some grid does not align."""
        forms = self._forms
        if i in forms:
            return forms[i]
        stack = [i]
        while stack:
            j = stack[-1]
            if j in forms:
                stack.pop()
                continue
            op = self.ops[j]
            if op.opcode not in _LINEAR:
                forms[j] = ({j: 1}, 0, op.qint.f, 1)
                stack.pop()
                continue
            missing = [d for d in op.operands if d not in forms]
            if missing:
                stack.extend(missing)
                continue
            forms[j] = self._combine(op)
            stack.pop()
        return forms[i]

    def _combine(self, op: Op):
        """The form of a linear op from its operands' forms; forms carry, as a fourth item, an
        upper bound on the bit length of their coefficients and constant."""
        f = op.qint.f
        if op.opcode == Opcode.CONST:
            return _capped({}, op.data, f, abs(op.data).bit_length())
        fa = self._forms[op.id0]
        if fa is None or f < fa[2]:
            return None
        sa = f - fa[2]
        terms = {j: c << sa for j, c in fa[0].items()}
        const = fa[1] << sa
        if op.opcode == Opcode.CONST_ADD:
            return _capped(terms, const + op.data, f, max(fa[3] + sa, abs(op.data).bit_length()) + 1)
        fb = self._forms[op.id1]
        if fb is None or f < fb[2] - op.data:
            return None
        sb = f - fb[2] + op.data
        sign = -1 if op.opcode == Opcode.SUB else 1
        for j, c in fb[0].items():
            v = terms.get(j, 0) + sign * (c << sb)
            if v:
                terms[j] = v
            else:
                terms.pop(j, None)
        return _capped(terms, const + sign * (fb[1] << sb), f, max(fa[3] + sa, fb[3] + sb) + 1)

    def range(self, i: int) -> QInt | None:
        """Exact range of op i given its leaves' declared intervals (None: grids misaligned)."""
        form = self._form(i)
        if form is None:
            return None
        terms, const, f, _ = form
        return linear_range(((c, self.ops[j].qint) for j, c in terms.items()), const, f)


def _capped(terms: dict[int, int], const: int, f: int, bits: int):
    """The form, its bit bound made exact once the cheap bound passes the cap; None past it."""
    if bits > MAX_COEF_BITS:
        bits = max([abs(c).bit_length() for c in terms.values()] + [abs(const).bit_length()])
        if bits > MAX_COEF_BITS:
            return None
    return terms, const, f, bits


def linear_range(terms, const: int, f: int) -> QInt:
    """Exact range of ``const + sum(c * x)`` over ``(c, qint of x)`` pairs of independent
    variables (raw integers on grid f): each term takes whichever bound its sign picks."""
    lo = hi = const
    for c, q in terms:
        if c > 0:
            lo += c * q.lo
            hi += c * q.hi
        else:
            lo += c * q.hi
            hi += c * q.lo
    return QInt(lo, hi, f)
