"""Where Keras's float32 arithmetic stops being exact (docs/hgq2_semantics.md, section 8).

The converted program is always the exact fixed-point function of the model. ``model.predict``
equals it only while every float32 intermediate is exact; these checks find, per layer, the
places where that is not guaranteed:

- accumulations (dense, einsum, convolution, batch norm, merges, sums, pools): every partial sum
  of an output lies on the grid ``2**-F`` (F = finest term) and is bounded by
  ``L1 = sum |term| + |bias|`` whatever the summation order, so ``L1 * 2**F <= 2**24`` makes it
  exact in float32;
- quantizers: rounding modes that add one half (RND, RND_ZERO, RND_MIN_INF, RND_INF) need
  ``|x| * 2**f < 2**23`` (for SAT modes after clipping), the WRAP modulo ``|x| * 2**f < 2**24``.

Bounds come from the traced intervals of the layer's inputs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..trace import FixedArray
from .errors import Float32ExactnessError, Float32Warning

__all__ = ['FLOAT32_BITS', 'Float32Report', 'Issue', 'bounds', 'frac_bits_array']

FLOAT32_BITS = 24
_HALF_MODES = ('RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF')


@dataclass(frozen=True)
class Issue:
    layer: str
    what: str
    bits: int

    def __str__(self):
        return f'{self.layer}: {self.what} needs {self.bits} bits (float32 holds {FLOAT32_BITS})'


def bounds(x: FixedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(max |value|, grid f, known) per element of ``x``; unknown for values of no fixed
    precision yet (a raw model input, a function waiting for its table)."""
    vs = x._vars.ravel()
    mag = np.zeros(len(vs), dtype=np.float64)
    f = np.zeros(len(vs), dtype=np.int64)
    known = np.ones(len(vs), dtype=bool)
    for j, v in enumerate(vs):
        if v.lazy is not None or (v.node is not None and v.node.qint is None):
            known[j] = False
            continue
        q = v.qint
        mag[j] = math.ldexp(float(max(abs(q.lo), abs(q.hi))), -q.f)
        f[j] = q.f
    return mag.reshape(x.shape), f.reshape(x.shape), known.reshape(x.shape)


def frac_bits_array(values) -> np.ndarray:
    """Least f with ``value * 2**f`` an integer, per element (0 for 0)."""
    arr = np.asarray(values, dtype=np.float64)
    out = np.zeros(arr.shape, dtype=np.int64)
    uniq, inv = np.unique(arr, return_inverse=True)
    fs = np.zeros(len(uniq), dtype=np.int64)
    for j, u in enumerate(uniq.tolist()):
        if u != 0:
            c = Fraction(u)
            d = c.denominator
            if d > 1:
                fs[j] = d.bit_length() - 1
            else:
                n = abs(c.numerator)
                fs[j] = -((n & -n).bit_length() - 1)
    out[...] = fs[inv.reshape(arr.shape)]
    return out


def _bits(l1: np.ndarray, f: np.ndarray) -> int:
    ok = l1 > 0
    if not np.any(ok):
        return 0
    return math.ceil(float(np.max(np.log2(l1[ok]) + f[ok])) - 1e-12)


