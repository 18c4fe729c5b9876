"""A converted model's output directory: what ``da4ml-core convert`` writes and ``verify`` reads.

An output directory holds the design (``write_verilog``: ``<name>.v``, primitives,
``metadata.json``, project scripts) and:

- ``program.json``   the DAIS program (``Program.from_json``);
- ``reference.npz``  test vectors: ``inputs`` (bus integers, one column per input field) and
  ``expected`` (the output integers Keras's ``model.predict`` gives for them), ``x`` (the
  float inputs the bus words stand for), ``structured`` (which rows are the stimulus
  generator's structured ones: extremes, corner mixes, ties), optional ``labels``;
- ``report.json``    what was converted and measured (conversion, resources, latency,
  vector counts and mismatches per checker).

``verif.flows.converted`` verifies such a directory from these files alone (no Keras).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..hdl.design import METADATA, buses, load_metadata
from ..hdl.stimulus import n_structured, stimulus
from .directed import directed_rows
from .ports import bus_to_floats, floats_to_bus, outputs_to_bus

__all__ = ['PROGRAM', 'REFERENCE', 'REPORT', 'ModelDirError', 'check_design_files', 'check_writable', 'design_summary',
           'keras_vectors', 'load_program', 'load_reference', 'read_report', 'save_reference', 'staged', 'verilog_name',
           'write_design', 'write_report']

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


def write_design(conv, outdir: Path, name: str, latency_cutoff: float | None, clock_period_ns: float = 5.0,
                 interface: str = 'bare') -> dict:
    """Write Verilog (``interface``: see write_verilog) + program.json for a Conversion; return
    the emitted metadata."""
    from da4ml_core.emit import write_verilog

    outdir = Path(outdir)
    write_verilog(conv.program, outdir, name=name, latency_cutoff=latency_cutoff, clock_period_ns=clock_period_ns,
                  interface=interface)
    (outdir / PROGRAM).write_text(conv.program.to_json())
    return load_metadata(outdir)


def check_writable(outdir: Path) -> None:
    """A ModelDirError now, before any work, if files cannot be created in ``outdir`` (or, when it
    does not exist yet, in the directory that would hold it)."""
    outdir = Path(outdir)
    where = outdir if outdir.exists() else next((p for p in outdir.parents if p.exists()), Path('.'))
    if not where.is_dir():
        raise ModelDirError(f'{outdir}: {where} is not a directory')
    try:
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as exc:
        raise ModelDirError(f'{outdir}: cannot write in {where} ({exc.strerror or exc})') from None


@contextlib.contextmanager
def staged(outdir: Path) -> Iterator[Path]:
    """A scratch directory beside ``outdir`` to write into; its files move into ``outdir`` only
    when the block succeeds, so a failure leaves ``outdir`` as it was."""
    outdir = Path(outdir)
    check_writable(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{outdir.name}.partial-', dir=outdir.parent))
    try:
        yield tmp
        _move_into(tmp, outdir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_into(tmp: Path, outdir: Path) -> None:
    try:
        if not outdir.exists():
            os.rename(tmp, outdir)
            return
        for entry in sorted(tmp.iterdir()):
            target = outdir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    except OSError as exc:
        raise ModelDirError(f'{outdir}: cannot write ({exc.strerror or exc})') from exc


def load_program(outdir: Path):
    """``program.json`` as a Program; a ModelDirError naming the file if it is missing or corrupt."""
    from da4ml_core.ir import Program, ProgramError

    path = Path(outdir) / PROGRAM
    try:
        return Program.from_json(path.read_text())
    except (OSError, UnicodeDecodeError, ProgramError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ModelDirError(f'{path}: unreadable ({reason}); write it again with da4ml-core convert') from None


def check_design_files(outdir: Path, meta: dict) -> None:
    """Every source metadata.json names is there and the simulator's front end elaborates them
    (Icarus for Verilog, GHDL for VHDL): a missing, truncated or broken file is a ModelDirError
    naming it, before any testbench is built around it."""
    from ..sim.lint import ghdl_analysis, icarus_elaboration

    outdir = Path(outdir)
    sources = [outdir / s for s in meta['sources']]
    for path in sources:
        if not path.is_file():
            raise ModelDirError(f'{path}: missing (metadata.json lists it); write the design again with '
                                'da4ml-core convert')
    vhdl = meta.get('language') == 'vhdl'
    for path in [] if vhdl else sources:
        opened = _unclosed_module(path.read_text(errors='replace'))
        if opened:
            raise ModelDirError(f'{path}: incomplete (module {opened} has no endmodule); write the design again with '
                                'da4ml-core convert')
    found = (ghdl_analysis if vhdl else icarus_elaboration)(sources, meta['top'])
    if found:
        names = [p.name for p in sources]
        first = next((ln for ln in found.splitlines() if any(n in ln for n in names)), found.splitlines()[0])
        raise ModelDirError(f'{outdir}: the design does not elaborate: {first.strip()}; write it again with '
                            'da4ml-core convert')


def keras_vectors(conv, model, meta: dict, n_random: int, x_data=None, seed: int = 1):
    """Test vectors: the data rows (at the port precision), then the stimulus generator's rows
    (field extremes, corner mixes, ``n_random`` uniform bus words), then directed rows for the
    program's corners those miss (``verif.flows.directed``); expected outputs from
    ``model.predict``. Returns (rows, expected, X, structured): ``structured`` marks the
    generator's structured rows and the directed ones, which every simulator runs under a
    sampling policy."""
    fields = buses(meta)[0].fields
    parts, marks = [], []
    if x_data is not None:
        parts.append(floats_to_bus(meta, conv.flatten_inputs(x_data)))
        marks.append(np.zeros(len(parts[0]), bool))
    if n_random > 0 or not parts:
        parts.append(stimulus(fields, n_random, seed, n_mixes=N_CORNER_MIXES))
        marks.append(np.arange(len(parts[-1])) < n_structured(fields, seed, n_mixes=N_CORNER_MIXES))
    rows = np.concatenate(parts)
    directed = directed_rows(conv.program, meta, rows, seed=seed)
    rows = np.concatenate([rows, directed])
    marks.append(np.ones(len(directed), bool))
    X = bus_to_floats(meta, rows)
    xs = conv.split_inputs(X.astype(np.float32))
    y = model.predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=8192)
    ys = y if isinstance(y, list) else [y]
    Y = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(X), -1) for a in ys], axis=1)
    return rows, outputs_to_bus(meta, Y), X, np.concatenate(marks)


def save_reference(outdir: Path, rows, expected, X, labels=None, structured=None) -> None:
    extra = {} if labels is None else {'labels': np.asarray(labels)}
    if structured is not None:
        extra['structured'] = np.asarray(structured, dtype=bool)
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


def _unclosed_module(text: str) -> str:
    """The name of a Verilog module the text opens but never closes ('' if none): a cut file."""
    text = re.sub(r'//[^\n]*|/\*.*?\*/', ' ', text, flags=re.S)
    opened = ''
    for m in re.finditer(r'\b(endmodule|module)\b\s*(\w*)', text):
        opened = m.group(2) or '?' if m.group(1) == 'module' else ''
    return opened


def write_report(outdir: Path, report: dict) -> Path:
    path = Path(outdir) / REPORT
    try:
        path.write_text(json.dumps(report, indent=2, sort_keys=True, default=_jsonable) + '\n')
    except PermissionError as exc:
        raise ModelDirError(f'{path}: cannot write ({exc.strerror})') from None
    return path


def read_report(outdir: Path) -> dict:
    """``report.json``; a ModelDirError naming the file if it is not a readable report."""
    path = Path(outdir) / REPORT
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ModelDirError(f'{path}: not a readable {REPORT} ({reason}); write it again with da4ml-core convert') \
            from None
    if not isinstance(report, dict):
        raise ModelDirError(f'{path}: not a readable {REPORT} (a JSON object was expected); write it again with '
                            'da4ml-core convert')
    return report


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
