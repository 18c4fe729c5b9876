"""Mutation testing of the harness itself: how many single faults of a design its checks catch.

Why: a passing check is worth the faults it would have refused. Each mutant
(``verif.flows.mutants``: one edit of the emitted top module) is a real file set, built and
replayed in bulk by ``verif.sim.replay`` (several mutants per simulation, one build cache) on
the design's default stimulus, and judged by ``verif.flows.judge.compare`` against what the
*unmutated* program must give (the exact reference, ``verif.oracle.reference``). Outcomes:

- ``killed``: some vector differs; ``first`` is the index of the first one in the vector set
  named by ``by``: ``'stimulus'`` (the default stimulus killed it), else the stimulus *missed*
  it and a later set found it (``summary``'s ``missed``, against the target of 100%);
- ``equivalent``: no vector of the stimulus differs and the mutant computes what the design
  does: ``by = 'exhaustive'``, all 2**n input words agree (n = the design's used input bits, at
  most ``EXHAUSTIVE_BITS``), or ``by = 'sat'``, proven by yosys on a miter of the two top modules
  (``verif.flows.formal``) for larger input spaces;
- for larger input spaces a survivor SAT finds a counterexample for is replayed on it and judged:
  ``killed`` with ``by = 'sat'`` only when the simulator shows the mismatch;
- ``undecided``: no vector differs and neither a proof nor a confirmed counterexample came
  within ``SAT_TIMEOUT`` seconds, nor did ``DEEP_ROWS`` more seeded rows (fields at their
  extremes half the time) differ (a mutant killed only there is ``killed`` with
  ``by = 'deep'``): never counted as killed; ``why`` says what was tried;
- ``unbuildable``: the simulator refused the mutant (an operator bug, reported).

``python -m verif.flows.mutation --specs DIR|FILE ... | --model-dir OUTDIR`` runs a campaign.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import sim
from ..hdl.design import Design, buses, emitted_design, load_metadata
from . import judge
from .directed import directed_rows
from .formal import SAT_TIMEOUT, prove
from .mutants import OPERATORS, TopModule, sample
from .ports import bus_to_floats
from .program_oracle import expected_reference

__all__ = ['EXHAUSTIVE_BITS', 'SAT_TIMEOUT', 'MutationError', 'Outcome', 'Target', 'all_words', 'deep_rows', 'entries_of', 'input_bits',
           'judge_mutants', 'run', 'summary', 'top_module',
           'target_from_dir', 'target_from_spec', 'verify_mutants']

EXHAUSTIVE_BITS = 20
DEEP_ROWS = 1 << 16  # rows tried on survivors whose input space is too large to enumerate
MAX_BATCH_OPS = 4000  # live ops per simulation (as the regression batches designs)


class MutationError(RuntimeError):
    """The unmutated design does not pass its own oracle: no mutant can be judged against it."""


@dataclass
class Target:
    """A design to mutate: its emitted directory, program, default stimulus (bus rows) and the
    unmutated program's outputs on it."""

    name: str
    kind: str
    outdir: Path
    meta: dict
    prog: object
    rows: np.ndarray
    n_directed: int = 0

    def expected(self, rows: np.ndarray) -> np.ndarray:
        return expected_reference(self.prog, self.meta, bus_to_floats(self.meta, rows))


@dataclass(frozen=True)
class Outcome:
    design: str
    mutant: str
    operator: str
    what: str
    status: str  # killed | equivalent | undecided | unbuildable
    first: int | None  # index of the first failing vector (in the vector set named by ``by``)
    failing: int
    by: str  # what decided it: 'stimulus', 'exhaustive', 'sat' (a proof or a confirmed counterexample) or 'deep'
    seconds: float
    why: str = ''  # for every outcome but a kill by the stimulus: how it was decided, or why it is open


def _with_directed(prog, meta, rows, seed: int, directed: bool) -> tuple[np.ndarray, int]:
    if not directed:
        return rows, 0
    extra = directed_rows(prog, meta, rows, seed=seed)
    return np.concatenate([rows, extra]), len(extra)


def target_from_dir(outdir: Path | str, *, seed: int = 1, directed: bool = True) -> Target:
    """A converted model's directory: the stored vectors (``reference.npz``), then directed ones."""
    from da4ml_core.ir import Program

    from .model_dir import PROGRAM, load_reference

    outdir = Path(outdir)
    meta = load_metadata(outdir)
    prog = Program.from_json((outdir / PROGRAM).read_text())
    rows = np.asarray(load_reference(outdir)['inputs'], dtype=np.int64)
    rows, n = _with_directed(prog, meta, rows, seed, directed)
    return Target(meta['top'], 'converted', outdir, meta, prog, rows, n)


