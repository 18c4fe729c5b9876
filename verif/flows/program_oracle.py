"""A DAIS program as the oracle of its emitted design: the interpreter and the exact reference.

Why both: the interpreter (``da4ml_core.interp``, numba, fast) is the compiler's own; the
reference (``verif.oracle.reference``) shares nothing with it but the program. Flows use the
interpreter for every vector and require the reference to agree with it on a subset.
"""

from __future__ import annotations

import numpy as np

__all__ = ['expected_interp', 'expected_reference']


def _out_rows(meta: dict, n: int) -> np.ndarray:
    return np.zeros((n, max(len(meta['outputs']), 1)), dtype=np.int64)


def expected_interp(prog, meta: dict, X) -> np.ndarray:
    """What ``out`` must carry for float inputs ``X``, from the bit-exact interpreter (pads 0)."""
    from da4ml_core.interp import run_raw

    raw = np.asarray(run_raw(prog, X, backend='numpy'), dtype=np.int64).reshape(len(X), -1)
    out = _out_rows(meta, len(X))
    for j, e in enumerate(meta['outputs']):
        if e['used']:
            out[:, j] = raw[:, j]
    return out


def expected_reference(prog, meta: dict, X) -> np.ndarray:
    """What ``out`` must carry, from the exact reference evaluator (raw integers, independent of
    the interpreter); int64 when every port value fits, else Python ints."""
    from ..oracle.reference import evaluate_raw

    raw, fs = evaluate_raw(prog, np.asarray(X, dtype=np.float64))
    out = _out_rows(meta, len(raw)).astype(raw.dtype)
    for j, e in enumerate(meta['outputs']):
        if not e['used']:
            continue
        col, d = raw[:, j], int(e['f']) - fs[j]
        if d < 0:
            if np.any(col & ((1 << -d) - 1)):
                raise AssertionError(f'output {j} is off the grid 2^-{e["f"]}')
            col = col >> -d
        elif d and out.dtype == np.int64 and col.size and int(np.abs(col).max()) >= 1 << (62 - d):
            out, col = out.astype(object), col.astype(object)
        out[:, j] = col << d if d > 0 else col
    return out
