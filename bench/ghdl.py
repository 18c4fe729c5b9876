"""GHDL beside Icarus and Verilator: build time and bulk vectors/s on the same designs.

A benchmark, not a test. The bundled jet tagger (converted from Keras) and a 16x16 8-bit CMVM
(exact outputs) are written pipelined (latency_cutoff=2) as Verilog and as VHDL from the same
program; each simulator replays the same bus words (port extremes, then uniform random) on its
bulk path (verif.sim.replay: the Verilog and the VHDL replay wrapper) from an empty build cache, and
every output is compared with the interpreter. Build = the simulator's compile of the design
and wrapper; run = simulation including start-up and reading the outputs back.

    python bench/ghdl.py [--vectors N] [--fast-vectors N] [--ghdl-backends mcode,llvm] [--skip-jet]

``--vectors`` goes to Icarus and GHDL, ``--fast-vectors`` to Verilator. Load on the machine
changes the numbers: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from da4ml_core.emit import write_verilog, write_vhdl
from verif import sim
from verif.flows import judge, specs
from verif.flows.ports import bus_to_floats
from verif.flows.program_oracle import expected_interp
from verif.flows.specs import Spec
from verif.hdl.design import emitted_design, load_metadata
from verif.hdl.stimulus import stimulus

CUTOFF = 2


def jet_tagger():
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    from da4ml_core.convert import convert_model, load_model
    from da4ml_core.convert.examples import example_files

    with example_files() as (model_path, _):
        return convert_model(load_model(model_path), on_inexact='error').program


def cmvm16(seed: int = 1):
    W = np.random.default_rng(seed).integers(-128, 128, (16, 16))
    return specs.compile_program(Spec('cmvm16', 'cmvm', [(1, 7, 0)] * 16, None, W=W.tolist()))


def measure(name: str, prog, work: Path, runs: list[tuple[str, str, int]]) -> list[dict]:
    """``runs``: (label, simulator or 'ghdl:<backend>' / 'verilator-O2', vectors)."""
    vdir, hdir = work / f'{name}_v', work / f'{name}_vhd'
    write_verilog(prog, vdir, name=name, latency_cutoff=CUTOFF)
    write_vhdl(prog, hdir, name=name, latency_cutoff=CUTOFF)
    meta = load_metadata(vdir)
    n_max = max(n for _, _, n in runs)
    rows = stimulus(emitted_design(vdir, meta).in_bus.fields, n_max, seed=1)[:n_max]
    expected = expected_interp(prog, meta, bus_to_floats(meta, rows))
    print(f'{name}: {meta["n_live_ops"]} live ops, latency {meta["latency_cycles"]} cycles, '
          f'{meta["inp_width"]}-bit input, {meta["out_width"]}-bit output')
    out = []
    for label, which, n in runs:
        cache = work / 'cache' / label.replace(' ', '_')  # empty: every build is cold
        if which.startswith('ghdl'):
            backend = which.split(':')[1]
            os.environ['GHDL_BACKEND'] = backend
            sim.find_simulator('ghdl', refresh=True)
            run = sim.replay([emitted_design(hdir)], [rows[:n]], 'ghdl', work / f'run_{name}_{label}'.replace(' ', '_'),
                             cache_root=cache)
        else:
            simulator = which.split('-')[0]
            run = sim.replay([emitted_design(vdir)], [rows[:n]], simulator, work / f'run_{name}_{label}'.replace(' ', '_'),
                             optimize=which.endswith('O2'), cache_root=cache)
        bad = judge.compare(run.outputs[0], run.unknown[0], expected[:n]).count
        out.append({'design': name, 'simulator': f'{label} {run.version}', 'vectors': n, 'build': run.build_seconds,
                    'run': run.run_seconds, 'rate': n / run.run_seconds, 'mismatches': bad})
        print(f'  {out[-1]["simulator"]:<28} build {run.build_seconds:6.1f} s  run {run.run_seconds:6.1f} s  '
              f'{out[-1]["rate"]:>10,.0f} vectors/s  mismatches {bad}', flush=True)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--vectors', type=int, default=3000, help='vectors through Icarus and GHDL')
    ap.add_argument('--fast-vectors', type=int, default=100_000, help='vectors through Verilator')
    ap.add_argument('--ghdl-backends', default='mcode', help='comma-separated: mcode, llvm, gcc (installed ones)')
    ap.add_argument('--skip-jet', action='store_true', help='only the 16x16 CMVM (no Keras)')
    args = ap.parse_args(argv)
    runs = [('icarus', 'icarus', args.vectors), ('verilator -O0', 'verilator', args.fast_vectors),
            ('verilator -O2', 'verilator-O2', args.fast_vectors)]
    runs += [(f'ghdl {b}', f'ghdl:{b}', args.vectors) for b in args.ghdl_backends.split(',')]
    rows = []
    with tempfile.TemporaryDirectory(prefix='bench-ghdl-') as tmp:
        work = Path(tmp)
        os.environ['CCACHE_DIR'] = str(work / 'ccache')  # Verilator builds cold too
        print(f'cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}')
        if not args.skip_jet:
            rows += measure('jet_tagger', jet_tagger(), work, runs)
        rows += measure('cmvm16', cmvm16(), work, runs)
        print(f'load average after: {os.getloadavg()[0]:.1f}')
    print(f'\n{"design":<12}{"simulator":<30}{"vectors":>9}{"build s":>9}{"run s":>8}{"vectors/s":>12}{"bad":>6}')
    for r in rows:
        print(f'{r["design"]:<12}{r["simulator"]:<30}{r["vectors"]:>9}{r["build"]:>9.1f}{r["run"]:>8.1f}'
              f'{r["rate"]:>12,.0f}{r["mismatches"]:>6}')
    if any(r['mismatches'] for r in rows):
        sys.exit('mismatches: the numbers above are not of working designs')


if __name__ == '__main__':
    main()
