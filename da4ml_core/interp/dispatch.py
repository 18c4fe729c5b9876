"""Bit-exact program evaluation on int64 raw values: which back end runs a batch.

``run`` lowers a program once (lowering.py) and runs it with the numba kernels (kernels.py,
``cache=True``, threaded on request). Small batches (few samples times ops) take a numpy path
instead, so a fresh process gets its first results without paying numba's start-up; both paths
compute the same integers and are tested against the same exact reference.
"""

from __future__ import annotations

import numpy as np

from ..fixed import quantize_raw
from .lowering import (
    K_ADD,
    K_CADD,
    K_CONST,
    K_INPUT,
    K_MUL,
    K_MUX,
    K_QUANT,
    Plan,
    plan_of,
)

__all__ = ['NUMPY_MAX_WORK', 'run', 'run_raw']

NUMPY_MAX_WORK = 50_000  # samples x ops up to which the numpy path is used ('auto' back end)


def _inputs(X, n_in: int) -> tuple[np.ndarray, bool]:
    X = np.asarray(X)
    if X.dtype.kind not in 'biuf':
        raise TypeError(f'X must be a real numeric array, got dtype {X.dtype}')
    shape, single = X.shape, X.ndim == 1
    if single:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f'X must have shape (n_samples, {n_in}) or ({n_in},), got {shape}')
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError('X must be finite')
    return X, single


def _wrap(v: np.ndarray, w: int, k: int) -> np.ndarray:
    if w <= 0:
        return np.zeros_like(v)
    u = v & ((1 << w) - 1)
    if k:
        u = u - ((u >> (w - 1)) & 1) * (1 << w)
    return u


def _run_numpy(plan: Plan, X: np.ndarray) -> np.ndarray:
    """The plan op by op on whole columns of samples (numpy), same integers as the kernels."""
    buf: list[np.ndarray] = []
    zero = np.zeros(X.shape[0], dtype=np.int64)
    for row in plan.code.tolist():
        kind, a, b, p0, p1, p2, p3, p4, p5, p6 = row[:10]
        if kind == K_INPUT:  # x * 2**s to (k, i, f) TRN+WRAP == x to (k, i - s, f + s): p0 = f + s
            v = quantize_raw(X[:, a], p2, p1 - p2 - p0, p0, round_mode='TRN', overflow_mode='WRAP') if p1 > 0 else zero
        elif kind == K_ADD:
            v = (buf[a] << p0) - (buf[b] << p1) if p2 else (buf[a] << p0) + (buf[b] << p1)
        elif kind == K_QUANT:
            v = -buf[a] if p0 else buf[a]
            if p1:
                v = np.maximum(v, 0)
            v = _wrap(v >> p2, p3, p4)
        elif kind == K_CADD:
            v = (buf[a] << p0) + p1
        elif kind == K_CONST:
            v = np.full(X.shape[0], p0, dtype=np.int64)
        elif kind == K_MUX:
            sel = ((buf[p0] >> p1) & 1) != 0 if p1 >= 0 else np.zeros(X.shape[0], dtype=bool)
            other = buf[b] << p3
            v = _wrap(np.where(sel, buf[a] << p2, -other if p4 else other), p5, p6)
        elif kind == K_MUL:
            v = (buf[a] * buf[b]) << p0
        else:  # K_LOOKUP: p0 base, p1 offset, p2 size
            t = buf[a] - p0
            inside = (t >= 0) & (t < p2)
            v = np.where(inside, plan.tables[p1 + np.where(inside, t, 0)], 0)
        buf.append(np.asarray(v, dtype=np.int64))
    out = np.zeros((X.shape[0], plan.n_out), dtype=np.int64)
    for o, (idx, sign) in enumerate(zip(plan.out_idx.tolist(), plan.out_sign.tolist())):
        if idx >= 0:
            out[:, o] = buf[idx] * sign
    return out


def run_raw(prog, X, n_threads: int | None = None, backend: str = 'auto') -> np.ndarray:
    """Raw output integers, sign applied (output value = raw * 2**plan.out_exp), int64.

    ``n_threads``: None or 1 runs single-threaded; 0 or less uses every core numba sees.
    ``backend``: 'numba', 'numpy', or 'auto' (numpy for small batches, see NUMPY_MAX_WORK).
    """
    plan = plan_of(prog)
    X, single = _inputs(X, plan.n_in)
    if backend not in ('auto', 'numba', 'numpy'):
        raise ValueError(f"backend={backend!r} is not 'auto', 'numba' or 'numpy'")
    if backend == 'numpy' or (backend == 'auto' and X.shape[0] * max(len(plan.code), 1) <= NUMPY_MAX_WORK):
        out = _run_numpy(plan, X)
        return out[0] if single else out
    from . import kernels as kern

    out = np.empty((X.shape[0], plan.n_out), dtype=np.int64)
    args = (plan.code, plan.tables, X, plan.out_idx, plan.out_sign, out)
    threads = 1 if n_threads is None else (kern.max_threads() if n_threads <= 0 else n_threads)
    threads = min(threads, kern.max_threads())
    if threads <= 1 or X.shape[0] < 2 * plan.block:
        kern.run_serial(*args, plan.block)
    else:
        kern.set_threads(threads)
        kern.run_parallel(*args, plan.block, threads)
    return out[0] if single else out


def run(prog, X, n_threads: int | None = None, backend: str = 'auto') -> np.ndarray:
    """Outputs of ``prog`` for float inputs ``X`` (n_samples, n_in) as float64.

    Exact whenever an output fits 53 bits (the float64 mantissa); wider ones are rounded by this
    final conversion only (use :func:`run_raw` for the exact integers).
    """
    raw = run_raw(prog, X, n_threads, backend)
    return np.ldexp(raw.astype(np.float64), plan_of(prog).out_exp)
