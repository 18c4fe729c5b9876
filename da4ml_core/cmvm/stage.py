"""One CMVM stage: a real matrix applied to a set of terms, optimized by the CSE kernel.

A *term table* is the common currency of the stages: exact raw-integer intervals, arrival
latencies, and for each term made by an adder its operands. Stage 1 reads the inputs; stage 2
reads stage 1's outputs; :func:`da4ml_core.cmvm.solver.assemble` turns the tables into one IR
program.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..csd import integer_matrix, to_csd
from . import kernels

__all__ = ["StageResult", "Terms", "digits_of", "run_stage"]


@dataclass
class Terms:
    """Signals available to a stage: value ``raw * 2**-f`` with raw in [lo, hi]; ``lat`` arrival."""

    lo: np.ndarray
    hi: np.ndarray
    f: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return int(self.lo.size)


@dataclass
class StageResult:
    """Kernel output: the term table (inputs first) and each output as ``sign * term * 2**bit``."""

    lo: np.ndarray
    hi: np.ndarray
    f: np.ndarray
    lat: np.ndarray
    a: np.ndarray
    b: np.ndarray
    shift: np.ndarray
    sub: np.ndarray
    out_term: np.ndarray
    out_bit: np.ndarray
    out_sign: np.ndarray
    n_inputs: int

    @property
    def cost_bits(self) -> np.ndarray:
        """LUT-bits of every adder made (same formula as the IR cost model)."""
        return kernels.adders_bits(self.lo, self.hi, self.f, self.a, self.b, self.shift, self.n_inputs)

    def out_latency(self) -> np.ndarray:
        return np.array([self.lat[t] if t >= 0 else 0.0 for t in self.out_term])


def digits_of(W: np.ndarray, live: np.ndarray, split=None):
    """Flat digit lists (column, term, absolute bit, sign) of real matrix ``W``, column-major;
    rows whose term is not ``live`` (constant zero) contribute nothing. ``split``: W's
    ``integer_matrix`` when the caller has it already."""
    M, row, col = split if split is not None else integer_matrix(W)
    D = to_csd(M)
    j, c, b = np.nonzero(D)
    keep = live[j]
    j, c, b = j[keep], c[keep], b[keep]
    order = np.lexsort((b, j, c))
    j, c, b = j[order], c[order], b[order]
    sign = D[j, c, b].astype(np.int64)
    bit = b.astype(np.int64) + row[j] + col[c]
    return c.astype(np.int64), j.astype(np.int64), bit, sign


def run_stage(
    W: np.ndarray,
    terms: Terms,
    method: int,
    lat_bound: float,
    carry_size: int,
    cse: bool = True,
    seed: int = 0,
    digits=None,
) -> StageResult:
    """Optimize ``y = terms @ W``; ``lat_bound`` (or ``kernels.NO_BOUND``) caps every output.
    ``digits``: ``digits_of(W, live)`` when the caller has it already."""
    if digits is None:
        digits = digits_of(W, ~((terms.lo == 0) & (terms.hi == 0)))
    col, term, bit, sign = digits
    n_out = W.shape[1]
    unit = np.ones(n_out)
    if carry_size > 0:
        unit = _column_units(W, terms, carry_size)
    res = kernels.optimize(
        len(terms),
        terms.lo,
        terms.hi,
        terms.f,
        terms.lat,
        col,
        term,
        bit,
        sign,
        n_out,
        int(method),
        float(lat_bound),
        unit,
        int(carry_size),
        bool(cse),
        int(seed),
    )
    return StageResult(*res, n_inputs=len(terms))


def _column_units(W: np.ndarray, terms: Terms, carry_size: int) -> np.ndarray:
    """Per-column adder delay in the carry-chain model, sized for the column's widest sum."""
    scale = np.ldexp(1.0, -terms.f.astype(np.int64))
    mag = np.maximum(np.abs(terms.lo), np.abs(terms.hi) + 1) * scale
    width = np.abs(W).T @ mag  # bound of |y| per column
    step = np.min(scale)
    bits = np.ceil(np.log2(np.maximum(width / step, 1.0))) + 1
    return np.ceil(bits / carry_size)
