"""The RTL regression: spec -> compiler -> Verilog -> lint -> both simulators vs the golden model.

Why one module: the pytest regression, the release gate and a developer chasing a failure all
need the same steps with the same stimulus, so a failing design found by any of them is rerun
exactly by ``python -m verif.flows.regress rerun <spec.json>`` (rebuild from the spec, then
simulate) or ``python -m verif.flows.regress check <design dir>`` (simulate the Verilog that is there).

Designs are replayed several per simulation (``verif.sim.replay``) to amortise build and
start-up costs; each is still judged on its own (``verif.flows.judge``). A failing design is rerun alone with a waveform, and its spec,
Verilog, report and waveform are left in ``<workdir>/failures/<name>-<simulator>-<path>/``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import sim
from ..hdl.design import emitted_design, load_metadata
from ..sim.shard import scheduler_client
from ..sim.lint import ghdl_analysis as lint_vhdl
from ..sim.lint import verilator_lint
from . import judge, specs
from .directed import budget_for, directed_rows
from .ports import bus_expected, bus_inputs
from .specs import Spec

__all__ = ['DIRECTED_BUDGET', 'Prepared', 'Result', 'check_per_cycle', 'ghdl_analysis', 'lint', 'lint_all', 'main',
           'prepare', 'prepare_all', 'rerun_command', 'simulate', 'stimulus']

MAX_BATCH_OPS = 4000  # live ops per simulation: bigger Verilator models compile disproportionately slower
# directed rows (verif.flows.directed) after a spec's stimulus, at most: the generator's own
# budget (2 per adder, >= 16) capped so the search stays a small part of preparing a design
DIRECTED_BUDGET = 64
DIRECTED_MAX_BITS = 53  # the reference the directed search scores with reads inputs as float64


@dataclass
class Prepared:
    """A built design with its stimulus on the spec's grid and on the design's buses."""

    spec: Spec
    outdir: Path
    meta: dict
    X: np.ndarray  # raw spec inputs (n, n_in)
    Y: np.ndarray  # golden raw spec outputs (n, n_out)
    rows: np.ndarray  # input bus fields (n, n_in_ports)
    expected: np.ndarray  # output bus fields (n, n_out_ports), object, None = unrepresentable
    design: object = field(repr=False, default=None)
    n_directed: int = 0  # the last rows are directed ones (:func:`stimulus`)

    @property
    def out_fs(self) -> list[int]:
        return specs.output_fs(self.spec)

    def spec_view(self) -> judge.SpecView:
        return judge.SpecView(self.spec.in_kifs, self.X, self.Y, self.out_fs)


@dataclass
class Result:
    """One design on one simulator and path: counts, and where to look when it failed."""

    name: str
    simulator: str
    version: str
    path: str
    n_vectors: int
    seed: int
    mismatches: int
    report: str = ''
    failure_dir: Path | None = None

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and not self.report

    def summary(self) -> str:
        if self.path in ('lint', 'build'):
            return f'{self.name}: {self.simulator} {"pass" if self.passed else "FAIL"}'
        verdict = 'pass' if self.passed else f'FAIL ({self.mismatches} vectors)'
        return f'{self.name} on {self.simulator} {self.version} ({self.path}): {self.n_vectors} vectors, {verdict}'


def prepare(spec: Spec, outdir: Path | str, *, build: bool = True, language: str = 'verilog') -> Prepared:
    """Build ``spec`` into ``outdir`` as Verilog or VHDL (or use what is there) and compute its vectors."""
    outdir = Path(outdir)
    prog = specs.compile_program(spec)  # once: the design (when built here) and the directed rows
    if build:
        specs.build(spec, outdir, language, prog)
    meta = load_metadata(outdir)
    X, n_directed = stimulus(spec, meta, prog)
    Y = specs.golden(spec, X)
    rows = bus_inputs(meta, spec.in_kifs, X, np.random.default_rng([spec.seed, 1]))
    expected = bus_expected(meta, specs.output_fs(spec), Y)
    return Prepared(spec, outdir, meta, X, Y, rows, expected, emitted_design(outdir, meta), n_directed)


def stimulus(spec: Spec, meta: dict, prog=None) -> tuple[np.ndarray, int]:
    """The regression's raw spec inputs for the design ``meta`` describes, and how many of the
    last ones are directed: the spec's stimulus (``verif.flows.specs.stimulus``), then at most
    ``DIRECTED_BUDGET`` directed rows for the program's corners it misses, seeded by the spec
    (none when an input is wider than ``DIRECTED_MAX_BITS``). The directed rows are bus words
    put back on the spec's grid (the port's bits in place, the dropped ones 0). ``prog``: the
    spec's program if compiled already."""
    X = specs.stimulus(spec)
    used = [e for e in meta['inputs'] if e['used']]
    if not used or max(int(e['width']) for e in used) > DIRECTED_MAX_BITS:
        return X, 0
    rows = bus_inputs(meta, spec.in_kifs, X, np.random.default_rng([spec.seed, 1]))
    prog = specs.compile_program(spec) if prog is None else prog
    extra = directed_rows(prog, meta, rows, budget=min(budget_for(prog), DIRECTED_BUDGET), seed=spec.seed)
    Xd = np.zeros((len(extra), X.shape[1]), dtype=X.dtype)
    for j, (e, kif) in enumerate(zip(meta['inputs'], spec.in_kifs)):
        if e['used']:
            d = kif[2] - int(e['f'])
            col = extra[:, j] << d if d >= 0 else extra[:, j] >> -d
            lo, hi = specs.input_range(kif)
            Xd[:, j] = np.clip(col, lo, hi)
    return np.concatenate([X, Xd]), len(Xd)


