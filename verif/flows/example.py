"""The main job: the bundled example converted, written as Verilog, verified in both simulators.

``python -m da4ml_core`` (or ``da4ml-core demo``): loads the bundled HGQ2 jet tagger
(``da4ml_core/examples/jet_tagger``: ``model.keras`` + ``data.npz``), converts it, writes a
pipelined design, builds test vectors (the 1000 test samples plus field extremes and uniform
random port words) with Keras's ``model.predict`` as the oracle, checks the interpreter and the
exact reference against Keras on every vector, simulates the design in Icarus Verilog and Verilator
(bulk path), and prints a report. Exit status 0 when every checker agrees with Keras, 1 if not.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ['Steps', 'run_demo']


class Steps:
    """One progress line per step: a spinner and elapsed time while it runs, a result after."""

    def __init__(self, console):
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn('{task.description}'), BarColumn(bar_width=20),
                                 TimeElapsedColumn(), console=console, transient=False)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, what: str, fn, done=None):
        task = self.progress.add_task(what, total=1)
        t0 = time.perf_counter()
        result = fn()
        note = done(result) if done is not None else ''
        self.progress.update(task, completed=1,
                             description=f'{what}{" - " + note if note else ""} ({time.perf_counter() - t0:.1f} s)')
        return result


def _accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(scores.reshape(len(scores), -1), axis=1) == labels))


def run_demo(outdir: Path | None = None, n_random: int = 10_000, latency_cutoff: float | None = 2,
             simulators=('icarus', 'verilator'), console=None) -> int:
    """Run the main job; return the exit status (0: all checks agree with Keras)."""
    from rich.console import Console

    from da4ml_core.convert.examples import EXAMPLE, example_files

    from . import model_dir as wf
    from .converted import verify_dir

    console = console or Console(stderr=False)
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if outdir is None:
            outdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix='da4ml-demo-')))
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        model_path, data_path = stack.enter_context(example_files())
        console.print(f'[bold]da4ml-core[/bold]: bundled example {EXAMPLE!r} -> {outdir}')
        with Steps(console) as step:
            model = step('load model (Keras, JAX backend)', lambda: _load(model_path))
            with np.load(data_path) as d:
                x_test, y_test = d['x_test'], d['y_test']
            conv = step('convert to a DAIS program', lambda: _convert(model),
                        lambda c: f'{len(c.program.ops)} ops, {c.program.cost:.0f} LUT-bits')
            name = wf.verilog_name(conv.name)
            meta = step('write Verilog', lambda: wf.write_design(conv, outdir, name, latency_cutoff),
                        lambda m: f'{m["latency_cycles"]} cycles, ~{m["resources"]["luts"]} LUTs, '
                                  f'{m["resources"]["ffs"]} FFs')
            rows, expected, X, structured = step('test vectors from model.predict',
                                     lambda: wf.keras_vectors(conv, model, meta, n_random, x_test),
                                     lambda r: f'{len(r[0])} vectors')
            wf.save_reference(outdir, rows, expected, X, y_test, structured)
            y_keras = model.predict(x_test, verbose=0, batch_size=4096)
            y_prog = conv.predict(x_test)
            report = {
                'model': f'bundled:{EXAMPLE}', 'name': conv.name, 'conversion_seconds': conv.seconds,
                'input_mode': conv.input_mode, 'layers': conv.layers,
                'max_accumulator_bits': conv.max_accumulator_bits,
                'float32_issues': [str(i) for i in conv.float32_issues],
                'accuracy': _accuracy(y_prog, y_test), 'accuracy_keras': _accuracy(np.asarray(y_keras), y_test),
                'data_vectors': len(x_test),
            }
            wf.write_report(outdir, report)
            report = verify_dir(outdir, simulators, on_step=lambda what, fn: step(what, fn, _step_note))
        report['seconds'] = time.perf_counter() - t_start
        wf.write_report(outdir, report)
        _print_report(console, report)
    return 0 if report['mismatches'] == 0 else 1


def _load(path):
    from da4ml_core.convert import load_model

    return load_model(path)


def _convert(model):
    from da4ml_core.convert import convert_model

    return convert_model(model, on_inexact='error')


def _step_note(result) -> str:
    """A simulation step's note: simulator, vectors and speed (mismatches are in the final table)."""
    if hasattr(result, 'vectors_per_second'):
        return f'{result.simulator} {result.version}: {result.n_vectors} vectors, {result.vectors_per_second():,.0f}/s'
    return ''


def _print_report(console, r: dict) -> None:
    from rich.table import Table

    t = Table(title=f'{r["name"]}: HGQ2 model -> Verilog, verified', show_header=False)
    t.add_column(style='bold')
    t.add_column()
    t.add_row('accuracy (data.npz)', f'{r["accuracy"]:.4f} (Keras {r["accuracy_keras"]:.4f})')
    t.add_row('LUT / FF estimate', f'{r["luts"]} LUTs, {r["ffs"]} FFs (cost {r["cost"]:.0f} LUT-bits)')
    cutoff = r['latency_cutoff']
    t.add_row('latency', f'{r["latency_cycles"]} cycles ({r["latency_levels"]:g} adder levels'
                         f'{f", {cutoff:g} per stage" if cutoff is not None else ", combinational"}), II = 1')
    v = r['verification']
    t.add_row('vectors', f'{v["vectors"]} ({r["data_vectors"]} test samples + extremes + random port words + directed rows)')
    t.add_row('interpreter vs Keras', f'mismatches: {v["interpreter"]["mismatches"]}')
    t.add_row('exact reference vs Keras', f'mismatches: {v["reference"]["mismatches"]} '
                                             f'({v["reference"]["vectors"]} vectors)')
    for s in v['simulators'].values():
        t.add_row(f'{s["simulator"]} {s["version"]} vs Keras',
                  f'mismatches: {s["mismatches"]} ({s["vectors_per_second"]:,} vectors/s)')
    t.add_row('total', f'mismatches: {r["mismatches"]}, {r["seconds"]:.1f} s')
    console.print(t)
    console.print('[bold green]all checks passed[/bold green]' if r['mismatches'] == 0
                  else f'[bold red]FAILED: {r["mismatches"]} mismatching vectors[/bold red]')
