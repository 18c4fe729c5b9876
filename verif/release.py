"""The release gate: a design directory becomes a release bundle only after it passes again.

Why: firmware is tagged from files, not from a test run that happened earlier on other bytes.
The gate takes the directory as it is (spec.json, metadata.json, Verilog), hashes it, lints it,
simulates *those files* on Icarus and Verilator (bulk path for every vector, per-cycle cocotb
path for the first ones) against the spec's golden model, checks the files did not change,
and only then writes the bundle: the files, ``verification.json`` (simulators and versions,
vector counts, seeds, results) and ``manifest.json`` (sha256 of every other bundle file). The
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

from . import designs, emitted, regress, sim
from .designs import SPEC_FILE, Spec

__all__ = ['DEFAULT_PER_CYCLE', 'DEFAULT_VECTORS', 'MANIFEST', 'REPORT', 'GateResult', 'design_files', 'release',
           'sha256']

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
    """Names of the files a release carries: spec, metadata, sources, vendor project scripts."""
    meta = emitted.load_metadata(design_dir)
    names = [SPEC_FILE, emitted.METADATA, *meta['sources']]
    names += [p.format(meta['top']) for p in PROJECT_FILES if (design_dir / p.format(meta['top'])).is_file()]
    return names


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
            designs.build(spec, tmp)
        except Exception as exc:  # noqa: BLE001 - informational only
            return f'rebuild failed: {type(exc).__name__}: {exc}'
        return all((Path(tmp) / s).is_file() and sha256(Path(tmp) / s) == sha256(design_dir / s) for s in sources)


def _refuse(reasons: list[str], report: dict, evidence: Path | None = None) -> GateResult:
    return GateResult(False, None, reasons, report, evidence)


def release(design_dir: Path | str, bundle_dir: Path | str, *, n_vectors: int = DEFAULT_VECTORS,
            per_cycle: int = DEFAULT_PER_CYCLE, seed: int | None = None,
            simulators: tuple[str, ...] = sim.SIMULATORS) -> GateResult:
    """Verify ``design_dir`` on ``simulators``; write ``bundle_dir`` only if everything passes."""
    design_dir, bundle_dir = Path(design_dir).resolve(), Path(bundle_dir).resolve()
    if bundle_dir.exists():
        return _refuse([f'{bundle_dir} already exists: a release bundle is never overwritten'], {})
    missing = [n for n in (SPEC_FILE, emitted.METADATA) if not (design_dir / n).is_file()]
    if missing:
        return _refuse([f'{design_dir} has no {", ".join(missing)}'], {})
    try:
        spec = Spec.load(design_dir / SPEC_FILE)
        names = design_files(design_dir)
        before = _hashes(design_dir, names)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _refuse([f'{design_dir}: unreadable design ({type(exc).__name__}: {exc})'], {})
    meta = emitted.load_metadata(design_dir)
    spec = spec.with_(n_vectors=n_vectors, seed=spec.seed if seed is None else seed)
    reasons: list[str] = []
    if meta['top'] != spec.name:
        reasons.append(f'metadata top {meta["top"]!r} is not the spec name {spec.name!r}')
    workdir = Path(tempfile.mkdtemp(prefix=f'release-gate-{spec.name}-'))
    runs: list[regress.Result] = []
    lint = 'not run'
    try:
        lint = regress.lint(design_dir, meta['top'])
        if lint:
            reasons.append(f'verilator --lint-only -Wall is not clean:\n{lint}')
        prep = regress.prepare(spec, design_dir, build=False)
        for s in simulators:
            runs += regress.simulate([prep], s, workdir / s)
            if per_cycle:
                runs.append(regress.check_per_cycle(prep, s, per_cycle, workdir / s))
    except Exception as exc:  # noqa: BLE001 - the gate refuses, naming why, whatever went wrong
        reasons.append(f'verification could not run: {type(exc).__name__}: {exc}')
    for r in runs:
        if not r.passed:
            reasons.append(f'{r.summary()}\n{r.report}')
    ran = {(r.simulator, r.path) for r in runs}
    reasons += [f'{s} ({p}) did not run' for s in simulators for p in ('bulk', 'per-cycle')[:1 + bool(per_cycle)]
                if (s, p) not in ran]
    if _hashes(design_dir, names) != before:
        reasons.append(f'files in {design_dir} changed while they were being verified')
    report = {
        'design': spec.name,
        'spec': spec.describe(),
        'verified_utc': datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'),
        'software': _versions(),
        'simulators': [{'name': s, 'version': sim.find_simulator(s).version, 'origin': sim.find_simulator(s).origin}
                       for s in simulators],
        'lint': {'command': 'verilator --lint-only -Wall', 'clean': not lint},
        'stimulus': {'seed': spec.seed, 'bulk_vectors': n_vectors, 'per_cycle_vectors': min(per_cycle, n_vectors),
                     'generator': 'verif.designs.stimulus (extremes, rounding ties, uniform random)'},
        'runs': [{'simulator': r.simulator, 'version': r.version, 'path': r.path, 'vectors': r.n_vectors,
                  'seed': r.seed, 'mismatches': r.mismatches, 'passed': r.passed} for r in runs],
        'latency_cycles': meta['latency_cycles'],
        'clocked': meta['clocked'],
        'rebuild_matches': _rebuild_matches(spec, design_dir, meta['sources']),
        'files': before,
    }
    if reasons:
        return _refuse(reasons, report, workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    return GateResult(True, _write_bundle(design_dir, bundle_dir, names, before, report), [], report)


def _write_bundle(design_dir: Path, bundle_dir: Path, names: list[str], hashes: dict, report: dict) -> Path:
    bundle_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{bundle_dir.name}.', dir=bundle_dir.parent))
    try:
        for n in names:
            shutil.copy2(design_dir / n, tmp / n)
            if sha256(tmp / n) != hashes[n]:
                raise OSError(f'{n} changed while it was copied into the bundle')
        (tmp / REPORT).write_text(json.dumps(report, indent=1, sort_keys=True) + '\n')
        manifest = {'algorithm': 'sha256', 'files': {n: sha256(tmp / n) for n in sorted([*names, REPORT])}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + '\n')
        os.chmod(tmp, 0o755)
        os.rename(tmp, bundle_dir)  # atomic: the bundle is complete or absent
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return bundle_dir
