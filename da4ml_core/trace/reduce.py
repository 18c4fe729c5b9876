"""Latency-ordered reduction trees: always combine the two earliest-ready operands (Huffman on
arrival time), so late operands enter near the root and the tree adds few levels after them."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from fractions import Fraction

from .var import FixedVar, add, const_add, ready

__all__ = ['reduce_tree', 'sum_tree']


def reduce_tree(vs: Sequence[FixedVar], combine: Callable[[FixedVar, FixedVar], FixedVar]) -> FixedVar:
    """Combine ``vs`` pairwise, earliest-ready first (ties: input order). Constants are combined
    among themselves first (folded) and enter as one operand ready before everything else."""
    if not vs:
        raise ValueError('cannot reduce an empty sequence')
    vs = [ready(v) for v in vs]
    consts = [v for v in vs if v.is_const]
    heap = [(v.latency, n, v) for n, v in enumerate(vs) if not v.is_const]
    if consts:
        c = consts[0]
        for x in consts[1:]:
            c = combine(c, x)
        if not heap:
            return c
        heap.append((-1.0, -1, c))
    heapq.heapify(heap)
    n = len(vs)
    while len(heap) > 1:
        _, _, a = heapq.heappop(heap)
        _, _, b = heapq.heappop(heap)
        r = ready(combine(a, b))
        heapq.heappush(heap, (r.latency, n, r))
        n += 1
    return heap[0][2]


def sum_tree(vs: Sequence[FixedVar]) -> FixedVar:
    """Exact sum; the constant part is added once, to the earliest-ready variable."""
    if not vs:
        return FixedVar(value=Fraction(0))
    vs = [ready(v) for v in vs]
    c = sum((v.value for v in vs if v.is_const), Fraction(0))
    rest = [v for v in vs if not v.is_const]
    if not rest:
        return FixedVar(value=c)
    if c != 0:
        first = min(range(len(rest)), key=lambda j: rest[j].latency)
        rest[first] = const_add(rest[first], c)
    return reduce_tree(rest, add)
