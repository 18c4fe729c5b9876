"""Simulator build times and vector throughput of the two drive paths (a benchmark, not a test).

Measures, on this machine:
  * Verilator cold build: empty build cache and empty ccache directory;
  * Verilator warm build: a new small design, ccache warm;
  * Icarus build of the same kind of design;
  * vectors/s through the per-cycle cocotb testbench and through the bulk $readmemh path, on
    both simulators, with every output compared against verif.oracle.golden.

Run: ``python bench/sim_throughput.py [--per-cycle N] [--bulk N]``. Nothing outside a temporary
directory is touched (the build cache and ccache both live there).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


from verif import sim
from verif.flows import judge
from verif.hdl.primitives import Instance, golden_outputs, primitives_design
from verif.hdl.stimulus import stimulus

SEED = 7


def design_for(width: int, workdir: Path):
    """A small shift_add + negate design; ``width`` makes each call a new design (new build key)."""
    instances = (
        Instance('shift_add', {'WA': width, 'SA': 1, 'WB': 8, 'SB': 1, 'S': 2, 'SUB': 0, 'WO': width + 3}),
        Instance('negate', {'WA': width, 'SA': 1, 'WO': width + 1}),
    )
    return instances, primitives_design(instances, workdir / f'w{width}', name=f'bench_top_{width}')


def timed_build(design, simulator: str, cache: Path) -> float:
    t0 = time.perf_counter()
    built = sim.build(design.sources, design.name, simulator, cache_root=cache)
    assert built.rebuilt
    return time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description='simulator build time and throughput')
    ap.add_argument('--per-cycle', type=int, default=20_000, help='vectors on the per-cycle path')
    ap.add_argument('--bulk', type=int, default=1_000_000, help='vectors on the bulk path')
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix='sim-bench-') as tmp_s:
        tmp = Path(tmp_s)
        cache = tmp / 'cache'
        os.environ['CCACHE_DIR'] = str(tmp / 'ccache')  # empty: the first Verilator build is cold
        for name in sim.SIMULATORS:
            print(f'{sim.find_simulator(name).describe()}')
        print(f'cores: {os.cpu_count()}, ccache: {"yes" if shutil.which("ccache") else "no"}')

        print('\nbuild times (new design each row)')
        _, d = design_for(10, tmp)
        print(f'  verilator cold (empty cache + ccache)  {timed_build(d, "verilator", cache):7.2f} s')
        _, d = design_for(11, tmp)
        print(f'  verilator warm (new design, ccache)    {timed_build(d, "verilator", cache):7.2f} s')
        _, d = design_for(12, tmp)
        print(f'  verilator warm (another new design)    {timed_build(d, "verilator", cache):7.2f} s')
        _, d = design_for(13, tmp)
        print(f'  icarus                                 {timed_build(d, "icarus", cache):7.2f} s')

        instances, design = design_for(16, tmp)
        small = stimulus(design.in_bus.fields, args.per_cycle, SEED)
        large = stimulus(design.in_bus.fields, args.bulk, SEED)
        small_y, large_y = golden_outputs(instances, small), golden_outputs(instances, large)
        tiny, tiny_y = small[:10], small_y[:10]
        print(f'\nthroughput ({design.in_bus.width}-bit input bus, {design.out_bus.width}-bit output bus; '
              'run time excludes the build)')
        for name in sim.SIMULATORS:
            # run_seconds never includes the build; a 10-vector run measures the start-up cost
            start = sim.per_cycle(design, tiny, tiny_y, name, cache_root=cache).run_seconds
            pc = sim.per_cycle(design, small, small_y, name, cache_root=cache)
            bk = sim.replay([design], [large], name, tmp / f'bulk-{name}', cache_root=cache)
            bad = judge.compare(pc.outputs[0], pc.unknown[0], small_y).count
            bad += judge.compare(bk.outputs[0], bk.unknown[0], large_y).count
            assert bad == 0, 'mismatch: not benchmarking a passing design'
            pc_rate = pc.n_vectors / max(pc.run_seconds - start, 1e-9)
            print(f'  {name:9s} start-up {start:5.2f} s\n'
                  f'    per-cycle {pc.n_vectors:8d} vectors {pc.run_seconds:6.2f} s = '
                  f'{pc.n_vectors / pc.run_seconds:9,.0f}/s ({pc_rate:,.0f}/s after start-up)\n'
                  f'    bulk      {bk.n_vectors:8d} vectors {bk.run_seconds:6.2f} s = '
                  f'{bk.n_vectors / bk.run_seconds:9,.0f}/s')


if __name__ == '__main__':
    main()