def prepare_all(specs: list[Spec], workdir: Path | str) -> tuple[list[Prepared], list[Result]]:
    """Build every spec under ``workdir/designs``; a compiler error or a port contract
    violation is a failed Result (spec kept for the rerun command), not an exception."""
    workdir = Path(workdir)
    preps, failed = [], []
    for spec in specs:
        try:
            preps.append(prepare(spec, workdir / 'designs' / spec.name))
        except Exception as exc:  # noqa: BLE001 - any compiler failure on a valid spec is a finding
            fdir = workdir / 'failures' / f'{spec.name}-compile'
            fdir.mkdir(parents=True, exist_ok=True)
            path = spec.save(fdir / specs.SPEC_FILE)
            report = (f'{spec.describe()}: building or preparing failed: {type(exc).__name__}: {exc}\n'
                      f'rerun: {rerun_command(path)}')
            failed.append(Result(spec.name, 'compiler', '', 'build', 0, spec.seed, 0, report, fdir))
    return preps, failed


def lint_all(preps: list[Prepared]) -> list[Result]:
    """A Result per design, failed when Verilator -Wall has anything to say."""
    out = []
    for p in preps:
        issues = lint(p.outdir, p.spec.name)
        report = f'{p.spec.describe()}: verilator --lint-only -Wall:\n{issues}' if issues else ''
        out.append(Result(p.spec.name, 'verilator-lint', '', 'lint', 0, p.spec.seed, 0, report, p.outdir))
    return out


def lint(outdir: Path | str, top: str) -> str:
    """Verilator ``--lint-only -Wall`` findings of an emitted design, or GHDL's analysis and
    elaboration of a VHDL one ('' when clean)."""
    if load_metadata(outdir).get('language') == 'vhdl':
        return ghdl_analysis(outdir)
    return verilator_lint([Path(outdir) / src for src in load_metadata(outdir)['sources']], top)


def ghdl_analysis(outdir: Path | str) -> str:
    """GHDL's findings on an emitted VHDL design ('' when clean): ``ghdl -a`` of its sources
    (metadata.json order) and ``ghdl -e`` of its top."""
    meta = load_metadata(outdir)
    return lint_vhdl([Path(outdir) / f for f in meta['sources']], meta['top'])