@dataclass
class Float32Report:
    """Collects the places where float32 Keras may be inexact; ``finish`` warns or raises."""

    issues: list[Issue] = field(default_factory=list)
    max_accumulator_bits: int = 0

    def _add(self, layer: str, what: str, bits: int, limit: int = FLOAT32_BITS):
        if bits > limit:
            self.issues.append(Issue(layer, what, bits))

    def accumulation(self, layer: str, mags, fs, what: str = 'an accumulator'):
        """Terms (broadcastable arrays of max |term| and term grid f), summed element-wise."""
        mags = np.broadcast_arrays(*[np.asarray(m, dtype=np.float64) for m in mags])
        fs = np.broadcast_arrays(*[np.asarray(f, dtype=np.float64) for f in fs])
        l1 = np.sum(mags, axis=0)
        fmax = np.max(np.where(np.stack(mags) > 0, np.stack(fs), -np.inf), axis=0)
        bits = _bits(l1, fmax)
        self.max_accumulator_bits = max(self.max_accumulator_bits, bits)
        self._add(layer, what, bits)

    def axis_sum(self, layer: str, x: FixedArray, axes: tuple[int, ...]):
        """The accumulators of summing ``x`` over ``axes``."""
        mag, f, _ = bounds(x)
        n = int(np.prod([x.shape[a] for a in axes]))
        moved = [np.moveaxis(a, axes, tuple(range(len(axes)))).reshape(n, -1) for a in (mag, f)]
        self.accumulation(layer, list(moved[0]), list(moved[1]))

    def einsum(self, layer: str, equation: str, x: FixedArray, W, bias=None):
        """The accumulators of ``einsum(equation, x, W) + bias`` (bias broadcast to the output);
        ``W`` a constant array or a second traced array."""
        from ..trace.linalg import einsum_index

        if isinstance(W, FixedArray):
            mw, fw, known_w = (a.ravel() for a in bounds(W))
            shape_w = W.shape
        else:
            w = np.asarray(W, dtype=np.float64)
            shape_w = w.shape
            mw, fw, known_w = np.abs(w.ravel()), frac_bits_array(w.ravel()), np.ones(w.size, dtype=bool)
        out_shape, out_idx, (ix, iw) = einsum_index(equation, x.shape, shape_w)
        mx, fx, known = (a.ravel() for a in bounds(x))
        use = (mw[iw] != 0) & known[ix] & known_w[iw]
        n_out = int(np.prod(out_shape, dtype=np.int64))
        l1 = np.bincount(out_idx[use], weights=mx[ix[use]] * mw[iw[use]], minlength=n_out)
        fmax = np.full(n_out, -np.inf)
        np.maximum.at(fmax, out_idx[use], (fx[ix[use]] + fw[iw[use]]).astype(np.float64))
        if bias is not None:
            b = np.broadcast_to(np.asarray(bias, dtype=np.float64), out_shape).ravel()
            l1 = l1 + np.abs(b)
            fmax = np.where(b != 0, np.maximum(fmax, frac_bits_array(b)), fmax)
        bits = _bits(l1, fmax)
        self.max_accumulator_bits = max(self.max_accumulator_bits, bits)
        self._add(layer, 'an accumulator', bits)

    def quantizer_input(self, layer: str, x: FixedArray, k, i, f, round_mode: str, overflow_mode: str):
        """Float32 rounding / wrapping inside a quantizer applied to ``x``."""
        mag, _, known = bounds(x)
        f = np.asarray(f, dtype=np.float64)
        if overflow_mode == 'WRAP':
            need = np.where(known, np.log2(np.maximum(mag, 2.0**-1074)) + f, -np.inf)
            limit = FLOAT32_BITS - 1 if round_mode in _HALF_MODES else FLOAT32_BITS
            worst = float(np.max(need, initial=-np.inf))
            if worst >= limit:
                self.issues.append(Issue(layer, 'a WRAP quantizer input', math.floor(worst) + 1))
        elif round_mode in _HALF_MODES:
            width = np.asarray(i, dtype=np.float64) + f
            worst = float(np.max(np.where(known, width, -np.inf), initial=-np.inf))
            if worst > FLOAT32_BITS - 2:
                self.issues.append(Issue(layer, 'a saturating quantizer input', int(worst) + 2))

    def finish(self, on_inexact: str) -> None:
        if not self.issues or on_inexact == 'ignore':
            return
        first = '; '.join(str(s) for s in self.issues[:3])
        more = f' (+{len(self.issues) - 3} more)' if len(self.issues) > 3 else ''
        msg = (f'Keras float32 is not guaranteed exact here, so model.predict may differ from the exact '
               f'fixed-point program: {first}{more}')
        if on_inexact == 'error':
            raise Float32ExactnessError(msg)
        warnings.warn(msg, Float32Warning, stacklevel=3)
