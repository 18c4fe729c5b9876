"""Spec-level scoreboard: spec values onto an emitted design's buses, and mismatches explained.

Why: the golden model speaks the spec's precisions, the design's ports are whatever the
compiler chose (metadata.json). A value ``v`` enters input port j as ``v`` truncated and
wrapped into the port's (k, i, f) (what driving a narrower port means); an expected output
must be exactly representable on its port, else the design cannot be right and the element is
a mismatch (``None`` in the expected array). Reports name the vector, every wrong output in
(k, i, f) with raw bits, and a latency that would explain the outputs if it is not the stated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from verif import golden as G

__all__ = ['ContractError', 'Mismatches', 'bus_expected', 'bus_inputs', 'compare', 'latency_shift', 'report']

MAX_SHIFT = 4
MAX_INPUTS = 16  # inputs shown per failing vector


class ContractError(ValueError):
    """The emitted design's ports do not match its spec (counts of inputs / outputs)."""


def _el_kif(e: dict) -> tuple[int, int, int]:
    return int(e['k']), int(e['i']), int(e['f'])


def bus_inputs(meta: dict, in_kifs, X, rng: np.random.Generator) -> np.ndarray:
    """Input bus rows for raw spec inputs X (n, n_in); unused (pad) ports get random bits."""
    X = np.asarray(X, dtype=np.int64)
    els = meta['inputs']
    if len(els) != len(in_kifs):
        raise ContractError(f'metadata has {len(els)} inputs, the spec {len(in_kifs)}')
    if not els:
        return rng.integers(0, 2, (len(X), 1))
    rows = np.zeros((len(X), len(els)), dtype=np.int64)
    for j, (e, kif) in enumerate(zip(els, in_kifs)):
        if not e['used']:
            rows[:, j] = rng.integers(0, 2, len(X))
            continue
        d = int(e['f']) - kif[2]
        col = X[:, j] << d if d >= 0 else X[:, j] >> -d  # TRN: floor onto the port's grid
        w = int(e['width'])
        col = col & ((1 << w) - 1)  # WRAP into the port's width
        if e['signed']:
            col = np.where(col >= 1 << (w - 1), col - (1 << w), col)
        rows[:, j] = col
    return rows


def bus_expected(meta: dict, out_fs, Y) -> np.ndarray:
    """Expected output bus rows (object array) for raw spec outputs Y on grids ``out_fs``;
    ``None`` where the port cannot hold the value (a pad port holds only 0)."""
    Y = np.asarray(Y, dtype=object)
    els = meta['outputs']
    if len(els) != len(out_fs) or Y.shape[1:] != (len(out_fs),):
        raise ContractError(f'metadata has {len(els)} outputs, the spec {len(out_fs)}')
    out = np.empty(Y.shape, dtype=object)
    for c, (e, fs) in enumerate(zip(els, out_fs)):
        lo, hi = G.signed_range(int(e['width']), bool(e['signed']))
        for n in range(Y.shape[0]):
            y = int(Y[n, c])
            if not e['used']:
                out[n, c] = 0 if y == 0 else None
                continue
            raw = Fraction(y) * Fraction(2) ** (int(e['f']) - fs)
            out[n, c] = int(raw) if raw.denominator == 1 and lo <= raw <= hi else None
    return out


@dataclass(frozen=True)
class Mismatches:
    """Element-wise verdict: ``mask[n, c]`` is True where output c of vector n is wrong."""

    mask: np.ndarray

    @property
    def vectors(self) -> np.ndarray:
        return np.nonzero(self.mask.any(axis=1))[0]

    @property
    def count(self) -> int:
        return int(self.vectors.size)


def compare(outputs, unknown, expected) -> Mismatches:
    """Exact integer comparison; x / z words and unrepresentable expectations are wrong."""
    outputs = np.asarray(outputs, dtype=object)
    expected = np.asarray(expected, dtype=object)
    if outputs.shape != expected.shape:
        raise ValueError(f'outputs {outputs.shape} and expected {expected.shape} differ in shape')
    mask = np.empty(expected.shape, dtype=bool)
    for idx in np.ndindex(expected.shape):
        e = expected[idx]
        mask[idx] = e is None or int(outputs[idx]) != e
    mask |= np.asarray(unknown, dtype=bool).reshape(-1, 1)
    return Mismatches(mask)


def latency_shift(outputs, expected, stated: int) -> int | None:
    """d != 0 if every output matches the expectation of the vector d places earlier (the
    design's real latency is ``stated + d``), else None."""
    outputs = np.asarray(outputs, dtype=object)
    n = len(outputs)
    for d in sorted(range(-MAX_SHIFT, MAX_SHIFT + 1), key=abs):
        if d == 0 or stated + d < 0 or n - abs(d) < 8:
            continue
        got = outputs[d:] if d > 0 else outputs[:d]
        want = expected[:n - d] if d > 0 else expected[-d:]
        if not compare(got, np.zeros(len(got), bool), want).count:
            return d
    return None


def _bits(raw: int, width: int) -> str:
    return format(raw & ((1 << width) - 1), f'0{width}b')


def _value(raw: int, e: dict) -> str:
    v = Fraction(raw) / Fraction(2) ** int(e['f'])
    return str(v) if v.denominator == 1 else f'{float(v):g}' if v.denominator < 2**20 else str(v)


def report(title: str, meta: dict, in_kifs, X, rows, outputs, unknown, expected, Y, out_fs, found: Mismatches,
           first: int = 0, max_vectors: int = 5) -> str:
    """Human-readable account of the first ``max_vectors`` wrong vectors (``first`` = index of
    row 0 in the caller's numbering)."""
    n = len(rows)
    lines = [f'{title}: {found.count} of {n} vectors differ from the golden model']
    shift = latency_shift(outputs, expected, int(meta['latency_cycles']))
    if shift is not None:
        lines.append(f'  every output equals the expected output of the vector {shift} earlier: the design\'s '
                     f'latency is {meta["latency_cycles"] + shift} cycles, metadata says {meta["latency_cycles"]}')
    for v in found.vectors[:max_vectors]:
        lines.append(f'  vector {first + int(v)}' + (' (x/z on the output bus)' if unknown[v] else ''))
        ins = []
        for j, (e, kif) in enumerate(zip(meta['inputs'], in_kifs)):
            val = Fraction(int(X[v, j])) / Fraction(2) ** kif[2]
            ins.append(f'x{j}={val}' + ('' if e['used'] else ' (unused)') +
                       f' port{_el_kif(e)} raw {int(rows[v, j])} bits {_bits(int(rows[v, j]), int(e["width"]))}')
        more = f'; ... {len(ins) - MAX_INPUTS} more inputs' if len(ins) > MAX_INPUTS else ''
        lines.append('    inputs: ' + '; '.join(ins[:MAX_INPUTS]) + more)
        for c in np.nonzero(found.mask[v])[0]:
            e, got, want = meta['outputs'][c], int(outputs[v, c]), expected[v, c]
            w = int(e['width'])
            spec_val = Fraction(int(Y[v, c])) / Fraction(2) ** out_fs[c]
            want_s = (f'{_value(want, e)} raw {want} bits {_bits(want, w)}' if want is not None
                      else f'{spec_val} (not representable on this port)')
            lines.append(f'    out {c} {_el_kif(e)}{"" if e["used"] else " (pad)"}: expected {want_s}; '
                         f'got {_value(got, e)} raw {got} bits {_bits(got, w)}')
    if found.count > max_vectors:
        lines.append(f'  ... and {found.count - max_vectors} more vectors')
    return '\n'.join(lines)
