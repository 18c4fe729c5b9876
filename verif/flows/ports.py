"""Values onto an emitted design's ports and back: spec integers, model floats, port integers.

Why: the oracles speak the spec's precisions (a regression spec) or floats (a Keras model); the
design's ports are whatever the compiler chose (``metadata.json``: per element ``width``,
``signed``, ``(k, i, f)`` and whether it is ``used``). A value enters input port j truncated and
wrapped into the port's (k, i, f) (what driving a narrower port means); an expected output must
be exactly representable on its port, else the design cannot be right (``None``: always a
mismatch for the judge).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..oracle import golden as G

__all__ = ['ContractError', 'bus_expected', 'bus_inputs', 'bus_to_floats', 'floats_to_bus', 'outputs_to_bus']


class ContractError(ValueError):
    """The emitted design's ports do not match its spec or model (counts of inputs / outputs)."""


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
    """Expected output bus rows for raw spec outputs Y on grids ``out_fs``: int64 when every
    value fits its port, else an object array with ``None`` where the port cannot hold the value
    (a pad port holds only 0)."""
    Y = np.asarray(Y)
    els = meta['outputs']
    if len(els) != len(out_fs) or Y.ndim != 2 or Y.shape[1] != len(out_fs):
        raise ContractError(f'metadata has {len(els)} outputs, the spec {len(out_fs)}')
    if Y.dtype.kind in 'iu':
        fast = _bus_expected_int64(els, out_fs, Y.astype(np.int64))
        if fast is not None:
            return fast
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


def _bus_expected_int64(els, out_fs, Y: np.ndarray) -> np.ndarray | None:
    """:func:`bus_expected` in int64 arithmetic; None if any value would need the exact path
    (not representable, or a shift that could leave int64)."""
    out = np.zeros_like(Y)
    for c, (e, fs) in enumerate(zip(els, out_fs)):
        col = Y[:, c]
        if not e['used']:
            if col.any():
                return None
            continue
        d = int(e['f']) - fs
        if d >= 0:
            if d > 62 or (col.size and int(np.abs(col).max()) >= 1 << (62 - d)):
                return None
            raw = col << d
        else:
            if -d > 62 or np.any(col & ((1 << -d) - 1)):
                return None
            raw = col >> -d
        lo, hi = G.signed_range(int(e['width']), bool(e['signed']))
        if raw.size and (int(raw.min()) < lo or int(raw.max()) > hi):
            return None
        out[:, c] = raw
    return out


def bus_to_floats(meta: dict, rows) -> np.ndarray:
    """Float inputs (n, n_in) that a program quantizes to exactly the bus integers ``rows``:
    element j's integer r stands for ``r * 2**-f_j``; pads read as 0."""
    rows = np.asarray(rows, dtype=np.int64)
    X = np.zeros((rows.shape[0], len(meta['inputs'])), dtype=np.float64)
    for j, e in enumerate(meta['inputs']):
        if e['used']:
            if e['width'] > 53:
                raise ValueError(f'input {j} is {e["width"]} bits wide: not exact as float64')
            X[:, j] = np.ldexp(rows[:, j].astype(np.float64), -e['f'])
    return X


def floats_to_bus(meta: dict, X: np.ndarray) -> np.ndarray:
    """Bus integers of what each input field carries for floats X (n, n_in): truncated, wrapped."""
    X = np.asarray(X, dtype=np.float64)
    rows = np.zeros((len(X), max(len(meta['inputs']), 1)), dtype=np.int64)
    for j, e in enumerate(meta['inputs']):
        if e['used']:
            raw = np.floor(np.ldexp(X[:, j], e['f']))
            raw = np.mod(raw, 2.0 ** e['width'])
            if e['signed']:
                raw = np.where(raw >= 2.0 ** (e['width'] - 1), raw - 2.0 ** e['width'], raw)
            rows[:, j] = raw.astype(np.int64)
    return rows


def outputs_to_bus(meta: dict, Y: np.ndarray) -> np.ndarray:
    """Model outputs (n, n_out) as the integers the output fields carry; raises if an output is
    off its field's grid (then the model does not compute what the design computes)."""
    Y = np.asarray(Y, dtype=np.float64)
    out = np.zeros((len(Y), max(len(meta['outputs']), 1)), dtype=np.int64)
    for j, e in enumerate(meta['outputs']):
        scaled = np.ldexp(Y[:, j], e['f']) if e['used'] else Y[:, j]
        if not np.array_equal(scaled, np.round(scaled)) or (not e['used'] and np.any(scaled != 0)):
            raise ValueError(f'model output {j} is not on the design output grid 2^-{e["f"]}')
        if e['used']:
            out[:, j] = scaled.astype(np.int64)
    return out
