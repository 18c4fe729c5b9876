"""Checks of a converted model's directory (``da4ml-core convert``): Keras is the oracle.

A converted design carries what its model said, not a spec to recompute it from:
``program.json`` (the compiled program) and ``reference.npz`` (bus inputs and the output
integers ``model.predict`` gave for them). :func:`check` therefore verifies, without Keras:

1. the stored vectors against the stored Keras outputs: the interpreter and the exact
   reference (all of them), each simulator in bulk (all of them) and through the per-cycle
   cocotb testbench (the first ``per_cycle``);
2. ``n_fresh`` fresh seeded vectors (the stimulus generator's extremes, corner mixes and uniform
   bus words) against the program: expected from the interpreter, which must agree with the
   exact reference on every one of them; each simulator in bulk.

(1) proves the Verilog equals the model on the vectors the model was asked about; (2) widens
the net for emitter bugs to inputs the model was never run on. ``da4ml-core verify`` is (1)
without the per-cycle path; the release gate is all of it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import sim
from ..hdl.design import buses, emitted_design, load_metadata
from ..hdl.stimulus import n_structured, stimulus
from ..sim.shard import gather_sharded, submit_sharded
from . import design_coverage, judge
from .model_dir import (N_CORNER_MIXES, PROGRAM, REFERENCE, REPORT, ModelDirError, check_design_files, check_writable,
                        design_summary, load_program, load_reference, read_report, write_report)
from .ports import bus_to_floats
from .program_oracle import expected_interp, expected_reference

__all__ = ['TOGGLE_DIR', 'Checks', 'check', 'is_converted', 'sample_rows', 'verify_dir']

BUILD_ORDER = ('icarus', 'ghdl', 'verilator')  # quickest build first, when simulations overlap builds
TOGGLE_DIR = 'toggle_coverage'  # verify --toggle-coverage: verilator_coverage's annotated sources

@dataclass
class Checks:
    """Run records for reports, and the reasons to refuse (empty: all passed)."""

    runs: list[dict] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    def record(self, simulator: str, version: str, path: str, oracle: str, n: int, seed: int, found, report: str = '',
               **costs) -> None:
        """One run; ``found`` is the judge's verdict (None: the run could not happen, ``report`` says why)."""
        mismatches = found.count if found is not None else 0
        passed = found is not None and not mismatches and not report
        self.runs.append({'simulator': simulator, 'version': version, 'path': path, 'oracle': oracle,
                          'vectors': int(n), 'seed': seed, 'mismatches': mismatches, 'passed': passed, **costs})
        if not passed:
            self.reasons.append(report or f'{simulator} ({path}, {oracle} vectors): {mismatches} of {n} differ')


def is_converted(design_dir: Path) -> bool:
    return (Path(design_dir) / PROGRAM).is_file() and (Path(design_dir) / REFERENCE).is_file()


def _start(design, rows, simulator: str, workdir: Path, client):
    """A bulk replay: run here, or built here and submitted to ``client`` (collected by :func:`_collect`)."""
    if client is None:
        return sim.replay([design], [rows], simulator, workdir)
    return submit_sharded(design, rows, simulator, workdir, client)


def _collect(started) -> sim.Replay:
    return started if isinstance(started, sim.Replay) else gather_sharded(started)


def _sim_costs(run: sim.Replay) -> dict:
    return {'build_seconds': round(run.build_seconds, 3), 'rebuilt': bool(run.rebuilt),
            'run_seconds': round(run.run_seconds, 3), 'vectors_per_second': round(run.vectors_per_second())}


def sample_rows(structured: np.ndarray, n_others: int | None) -> np.ndarray:
    """Indices of the rows a simulator with a budget runs, in order: every structured row (field
    extremes, corner mixes, ties) and ``n_others`` of the rest, evenly spread over them (data rows
    and uniform words alike); all rows when ``n_others`` is None."""
    structured = np.asarray(structured, dtype=bool)
    if n_others is None:
        return np.arange(len(structured))
    if n_others < 0:
        raise ValueError(f'n_others={n_others}: a sample needs a count >= 0 (or None: every row)')
    others = np.flatnonzero(~structured)
    if n_others < len(others):
        others = others[np.linspace(0, len(others) - 1, n_others).round().astype(np.int64)] if n_others else others[:0]
    return np.union1d(np.flatnonzero(structured), others)


