"""The one stimulus generator: field extremes, corner mixes, rounding ties, sweeps, then random.

Every check here (the regression, the release gate, converted models, the primitives) draws its
input rows from :func:`stimulus`, so a vector that catches a bug in one flow is in every flow.
Rows are integers, one column per field, each inside its field's range; the same arguments and
seed give the same rows.

Structured rows come first, in this order (then uniform random rows):

1. all fields at min, at max, at 0, at +1 and -1 (clipped into range), alternating min / max;
2. each field alone at its min and at its max (the first ``MAX_ONE_HOT`` fields);
3. every combination of the fields' extremes (min, max, 0, -1) when there are at most
   ``MAX_PRODUCT`` of them, else ``n_mixes`` rows picking each field's extreme at random;
4. rounding ties: for each :class:`Tie`, rows on which every one of its linear forms lands
   exactly half way between two grid points of a coarser output (RND / RND_CONV decide there);
5. with ``sweep``, every value of every field (lookup tables: every entry is read).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .bus import Field

__all__ = ['MAX_ONE_HOT', 'MAX_PRODUCT', 'Tie', 'n_structured', 'stimulus']

MAX_ONE_HOT = 64
MAX_PRODUCT = 256
TIE_ROWS = 2  # rows drawn per Tie


@dataclass(frozen=True)
class Tie:
    """Rows where, for every form ``(weights, bits)``, ``sum(row * weights) % 2**bits == 2**(bits - 1)``.

    A form is an output before its final rounding, as integer weights of the raw inputs on a grid
    ``bits`` finer than the output's: a remainder of exactly half a step is a rounding tie.
    """

    forms: tuple[tuple[tuple[int, ...], int], ...]


def stimulus(fields: Sequence[Field], n_random: int, seed: int, *, ties: Sequence[Tie] = (), sweep: bool = False,
             n_mixes: int = 32, max_structured: int | None = None) -> np.ndarray:
    """Structured rows (module docstring; at most ``max_structured`` of them, sweeps excepted),
    then ``n_random`` uniform rows; int64 (n, len(fields)), seeded by ``seed``."""
    if n_random < 0:
        raise ValueError(f'n_random={n_random} must be >= 0')
    if any(f.width > 62 for f in fields):
        raise ValueError(f'fields wider than 62 bits are not supported: {[f.width for f in fields]}')
    rng = np.random.default_rng(seed)
    n = len(fields)
    lo = np.array([f.lo for f in fields], dtype=np.int64)
    hi = np.array([f.hi for f in fields], dtype=np.int64)
    zero = np.zeros(n, np.int64)
    rows = [lo, hi, zero, np.minimum(hi, 1), np.maximum(lo, -1)]
    rows += [np.where(np.arange(n) % 2 == p, lo, hi) for p in (0, 1)]
    for j in range(min(n, MAX_ONE_HOT)):
        for v in (lo[j], hi[j]):
            r = zero.copy()
            r[j] = v
            rows.append(r)
    extremes = [f.extremes() for f in fields]
    if math.prod(len(e) for e in extremes) <= MAX_PRODUCT:
        rows += [np.array(c, dtype=np.int64) for c in itertools.product(*extremes)]
    else:  # too many to list (4**16 for 16 inputs): each row picks every field's extreme at random
        rows += [np.array([e[int(rng.integers(len(e)))] for e in extremes], dtype=np.int64) for _ in range(n_mixes)]
    for tie in ties:
        rows += _tie_rows(tie, lo, hi, rng)
    if max_structured is not None:
        rows = rows[:max_structured]
    if sweep and n:
        span = hi - lo + 1
        rows += [lo + (t + 7 * np.arange(n)) % span for t in range(int(span.max()))]
    rand = rng.integers(lo, hi, (n_random, n), endpoint=True) if n_random and n else np.zeros((n_random, n), np.int64)
    return np.concatenate([np.array(rows, dtype=np.int64).reshape(-1, n), rand])


def n_structured(fields: Sequence[Field], seed: int, **options) -> int:
    """How many structured rows :func:`stimulus` puts before its random ones, for the same
    fields, seed and options: the rows every simulator runs under a sampling policy."""
    return len(stimulus(fields, 0, seed, **options))


def _tie_rows(tie: Tie, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Up to TIE_ROWS random rows meeting every form of ``tie``; a form that no free input can
    meet drops the row (it is checked, never assumed)."""
    out = []
    for _ in range(TIE_ROWS):
        r = [int(v) for v in rng.integers(lo, hi, endpoint=True)]
        fixed: set[int] = set()
        for weights, bits in tie.forms:
            for j in rng.permutation(len(r)).tolist():
                if j not in fixed and weights[j] and _set_tie(r, weights, j, lo, hi, bits, rng):
                    fixed.add(j)
                    break
        if all(sum(a * w for a, w in zip(r, weights)) % 2**bits == 2 ** (bits - 1) for weights, bits in tie.forms):
            out.append(np.array(r, dtype=np.int64))
    return out


def _set_tie(r: list[int], weights, j: int, lo, hi, bits: int, rng) -> bool:
    """Choose r[j] in range so that sum(r * weights) == half (mod 2**bits); False if it cannot."""
    mod, half = 2**bits, 2 ** (bits - 1)
    t = int(weights[j])
    rest = sum(a * w for a, w in zip(r, weights)) - r[j] * t
    target = (half - rest) % mod
    v = (t & -t).bit_length() - 1  # 2**v divides t exactly
    if v >= bits or target % 2**v:
        return False
    step = mod >> v  # r[j] is fixed modulo step
    base = (target >> v) * pow((t >> v) % step, -1, step) % step
    first = -((base - int(lo[j])) // step)  # smallest m with base + m * step >= lo
    last = (int(hi[j]) - base) // step
    if first > last:
        return False
    r[j] = base + int(rng.integers(first, last + 1)) * step
    return True
