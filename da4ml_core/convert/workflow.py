"""Convert -> write Verilog -> verify, as files in one output directory (used by the CLI).

An output directory holds the design (``write_verilog``: ``<name>.v``, primitives,
``metadata.json``, project scripts) and:

- ``program.json``   the DAIS program (``Program.from_json``);
- ``reference.npz``  test vectors: ``inputs`` (bus integers, one column per input field) and
  ``expected`` (the output integers Keras's ``model.predict`` gives for them), ``x`` (the
  float inputs the bus words stand for), optional ``labels``;
- ``report.json``    what was converted and measured (conversion, resources, latency,
  vector counts and mismatches per checker).

``verify`` needs only these files (no Keras): it replays the vectors through the interpreter,
the independent Fraction reference (on a subset) and each simulator, comparing all with Keras.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from ..ir import Program

__all__ = [
    'PROGRAM',
    'REFERENCE',
    'REPORT',
    'check_interpreter',
    'floats_to_bus',
    'keras_vectors',
    'outputs_to_bus',
    'read_report',
    'run_bulk',
    'simulate',
    'verify_dir',
    'write_design',
    'write_report',
]

PROGRAM = 'program.json'
REFERENCE = 'reference.npz'
REPORT = 'report.json'
N_FRACTION_REFERENCE = 256  # vectors also checked against the exact Fraction evaluation


def verilog_name(name: str) -> str:
    """A Verilog module name from a model name."""
    s = re.sub(r'\W', '_', name).strip('_') or 'top'
    return s if not s[0].isdigit() else f'm_{s}'


def write_design(conv, outdir: Path, name: str, latency_cutoff: float | None, clock_period_ns: float = 5.0) -> dict:
    """Write Verilog + program.json for a Conversion; return the emitted metadata."""
    from ..emit import write_verilog

    outdir = Path(outdir)
    write_verilog(conv.program, outdir, name=name, latency_cutoff=latency_cutoff, clock_period_ns=clock_period_ns)
    (outdir / PROGRAM).write_text(conv.program.to_json())
    return json.loads((outdir / 'metadata.json').read_text())


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


def port_stimulus(meta: dict, n_random: int, seed: int, n_corners: int = 256) -> np.ndarray:
    """Bus rows: all fields at min / max / 0 / -1, ``n_corners`` rows mixing the fields'
    extremes at random, then ``n_random`` uniform rows (pads get random bits)."""
    from verif import emitted

    fields = emitted.buses(meta)[0].fields
    rng = np.random.default_rng(seed)
    ext = [f.extremes() for f in fields]
    rows = [[e[min(j, len(e) - 1)] for e in ext] for j in range(4)]
    rows += [[e[rng.integers(len(e))] for e in ext] for _ in range(n_corners)]
    lo = np.array([f.lo for f in fields], dtype=np.int64)
    hi = np.array([f.hi for f in fields], dtype=np.int64)
    rand = rng.integers(lo, hi, size=(n_random, len(fields)), endpoint=True)
    return np.concatenate([np.array(rows, dtype=np.int64).reshape(-1, len(fields)), rand])


def keras_vectors(conv, model, meta: dict, n_random: int, x_data=None, seed: int = 1):
    """Test vectors: the data rows (at the port precision), then field extremes and ``n_random``
    uniform bus words (``port_stimulus``); expected outputs from ``model.predict``.
    Returns (rows, expected, X)."""
    from verif import emitted

    parts = []
    if x_data is not None:
        parts.append(floats_to_bus(meta, conv.flatten_inputs(x_data)))
    if n_random > 0 or not parts:
        parts.append(port_stimulus(meta, n_random, seed))
    rows = np.concatenate(parts)
    X = emitted.bus_to_floats(meta, rows)
    xs = conv.split_inputs(X.astype(np.float32))
    y = model.predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=8192)
    ys = y if isinstance(y, list) else [y]
    Y = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(X), -1) for a in ys], axis=1)
    return rows, outputs_to_bus(meta, Y), X


def check_interpreter(prog: Program, meta: dict, X: np.ndarray, expected: np.ndarray) -> dict:
    """Mismatching rows of the interpreter (all vectors) and of the exact Fraction reference
    (the first N_FRACTION_REFERENCE vectors) against ``expected``."""
    from verif import emitted

    t0 = time.perf_counter()
    interp = emitted.expected_interp(prog, meta, X)
    n_ref = min(len(X), N_FRACTION_REFERENCE)
    ref = emitted.expected_reference(prog, meta, X[:n_ref])
    return {
        'interpreter': {'vectors': len(X), 'mismatches': int(np.count_nonzero(np.any(interp != expected, axis=1)))},
        'reference': {'vectors': n_ref, 'mismatches': int(np.count_nonzero(np.any(ref != expected[:n_ref], axis=1)))},
        'seconds': time.perf_counter() - t0,
    }


def run_bulk(design, rows: np.ndarray, simulator: str, expected: np.ndarray, seed: int = 1) -> dict:
    """``verif.drive.run_bulk`` as a report entry (mismatching rows against ``expected``)."""
    from verif.drive import run_bulk as drive_bulk

    res = drive_bulk(design, rows, simulator, expected=expected, seed=seed)
    return {
        'simulator': simulator,
        'version': res.version,
        'vectors': int(res.n_vectors),
        'mismatches': int(res.mismatches),
        'build_seconds': round(res.build_seconds, 3),
        'rebuilt': bool(res.rebuilt),
        'run_seconds': round(res.run_seconds, 3),
        'vectors_per_second': round(res.n_vectors / max(res.run_seconds, 1e-9)),
        'outputs': res.outputs,
    }


def simulate(outdir: Path, rows: np.ndarray, expected: np.ndarray, simulator: str) -> dict:
    """Bulk-run the design in ``outdir`` in one simulator; mismatching rows against ``expected``."""
    from verif import emitted

    t0 = time.perf_counter()
    res = run_bulk(emitted.emitted_design(outdir), rows, simulator, expected)
    res.pop('outputs')
    res['seconds'] = round(time.perf_counter() - t0, 3)
    return res


def save_reference(outdir: Path, rows, expected, X, labels=None) -> None:
    extra = {} if labels is None else {'labels': np.asarray(labels)}
    np.savez_compressed(Path(outdir) / REFERENCE, inputs=rows, expected=expected, x=X, **extra)


def load_reference(outdir: Path) -> dict:
    with np.load(Path(outdir) / REFERENCE) as data:
        return {k: data[k] for k in data.files}


def write_report(outdir: Path, report: dict) -> Path:
    path = Path(outdir) / REPORT
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=_jsonable) + '\n')
    return path


def read_report(outdir: Path) -> dict:
    return json.loads((Path(outdir) / REPORT).read_text())


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f'{type(o).__name__} is not JSON serializable')


def design_summary(meta: dict) -> dict:
    """The numbers a report shows, from metadata.json."""
    return {
        'top': meta['top'],
        'n_in': meta['n_in'],
        'n_out': meta['n_out'],
        'luts': meta['resources']['luts'],
        'ffs': meta['resources']['ffs'],
        'cost': meta['cost'],
        'latency_cycles': meta['latency_cycles'],
        'latency_levels': meta['latency_levels'],
        'latency_cutoff': meta['latency_cutoff'],
        'clocked': meta['clocked'],
        'n_ops': meta['n_ops'],
    }


def verify_dir(outdir: Path, simulators, on_step=None) -> dict:
    """Replay the stored vectors of ``outdir`` through interpreter, reference and simulators;
    update and return its report (``verification`` section, ``mismatches`` total)."""
    outdir = Path(outdir)
    meta = json.loads((outdir / 'metadata.json').read_text())
    prog = Program.from_json((outdir / PROGRAM).read_text())
    ref = load_reference(outdir)
    rows, expected, X = ref['inputs'], ref['expected'], ref['x']
    report = read_report(outdir) if (outdir / REPORT).is_file() else {}
    step = on_step or (lambda what, fn: fn())
    checks = step('interpreter + reference', lambda: check_interpreter(prog, meta, X, expected))
    sims = {}
    for s in simulators:
        sims[s] = step(f'simulate ({s})', lambda s=s: simulate(outdir, rows, expected, s))
    total = checks['interpreter']['mismatches'] + checks['reference']['mismatches']
    total += sum(r['mismatches'] for r in sims.values())
    report.update(design_summary(meta))
    report['verification'] = {'vectors': len(rows), **checks, 'simulators': sims}
    report['mismatches'] = int(total)
    report['verified'] = sorted(sims)
    write_report(outdir, report)
    return report