def target_from_spec(spec, workdir: Path | str, *, directed: bool = True) -> Target:
    """A regression spec built into ``workdir/<name>``: its regression stimulus, then directed rows."""
    from .ports import bus_inputs
    from .specs import build, compile_program, stimulus

    outdir = build(spec, Path(workdir) / spec.name)
    meta = load_metadata(outdir)
    prog = compile_program(spec)
    rows = bus_inputs(meta, spec.in_kifs, stimulus(spec), np.random.default_rng([spec.seed, 1]))
    rows, n = _with_directed(prog, meta, rows, spec.seed, directed)
    kind = spec.kind if spec.kind == 'cmvm' else f'traced-{spec.function}'
    return Target(spec.name, kind, outdir, meta, prog, rows, n)


def input_bits(meta: dict) -> int:
    return sum(int(e['width']) for e in meta['inputs'] if e['used'])


def all_words(meta: dict) -> np.ndarray:
    """Every input word of the used fields (pads 0), as bus rows: 2**input_bits rows."""
    n = input_bits(meta)
    idx = np.arange(1 << n, dtype=np.int64)
    rows = np.zeros((1 << n, max(len(meta['inputs']), 1)), dtype=np.int64)
    at = 0
    for j, e in enumerate(meta['inputs']):
        if not e['used']:
            continue
        w = int(e['width'])
        col = (idx >> at) & ((1 << w) - 1)
        rows[:, j] = np.where(col >= 1 << (w - 1), col - (1 << w), col) if e['signed'] else col
        at += w
    return rows


def deep_rows(meta: dict, n: int, seed: int) -> np.ndarray:
    """``n`` seeded rows for survivors: each used field at one of its extremes (min, max, 0, -1)
    with probability 1/2, else uniform; pads 0. Faults that show only near the ends of an
    interval need several fields at their ends at once, which uniform rows almost never give."""
    rng = np.random.default_rng([seed, 11])
    fields = buses(meta)[0].fields
    rows = np.zeros((n, len(fields)), dtype=np.int64)
    for j, (f, e) in enumerate(zip(fields, meta['inputs'] or [{'used': False}])):
        if not e['used']:
            continue
        ext = np.array(f.extremes(), dtype=np.int64)
        uniform = rng.integers(f.lo, f.hi, n, endpoint=True)
        rows[:, j] = np.where(rng.integers(0, 2, n).astype(bool), ext[rng.integers(0, len(ext), n)], uniform)
    return rows


def _designs(target: Target, mutants, workdir: Path) -> list[Design]:
    base = emitted_design(target.outdir, target.meta)
    mdir = workdir / 'mutants'
    mdir.mkdir(parents=True, exist_ok=True)
    out = []
    for m in mutants:
        path = mdir / f'{m.name}.v'
        path.write_text(m.text)
        extra = [mdir / f for f, _ in m.extra]  # a mutated primitive (prim_cmp): its own file
        for p, (_, text) in zip(extra, m.extra):
            p.write_text(text)
        out.append(Design(m.name, (*base.sources[:-1], *extra, path), base.in_bus, base.out_bus, base.latency,
                          base.clocked))
    return out


