"""The release gate: a design directory becomes a release bundle only after it passes again.

Why: firmware is tagged from files, not from a test run that happened earlier on other bytes.
The gate takes the directory as it is (metadata.json, Verilog, and either the regression's
spec.json or a converted model's program.json + reference.npz), hashes it, lints it, simulates
*those files* on Icarus and Verilator (bulk path for every vector, per-cycle cocotb path for the
first ones) against the spec's golden model or the model's stored Keras outputs (plus fresh
vectors, see verif.flows.converted), checks the files did not change, and only then writes the bundle: the files, ``verification.json`` (simulators and versions,
vector counts, seeds, results), ``tb/`` + ``pytest.ini`` (a standalone cocotb-test check of the
per-cycle vectors, verif.flows.bundle_tb) and ``manifest.json`` (sha256 of every other bundle file). The
bundle appears atomically (a renamed temporary directory) or not at all.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import sim
from ..hdl.design import METADATA, load_metadata
from . import bundle_tb, converted, design_coverage, regress, specs
from .model_dir import PROGRAM, REFERENCE
from .specs import SPEC_FILE, Spec

__all__ = ['DEFAULT_PER_CYCLE', 'DEFAULT_VECTORS', 'MANIFEST', 'REPORT', 'GateResult', 'design_files', 'release',
           'run_line', 'sha256', 'synthesis_counts']

MANIFEST = 'manifest.json'
REPORT = 'verification.json'
DEFAULT_VECTORS = 10_000
DEFAULT_PER_CYCLE = 1_000
PROJECT_FILES = ('{}_vivado.tcl', '{}.xdc', '{}_quartus.tcl', '{}.sdc')


@dataclass
class GateResult:
    """``released`` with the bundle path, or the reasons for refusing (nothing written)."""

    released: bool
    bundle: Path | None
    reasons: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    evidence: Path | None = None  # kept failure artefacts (reports, waveforms) of a refusal


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def design_files(design_dir: Path) -> list[str]:
    """Names of the files a release carries: spec (or program and Keras vectors), metadata,
    sources, vendor project scripts."""
    meta = load_metadata(design_dir)
    record = [SPEC_FILE] if (Path(design_dir) / SPEC_FILE).is_file() else [PROGRAM, REFERENCE]
    names = [*record, METADATA, *meta['sources']]
    names += [p.format(meta['top']) for p in PROJECT_FILES if (design_dir / p.format(meta['top'])).is_file()]
    return names


def run_line(run: dict) -> str:
    """One line per run of a gate report (what ran, against which oracle, with what result)."""
    what = ' '.join(x for x in (run['simulator'], run['version'], run['path']) if x)
    oracle = f" vs {run['oracle']}" if run.get('oracle') else ''
    return f"{what}{oracle}: {run['vectors']} vectors, seed {run['seed']}, {run['mismatches']} mismatches"


def _hashes(design_dir: Path, names: list[str]) -> dict[str, str]:
    return {n: sha256(design_dir / n) for n in names}


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {'python': platform.python_version()}
    for pkg in ('da4ml-core', 'cocotb', 'numpy'):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = 'unknown'
    return out


def _rebuild_matches(spec: Spec, design_dir: Path, sources: list[str]) -> bool | str:
    """Whether today's compiler writes the same sources for this spec (recorded, not required)."""
    with tempfile.TemporaryDirectory(prefix='gate-rebuild-') as tmp:
        try:
            specs.build(spec, tmp)
        except Exception as exc:  # noqa: BLE001 - informational only
            return f'rebuild failed: {type(exc).__name__}: {exc}'
        return all((Path(tmp) / s).is_file() and sha256(Path(tmp) / s) == sha256(design_dir / s) for s in sources)


def _refuse(reasons: list[str], report: dict, evidence: Path | None = None) -> GateResult:
    return GateResult(False, None, reasons, report, evidence)


