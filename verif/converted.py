"""Release checks of a converted model's directory (``da4ml-core convert``): Keras is the oracle.

A converted design carries what its model said, not a spec to recompute it from:
``program.json`` (the compiled program) and ``reference.npz`` (bus inputs and the output
integers ``model.predict`` gave for them). The gate therefore checks, without Keras:

1. the stored vectors against the stored Keras outputs: the interpreter (all of them), the
   exact Fraction reference (the first ``N_FRACTION``), each simulator in bulk (all of them)
   and through the per-cycle cocotb testbench (the first ``per_cycle``);
2. fresh seeded vectors (field extremes, then uniform bus words) against the program: expected
   from the interpreter, which must agree with the Fraction reference on the first
   ``N_FRACTION``; each simulator in bulk.

(1) proves the Verilog equals the model on the vectors the model was asked about; (2) widens
the net for emitter bugs to inputs the model was never run on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import emitted, sim
from .drive import run_per_cycle
from .tb.batch import run_batch

__all__ = ['N_FRACTION', 'PROGRAM', 'REFERENCE', 'Checks', 'check', 'is_converted']

PROGRAM = 'program.json'  # the names da4ml_core.convert.workflow writes
REFERENCE = 'reference.npz'
N_FRACTION = 256  # vectors evaluated by the (slow, exact) Fraction reference, per vector set
WAVE_WINDOW = (32, 8)


@dataclass
class Checks:
    """Run records for the gate's report, and the reasons to refuse (empty: all passed)."""

    runs: list[dict] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def is_converted(design_dir: Path) -> bool:
    return (Path(design_dir) / PROGRAM).is_file() and (Path(design_dir) / REFERENCE).is_file()


