"""A converted model's output directory: what ``da4ml-core convert`` writes and ``verify`` reads.

An output directory holds the design (``write_verilog``: ``<name>.v``, primitives,
``metadata.json``, project scripts) and:

- ``program.json``   the DAIS program (``Program.from_json``);
- ``reference.npz``  test vectors: ``inputs`` (bus integers, one column per input field) and
  ``expected`` (the output integers Keras's ``model.predict`` gives for them), ``x`` (the
  float inputs the bus words stand for), optional ``labels``;
- ``report.json``    what was converted and measured (conversion, resources, latency,
  vector counts and mismatches per checker).

``verif.flows.converted`` verifies such a directory from these files alone (no Keras).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np

from ..hdl.design import METADATA, buses
from ..hdl.stimulus import stimulus
from .directed import directed_rows
from .ports import bus_to_floats, floats_to_bus, outputs_to_bus

__all__ = ['PROGRAM', 'REFERENCE', 'REPORT', 'ModelDirError', 'design_summary', 'keras_vectors', 'load_reference',
           'read_report', 'save_reference', 'verilog_name', 'write_design', 'write_report']

PROGRAM = 'program.json'
REFERENCE = 'reference.npz'
REPORT = 'report.json'
N_CORNER_MIXES = 256  # rows mixing the input fields' extremes at random, besides the data


class ModelDirError(ValueError):
    """A file of an output directory is missing, truncated or not what convert writes."""


def verilog_name(name: str) -> str:
    """A Verilog module name from a model name."""
    s = re.sub(r'\W', '_', name).strip('_') or 'top'
    return s if not s[0].isdigit() else f'm_{s}'


def write_design(conv, outdir: Path, name: str, latency_cutoff: float | None, clock_period_ns: float = 5.0) -> dict:
    """Write Verilog + program.json for a Conversion; return the emitted metadata."""
    from da4ml_core.emit import write_verilog

    outdir = Path(outdir)
    write_verilog(conv.program, outdir, name=name, latency_cutoff=latency_cutoff, clock_period_ns=clock_period_ns)
    (outdir / PROGRAM).write_text(conv.program.to_json())
    return json.loads((outdir / METADATA).read_text())


def keras_vectors(conv, model, meta: dict, n_random: int, x_data=None, seed: int = 1):
    """Test vectors: the data rows (at the port precision), then the stimulus generator's rows
    (field extremes, corner mixes, ``n_random`` uniform bus words), then directed rows for the
    program's corners those miss (``verif.flows.directed``); expected outputs from
    ``model.predict``. Returns (rows, expected, X)."""
    parts = []
    if x_data is not None:
        parts.append(floats_to_bus(meta, conv.flatten_inputs(x_data)))
    if n_random > 0 or not parts:
        parts.append(stimulus(buses(meta)[0].fields, n_random, seed, n_mixes=N_CORNER_MIXES))
    rows = np.concatenate(parts)
    rows = np.concatenate([rows, directed_rows(conv.program, meta, rows, seed=seed)])
    X = bus_to_floats(meta, rows)
    xs = conv.split_inputs(X.astype(np.float32))
    y = model.predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=8192)
    ys = y if isinstance(y, list) else [y]
    Y = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(X), -1) for a in ys], axis=1)
    return rows, outputs_to_bus(meta, Y), X


def save_reference(outdir: Path, rows, expected, X, labels=None) -> None:
    extra = {} if labels is None else {'labels': np.asarray(labels)}
    np.savez_compressed(Path(outdir) / REFERENCE, inputs=rows, expected=expected, x=X, **extra)


def load_reference(outdir: Path) -> dict:
    """The arrays of ``reference.npz``; a ModelDirError naming the file if it is unreadable."""
    path = Path(outdir) / REFERENCE
    try:
        with np.load(path) as data:
            ref = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelDirError(f'{path}: unreadable ({exc}); write it again with da4ml-core convert') from None
    missing = {'inputs', 'expected'} - set(ref)
    if missing:
        raise ModelDirError(f'{path} has no {", ".join(sorted(missing))}; write it again with da4ml-core convert')
    return ref


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
    keys = ('top', 'n_in', 'n_out', 'cost', 'latency_cycles', 'latency_levels', 'latency_cutoff', 'clocked', 'n_ops')
    return {**{k: meta[k] for k in keys}, 'luts': meta['resources']['luts'], 'ffs': meta['resources']['ffs']}
