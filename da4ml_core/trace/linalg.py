"""Products and contractions: einsum (one or two operands), matmul, dot, tensordot, inner, outer.

Everything is an einsum. The subscripts are expanded into the list of (output, operand
elements) index tuples, then: a constant operand makes a linear map (cmvm.py), two traced
operands make MUL products, and each output is a latency-ordered sum (reduce.py).
"""

from __future__ import annotations

import string

import numpy as np

from .cmvm import linear_map
from .reduce import sum_tree
from .var import FixedVar, as_var, mul

__all__ = ['dot', 'einsum', 'einsum_index', 'inner', 'matmul', 'outer', 'tensordot']


def _expand(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    s = subscripts.replace(' ', '')
    lhs, arrow, out = s.partition('->')
    specs = lhs.split(',')
    if len(specs) != len(shapes):
        raise ValueError(f'einsum: {subscripts!r} names {len(specs)} operands, got {len(shapes)}')
    used = {ch for ch in s if ch.isalpha()}
    spare = [ch for ch in string.ascii_letters if ch not in used]
    n_ell = 0
    for sp, sh in zip(specs, shapes):
        if '...' in sp:
            n_ell = max(n_ell, len(sh) - (len(sp) - 3))
    ell = ''.join(spare[:n_ell])
    full = []
    for sp, sh in zip(specs, shapes):
        if '...' in sp:
            n = len(sh) - (len(sp) - 3)
            if n < 0:
                raise ValueError(f'einsum: operand {sp!r} has {len(sh)} dimensions')
            sp = sp.replace('...', ell[n_ell - n:])
        if len(sp) != len(sh) or not all(ch.isalpha() for ch in sp):
            raise ValueError(f'einsum: subscripts {sp!r} do not match an operand of shape {sh}')
        full.append(sp)
    if arrow:
        out = out.replace('...', ell)
    else:
        counts = {ch: ''.join(full).count(ch) for ch in set(''.join(full))}
        out = ell + ''.join(sorted(ch for ch, n in counts.items() if n == 1 and ch not in ell))
    for ch in out:
        if not any(ch in sp for sp in full):
            raise ValueError(f'einsum: output subscript {ch!r} does not appear in any operand')
    return full, out


def einsum_index(subscripts: str, *shapes) -> tuple[tuple[int, ...], np.ndarray, list[np.ndarray]]:
    """(output shape, flat output index, flat index into each operand) of every term."""
    shapes = [tuple(int(d) for d in sh) for sh in shapes]
    specs, out = _expand(subscripts, shapes)
    size: dict[str, int] = {}
    for sp, sh in zip(specs, shapes):
        for ch, d in zip(sp, sh):
            if size.get(ch, 1) != 1 and d not in (1, size[ch]):
                raise ValueError(f'einsum: dimension {ch!r} is {size[ch]} in one operand and {d} in another')
            size[ch] = max(size.get(ch, 1), d)
    letters = list(out) + sorted(ch for ch in size if ch not in out)
    grids = np.meshgrid(*[np.arange(size[ch]) for ch in letters], indexing='ij', sparse=True)
    coord = dict(zip(letters, grids))

    def flat(spec, shape):
        idx = np.zeros((), dtype=np.int64)
        stride = 1
        for ch, d in zip(reversed(spec), reversed(shape)):
            if d != 1:
                idx = idx + coord[ch] * stride
            stride *= d
        return np.broadcast_to(idx, [size[ch] for ch in letters]).ravel()

    out_shape = tuple(size[ch] for ch in out)
    return out_shape, flat(out, out_shape), [flat(sp, sh) for sp, sh in zip(specs, shapes)]


def _grouped_sums(out_idx: np.ndarray, terms: list[FixedVar], n_out: int) -> list[FixedVar]:
    order = np.argsort(out_idx, kind='stable')
    groups: list[list[FixedVar]] = [[] for _ in range(n_out)]
    for j in order.tolist():
        groups[out_idx[j]].append(terms[j])
    return [sum_tree(g) for g in groups]


def einsum(subscripts: str, *operands):
    """einsum over traced arrays and constants (one or two operands)."""
    from .array import FixedArray, obj_array, to_vars

    if not 1 <= len(operands) <= 2:
        raise TypeError(f'einsum on traced arrays takes one or two operands, got {len(operands)}')
    traced = [isinstance(op, FixedArray) for op in operands]
    arrs = [to_vars(op) if t else np.asarray(op) for op, t in zip(operands, traced)]
    out_shape, out_idx, idxs = einsum_index(subscripts, *[a.shape for a in arrs])
    n_out = int(np.prod(out_shape, dtype=np.int64))
    if len(arrs) == 1:
        xs = arrs[0].ravel()
        ys = _grouped_sums(out_idx, [xs[j] for j in idxs[0].tolist()], n_out)
    elif all(traced):
        a, b = arrs[0].ravel(), arrs[1].ravel()
        terms = [mul(a[i], b[j]) for i, j in zip(idxs[0].tolist(), idxs[1].tolist())]
        ys = _grouped_sums(out_idx, terms, n_out)
    else:
        v = 0 if traced[0] else 1
        xs = [as_var(x) for x in arrs[v].ravel()]
        w = np.asarray(arrs[1 - v], dtype=np.float64).ravel()
        if not np.all(np.isfinite(w)):
            raise ValueError('einsum: the constant operand has non-finite entries')
        ys = linear_map(xs, idxs[v], out_idx, w[idxs[1 - v]], n_out)
    return FixedArray.from_vars(obj_array(ys, out_shape))


def matmul(a, b):
    """``a @ b`` with numpy's rules for 1-D operands and broadcast batch dimensions."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        raise ValueError('matmul: operands must have at least one dimension')
    spec = {
        (True, True): 'j,j->',
        (True, False): 'j,...jk->...k',
        (False, True): '...ij,j->...i',
        (False, False): '...ij,...jk->...ik',
    }[(na == 1, nb == 1)]
    return einsum(spec, a, b)


def _letters(n: int, start: int = 0) -> str:
    return string.ascii_letters[start:start + n]


def tensordot(a, b, axes=2):
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = ([x] if isinstance(x, (int, np.integer)) else list(x) for x in axes)
    ax_a = [x % na for x in ax_a]
    ax_b = [x % nb for x in ax_b]
    la, lb = list(_letters(na)), list(_letters(nb, 26))
    for x, y in zip(ax_a, ax_b):
        lb[y] = la[x]
    out = [ch for n, ch in enumerate(la) if n not in ax_a] + [ch for n, ch in enumerate(lb) if n not in ax_b]
    return einsum(f'{"".join(la)},{"".join(lb)}->{"".join(out)}', a, b)


def dot(a, b):
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        from .array import multiply

        return multiply(a, b)
    if nb == 1:
        return tensordot(a, b, axes=([na - 1], [0]))
    return tensordot(a, b, axes=([na - 1], [nb - 2]))


def inner(a, b):
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        from .array import multiply

        return multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a, b):
    from .array import reshape_any

    return einsum('i,j->ij', reshape_any(a, (-1,)), reshape_any(b, (-1,)))
