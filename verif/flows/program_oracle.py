"""A DAIS program as the oracle of its emitted design: the interpreter and the exact reference.

Why both: the interpreter (``da4ml_core.interp``, numba, fast) is the compiler's own; the
reference (``verif.oracle.reference``) shares nothing with it but the program. Flows use the
interpreter for every vector and require the reference to agree with it on a subset.
"""

from __future__ import annotations

from fractions import Fraction

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
    """What ``out`` must carry, from the exact reference evaluator (independent of the interpreter)."""
    from ..oracle.reference import evaluate_sample

    out = _out_rows(meta, len(X))
    for n, row in enumerate(np.asarray(X, dtype=np.float64)):
        values = evaluate_sample(prog, [Fraction(float(v)) for v in row])
        for j, e in enumerate(meta['outputs']):
            if e['used']:
                raw = values[j] * Fraction(2) ** e['f']
                if raw.denominator != 1:
                    raise AssertionError(f'output {j} = {values[j]} is off the grid 2^-{e["f"]}')
                out[n, j] = int(raw)
    return out
