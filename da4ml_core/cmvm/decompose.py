"""Stage 1: split ``M = W1 @ W2`` along a spanning tree of the columns.

Columns that are close (``M[:, u] - sign * 2**s * M[:, v]`` has few CSD digits) are built from
each other: ``y_u = sign * 2**s * y_v + x @ R_u``. A Prim-style tree grown from the zero column
picks, for each column, the parent that leaves the fewest digits (one digit counts for reading
the parent); a depth limit keeps the chains, hence the latency, short. ``W1`` holds the residual
columns ``R_u``; ``W2`` expands each column's path to the root (``W2[w, u]`` is the product of the
edge factors from ``w`` down to ``u``), so stage 2 can rebalance the chains like any other sum.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["column_tree", "split"]


@njit(cache=True)
def _digits(v):
    """Non-zero CSD digits of one integer: popcount((v ^ 3v) >> 1)."""
    v = abs(v)
    x = (v ^ (3 * v)) >> 1
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


@njit(cache=True)
def _edge(M, u, v, max_shift):
    """Fewest digits of ``M[:, u] - sign * 2**s * M[:, v]`` over sign and |s| <= max_shift (s < 0
    scales u up instead); returns (digits, sign, s)."""
    best, best_sign, best_s = 1 << 30, 1, 0
    n = M.shape[0]
    for s in range(-max_shift, max_shift + 1):
        su = -s if s < 0 else 0
        sv = max(0, s)
        for sign in (1, -1):
            d = 0
            for j in range(n):
                d += _digits((M[j, u] << su) - sign * (M[j, v] << sv))
                if d >= best:
                    break
            if d < best:
                best, best_sign, best_s = d, sign, s
    return best, best_sign, best_s


@njit(cache=True)
def column_tree(M, max_depth, max_shift):
    """Parent (-1: the zero column), sign and shift of every column, and the tree depth."""
    n_in, n_out = M.shape
    dist = np.zeros(n_out, np.int64)
    for u in range(n_out):
        for j in range(n_in):
            dist[u] += _digits(M[j, u])
    parent = np.full(n_out, -1, np.int64)
    sign = np.ones(n_out, np.int64)
    shift = np.zeros(n_out, np.int64)
    depth = np.ones(n_out, np.int64)
    done = np.zeros(n_out, np.bool_)
    for _ in range(n_out):
        v = -1
        for u in range(n_out):
            if not done[u] and (v < 0 or dist[u] < dist[v]):
                v = u
        done[v] = True
        if depth[v] >= max_depth or dist[v] == 0:
            continue
        nz_v = False
        for j in range(n_in):
            nz_v = nz_v or M[j, v] != 0
        if not nz_v:
            continue
        for u in range(n_out):
            if done[u] or dist[u] <= 1:
                continue
            d, sg, s = _edge(M, u, v, max_shift)
            if d + 1 < dist[u]:
                dist[u] = d + 1
                parent[u], sign[u], shift[u], depth[u] = v, sg, s, depth[v] + 1
    return parent, sign, shift, depth


def split(M: np.ndarray, max_depth: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(W1, W2)`` real matrices with ``W1 @ W2 == M`` exactly, or None when the tree is flat
    (no column gains from another) and stage 1 would only add work."""
    M = np.ascontiguousarray(M, dtype=np.int64)
    top = int(np.abs(M).max(initial=0)).bit_length()
    max_shift = max(0, min(top, 60 - top - 2))
    parent, sign, shift, _ = column_tree(M, int(max_depth), max_shift)
    if (parent < 0).all():
        return None
    n_out = M.shape[1]
    factor = sign.astype(np.float64) * np.ldexp(1.0, shift)
    W1 = M.astype(np.float64).copy()
    for u in range(n_out):
        if parent[u] >= 0:
            W1[:, u] = M[:, u] - factor[u] * M[:, parent[u]]
    W2 = np.zeros((n_out, n_out))
    for u in range(n_out):
        w, f = u, 1.0
        while w >= 0:
            W2[w, u] = f
            f *= factor[w]
            w = parent[w]
    return W1, W2