def rerun_command(spec_path: Path | str, simulator: str | None = None) -> str:
    opt = f' --simulator {simulator}' if simulator else ''
    return f'{sys.executable} -m verif.flows.regress rerun {spec_path}{opt}'


def _expected_ints(p: Prepared) -> np.ndarray:
    return np.vectorize(lambda e: 0 if e is None else e, otypes=[object])(p.expected)


def _judge(p: Prepared, simulator: str, version: str, path: str, outputs, unknown, workdir: Path,
           waves: bool) -> Result:
    found = judge.compare(outputs, unknown, p.expected)
    res = Result(p.spec.name, simulator, version, path, len(p.rows), p.spec.seed, found.count)
    if found.count:
        title = f'{p.spec.describe()} on {simulator} {version} ({path})'
        res.report = judge.report(title, p.meta, p.rows, outputs, unknown, p.expected, found, spec=p.spec_view())
        res.failure_dir = _keep_failure(p, simulator, workdir, res, int(found.vectors[0]) if waves else None)
    return res


def _keep_failure(p: Prepared, simulator: str, workdir: Path, res: Result, first_bad: int | None) -> Path:
    """Copy the design, write the report, rerun a window around ``first_bad`` with a waveform."""
    fdir = Path(workdir) / 'failures' / f'{p.spec.name}-{simulator}-{res.path}'
    shutil.rmtree(fdir, ignore_errors=True)
    shutil.copytree(p.outdir, fdir / 'design')
    spec_path = p.spec.save(fdir / specs.SPEC_FILE)
    lines = [res.report, '', f'design files: {fdir / "design"}']
    if first_bad is not None:
        lines.append(judge.waveform(p.design, p.rows, first_bad, simulator, fdir / 'wave_run', keep_as=fdir / 'waves'))
    lines += [f'rerun (rebuild from the spec): {rerun_command(spec_path, simulator)}',
              f'recheck these files: {sys.executable} -m verif.flows.regress check {fdir / "design"} '
              f'--simulator {simulator}']
    res.report = '\n'.join(lines)
    (fdir / 'report.txt').write_text(res.report + '\n')
    return fdir


def simulate(preps: list[Prepared], simulator: str, workdir: Path | str, *, batch_size: int = 12,
             waves: bool = True, client=None) -> list[Result]:
    """Bulk-simulate every design (in batches), judge each against its own golden vectors.

    With ``client`` (a ``dask.distributed`` client, ``verif.sim.shard.cluster``) the batches
    are built and run by its workers in parallel; results keep the designs' order."""
    workdir = Path(workdir)
    chunks = _chunks(preps, batch_size)
    args = [([p.design for p in chunk], [p.rows for p in chunk], simulator, workdir / f'batch{b}')
            for b, chunk in enumerate(chunks)]
    if client is None:
        runs = [_attempt(sim.replay, *a) for a in args]
    else:
        futures = [client.submit(sim.replay, *a, pure=False) for a in args]
        runs = [_attempt(f.result) for f in futures]
    results: list[Result] = []
    for chunk, run in zip(chunks, runs):
        if isinstance(run, Exception):
            if len(chunk) > 1:  # find the design that breaks the build or the run
                results += simulate(chunk, simulator, workdir, batch_size=1, waves=waves)
                continue
            p = chunk[0]
            results.append(Result(p.spec.name, simulator, '?', 'bulk', len(p.rows), p.spec.seed, len(p.rows),
                                  f'{p.spec.describe()}: simulation failed: {type(run).__name__}: {run}'))
            continue
        for p, out, unk in zip(chunk, run.outputs, run.unknown):
            results.append(_judge(p, simulator, run.version, 'bulk', out, unk, workdir, waves))
    return results


