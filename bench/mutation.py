"""How strong the harness is: mutation kill rates and coverage on the jet tagger, small converted
models and regression designs.

For every design: ``--mutants`` seeded top-module mutants and ``--program-mutants`` program
mutants (``verif.flows.mutation``), judged on the design's default stimulus (stored or spec
vectors, then directed ones), survivors decided by exhaustive simulation where the input space
is small, else by a yosys SAT proof (a counterexample counts once the simulator fails on it),
then deep rows. ``missed``: killed, but not by the default stimulus; ``stim%``: the stimulus's
own kill rate over the non-equivalent mutants. Printed: kill rate per operator and per design kind, the first failing vector's
index (median / max), seconds per mutant, and coverage per event kind (hit / total, and hit /
proven reachable). ``--no-directed`` judges on the same stimulus without the directed rows,
to show what they add.

    python bench/mutation.py                       # sample: jet tagger, 2 models, 50 regression designs
    python bench/mutation.py --designs 10 --mutants 8 --no-jet --no-models   # quick look
    python bench/mutation.py --operators prim_cmp --mutants 12 --program-mutants 0 --no-jet --designs 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault('KERAS_BACKEND', 'jax')  # the converted test models; no TensorFlow here
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import numpy as np

from verif.flows import mutation
from verif.flows.corners import corner_specs
from verif.flows.mutants import OPERATORS
from verif.flows.coverage import measure
from verif.flows.ports import bus_to_floats
from verif.flows.specs import Spec

OVERFLOWS = ('WRAP', 'SAT', 'SAT_SYM')
ROUNDS = ('TRN', 'RND', 'RND_CONV')


def random_specs(n: int, seed: int) -> list[Spec]:
    """Seeded small designs: CMVMs (quantized in every mode or exact) and traced relu / max / einsum."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        n_in, n_out = int(rng.integers(2, 6)), int(rng.integers(1, 5))
        kif = (int(rng.integers(0, 2)), int(rng.integers(1, 4)), int(rng.integers(0, 3)))
        ovf, rnd = OVERFLOWS[k % 3], ROUNDS[(k // 3) % 3]
        cut = [None, 1, 2][int(rng.integers(3))]
        W = (rng.integers(-31, 32, (n_in, n_out)) / 4.0).tolist()
        if k % 5 == 4:
            fn = ['relu', 'max_stack', 'einsum'][(k // 5) % 3]
            shape = [n_in] if fn == 'relu' else [2, n_in]
            params = {'shape': shape}
            if fn == 'einsum':
                params |= {'subscripts': 'ij,j->i', 'C': (rng.integers(-7, 8, n_in) / 2.0).tolist()}
            n = int(np.prod(shape))
            out.append(Spec(f'r{k}_{fn}', 'traced', [kif] * n, (1, 3, 1), ovf, rnd, cut, function=fn, params=params,
                            seed=k, n_vectors=400))
        else:
            q = None if k % 7 == 0 else (1, int(rng.integers(2, 6)), int(rng.integers(0, 2)))
            out.append(Spec(f'r{k}_cmvm', 'cmvm', [kif] * n_in, q, ovf, rnd, cut, W=W, seed=k, n_vectors=400))
    return out


def converted_models(workdir: Path) -> list[Path]:
    """Two small HGQ2 models converted by the CLI: one QDense layer (RND / SAT input quantizer),
    and QDense -> relu -> QDense."""
    import io

    import keras
    from hgq.layers import QDense
    from hgq.quantizer.config import QuantizerConfig

    from da4ml_core import cli

    keras.utils.set_random_seed(1)
    dirs = []
    iq = QuantizerConfig('kif', 'datalane', overflow_mode='SAT', round_mode='RND', i0=2, f0=3)
    inp = keras.Input((5,))
    one = keras.Model(inp, QDense(3, iq_conf=iq, name='d0')(inp), name='one_dense')
    inp = keras.Input((4,))
    h = QDense(6, iq_conf=iq, activation='relu', name='h0')(inp)
    two = keras.Model(inp, QDense(2, name='h1')(h), name='two_dense')
    for model in (one, two):
        path = workdir / f'{model.name}.keras'
        model.save(path)
        out = workdir / model.name
        status = cli.main(['convert', str(path), str(out), '--input-kif', '1', '2', '3', '-n', '500',
                           '--latency-cutoff', '2'], out=io.StringIO())
        if status != 0:
            raise RuntimeError(f'converting {model.name} failed ({status})')
        dirs.append(out)
    return dirs


def jet_tagger(workdir: Path) -> Path:
    import io

    from da4ml_core import cli

    out = workdir / 'jet_tagger'
    if cli.main(['convert', 'example', str(out), '--latency-cutoff', '2'], out=io.StringIO()) != 0:
        raise RuntimeError('converting the jet tagger failed')
    return out


def _coverage(t: mutation.Target) -> dict:
    return measure(t.prog, bus_to_floats(t.meta, t.rows)).as_dict()


def _table(title: str, groups: dict) -> None:
    print(f'\n{title}')
    print(f'{"":24} {"mutants":>7} {"killed":>6} {"missed":>6} {"equiv":>5} {"undec":>5} {"unbld":>5} {"kill%":>6} '
          f'{"stim%":>6} {"first med":>9} {"first max":>9} {"s/mutant":>8}')
    for key in sorted(groups):
        os_ = groups[key]
        s = mutation.summary(os_)
        firsts = [o.first for o in os_ if o.status == 'killed' and o.by == 'stimulus']
        secs = [o.seconds for o in os_]
        print(f'{key:24} {s["mutants"]:7} {s["killed"]:6} {s["missed"]:6} {s["equivalent"]:5} {s["undecided"]:5} '
              f'{s["unbuildable"]:5} {100 * s["kill_rate"]:6.1f} {100 * s["stimulus_kill_rate"]:6.1f} '
              f'{statistics.median(firsts) if firsts else "-":>9} {max(firsts) if firsts else "-":>9} '
              f'{statistics.mean(secs):8.2f}')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--designs', type=int, default=50, help='regression designs (corners first, then seeded random)')
    ap.add_argument('--mutants', type=int, default=16, help='top-module mutants per design')
    ap.add_argument('--program-mutants', type=int, default=4, help='program mutants per design')
    ap.add_argument('--jet-mutants', type=int, default=16, help='top-module mutants of the jet tagger')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--simulator', default='verilator')
    ap.add_argument('--no-jet', action='store_true')
    ap.add_argument('--no-models', action='store_true')
    ap.add_argument('--no-directed', action='store_true', help='judge on the stimulus without directed rows')
    ap.add_argument('--no-formal', action='store_true', help='no yosys SAT proof for survivors of large input spaces')
    ap.add_argument('--sat-timeout', type=float, default=mutation.SAT_TIMEOUT, help='seconds of yosys per survivor')
    ap.add_argument('--operators', type=lambda t: tuple(t.split(',')), default=OPERATORS,
                    help='comma-separated top-module operators (default all), e.g. prim_cmp')
    ap.add_argument('--workdir', type=Path, default=None)
    ap.add_argument('-o', '--output', type=Path, default=None, help='every outcome and coverage as JSON')
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='bench-mutation-'))
    workdir.mkdir(parents=True, exist_ok=True)
    directed = not args.no_directed
    targets: list[tuple[mutation.Target, int]] = []
    if not args.no_jet:
        targets.append((mutation.target_from_dir(jet_tagger(workdir), seed=args.seed, directed=directed),
                        args.jet_mutants))
    if not args.no_models:
        targets += [(mutation.target_from_dir(d, seed=args.seed, directed=directed), args.mutants)
                    for d in converted_models(workdir)]
    specs = (corner_specs() + random_specs(args.designs, args.seed))[:args.designs]
    for s in specs:
        targets.append((mutation.target_from_spec(s, workdir / 'designs', directed=directed), args.mutants))
    outcomes, coverage = [], {}
    by_op, by_kind = defaultdict(list), defaultdict(list)
    t0 = time.perf_counter()
    for t, n in targets:
        got = mutation.run(t, n, args.seed, simulator=args.simulator, workdir=workdir / 'runs' / t.name,
                           operators=args.operators, program_mutants=args.program_mutants,
                           formal=not args.no_formal, sat_timeout=args.sat_timeout)
        coverage[t.name] = {'kind': t.kind, 'vectors': len(t.rows), 'directed': t.n_directed, **_coverage(t)}
        outcomes += got
        for o in got:
            by_op[o.operator].append(o)
            by_kind[t.kind].append(o)
        s = mutation.summary(got)
        print(f'{t.name} ({t.kind}, {len(t.rows)} vectors, {t.n_directed} directed): {s["killed"]}/{s["mutants"]} '
              f'killed ({s["missed"]} missed by the stimulus), {s["equivalent"]} equivalent, {s["undecided"]} '
              f'undecided, {s["unbuildable"]} unbuildable', flush=True)
        for o in got:
            if o.status != 'killed' or o.by != 'stimulus':
                print(f'    {o.status} ({o.by}): {o.mutant} {o.operator}: {o.what}: {o.why}')
    print(f'\n{len(targets)} designs, {len(outcomes)} mutants, {time.perf_counter() - t0:.0f} s on {args.simulator}; '
          f'stimulus {"with" if directed else "without"} directed rows')
    _table('per operator', by_op)
    _table('per design kind', by_kind)
    _table('all', {'all': outcomes})
    print('\ncoverage per event kind (hit/total, hit/proven reachable), summed over designs')
    for group in sorted({c['kind'] for c in coverage.values()}):
        sums: dict = defaultdict(lambda: [0, 0, 0, 0])
        for c in coverage.values():
            if c['kind'] == group:
                for k, v in c['per_kind'].items():
                    for j, f in enumerate(('hit', 'total', 'reachable_hit', 'reachable')):
                        sums[k][j] += v[f]
        cells = ', '.join(f'{k} {a}/{b} ({c}/{d})' for k, (a, b, c, d) in sums.items())
        print(f'  {group}: {cells}')
    if 'jet_tagger' in coverage:
        c = coverage['jet_tagger']
        print(f'  jet_tagger: {c["events_hit"]}/{c["events"]} events, adder span {c["adder_span"]:.3f}')
    if args.output is not None:
        from dataclasses import asdict

        args.output.write_text(json.dumps({'outcomes': [asdict(o) for o in outcomes], 'coverage': coverage},
                                          indent=1) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