def _batches(items: list, ops_each: int) -> list[list]:
    size = max(1, MAX_BATCH_OPS // max(ops_each, 1))
    return [items[k:k + size] for k in range(0, len(items), size)]


def _first_failures(designs: list[Design], rows, expected, simulator: str, workdir: Path,
                    ops_each: int) -> tuple[list, float]:
    """Per design (index of the first failing vector, count) or None if it did not build."""
    out, t0 = [], time.perf_counter()
    for batch in _batches(designs, ops_each):
        try:
            run_ = sim.replay(batch, [rows] * len(batch), simulator, workdir)
            runs = list(zip(run_.outputs, run_.unknown))
        except sim.BuildFailed:
            if len(batch) == 1:
                out.append(None)
                continue
            runs = []
            for d in batch:  # find which one the simulator refuses
                try:
                    one = sim.replay([d], [rows], simulator, workdir)
                    runs.append((one.outputs[0], one.unknown[0]))
                except sim.BuildFailed:
                    runs.append(None)
        for r in runs:
            if r is None:
                out.append(None)
                continue
            found = judge.compare(r[0], r[1], expected)
            out.append((int(found.vectors[0]), found.count) if found.count else (None, 0))
    return out, time.perf_counter() - t0


Entry = tuple  # (mutant name, operator, what was changed, Design)


def top_module(target: Target) -> TopModule:
    return TopModule((target.outdir / f'{target.meta["top"]}.v').read_text(), target.meta['top'])


def entries_of(target: Target, mutants, workdir: Path | str) -> list[Entry]:
    """Top-module mutants as judgeable entries (their files written under ``workdir``)."""
    return [(m.name, m.site.operator, m.site.what, d) for m, d in zip(mutants, _designs(target, mutants, Path(workdir)))]


def run(target: Target, n: int, seed: int, *, simulator: str = 'verilator', workdir: Path | str | None = None,
        operators=OPERATORS, program_mutants: int = 0, exhaustive_bits: int = EXHAUSTIVE_BITS,
        deep: int = DEEP_ROWS, formal: bool = True, sat_timeout: float = SAT_TIMEOUT) -> list[Outcome]:
    """``n`` seeded top-module mutants of ``target`` (and ``program_mutants`` program mutants,
    ``verif.flows.program_mutants``), judged by :func:`judge_mutants`."""
    from .program_mutants import sample_program

    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix='mutation-'))
    entries = entries_of(target, sample(top_module(target), n, seed, operators), workdir)
    if program_mutants:
        pm, _ = sample_program(target.prog, target.meta, program_mutants, seed, workdir / 'program-mutants')
        entries += [(m.name, m.operator, m.what, m.design) for m in pm]
    return judge_mutants(target, entries, simulator=simulator, workdir=workdir, exhaustive_bits=exhaustive_bits,
                         deep=deep, formal=formal, sat_timeout=sat_timeout)


def judge_mutants(target: Target, entries: list[Entry], *, simulator: str = 'verilator',
                  workdir: Path | str | None = None, exhaustive_bits: int = EXHAUSTIVE_BITS,
                  deep: int = DEEP_ROWS, formal: bool = True, sat_timeout: float = SAT_TIMEOUT) -> list[Outcome]:
    """Each entry judged on ``target.rows`` against the unmutated program; survivors decided by
    exhaustive simulation when the design has at most ``exhaustive_bits`` used input bits, else
    (``formal``) by a yosys SAT proof against the unmutated design within ``sat_timeout``
    seconds each (``verif.flows.formal``: equivalent, or a counterexample the simulator must
    confirm), then those still open tried on ``deep`` more rows (:func:`deep_rows`): killed there
    or undecided."""
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix='mutation-'))
    designs = [e[3] for e in entries]
    base = emitted_design(target.outdir, target.meta)
    ops_each = int(target.meta.get('n_live_ops', 1))
    expected = target.expected(target.rows)
    results, seconds = _first_failures([base, *designs], target.rows, expected, simulator, workdir / 'sim', ops_each)
    if results[0] is None or results[0][1]:
        raise MutationError(f'{target.name}: the unmutated design does not pass its oracle on {simulator} '
                            f'({"no build" if results[0] is None else f"{results[0][1]} vectors differ"})')
    each = seconds / (len(designs) + 1)
    status, spent = {}, {e[0]: each for e in entries}
    for e, r in zip(entries, results[1:]):
        if r is None:
            status[e[0]] = ('unbuildable', None, 0, 'stimulus', 'the simulator refused it')
        elif r[1]:
            status[e[0]] = ('killed', r[0], r[1], 'stimulus', '')
    alive = [e for e in entries if e[0] not in status]
    n_bits = input_bits(target.meta)
    if alive and n_bits <= exhaustive_bits:  # all 2**n words prove equivalence
        _simulate_more(target, alive, all_words(target.meta), 'exhaustive', simulator, workdir, ops_each, status,
                       spent, f'equal to the design on all 2**{n_bits} input words')
        alive = []
    elif alive and formal:
        alive = _prove(target, base, alive, simulator, workdir, ops_each, sat_timeout, status, spent)
    for e in alive:  # still open: no formal check, a timeout, or a counterexample the simulator refutes
        st = status.get(e[0])
        status[e[0]] = ('undecided', None, 0, st[3], st[4]) if st else \
            ('undecided', None, 0, 'stimulus', 'too many input bits to enumerate, no formal check asked for')
    if alive and deep:  # deep rows only try harder
        _simulate_more(target, alive, deep_rows(target.meta, deep, seed=len(target.rows)), 'deep', simulator,
                       workdir, ops_each, status, spent, None)
        for e in alive:
            if status[e[0]][0] == 'undecided':
                status[e[0]] = (*status[e[0]][:4], f'{status[e[0]][4]}; none of {deep} deep rows differs')
    out = []
    for name, operator, what, _ in entries:
        st, first, failing, by, why = status[name]
        if st == 'killed' and by != 'stimulus':
            why = f'missed by the stimulus; killed by the {by} rows' + (f' ({why})' if why else '')
        out.append(Outcome(target.name, name, operator, what, st, first, failing, by, round(spent[name], 3), why))
    return out