def check(design_dir: Path, meta: dict, *, n_fresh: int, per_cycle: int, seed: int, simulators,
          workdir: Path | None = None, on_step=None, raise_errors: bool = False, client=None,
          samples: dict[str, int] | None = None) -> Checks:
    """Every check of the module docstring; a failing design is recorded, never raised.

    ``samples`` caps a simulator's unstructured rows (``{'icarus': 2000}``: Icarus runs every
    structured row plus 2,000 of the others, see :func:`sample_rows`); the cap is recorded in
    its runs. The program checks (interpreter, exact reference) always cover every row.

    ``on_step(what, fn)`` runs each step (progress display); ``raise_errors`` lets a simulator
    that cannot build or run raise (``verify``) instead of being a recorded refusal (the gate);
    ``client`` (a ``dask.distributed`` client, see ``verif.sim.shard``) shards the bulk replays."""
    design_dir = Path(design_dir)
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix='verify-'))
    step = on_step or (lambda what, fn: fn())
    out = Checks()
    prog = load_program(design_dir)
    if (prog.n_in, prog.n_out) != (meta['n_in'], meta['n_out']):
        out.reasons.append(f'{PROGRAM} has {prog.n_in} inputs / {prog.n_out} outputs, metadata says '
                           f'{meta["n_in"]} / {meta["n_out"]}')
        return out
    ref = load_reference(design_dir)
    rows_k, keras = np.asarray(ref['inputs'], dtype=np.int64), np.asarray(ref['expected'], dtype=np.int64)
    in_bus, out_bus = buses(meta)
    if rows_k.ndim != 2 or rows_k.shape[1] != len(in_bus.fields) or keras.shape != (len(rows_k), len(out_bus.fields)):
        out.reasons.append(f'{REFERENCE} holds inputs {rows_k.shape} and outputs {keras.shape}; the design has '
                           f'{len(in_bus.fields)} input and {len(out_bus.fields)} output fields')
        return out
    rows_f = stimulus(in_bus.fields, n_fresh, seed, n_mixes=N_CORNER_MIXES) if n_fresh else rows_k[:0]
    n_structured_f = n_structured(in_bus.fields, seed, n_mixes=N_CORNER_MIXES) if n_fresh else 0
    structured_k = np.asarray(ref['structured'], dtype=bool) if 'structured' in ref else np.zeros(len(rows_k), bool)
    if structured_k.shape != (len(rows_k),):
        out.reasons.append(f'{REFERENCE}: structured holds {structured_k.shape} marks for {len(rows_k)} rows')
        return out
    samples = dict(samples or {})
    X_k, X_f = bus_to_floats(meta, rows_k), bus_to_floats(meta, rows_f)

    def judged(title, rows, got, unknown, want, oracle, first=0):
        found = judge.compare(got, unknown, want)
        text = judge.report(title, meta, rows, got, unknown, want, found, oracle=oracle, first=first) \
            if found.count else ''
        return found, text

    def program_checks():
        """The program against Keras, and the interpreter against the exact reference."""
        none = np.zeros(len(rows_k), bool)
        interp_k = expected_interp(prog, meta, X_k)
        found, text = judged(f'{PROGRAM} (interpreter)', rows_k, interp_k, none, keras, 'Keras')
        out.record('interpreter', '', 'model', 'keras', len(rows_k), seed, found, text)
        ref_k = expected_reference(prog, meta, X_k)
        found, text = judged(f'{PROGRAM} (exact reference)', rows_k, ref_k, none, keras, 'Keras')
        out.record('reference', '', 'model', 'keras', len(rows_k), seed, found, text)
        if not len(rows_f):
            return None
        interp_f = expected_interp(prog, meta, X_f)
        ref_f = expected_reference(prog, meta, X_f)
        found, text = judged('exact reference (fresh vectors)', rows_f, ref_f, np.zeros(len(rows_f), bool), interp_f,
                             'the interpreter')
        out.record('reference', '', 'program', 'interpreter', len(rows_f), seed, found, text)
        return interp_f

    expected_f = step('interpreter + reference', program_checks)
    design = emitted_design(design_dir, meta)
    rows = np.concatenate([rows_k, rows_f])
    structured = np.concatenate([structured_k, np.arange(len(rows_f)) < n_structured_f])
    # with a cluster, each simulator's shards run while the next one builds (Icarus, quick to
    # build, first): a big Verilator build then overlaps Icarus's simulation
    keeps, started, failed = {}, {}, {}
    for s in sorted(simulators, key=lambda s: BUILD_ORDER.index(s) if client is not None and s in BUILD_ORDER else -1):
        keeps[s] = sample_rows(structured, samples.get(s))
        try:
            started[s] = step(f'simulate ({s})', lambda s=s: _start(design, rows[keeps[s]], s, workdir / s, client))
        except sim.SimError as exc:
            failed[s] = exc
    for s in simulators:
        keep = keeps[s]
        try:
            if s in failed:
                raise failed[s]
            run = step(f'simulate ({s}): collect', lambda s=s: _collect(started[s]))
        except sim.SimError as exc:
            if raise_errors:
                raise
            out.record(s, '?', 'bulk', 'keras', len(rows_k), seed, None, f'{s}: simulation failed: {exc}')
            continue
        got, unknown = run.outputs[0], run.unknown[0]
        sets = [('keras', 0, keras)] + ([('program', len(rows_k), expected_f)] if len(rows_f) else [])
        for oracle, lo, want in sets:
            sel = (keep >= lo) & (keep < lo + len(want))
            stored = keep[sel] - lo  # which of the oracle's rows the simulated ones are
            ran, marked = rows[keep[sel]], structured[keep[sel]]
            title = f'{meta["top"]} on {s} {run.version} (bulk, {oracle} vectors)'
            found, text = judged(title, ran, got[sel], unknown[sel], want[stored],
                                 'Keras' if oracle == 'keras' else 'the interpreter')
            if found.count:
                if len(stored) < len(want):
                    text += (f'\n  (a sample of {len(stored)} of {len(want)} rows: vectors '
                             f'{found.vectors[:5].tolist()} above are rows {stored[found.vectors[:5]].tolist()})')
                text += '\n' + judge.waveform(design, ran, int(found.vectors[0]), s, workdir / f'wave-{s}')
            policy = {} if s not in samples else {
                'sample': {'structured': int(marked.sum()), 'others': int((~marked).sum()), 'of': len(want)}}
            out.record(s, run.version, 'bulk', oracle, len(stored), seed, found, text, **_sim_costs(run), **policy)
        if per_cycle:
            n = min(per_cycle, len(rows_k))
            try:
                pc = sim.per_cycle(design, rows_k[:n], keras[:n], s, seed=seed)
            except sim.SimError as exc:
                if raise_errors:
                    raise
                out.record(s, '?', 'per-cycle', 'keras', n, seed, None, f'{s}: per-cycle run failed: {exc}')
                continue
            found, text = judged(f'{meta["top"]} on {s} {pc.version} (per-cycle)', rows_k[:n], pc.outputs[0],
                                 pc.unknown[0], keras[:n], 'Keras')
            out.record(s, pc.version, 'per-cycle', 'keras', n, seed, found, text)
    out.summary = {'keras_vectors': len(rows_k), 'fresh_vectors': len(rows_f),
                   'fresh_generator': 'verif.hdl.stimulus (field extremes, corner mixes, then uniform bus words)',
                   'reference_vectors': 'all',
                   'simulator_vectors': {s: 'all' if s not in samples else
                                         f'every structured row + {samples[s]} others' for s in simulators}}
    return out


