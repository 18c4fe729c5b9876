"""The one judge: which outputs are wrong, an account of them, and a waveform of the first.

Every flow (the regression, the release gate, ``da4ml-core verify``, converted models) decides
pass / fail here, on integers: :func:`compare` is the only mismatch count in the harness. An
expected value of ``None`` (the port cannot hold what the oracle says) and an x / z output word
are always wrong. :func:`report` names the vector, every wrong output in (k, i, f) with raw bits,
and a latency that would explain the outputs if it is not the stated one; :func:`waveform`
reruns a window around the first failing vector with a waveform and says where it is.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import sim
from ..hdl.design import Design

__all__ = ['MAX_SHIFT', 'WAVE_WINDOW', 'Mismatches', 'SpecView', 'compare', 'latency_shift', 'report', 'waveform']

MAX_SHIFT = 4  # latencies tried around the stated one
MAX_INPUTS = 16  # inputs shown per failing vector
WAVE_WINDOW = (32, 8)  # vectors before and after the first failing one in the waveform rerun


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
    """Exact integer comparison of (n, n_out) rows; x / z words and ``None`` expectations are wrong."""
    outputs = np.asarray(outputs)
    expected = np.asarray(expected)
    if outputs.shape != expected.shape:
        raise ValueError(f'outputs {outputs.shape} and expected {expected.shape} differ in shape')
    if expected.dtype.kind in 'iu' and outputs.dtype.kind in 'iu':
        mask = outputs != expected
    else:  # object rows: Python ints of any width, None where nothing is right
        mask = np.empty(expected.shape, dtype=bool)
        for idx in np.ndindex(expected.shape):
            e = expected[idx]
            mask[idx] = e is None or int(outputs[idx]) != e
    return Mismatches(mask | np.asarray(unknown, dtype=bool).reshape(-1, 1))


def latency_shift(outputs, expected, stated: int) -> int | None:
    """d != 0 if every output matches the expectation of the vector d places earlier (the
    design's real latency is ``stated + d``), else None."""
    outputs = np.asarray(outputs)
    expected = np.asarray(expected)
    n = len(outputs)
    for d in sorted(range(-MAX_SHIFT, MAX_SHIFT + 1), key=abs):
        if d == 0 or stated + d < 0 or n - abs(d) < 8:
            continue
        got = outputs[d:] if d > 0 else outputs[:d]
        want = expected[:n - d] if d > 0 else expected[-d:]
        if not compare(got, np.zeros(len(got), bool), want).count:
            return d
    return None


@dataclass(frozen=True)
class SpecView:
    """The spec-level values behind a design's bus rows, for reports: raw spec inputs ``X`` on the
    grids of ``in_kifs``, raw golden outputs ``Y`` on the grids ``out_fs``."""

    in_kifs: tuple
    X: np.ndarray
    Y: np.ndarray
    out_fs: list[int]


def _kif(e: dict) -> tuple[int, int, int]:
    return int(e['k']), int(e['i']), int(e['f'])


def _bits(raw: int, width: int) -> str:
    return format(raw & ((1 << width) - 1), f'0{width}b')


def _value(raw: int, f: int) -> str:
    v = Fraction(raw) / Fraction(2) ** f
    return str(v) if v.denominator == 1 else f'{float(v):g}' if v.denominator < 2**20 else str(v)


def report(title: str, meta: dict, rows, outputs, unknown, expected, found: Mismatches, *,
           oracle: str = 'the golden model', spec: SpecView | None = None, first: int = 0,
           max_vectors: int = 5) -> str:
    """Account of the first ``max_vectors`` wrong vectors (``first`` = index of row 0 in the
    caller's numbering): inputs and every wrong output as values, raw integers and bits."""
    n = len(rows)
    lines = [f'{title}: {found.count} of {n} vectors differ from {oracle}']
    shift = latency_shift(outputs, expected, int(meta['latency_cycles']))
    if shift is not None:
        lines.append(f'  every output equals the expected output of the vector {shift} earlier: the design\'s '
                     f'latency is {meta["latency_cycles"] + shift} cycles, metadata says {meta["latency_cycles"]}')
    for v in found.vectors[:max_vectors].tolist():
        lines.append(f'  vector {first + v}:' + (' (x/z on the output bus)' if unknown[v] else ''))
        ins = []
        for j, e in enumerate(meta['inputs']):
            raw, w = int(rows[v][j]), int(e['width'])
            val = _value(int(spec.X[v, j]), spec.in_kifs[j][2]) if spec is not None else _value(raw, int(e['f']))
            ins.append(f'x{j}={val}' + ('' if e['used'] else ' (unused)') + f' port{_kif(e)} raw {raw} bits {_bits(raw, w)}')
        more = f'; ... {len(ins) - MAX_INPUTS} more inputs' if len(ins) > MAX_INPUTS else ''
        lines.append('    inputs: ' + '; '.join(ins[:MAX_INPUTS]) + more)
        for c in np.nonzero(found.mask[v])[0].tolist():
            e, got, want = meta['outputs'][c], int(outputs[v][c]), expected[v][c]
            w, f = int(e['width']), int(e['f'])
            if want is not None:
                want_s = f'{_value(int(want), f)} raw {int(want)} bits {_bits(int(want), w)}'
            else:
                spec_val = _value(int(spec.Y[v, c]), spec.out_fs[c]) if spec is not None else '?'
                want_s = f'{spec_val} (not representable on this port)'
            lines.append(f'    out {c} {_kif(e)}{"" if e["used"] else " (pad)"}: expected {want_s}; '
                         f'got {_value(got, f)} raw {got} bits {_bits(got, w)}')
    if found.count > max_vectors:
        lines.append(f'  ... and {found.count - max_vectors} more vectors')
    return '\n'.join(lines)


def waveform(design: Design, rows: np.ndarray, first_bad: int, simulator: str, workdir: Path | str,
             keep_as: Path | None = None) -> str:
    """Rerun the window of vectors around ``first_bad`` with a waveform; a line saying where it
    is (moved to ``keep_as`` + suffix when given) or why the rerun failed."""
    lo, hi = max(first_bad - WAVE_WINDOW[0], 0), min(first_bad + WAVE_WINDOW[1], len(rows))
    try:
        run = sim.replay([design], [rows[lo:hi]], simulator, Path(workdir), waves=True, first=lo)
        wave = next(f for f in sorted(run.run_dir.iterdir()) if f.suffix in ('.fst', '.vcd', '.ghw'))
    except (sim.SimError, StopIteration) as exc:
        return f'waveform rerun failed: {exc}'
    if keep_as is not None:
        wave = Path(shutil.move(str(wave), keep_as.with_suffix(wave.suffix)))
    return (f'waveform: {wave} (vectors {lo}..{hi - 1}; signal replay_tb.vector_in (VHDL: vector {lo} + '
            f'replay_vhdl_tb.cycle_count) = vector applied, u0 = the design)')
