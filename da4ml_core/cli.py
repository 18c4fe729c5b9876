"""``da4ml-core``: convert HGQ2 / Keras models to verified Verilog.

    da4ml-core                          the main job: the bundled example, converted and verified
    da4ml-core demo [--out DIR]         the same, keeping the design in DIR
    da4ml-core convert MODEL OUTDIR [--latency-cutoff N] [--hard-dc N] [--input-kif K I F]
                                        [--interface bare|valid|axis]
                                        [--verify icarus,verilator] [-n N] [--data NPZ]
    da4ml-core verify OUTDIR [--simulators icarus,verilator] [--sample icarus=N] [--mutants N]
                                        [--toggle-coverage]
    da4ml-core report DIR... [-o FILE.json|.csv|.md] [--synth [--family xilinx|ecp5]]
    da4ml-core release OUTDIR --out BUNDLE [--vectors N] [--sample icarus=N] [--min-coverage X]
                                        [--toggle-coverage]
                                        the release gate (verif.flows.release)

MODEL is a ``.keras`` file, or ``example`` for the bundled one. Exit status:

    0  success
    1  verification failed: some checker disagrees with Keras, or the release gate refused
    2  usage error or bad input (arguments, unreadable files, a model input needing --input-kif)
    3  the model cannot be converted exactly (unsupported layer or setting; with
       --strict-float32 also Keras float32 inexactness)
    4  environment: Keras / JAX / hgq2, a simulator or yosys missing, a simulator build or run failed

Errors are one line on stderr; ``--debug`` shows the traceback.

This is the application layer: the only compiler module that imports the harness (``verif``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import traceback
import warnings
from pathlib import Path

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_UNSUPPORTED, EXIT_ENV = 0, 1, 2, 3, 4
SIMULATORS = ('icarus', 'verilator')
INTERFACES = ('bare', 'valid', 'axis')  # da4ml_core.emit.INTERFACES (a test keeps them equal); not imported: start-up time
REPORT_COLUMNS = ('design', 'model', 'n_in', 'n_out', 'luts', 'ffs', 'cost', 'latency_cycles', 'latency_levels',
                  'vectors', 'mismatches', 'verified', 'toggle')
SYNTH_COLUMNS = ('synth_luts', 'lut1', 'lut2', 'lut3', 'lut4', 'lut5', 'lut6', 'carry', 'muxf', 'synth_ffs')

SCHEDULER_HELP = ("where the simulations run: 'local' (default: an embedded Dask LocalCluster, one worker per "
                  "core), 'none' (in this process), or the address of a running Dask scheduler (tcp://host:port)")

SAMPLE_HELP = ("big designs: SIMULATOR runs every structured vector (extremes, corner mixes, ties) plus N of the "
               "others, evenly spread (e.g. icarus=2000); repeatable; default: every vector on every simulator")

__all__ = ['main']


class UsageError(Exception):
    """Bad arguments or input files (exit 2)."""


# ------------------------------------------------------------------ arguments


def _simulators(text: str) -> list[str]:
    names = [s.strip().lower() for s in text.split(',') if s.strip()]
    bad = [s for s in names if s not in SIMULATORS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f'simulators must be a comma-separated subset of {",".join(SIMULATORS)}')
    return list(dict.fromkeys(names))


def _sample(text: str) -> tuple[str, int]:
    sim, _, count = text.partition('=')
    sim = sim.strip().lower()
    if sim not in SIMULATORS or not count.strip().isdigit():
        raise argparse.ArgumentTypeError(f'--sample {text!r}: expected SIMULATOR=N with SIMULATOR one of '
                                         f'{",".join(SIMULATORS)} and N >= 0, e.g. icarus=2000')
    return sim, int(count)


def _positive(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f'expected a non-negative integer, got {text}')
    return n


def _fraction(text: str) -> float:
    x = float(text)
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f'expected a fraction in [0, 1], got {text}')
    return x


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='da4ml-core', description='HGQ2 / Keras models to bit-exact, verified Verilog.',
                                epilog='Exit status: 0 ok, 1 verification mismatch, 2 usage / bad input, '
                                       '3 unsupported model, 4 environment (tools missing or failing).')
    p.add_argument('--debug', action='store_true', help='show tracebacks')
    sub = p.add_subparsers(dest='verb')

    d = sub.add_parser('demo', help='convert and verify the bundled example (the default verb)')
    d.add_argument('--out', type=Path, default=None, help='keep the design in this directory (default: a temp dir)')
    d.add_argument('-n', type=_positive, default=10_000, help='random port words besides the data (default 10000)')
    d.add_argument('--latency-cutoff', type=float, default=2.0, help='adder levels per pipeline stage (default 2)')
    d.add_argument('--simulators', type=_simulators, default=list(SIMULATORS), help='default icarus,verilator')

    c = sub.add_parser('convert', help='convert a .keras model to Verilog (and verify it)')
    c.add_argument('model', help="a .keras file, or 'example' for the bundled model")
    c.add_argument('outdir', type=Path)
    c.add_argument('--name', default=None, help='top module name (default: from the model name)')
    c.add_argument('--latency-cutoff', type=float, default=None,
                   help='adder levels per pipeline stage (default: combinational)')
    c.add_argument('--hard-dc', type=int, default=None, help='CMVM optimizer: max extra adder depth (hard_dc)')
    c.add_argument('--input-kif', nargs='+', metavar='K I F', default=None,
                   help="input port precision (k i f), or 'quantizer' for the first quantizer's own")
    c.add_argument('--verify', type=_simulators, default=None, metavar='SIMS',
                   help='verify in these simulators (icarus,verilator) after writing')
    c.add_argument('-n', type=_positive, default=1000, help='random port words in the test vectors (default 1000)')
    c.add_argument('--data', type=Path, default=None, help='.npz with inputs (x / x_test) [and labels (y / y_test)]')
    c.add_argument('--strict-float32', action='store_true',
                   help='refuse models where Keras float32 may be inexact (exit 3) instead of warning')
    c.add_argument('--clock-period', type=float, default=5.0, help='ns, for the constraint files (default 5)')
    c.add_argument('--interface', choices=INTERFACES, default='bare',
                   help='ports: bare (clk, inp, out; default), valid (in_valid / out_valid, rst, ce) or axis '
                        '(AXI4-Stream); see the README')
    c.add_argument('--scheduler', default='local', help=SCHEDULER_HELP)
    c.add_argument('--sample', type=_sample, action='append', default=None, metavar='SIM=N',
                   help=SAMPLE_HELP)

    v = sub.add_parser('verify', help='re-run the stored vectors of a converted design')
    v.add_argument('outdir', type=Path)
    v.add_argument('--simulators', type=_simulators, default=list(SIMULATORS))
    v.add_argument('--scheduler', default='local', help=SCHEDULER_HELP)
    v.add_argument('--sample', type=_sample, action='append', default=None, metavar='SIM=N',
                   help=SAMPLE_HELP)
    v.add_argument('--mutants', type=_positive, default=0, metavar='N',
                   help='then judge N seeded single-fault mutants of the design on the same vectors')
    v.add_argument('--toggle-coverage', action='store_true',
                   help="also Verilator's toggle coverage of the stored vectors (an extra build; needs "
                        'verilator_coverage: apt-get install verilator); annotated sources in OUTDIR/toggle_coverage/')

    r = sub.add_parser('report', help='summarise converted designs')
    r.add_argument('dirs', type=Path, nargs='+')
    r.add_argument('-o', '--output', type=Path, default=None, help='write .json, .csv or .md instead of a table')
    r.add_argument('--synth', action='store_true',
                   help='synthesize each design with yosys and add its LUT (by size), carry, mux and FF counts '
                        '(stored in the design\'s report.json; cached)')
    r.add_argument('--family', default='xilinx', choices=('xilinx', 'ecp5'),
                   help='FPGA family of --synth (default xilinx: 7-series cells)')

    g = sub.add_parser('release', help='verify a design directory again and write a release bundle (verif.flows.release)')
    g.add_argument('outdir', type=Path, help='design directory: a converted model (convert OUTDIR) or a regression spec design')
    g.add_argument('--out', dest='bundle', type=Path, required=True, help='bundle directory to create (must not exist)')
    g.add_argument('--vectors', type=int, default=None, help='bulk vectors per simulator (gate default if omitted)')
    g.add_argument('--per-cycle', type=int, default=None, help='per-cycle cocotb vectors per simulator')
    g.add_argument('--seed', type=int, default=None, help="stimulus seed (default: the spec's)")
    g.add_argument('--scheduler', default='local', help=SCHEDULER_HELP)
    g.add_argument('--sample', type=_sample, action='append', default=None, metavar='SIM=N',
                   help=SAMPLE_HELP)
    g.add_argument('--min-coverage', type=_fraction, default=None, metavar='X',
                   help='refuse when the vectors reach less than this fraction of the coverage events')
    g.add_argument('--toggle-coverage', action='store_true',
                   help="record Verilator's toggle coverage of the gate's vectors in verification.json (an extra build)")
    return p


# ------------------------------------------------------------------ verbs


def _input_kif(values):
    if values is None:
        return None
    if values == ['quantizer']:
        return 'quantizer'
    if len(values) != 3:
        raise UsageError("--input-kif takes three integers K I F, or 'quantizer'")
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        raise UsageError(f'--input-kif: not integers: {" ".join(values)}') from None


def _load_data(path: Path):
    import numpy as np

    if not path.is_file():
        raise UsageError(f'--data {path}: no such file')
    try:
        with np.load(path) as d:
            keys = list(d.files)
            xk = next((k for k in ('x_test', 'x', 'X') if k in keys), keys[0] if keys else None)
            yk = next((k for k in ('y_test', 'y', 'labels') if k in keys), None)
            if xk is None:
                raise UsageError(f'--data {path}: no arrays')
            x, y = d[xk], (d[yk] if yk else None)
    except (OSError, ValueError, EOFError) as err:
        raise UsageError(f'--data {path}: {err}') from None
    if x.dtype.kind not in 'biuf':
        raise UsageError(f'--data {path}: {xk!r} holds {x.dtype} values, not numbers')
    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1) if x.ndim else np.isfinite(x)
    if not np.all(finite):
        row = int(np.flatnonzero(~finite)[0]) if x.ndim else 0
        raise UsageError(f'--data {path}: {xk!r} row {row} is not finite (NaN or inf); fix or drop that row')
    return x, y


def _model_path(text: str):
    from .convert.examples import example_files

    if text == 'example':
        return example_files()
    path = Path(text)
    if not path.is_file():
        raise UsageError(f'model {text}: no such file')
    if path.suffix != '.keras':
        raise UsageError(f'model {text}: expected a .keras file')
    import contextlib

    return contextlib.nullcontext((path, None))


def cmd_convert(args, out) -> int:
    import numpy as np

    from verif.flows import model_dir as wf

    from .convert import Float32Warning, ModelFileError, convert_model, load_model

    kif = _input_kif(args.input_kif)
    data = _load_data(args.data) if args.data is not None else None
    wf.check_writable(args.outdir)  # before the conversion, not after it
    opts = {} if args.hard_dc is None else {'hard_dc': args.hard_dc}
    with _model_path(args.model) as (path, example_data):
        if data is None and example_data is not None:
            with np.load(example_data) as d:
                data = (d['x_test'], d['y_test'])
        try:
            model = load_model(path)
        except ModelFileError as err:  # its message names the file and what is wrong with it
            raise UsageError(_first_line(err)) from err
        except (ValueError, OSError) as err:
            raise UsageError(f'model {args.model}: cannot be loaded ({_first_line(err)})') from err
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', Float32Warning)
            conv = convert_model(model, kif, on_inexact='error' if args.strict_float32 else 'warn', **opts)
        for w in caught:
            if issubclass(w.category, Float32Warning):
                print(f'da4ml-core: warning: {_first_line(w.message)}', file=sys.stderr)
        with wf.staged(args.outdir) as tmp:  # nothing lands in OUTDIR unless every file is written
            name = args.name or wf.verilog_name(conv.name)
            meta = wf.write_design(conv, tmp, name, args.latency_cutoff, args.clock_period, args.interface)
            x_data, labels = data if data is not None else (None, None)
            try:
                rows, expected, X, structured = wf.keras_vectors(conv, model, meta, args.n, x_data)
            except ValueError as err:
                where = f'--data {args.data}' if args.data is not None else 'the example data'
                raise UsageError(f'{where}: {_first_line(err)}') from err
            wf.save_reference(tmp, rows, expected, X, structured=structured)
            report = {'model': str(args.model), 'name': conv.name, 'conversion_seconds': conv.seconds,
                      'input_mode': conv.input_mode, 'layers': conv.layers,
                      'max_accumulator_bits': conv.max_accumulator_bits,
                      'float32_issues': [str(i) for i in conv.float32_issues],
                      'data_vectors': 0 if x_data is None else len(x_data), **wf.design_summary(meta)}
            if x_data is not None and labels is not None:
                y = conv.predict(x_data)
                report['accuracy'] = float(np.mean(np.argmax(np.reshape(y, (len(y), -1)), axis=1) == labels))
            report['vectors'] = len(rows)
            wf.write_report(tmp, report)
    print(f'{conv.name}: {len(conv.program.ops)} ops, ~{meta["resources"]["luts"]} LUTs, {meta["resources"]["ffs"]} FFs, '
          f'latency {meta["latency_cycles"]} cycles; {len(rows)} vectors -> {args.outdir}', file=out)
    if args.verify:
        return _verify(args.outdir, args.verify, out, args.scheduler, dict(args.sample or ()))
    return EXIT_OK


def _verify(outdir: Path, simulators, out, scheduler: str = 'local', samples: dict | None = None,
            mutants: int = 0, toggle: bool = False) -> int:
    from verif.flows import model_dir as wf
    from verif.flows.converted import verify_dir
    from verif.sim.shard import scheduler_client

    for f in ('metadata.json', wf.PROGRAM, wf.REFERENCE):
        if not (outdir / f).is_file():
            raise UsageError(f'{outdir}: no {f} (not a directory written by da4ml-core convert)')
    from verif.hdl.design import load_metadata

    if 'interface' in load_metadata(outdir):  # a readable metadata.json, or an error naming it
        if toggle:
            raise UsageError(f'--toggle-coverage: {outdir} is behind a valid / axis wrapper; toggle coverage is '
                             f'measured on bare designs (flat inp / out buses) only')
        return _verify_interface(outdir, simulators, out)
    with scheduler_client(scheduler) as client:
        report = verify_dir(outdir, simulators, client=client, samples=samples, toggle=toggle)
    v = report['verification']
    parts = [f'interpreter {v["interpreter"]["mismatches"]}', f'reference {v["reference"]["mismatches"]}']
    parts += [f'{s} {r["mismatches"]}' + (f' (of {r["vectors"]} sampled)' if 'sample' in r else '')
              for s, r in v['simulators'].items()]
    print(f'{outdir}: {v["vectors"]} vectors, mismatches vs Keras: {", ".join(parts)}', file=out)
    for s, r in v['simulators'].items():  # what the simulations cost: big designs are dominated by builds
        built = 'cached build' if not r.get('rebuilt', True) else f'build {r.get("build_seconds", 0):.1f} s'
        print(f'  {s}: {built}, {r["vectors"]} vectors in {r.get("run_seconds", 0):.1f} s '
              f'({r.get("vectors_per_second", 0):,} vectors/s)', file=out)
    if 'coverage' in report:
        print(f'{outdir}: {report["coverage"]["line"]}', file=out)
    if 'toggle_coverage' in report:
        print(f'{outdir}: {report["toggle_coverage"]["line"]}', file=out)
    if mutants and report['mismatches'] == 0:
        from verif.flows.mutation import verify_mutants

        sim_name = 'verilator' if 'verilator' in simulators else simulators[0]
        print('\n'.join(verify_mutants(outdir, mutants, simulator=sim_name)), file=out)
    return EXIT_OK if report['mismatches'] == 0 else EXIT_MISMATCH


def _verify_interface(outdir: Path, simulators, out) -> int:
    """A design behind a valid / axis wrapper: the stored vectors streamed through it."""
    from verif.flows.interface_check import verify_interface_dir

    report = verify_interface_dir(outdir, simulators)
    v = report['verification']
    parts = [f'{s} {"ok" if r["passed"] else "FAILED: " + "; ".join(r["problems"][:2])}'
             for s, r in v['simulators'].items()]
    print(f'{outdir}: {v["vectors"]} vectors streamed through the {v["interface"]} wrapper vs Keras: '
          f'{", ".join(parts)}', file=out)
    return EXIT_OK if report['mismatches'] == 0 else EXIT_MISMATCH


def cmd_verify(args, out) -> int:
    return _verify(args.outdir, args.simulators, out, args.scheduler, dict(args.sample or ()), args.mutants,
                   args.toggle_coverage)


def _report_row(d: Path) -> dict:
    from verif.flows import model_dir as wf
    from verif.hdl.design import METADATA, load_metadata

    if (d / wf.REPORT).is_file():
        rep = wf.read_report(d)
    elif (d / METADATA).is_file():
        meta = load_metadata(d)
        try:
            rep = wf.design_summary(meta)
        except KeyError as err:
            raise UsageError(f'{d / METADATA} has no {err}; write the design again with da4ml-core convert') from None
    else:
        raise UsageError(f'{d}: no report.json or metadata.json')
    row = {k: rep.get(k) for k in REPORT_COLUMNS}
    row['design'] = rep.get('top', d.name)
    row['model'] = rep.get('model', '')
    row['vectors'] = rep.get('verification', {}).get('vectors', rep.get('vectors'))
    row['verified'] = ','.join(rep.get('verified', [])) or '-'
    toggle = rep.get('toggle_coverage')
    row['toggle'] = f'{toggle["points_hit"]}/{toggle["points"]}' if toggle and 'points' in toggle else '-'
    row['dir'] = str(d)
    return row


def _synth_row(d: Path, row: dict, family: str) -> None:
    """Synthesize design ``d`` with yosys; add the counts to ``row`` and to its report.json."""
    from verif.flows import model_dir as wf

    from .synth import synthesize

    res = synthesize(d, family)
    row.update({'synth_luts': res['luts'], 'carry': res['carry'], 'muxf': res['muxf'], 'synth_ffs': res['ffs'],
                **{f'lut{n}': res['luts_by_size'][str(n)] for n in range(1, 7)}})
    if (d / wf.REPORT).is_file():
        rep = json.loads((d / wf.REPORT).read_text())
        rep.setdefault('synthesis', {})[family] = {k: v for k, v in res.items() if k != 'cached'}
        wf.write_report(d, rep)


def format_report(rows: list[dict], fmt: str, synth: bool = False) -> str:
    """The rows as 'table', 'json', 'csv' or 'md' text (``synth``: with the yosys columns)."""
    cols = list(REPORT_COLUMNS) + (list(SYNTH_COLUMNS) if synth else []) + ['dir']
    if fmt == 'json':
        return json.dumps(rows, indent=2) + '\n'
    cell = [[('' if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    if fmt == 'csv':
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator='\n')
        w.writerow(cols)
        w.writerows(cell)
        return buf.getvalue()
    if fmt == 'md':
        lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
        lines += ['| ' + ' | '.join(c) + ' |' for c in cell]
        return '\n'.join(lines) + '\n'
    widths = [max(len(c), *(len(x[j]) for x in cell)) for j, c in enumerate(cols)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ['  '.join(x.ljust(w) for x, w in zip(row, widths)) for row in cell]
    return '\n'.join(line.rstrip() for line in lines) + '\n'


def cmd_report(args, out) -> int:
    fmt = 'table'
    if args.output is not None:
        fmt = {'.json': 'json', '.csv': 'csv', '.md': 'md'}.get(args.output.suffix.lower())
        if fmt is None:
            raise UsageError(f'-o {args.output}: the extension must be .json, .csv or .md')
        if not args.output.parent.is_dir():
            raise UsageError(f'-o {args.output}: no directory {args.output.parent}')
    rows = [_report_row(d) for d in args.dirs]
    if args.synth:
        for d, row in zip(args.dirs, rows):
            _synth_row(d, row, args.family)
    text = format_report(rows, fmt, args.synth)
    if args.output is None:
        out.write(text)
    else:
        try:
            args.output.write_text(text)
        except OSError as err:
            raise UsageError(f'-o {args.output}: cannot write ({err.strerror or err})') from None
        print(f'{len(rows)} designs -> {args.output}', file=out)
    return EXIT_MISMATCH if any((r.get('mismatches') or 0) > 0 for r in rows) else EXIT_OK


def cmd_release(args, out) -> int:
    """The release gate of ``verif.flows.release`` on a design directory (converted model or regression
    spec design): verified again in both simulators, bundled only if everything passes."""
    if not args.outdir.is_dir():
        raise UsageError(f'{args.outdir}: no such directory')
    from verif.flows.model_dir import check_writable

    check_writable(args.bundle)  # now, not after minutes of simulation
    try:
        from verif.flows import release as gate
    except ImportError as err:
        raise OSError(f'the release gate (verif.flows.release) cannot be imported: {_first_line(err)}') from None
    kw = {k: v for k, v in (('n_vectors', args.vectors), ('per_cycle', args.per_cycle), ('seed', args.seed),
                            ('min_coverage', args.min_coverage)) if v is not None}
    if args.toggle_coverage:
        kw['toggle_coverage'] = True
    from verif.sim.shard import scheduler_client

    with scheduler_client(args.scheduler) as client:
        result = gate.release(args.outdir, args.bundle, client=client, samples=dict(args.sample or ()), **kw)
    for run in result.report.get('runs', []):
        print(f'  {gate.run_line(run)}', file=out)
    if result.released:
        print(f'RELEASED {result.bundle}', file=out)
        return EXIT_OK
    print(f'REFUSED {args.outdir}: nothing written', file=out)
    for reason in result.reasons:
        print(f'- {reason}', file=out)
    return EXIT_MISMATCH


def cmd_demo(args, out) -> int:
    from rich.console import Console

    from verif.flows.example import run_demo

    return run_demo(args.out, args.n, args.latency_cutoff, args.simulators, Console(file=out))


# ------------------------------------------------------------------ errors -> exit status


def _first_line(err) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def _classify(err: BaseException) -> int:
    from .convert.errors import ConversionError, InputPrecisionError

    if isinstance(err, (UsageError, InputPrecisionError, FileNotFoundError)):
        return EXIT_USAGE
    if isinstance(err, ConversionError):
        return EXIT_UNSUPPORTED
    try:
        from verif.sim import SimError
    except ImportError:
        SimError = ()
    if isinstance(err, (ImportError, EnvironmentError)) or (SimError and isinstance(err, SimError)):
        return EXIT_ENV
    if isinstance(err, (ValueError, TypeError)):
        return EXIT_USAGE
    return EXIT_ENV


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        args = parser.parse_args([*argv, 'demo'])
    verbs = {'demo': cmd_demo, 'convert': cmd_convert, 'verify': cmd_verify, 'report': cmd_report,
             'release': cmd_release}
    t0 = time.perf_counter()
    try:
        return verbs[args.verb](args, out)
    except KeyboardInterrupt:
        print('da4ml-core: interrupted', file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - every failure becomes one line and an exit status
        if args.debug:
            traceback.print_exc()
        print(f'da4ml-core: error: {_first_line(err)}', file=sys.stderr)
        return _classify(err)
    finally:
        if args.debug:
            print(f'da4ml-core: {args.verb} took {time.perf_counter() - t0:.1f} s', file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
