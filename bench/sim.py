"""Bulk-path simulation throughput on a 16x16 8-bit CMVM design, Verilator vs Icarus.

A benchmark, not a test: builds one design (dense random 8-bit W, signed 8-bit inputs, exact
outputs, pipelined with latency_cutoff=2), replays N vectors per simulator through the batch
wrapper (verif.hdl.replay_wrapper: $readmemh in, one output word per clock out), checks every output
against the exact integer product and prints vectors/s side by side. Run time excludes the
build and the stimulus file writing; it includes the simulator start-up and reading outputs.

    python bench/sim.py [--verilator N] [--icarus N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verif import sim
from verif.flows import judge, specs
from verif.flows.ports import bus_expected, bus_inputs
from verif.flows.specs import Spec
from verif.hdl.design import emitted_design, load_metadata

N_IN = N_OUT = 16


def bench_spec(seed: int) -> Spec:
    W = np.random.default_rng(seed).integers(-128, 128, (N_IN, N_OUT))
    return Spec('bench16', 'cmvm', [(1, 7, 0)] * N_IN, None, latency_cutoff=2, W=W.tolist(), seed=seed)


def measure(spec: Spec, outdir: Path, simulator: str, n: int, rng) -> dict:
    meta = load_metadata(outdir)
    design = emitted_design(outdir, meta)
    X = rng.integers(-128, 128, (n, N_IN))
    Y = X @ np.array(spec.W, dtype=np.int64)  # exact: integer inputs times integer weights
    check = min(n, 2000)  # the spec's golden model agrees on a prefix (it is exact but slow)
    assert np.array_equal(specs.golden(spec, X[:check]), Y[:check])
    rows = bus_inputs(meta, spec.in_kifs, X, rng)
    t0 = time.perf_counter()
    run = sim.replay([design], [rows], simulator, outdir / f'run_{simulator}', optimize=True)
    wall = time.perf_counter() - t0
    bad = judge.compare(run.outputs[0], run.unknown[0], bus_expected(meta, specs.output_fs(spec), Y)).count
    return {'simulator': f'{simulator} {run.version}', 'vectors': n, 'build': run.build_seconds,
            'cached': not run.rebuilt, 'run': run.run_seconds, 'wall': wall, 'mismatches': bad,
            'rate': n / run.run_seconds}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description='bulk-path throughput, 16x16 8-bit CMVM')
    ap.add_argument('--verilator', type=int, default=1_000_000, help='vectors through Verilator')
    ap.add_argument('--icarus', type=int, default=20_000, help='vectors through Icarus')
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args(argv)
    spec = bench_spec(args.seed)
    with tempfile.TemporaryDirectory(prefix='bench-sim-') as tmp:
        outdir = specs.build(spec, Path(tmp) / spec.name)
        meta = load_metadata(outdir)
        print(f'design: {spec.describe()}')
        print(f'  {meta["n_live_ops"]} live ops, latency {meta["latency_cycles"]} cycles, '
              f'{meta["inp_width"]}-bit input bus, {meta["out_width"]}-bit output bus')
        rows = []
        for name, n in (('verilator', args.verilator), ('icarus', args.icarus)):
            sim.find_simulator(name)
            rows.append(measure(spec, outdir, name, n, np.random.default_rng(args.seed)))
    print(f'\n{"simulator":<16}{"vectors":>10}{"build s":>10}{"run s":>9}{"vectors/s":>13}{"mismatches":>12}')
    for r in rows:
        build = f'{r["build"]:.1f}' + ('*' if r['cached'] else '')
        print(f'{r["simulator"]:<16}{r["vectors"]:>10}{build:>10}{r["run"]:>9.2f}{r["rate"]:>13,.0f}'
              f'{r["mismatches"]:>12}')
    print('(* = build found in the cache; run = simulate + read outputs, start-up included)')
    if any(r['mismatches'] for r in rows):
        sys.exit('mismatches: the numbers above are not of a working design')


if __name__ == '__main__':
    main()