def _simulate_more(target: Target, alive: list[Entry], words: np.ndarray, by: str, simulator: str, workdir: Path,
                   ops_each: int, status: dict, spent: dict, equal: str | None) -> None:
    """Survivors replayed on ``words``: killed there, else ``equivalent`` (``equal``: why) when
    the words are the whole input space, else undecided."""
    more, s2 = _first_failures([e[3] for e in alive], words, target.expected(words), simulator, workdir / by,
                               ops_each)
    for e, r in zip(alive, more):
        spent[e[0]] += s2 / len(alive)
        if r is None:
            status[e[0]] = ('unbuildable', None, 0, by, 'the simulator refused it')
        elif r[1]:
            status[e[0]] = ('killed', r[0], r[1], by, status.get(e[0], (None,) * 5)[4] or '')
        elif equal is not None:
            status[e[0]] = ('equivalent', None, 0, by, equal)
        else:
            status[e[0]] = ('undecided', None, 0, by, status.get(e[0], (None,) * 5)[4] or '')


def _prove(target: Target, base: Design, alive: list[Entry], simulator: str, workdir: Path, ops_each: int,
           timeout: float, status: dict, spent: dict) -> list[Entry]:
    """Each survivor proven equivalent by yosys sat, or its counterexample replayed (every
    survivor on all counterexamples) and judged: killed by 'sat' only if the simulator shows the
    mismatch. Returns the entries still open (timeout, or a counterexample not confirmed)."""
    rows, differs = [], []
    for e in alive:
        p = prove(base, e[3], workdir / 'formal', timeout=timeout)
        spent[e[0]] += p.seconds
        if p.verdict == 'equivalent':
            status[e[0]] = ('equivalent', None, 0, 'sat', 'proven equal to the design by yosys sat')
        elif p.verdict == 'timeout':
            status[e[0]] = ('open', None, 0, 'sat', f'yosys sat gave no verdict within {timeout:g} s')
        else:
            rows.append(p.rows)
            differs.append(e)
            status[e[0]] = ('open', None, 0, 'sat', 'a yosys sat counterexample the simulator does not confirm')
    if differs:
        words = np.concatenate(rows).astype(np.int64)
        _simulate_more(target, differs, words, 'sat', simulator, workdir, ops_each, status, spent, None)
        for e in differs:
            if status[e[0]][0] == 'killed':
                status[e[0]] = (*status[e[0]][:4], 'a yosys sat counterexample, confirmed by simulation')
            elif status[e[0]][0] == 'undecided':
                status[e[0]] = ('open', *status[e[0]][1:])
    return [e for e in alive if status[e[0]][0] == 'open']


def summary(outcomes: list[Outcome]) -> dict:
    """Counts per status; ``missed``: killed, but not by the default stimulus; the kill rate over
    the non-equivalent mutants, and the default stimulus's own (``stimulus_kill_rate``)."""
    counts = {s: sum(o.status == s for o in outcomes) for s in ('killed', 'equivalent', 'undecided', 'unbuildable')}
    missed = sum(o.status == 'killed' and o.by != 'stimulus' for o in outcomes)
    judged = len(outcomes) - counts['equivalent'] - counts['unbuildable']
    return {'mutants': len(outcomes), **counts, 'missed': missed,
            'kill_rate': round(counts['killed'] / judged, 6) if judged else 1.0,
            'stimulus_kill_rate': round((counts['killed'] - missed) / judged, 6) if judged else 1.0}