def _load_reference(design_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(design_dir / REFERENCE) as data:
        missing = {'inputs', 'expected'} - set(data.files)
        if missing:
            raise ValueError(f'{REFERENCE} has no {", ".join(sorted(missing))}')
        return np.asarray(data['inputs'], dtype=np.int64), np.asarray(data['expected'], dtype=np.int64)


def _bad_rows(outputs, unknown, expected) -> np.ndarray:
    return np.flatnonzero(np.any(np.asarray(outputs) != np.asarray(expected), axis=1) | np.asarray(unknown, bool))


def _describe(title: str, rows, outputs, expected, bad: np.ndarray, max_vectors: int = 5) -> str:
    lines = [f'{title}: {len(bad)} of {len(rows)} vectors differ']
    for n in bad[:max_vectors].tolist():
        lines.append(f'  vector {n}: inputs {np.asarray(rows[n]).tolist()}')
        lines.append(f'    expected {np.asarray(expected[n]).tolist()}')
        lines.append(f'    got      {np.asarray(outputs[n]).tolist()}')
    return '\n'.join(lines)


def _record(out: Checks, simulator: str, version: str, path: str, oracle: str, n: int, seed: int,
            bad: np.ndarray, report: str = '') -> None:
    out.runs.append({'simulator': simulator, 'version': version, 'path': path, 'oracle': oracle, 'vectors': int(n),
                     'seed': seed, 'mismatches': len(bad), 'passed': not len(bad) and not report})
    if len(bad) or report:
        out.reasons.append(report)


def _waveform(design, rows: np.ndarray, first_bad: int, simulator: str, workdir: Path) -> str:
    """Rerun a window around the first failing vector with a waveform; say where it is."""
    lo, hi = max(first_bad - WAVE_WINDOW[0], 0), min(first_bad + WAVE_WINDOW[1], len(rows))
    try:
        run = run_batch([design], [rows[lo:hi]], simulator, workdir / f'wave-{simulator}', waves=True, first=lo)
        wave = next(f for f in sorted(run.run_dir.iterdir()) if f.suffix in ('.fst', '.vcd'))
        return f'waveform: {wave} (vectors {lo}..{hi - 1}; batch_tb.vector_in = vector applied)'
    except (sim.SimError, StopIteration) as exc:
        return f'waveform rerun failed: {exc}'


def check(design_dir: Path, meta: dict, *, n_vectors: int, per_cycle: int, seed: int, simulators,
          workdir: Path) -> Checks:
    """Every check of the module docstring; nothing raised for a failing design, only recorded."""
    from da4ml_core.ir import Program

    design_dir, workdir = Path(design_dir), Path(workdir)
    out = Checks()
    prog = Program.from_json((design_dir / PROGRAM).read_text())
    if (prog.n_in, prog.n_out) != (meta['n_in'], meta['n_out']):
        out.reasons.append(f'{PROGRAM} has {prog.n_in} inputs / {prog.n_out} outputs, metadata says '
                           f'{meta["n_in"]} / {meta["n_out"]}')
        return out
    rows_k, keras = _load_reference(design_dir)
    in_bus, out_bus = emitted.buses(meta)
    if rows_k.ndim != 2 or rows_k.shape[1] != len(in_bus.fields) or keras.shape != (len(rows_k), len(out_bus.fields)):
        out.reasons.append(f'{REFERENCE} holds inputs {rows_k.shape} and outputs {keras.shape}; the design has '
                           f'{len(in_bus.fields)} input and {len(out_bus.fields)} output fields')
        return out
    rows_f = emitted.stimulus(meta, n_vectors, seed)
    X_k, X_f = emitted.bus_to_floats(meta, rows_k), emitted.bus_to_floats(meta, rows_f)

    # the program against Keras, and the interpreter against the Fraction reference
    interp_k = emitted.expected_interp(prog, meta, X_k)
    bad = _bad_rows(interp_k, False, keras)
    _record(out, 'interpreter', '', 'model', 'keras', len(rows_k), seed, bad,
            _describe(f'{PROGRAM} (interpreter) against Keras', rows_k, interp_k, keras, bad) if len(bad) else '')
    n_ref = min(N_FRACTION, len(rows_k))
    ref_k = emitted.expected_reference(prog, meta, X_k[:n_ref])
    bad = _bad_rows(ref_k, False, keras[:n_ref])
    _record(out, 'fraction-reference', '', 'model', 'keras', n_ref, seed, bad,
            _describe(f'{PROGRAM} (Fraction reference) against Keras', rows_k, ref_k, keras, bad) if len(bad) else '')
    expected_f = emitted.expected_interp(prog, meta, X_f)
    n_ref = min(N_FRACTION, len(rows_f))
    ref_f = emitted.expected_reference(prog, meta, X_f[:n_ref])
    bad = _bad_rows(ref_f, False, expected_f[:n_ref])
    _record(out, 'fraction-reference', '', 'program', 'interpreter', n_ref, seed, bad,
            _describe('Fraction reference against the interpreter (fresh vectors)', rows_f, ref_f, expected_f, bad)
            if len(bad) else '')

    design = emitted.emitted_design(design_dir)
    rows = np.concatenate([rows_k, rows_f])
    for s in simulators:
        try:
            run = run_batch([design], [rows], s, workdir / s)
        except sim.SimError as exc:
            _record(out, s, '?', 'bulk', 'keras', len(rows_k), seed, np.arange(0), f'{s}: simulation failed: {exc}')
            continue
        got, unknown = run.outputs[0], run.unknown[0]
        for oracle, sl, want in (('keras', slice(0, len(rows_k)), keras),
                                 ('program', slice(len(rows_k), len(rows)), expected_f)):
            bad = _bad_rows(got[sl], unknown[sl], want)
            report = ''
            if len(bad):
                title = f'{meta["top"]} on {s} {run.version} (bulk, {oracle} vectors)'
                report = _describe(title, rows[sl], got[sl], want, bad)
                report += '\n' + _waveform(design, rows[sl], int(bad[0]), s, workdir)
            _record(out, s, run.version, 'bulk', oracle, len(want), seed, bad, report)
        if per_cycle:
            n = min(per_cycle, len(rows_k))
            try:
                pc = run_per_cycle(design, rows_k[:n], keras[:n], s, seed=seed, check=False)
                bad = _bad_rows(pc.outputs, False, keras[:n])
                report = _describe(f'{meta["top"]} on {s} {pc.version} (per-cycle)', rows_k, pc.outputs, keras,
                                   bad) if len(bad) or pc.mismatches else ''
                _record(out, s, pc.version, 'per-cycle', 'keras', n, seed, bad, report)
            except sim.SimError as exc:
                _record(out, s, '?', 'per-cycle', 'keras', n, seed, np.arange(0), f'{s}: per-cycle run failed: {exc}')
    out.summary = {'keras_vectors': len(rows_k), 'fresh_vectors': len(rows_f),
                   'fresh_generator': 'verif.emitted.stimulus (field extremes, then uniform bus words)',
                   'fraction_reference_vectors': N_FRACTION}
    return out