def release(design_dir: Path | str, bundle_dir: Path | str, *, n_vectors: int = DEFAULT_VECTORS,
            per_cycle: int = DEFAULT_PER_CYCLE, seed: int | None = None,
            simulators: tuple[str, ...] = sim.SIMULATORS, client=None,
            samples: dict[str, int] | None = None, min_coverage: float | None = None,
            toggle_coverage: bool = False) -> GateResult:
    """Verify ``design_dir`` on ``simulators``; write ``bundle_dir`` only if everything passes.

    Two kinds of design directory: a regression design (``spec.json``: golden model from the
    spec) and a converted model (``program.json`` + ``reference.npz``: Keras's stored outputs
    as the oracle, see :mod:`verif.flows.converted`). ``client``: a ``dask.distributed`` client
    over which the bulk simulations are spread (``verif.sim.shard``); None runs them here.
    ``samples`` (converted models): per-simulator caps on the unstructured rows, e.g.
    ``{'icarus': 2000}`` for a big design (``verif.flows.converted.sample_rows``); every structured
    row still runs on every simulator, and the caps are recorded in verification.json.
    ``min_coverage``: refuse when the vectors' coverage (``verif.flows.design_coverage``) is below it.
    ``toggle_coverage``: record Verilator's toggle coverage of the same vectors through the
    files (``verif.sim.toggle``; recorded, not required: an extra build)."""
    design_dir, bundle_dir = Path(design_dir).resolve(), Path(bundle_dir).resolve()
    if bundle_dir.exists():
        return _refuse([f'{bundle_dir} already exists: a release bundle is never overwritten'], {})
    is_spec = (design_dir / SPEC_FILE).is_file()
    if not is_spec and not converted.is_converted(design_dir):
        why = (f'{design_dir} has no {SPEC_FILE} (a regression design) and no {PROGRAM} + '
               f'{REFERENCE} (a converted model)')
        return _refuse([why], {})
    if not (design_dir / METADATA).is_file():
        return _refuse([f'{design_dir} has no {METADATA}'], {})
    try:
        spec = Spec.load(design_dir / SPEC_FILE) if is_spec else None
        names = design_files(design_dir)
        before = _hashes(design_dir, names)
        meta = load_metadata(design_dir)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _refuse([f'{design_dir}: unreadable design ({type(exc).__name__}: {exc})'], {})
    if 'interface' in meta:
        return _refuse([f'{design_dir}: written with a valid / axis wrapper; the gate releases bare designs '
                        f'(flat inp / out buses) only (a wrapper is checked by da4ml-core verify)'], {})
    if spec is not None:
        spec = spec.with_(n_vectors=n_vectors, seed=spec.seed if seed is None else seed)
    seed = spec.seed if spec is not None else (1 if seed is None else seed)
    workdir = Path(tempfile.mkdtemp(prefix=f'release-gate-{meta["top"]}-'))
    checks = converted.Checks()
    lint, coverage, toggle, n_directed = 'not run', None, None, 0
    try:
        lint = regress.lint(design_dir, meta['top'])
        if lint:
            checks.reasons.append(f'verilator --lint-only -Wall is not clean:\n{lint}')
        if spec is not None:
            n_directed = _check_spec(spec, design_dir, meta, per_cycle, simulators, workdir, checks, client)
        else:
            found = converted.check(design_dir, meta, n_fresh=n_vectors, per_cycle=per_cycle, seed=seed,
                                    simulators=simulators, workdir=workdir, client=client, samples=samples)
            checks.runs += found.runs
            checks.reasons += found.reasons
            checks.summary = found.summary
        coverage = design_coverage.gate(design_dir, spec, n_vectors, seed, min_coverage, checks.reasons)
        toggle = design_coverage.toggle_section(design_dir, workdir / 'toggle', spec=spec, n_fresh=n_vectors, seed=seed,
                                                asked=toggle_coverage)
    except Exception as exc:  # noqa: BLE001 - the gate refuses, naming why, whatever went wrong
        checks.reasons.append(f'verification could not run: {type(exc).__name__}: {exc}')
    ran = {(r['simulator'], r['path']) for r in checks.runs}
    checks.reasons += [f'{s} ({p}) did not run' for s in simulators
                       for p in ('bulk', 'per-cycle')[:1 + bool(per_cycle)] if (s, p) not in ran]
    if _hashes(design_dir, names) != before:
        checks.reasons.append(f'files in {design_dir} changed while they were being verified')
    report = {
        'design': meta['top'],
        'kind': 'regression spec' if spec is not None else 'converted model',
        'verified_utc': datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'),
        'software': _versions(),
        'simulators': [{'name': s, 'version': sim.find_simulator(s).version, 'origin': sim.find_simulator(s).origin}
                       for s in simulators],
        'lint': {'command': 'verilator --lint-only -Wall', 'clean': not lint},
        'runs': checks.runs,
        'latency_cycles': meta['latency_cycles'],
        'clocked': meta['clocked'],
        'files': before,
        'coverage': coverage,
        'toggle_coverage': toggle,
        'synthesis': synthesis_counts(design_dir),
    }
    if spec is not None:
        report['spec'] = spec.describe()
        report['stimulus'] = {'seed': spec.seed, 'bulk_vectors': n_vectors + n_directed, 'spec_vectors': n_vectors,
                              'directed_vectors': n_directed,
                              'per_cycle_vectors': min(per_cycle, n_vectors),
                              'generator': 'verif.flows.regress.stimulus (the spec\'s: extremes, rounding ties, uniform '
                                           'random; then directed rows)'}
        report['rebuild_matches'] = _rebuild_matches(spec, design_dir, meta['sources'])
    else:
        report['stimulus'] = {'seed': seed, 'per_cycle_vectors': per_cycle, **checks.summary}
        report['rebuild_matches'] = _reemit_matches(design_dir, meta)
    if checks.reasons:
        return _refuse(checks.reasons, report, workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    vectors = bundle_tb.bundle_vectors(design_dir, spec, per_cycle or DEFAULT_PER_CYCLE)
    return GateResult(True, _write_bundle(design_dir, bundle_dir, names, before, report, vectors), [], report)


def _check_spec(spec: Spec, design_dir: Path, meta: dict, per_cycle: int, simulators, workdir: Path,
                checks: converted.Checks, client=None) -> int:
    """The regression's checks of a spec design: golden vectors in bulk and per cycle; returns
    how many of the bulk vectors are directed ones."""
    if meta['top'] != spec.name:
        checks.reasons.append(f'metadata top {meta["top"]!r} is not the spec name {spec.name!r}')
    prep = regress.prepare(spec, design_dir, build=False)
    runs: list[regress.Result] = []
    for s in simulators:
        runs += regress.simulate([prep], s, workdir / s, client=client)
        if per_cycle:
            runs.append(regress.check_per_cycle(prep, s, per_cycle, workdir / s))
    for r in runs:
        checks.runs.append({'simulator': r.simulator, 'version': r.version, 'path': r.path, 'vectors': r.n_vectors,
                            'seed': r.seed, 'mismatches': r.mismatches, 'passed': r.passed})
        if not r.passed:
            checks.reasons.append(f'{r.summary()}\n{r.report}')
    return prep.n_directed


def synthesis_counts(design_dir: Path, family: str = 'xilinx') -> dict:
    """yosys's resource counts of the design's files (recorded, not required): the counts, or why
    there are none (no yosys on this machine, a VHDL design, a failed run)."""
    from da4ml_core.synth import SynthError, SynthInputError, YosysNotFoundError, synthesize

    try:
        res = synthesize(design_dir, family)
    except (YosysNotFoundError, SynthInputError, SynthError) as exc:
        return {'family': family, 'not_run': f'{type(exc).__name__}: {str(exc).splitlines()[0]}'}
    return {k: v for k, v in res.items() if k != 'cached'}


def _reemit_matches(design_dir: Path, meta: dict) -> bool | str:
    """Whether today's emitter writes the same sources from program.json (recorded, not required)."""
    from da4ml_core.emit import write_verilog
    from da4ml_core.ir import Program

    with tempfile.TemporaryDirectory(prefix='gate-reemit-') as tmp:
        try:
            prog = Program.from_json((design_dir / PROGRAM).read_text())
            write_verilog(prog, tmp, name=meta['top'], latency_cutoff=meta['latency_cutoff'],
                          clock_period_ns=meta['clock_period_ns'])
        except Exception as exc:  # noqa: BLE001 - informational only
            return f're-emit failed: {type(exc).__name__}: {exc}'
        return all((Path(tmp) / s).is_file() and sha256(Path(tmp) / s) == sha256(design_dir / s)
                   for s in meta['sources'])


def _write_bundle(design_dir: Path, bundle_dir: Path, names: list[str], hashes: dict, report: dict,
                  tb_vectors=None) -> Path:
    """Copy the verified files, the report, the standalone testbench (``tb_vectors``: its input
    and expected rows, see verif.flows.bundle_tb) and the manifest over all of them."""
    bundle_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{bundle_dir.name}.', dir=bundle_dir.parent))
    try:
        for n in names:
            shutil.copy2(design_dir / n, tmp / n)
            if sha256(tmp / n) != hashes[n]:
                raise OSError(f'{n} changed while it was copied into the bundle')
        (tmp / REPORT).write_text(json.dumps(report, indent=1, sort_keys=True) + '\n')
        tb_names = [] if tb_vectors is None else bundle_tb.write_tb(tmp, load_metadata(tmp), *tb_vectors)
        manifest = {'algorithm': 'sha256', 'files': {n: sha256(tmp / n) for n in sorted([*names, REPORT, *tb_names])}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + '\n')
        os.chmod(tmp, 0o755)
        os.rename(tmp, bundle_dir)  # atomic: the bundle is complete or absent
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return bundle_dir