def verify_mutants(outdir: Path | str, n: int, *, seed: int = 1, simulator: str = 'verilator') -> list[str]:
    """``da4ml-core verify OUTDIR --mutants N``: ``n`` mutants of a converted model's design
    judged on its stored vectors (plus directed ones); the outcomes go into its report.json
    (``mutation``); returns the lines to print."""
    from .model_dir import REPORT, read_report, write_report

    outdir = Path(outdir)
    target = target_from_dir(outdir, seed=seed)
    got = run(target, n, seed, simulator=simulator)
    report = read_report(outdir) if (outdir / REPORT).is_file() else {}
    report['mutation'] = {**summary(got), 'seed': seed, 'simulator': simulator, 'vectors': len(target.rows),
                          'directed_vectors': target.n_directed, 'outcomes': [asdict(o) for o in got]}
    write_report(outdir, report)
    s = report['mutation']
    lines = [f'{outdir}: {s["mutants"]} mutants on {simulator} ({s["vectors"]} vectors): {s["killed"]} killed, '
             f'{s["equivalent"]} equivalent, {s["undecided"]} undecided, {s["unbuildable"]} unbuildable; '
             f'kill rate {100 * s["kill_rate"]:.1f}%, by the vectors alone {100 * s["stimulus_kill_rate"]:.1f}% '
             f'({s["missed"]} missed)']
    lines += [f'  {o.status} ({o.by}): {o.mutant} {o.operator}: {o.what}: {o.why}' for o in got
              if o.status != 'killed' or o.by != 'stimulus']
    return lines


def _specs(paths: list[Path]):
    from .specs import SPEC_FILE, Spec

    for p in paths:
        files = sorted(p.rglob(SPEC_FILE)) + sorted(f for f in p.glob('*.json') if f.name != SPEC_FILE) \
            if p.is_dir() else [p]
        for f in files:
            yield Spec.load(f)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python -m verif.flows.mutation', description=__doc__.split('\n')[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--specs', type=Path, nargs='+', help='spec.json files or directories of them')
    src.add_argument('--model-dir', type=Path, help='a directory written by da4ml-core convert')
    ap.add_argument('-n', '--mutants', type=int, default=32, help='top-module mutants per design (default 32)')
    ap.add_argument('--program-mutants', type=int, default=8, help='program mutants per design (default 8)')
    ap.add_argument('--operators', type=lambda t: tuple(t.split(',')), default=OPERATORS,
                    help=f'comma-separated top-module operators (default all: {",".join(OPERATORS)})')
    ap.add_argument('--no-directed', action='store_true', help='judge without the directed rows')
    ap.add_argument('--no-formal', action='store_true', help='no yosys SAT proof for survivors of large input spaces')
    ap.add_argument('--sat-timeout', type=float, default=SAT_TIMEOUT,
                    help=f'seconds of yosys per surviving mutant (default {SAT_TIMEOUT:g})')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--simulator', default='verilator', choices=sim.SIMULATORS)
    ap.add_argument('--workdir', type=Path, default=None)
    ap.add_argument('-o', '--output', type=Path, default=None, help='write every outcome as JSON')
    args = ap.parse_args(argv)
    if not args.sat_timeout > 0:
        ap.error(f'--sat-timeout {args.sat_timeout:g}: must be > 0 seconds')
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='mutation-'))
    if args.model_dir is not None:
        targets = [target_from_dir(args.model_dir, seed=args.seed, directed=not args.no_directed)]
    else:
        targets = [target_from_spec(s, workdir / 'designs', directed=not args.no_directed) for s in _specs(args.specs)]
    outcomes = []
    for t in targets:
        got = run(t, args.mutants, args.seed, simulator=args.simulator, workdir=workdir / t.name,
                  operators=args.operators, program_mutants=args.program_mutants, formal=not args.no_formal,
                  sat_timeout=args.sat_timeout)
        outcomes += got
        print(f'{t.name}: {json.dumps(summary(got))}')
        for o in got:
            if o.status != 'killed' or o.by != 'stimulus':
                print(f'  {o.status} ({o.by}): {o.mutant} {o.operator}: {o.what}: {o.why}')
    print(f'all: {json.dumps(summary(outcomes))}')
    if args.output is not None:
        args.output.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + '\n')
    return 0 if all(o.status in ('killed', 'equivalent') for o in outcomes) else 1


if __name__ == '__main__':
    sys.exit(main())
