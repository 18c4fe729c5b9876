"""``python -m verif.demo``: verify a small bundled design in both simulators, both paths.

The design is a shift_add and a negate instance side by side on one flat bus. Each simulator
gets the per-cycle cocotb testbench (every extreme-operand combination plus random vectors)
and the bulk ``$readmemh`` path (1e5 random vectors), all compared against ``verif.golden``.
Exit status 1 on any mismatch, so it can gate a script.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time

import numpy as np

from . import sim
from .drive import run_bulk, run_per_cycle
from .wrappers import Instance, golden_outputs, primitives_design

DEMO = (
    Instance('shift_add', {'WA': 12, 'SA': 1, 'WB': 9, 'SB': 0, 'S': 3, 'SUB': 1, 'WO': 14, 'SO': 1}),
    Instance('negate', {'WA': 10, 'SA': 1, 'WO': 10, 'SO': 1}),  # truncating: -(-512) wraps
)
SEED = 12345


def stimulus(fields, n_random: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corners = list(itertools.product(*(f.extremes() for f in fields)))
    rand = np.stack([rng.integers(f.lo, f.hi, size=n_random, endpoint=True) for f in fields], axis=1)
    return np.concatenate([np.array(corners, dtype=np.int64).reshape(-1, len(fields)), rand])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--per-cycle', type=int, default=2_000, help='random vectors on the per-cycle path')
    ap.add_argument('--bulk', type=int, default=100_000, help='random vectors on the bulk path')
    ap.add_argument('--simulators', nargs='+', default=list(sim.SIMULATORS), choices=sim.SIMULATORS)
    ap.add_argument('--inject-mismatch', action='store_true',
                    help='corrupt one expected value per path, to see a failing check end in exit status 1')
    args = ap.parse_args(argv)

    failures = 0
    with tempfile.TemporaryDirectory(prefix='da4ml-demo-') as tmp:
        design = primitives_design(DEMO, tmp, name='demo_top')
        print(f'design {design.name}: ' + '; '.join(f'{i.kind}{i.full_params()}' for i in DEMO))
        print(f'  inputs {design.in_bus.width} bits, outputs {design.out_bus.width} bits; '
              f'build cache {sim.default_cache_root()}')
        small = stimulus(design.in_bus.fields, args.per_cycle, SEED)
        large = stimulus(design.in_bus.fields, args.bulk, SEED + 1)
        small_y, large_y = golden_outputs(DEMO, small), golden_outputs(DEMO, large)
        if args.inject_mismatch:
            small_y[len(small_y) // 2, 0] += 1
            large_y[len(large_y) // 2, 1] += 1
        for name in args.simulators:
            print(f'simulator {sim.find_simulator(name).describe()}')
            for label, run in (
                ('per-cycle', lambda: run_per_cycle(design, small, small_y, name, check=False)),
                ('bulk', lambda: run_bulk(design, large, name, expected=large_y)),
            ):
                t0 = time.perf_counter()
                out = run()
                wall = time.perf_counter() - t0
                failures += out.mismatches
                verdict = 'OK' if out.mismatches == 0 else 'FAIL'
                print(f'  {label:9s} {out.n_vectors:7d} vectors  mismatches = {out.mismatches}  '
                      f'build {out.build_seconds:6.2f} s{" (cached)" if not out.rebuilt else "         "}  '
                      f'total {wall:6.2f} s  ({out.n_vectors / out.run_seconds:,.0f} vectors/s)  {verdict}')
    print('all checks passed' if failures == 0 else f'FAILED: {failures} mismatching vectors')
    return 0 if failures == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