def _attempt(fn, *args):
    """fn(*args), or the exception a failed build, run or worker gave (judged as a failure)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - SimError, a dead worker: the design is reported, not skipped
        return exc


def _chunks(preps: list[Prepared], size: int) -> list[list[Prepared]]:
    """Consecutive groups of at most ``size`` designs and MAX_BATCH_OPS live ops (one design
    alone may have more)."""
    out: list[list[Prepared]] = []
    ops = 0
    for p in preps:
        n = int(p.meta.get('n_live_ops', 0))
        if not out or len(out[-1]) >= size or ops + n > MAX_BATCH_OPS:
            out.append([])
            ops = 0
        out[-1].append(p)
        ops += n
    return out


def check_per_cycle(p: Prepared, simulator: str, n: int, workdir: Path | str) -> Result:
    """The first ``n`` vectors through the cocotb per-cycle driver / monitor (verif.tb.per_cycle)."""
    n = min(n, len(p.rows))
    out = sim.per_cycle(p.design, p.rows[:n], _expected_ints(p)[:n], simulator)
    q = Prepared(p.spec, p.outdir, p.meta, p.X[:n], p.Y[:n], p.rows[:n], p.expected[:n], p.design,
                 max(0, p.n_directed - (len(p.rows) - n)))
    return _judge(q, simulator, out.version, 'per-cycle', out.outputs[0], out.unknown[0], Path(workdir), waves=False)


# ----------------------------------------------------------------------------------- CLI


def _run(p: Prepared, simulators, workdir: Path, per_cycle: int, client=None) -> list[Result]:
    results = lint_all([p])
    for s in simulators:
        results += simulate([p], s, workdir / s, client=client)
        if per_cycle:
            results.append(check_per_cycle(p, s, per_cycle, workdir / s))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python -m verif.flows.regress', description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name, what in (('rerun', 'a spec.json (rebuilt with the compiler)'),
                       ('check', 'a design directory (its Verilog as it is, spec.json inside)')):
        p = sub.add_parser(name, help=f'verify {what}')
        p.add_argument('path', type=Path)
        p.add_argument('--simulator', choices=(*sim.ALL_SIMULATORS, 'both'), default='both',
                       help="both = icarus and verilator (Verilog); ghdl rebuilds the spec as VHDL")
        p.add_argument('--vectors', type=int, help='override the spec\'s n_vectors')
        p.add_argument('--seed', type=int, help='override the spec\'s stimulus seed')
        p.add_argument('--per-cycle', type=int, default=1000, help='vectors on the per-cycle path (0: none)')
        p.add_argument('--workdir', type=Path, help='where designs and failures go (default: a new temp dir)')
        p.add_argument('--scheduler', default='none',
                       help="'none' (simulate here), 'local' (an embedded Dask LocalCluster) or a scheduler address")
    args = ap.parse_args(argv)
    args.workdir = args.workdir or Path(tempfile.mkdtemp(prefix='verif-regress-'))
    spec = Spec.load(args.path)
    spec = spec.with_(**{k: v for k, v in (('n_vectors', args.vectors), ('seed', args.seed)) if v is not None})
    language = 'vhdl' if args.simulator in sim.VHDL_SIMULATORS else 'verilog'
    if args.cmd == 'rerun':
        outdir = args.workdir / spec.name
        shutil.rmtree(outdir, ignore_errors=True)
        prep = prepare(spec, outdir, language=language)
    else:
        prep = prepare(spec, args.path if args.path.is_dir() else args.path.parent, build=False)
    sims = sim.SIMULATORS if args.simulator == 'both' else (args.simulator,)
    with scheduler_client(args.scheduler) as client:
        results = _run(prep, sims, args.workdir.resolve(), args.per_cycle, client)
    print(f'{spec.describe()}\nwork directory: {args.workdir.resolve()}')
    for r in results:
        print(r.summary())
        if not r.passed:
            print(r.report)
    return 0 if all(r.passed for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