def verify_dir(outdir: Path, simulators, on_step=None, client=None, samples: dict[str, int] | None = None,
               toggle: bool = False) -> dict:
    """Replay the stored vectors of ``outdir`` through interpreter, reference and simulators;
    update and return its report (``verification`` section, ``mismatches`` total).

    ``toggle``: also Verilator's toggle coverage of the stored vectors (a build of its own,
    ``verif.sim.toggle``; ``toggle_coverage`` section, annotated sources in
    ``OUTDIR/toggle_coverage/``); without it a stored section of an earlier run is dropped,
    so the report only ever describes the files and vectors of this verification.

    ``on_step(what, fn)`` runs each step (a progress display); by default it just calls ``fn``.
    ``client``: shard the simulations over a Dask cluster (``verif.sim.shard.cluster``);
    ``samples``: per-simulator caps on the unstructured rows (:func:`sample_rows`)."""
    outdir = Path(outdir)
    meta = load_metadata(outdir)
    report = read_report(outdir) if (outdir / REPORT).is_file() else {}
    check_writable(outdir)
    check_design_files(outdir, meta)
    step = on_step or (lambda what, fn: fn())
    found = check(outdir, meta, n_fresh=0, per_cycle=0, seed=1, simulators=simulators, on_step=step,
                  raise_errors=True, client=client, samples=samples)
    if not found.runs:  # the files do not fit together: nothing could be checked
        raise ModelDirError('; '.join(found.reasons))
    runs = {(r['simulator'], r['path']): r for r in found.runs}
    checks = {'interpreter': runs[('interpreter', 'model')], 'reference': runs[('reference', 'model')]}
    sims = {s: runs[(s, 'bulk')] for s in simulators if (s, 'bulk') in runs}
    report.update(design_summary(meta))
    report['verification'] = {'vectors': found.summary['keras_vectors'], **checks, 'simulators': sims,
                              'simulator_vectors': found.summary['simulator_vectors']}
    cov = design_coverage.of_model_dir(outdir)
    report['coverage'] = {**cov.as_dict(), 'line': cov.line()}
    report.pop('toggle_coverage', None)
    if toggle:
        with tempfile.TemporaryDirectory(prefix='toggle-') as tmp:
            report['toggle_coverage'] = step('toggle coverage (verilator)', lambda: design_coverage.toggle_section(
                outdir, tmp, annotate_dir=outdir / TOGGLE_DIR))
    report['mismatches'] = int(sum(r['mismatches'] for r in found.runs))
    report['verified'] = sorted(sims)
    write_report(outdir, report)
    return report
