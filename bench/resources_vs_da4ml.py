"""Synthesized resources against da4ml 0.6.0: the same models, both compilers, the same yosys script.

    python bench/resources_vs_da4ml.py [--models dense,lut,...] [--family xilinx] [--json OUT]

Each test model (tests/convert/models.py) and the bundled jet tagger is converted by da4ml-core
(``convert_model``, ports at the first quantizer's precision when it saturates) and by da4ml
0.6.0 (``da4ml.converter.trace_model`` + ``da4ml.trace.comb_trace``), written as combinational
Verilog by both (``write_verilog(prog, dir)`` / ``RTLModel(comb, name, dir, latency_cutoff=-1)``)
and synthesized by ``da4ml_core.synth.synthesize_files`` with one script (yosys synth_xilinx,
memories mapped to logic first: da4ml's tables are ``$readmemh`` ROMs read from
``src/memfiles``; its sources are read with ``read_verilog -defer``, the only difference, as its
``lookup_table`` module does not elaborate with its placeholder default file name). Printed: LUTs and CARRY4 per model and the geometric means of ours / da4ml.
Models da4ml cannot convert are listed with its error and left out of the means.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import resource_designs as rd  # noqa: E402


def da4ml_counts(model, name: str, root: Path, family: str) -> dict:
    """da4ml 0.6.0's combinational Verilog of ``model``, synthesized."""
    from da4ml.codegen import RTLModel
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    from da4ml_core.synth import synthesize_files

    inp, out = trace_model(model)
    comb = comb_trace(inp, out)
    d = root / f'da4ml_{name}'
    RTLModel(comb, name, d, latency_cutoff=-1, print_latency=False).write()
    src = d / 'src'
    sources = sorted((src / 'static').glob('*.v')) + [src / f'{name}.v']
    mems = sorted((src / 'memfiles').glob('*.mem'))
    # -defer: lookup_table.v's default MEM_FILE is a placeholder that cannot be read
    res = synthesize_files(sources, name, family, data_files=mems, data_dir=src / 'memfiles', defer=True)
    res['estimate'] = float(comb.cost)
    return res


def ours_counts(design, root: Path, family: str) -> dict:
    from da4ml_core.emit import write_verilog
    from da4ml_core.synth import synthesize

    d = root / f'ours_{design.name}'
    write_verilog(design.program, d, name=design.name)
    res = synthesize(d, family)
    res['estimate'] = json.loads((d / 'metadata.json').read_text())['resources']['luts']
    return res


def _gmean(xs: list[float]) -> float:
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float('nan')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--models', default=None, help='comma-separated test model names (default: all + jet_tagger)')
    ap.add_argument('--family', default='xilinx')
    ap.add_argument('--json', default=None)
    args = ap.parse_args(argv)
    designs = rd.model_designs(args.models.split(',') if args.models else None)
    rows = []
    with tempfile.TemporaryDirectory(prefix='bench-vs-da4ml-') as tmp:
        root = Path(tmp)
        for design in designs:
            row = {'model': design.name, 'input_kif': design.input_kif, 'ours': ours_counts(design, root, args.family)}
            try:
                row['da4ml'] = da4ml_counts(design.model, design.name, root, args.family)
            except Exception as exc:  # noqa: BLE001 - the peer's limits are reported, not fatal
                msg = str(exc).splitlines()[0] if str(exc) else '(no message)'
                row['da4ml_error'] = f'{type(exc).__name__}: {msg}'
            rows.append(row)
            print(f'  {design.name}: done', file=sys.stderr)
    print(f'yosys synth_{args.family} (da4ml_core.synth), combinational, same script for both\n')
    print(f'{"model":18s}{"ours LUT":>9s}{"da4ml":>8s}{"ratio":>7s}{"ours C4":>9s}{"da4ml":>7s}{"ratio":>7s}'
          f'{"ours est":>10s}{"da4ml est":>10s}')
    lut_r, c4_r = [], []
    for r in rows:
        o = r['ours']
        if 'da4ml' not in r:
            print(f'{r["model"]:18s}{o["luts"]:>9d}{"-":>8s}{"":>7s}{o["carry"]:>9d}   skipped: da4ml 0.6.0 fails '
                  f'({r["da4ml_error"]}; input_kif={r["input_kif"]})')
            continue
        t = r['da4ml']
        lut_r.append(o['luts'] / t['luts'])
        c4_r.append(o['carry'] / t['carry'])
        print(f'{r["model"]:18s}{o["luts"]:>9d}{t["luts"]:>8d}{lut_r[-1]:>7.3f}{o["carry"]:>9d}{t["carry"]:>7d}'
              f'{c4_r[-1]:>7.3f}{o["estimate"]:>10.0f}{t["estimate"]:>10.0f}')
    print(f'\ngmean ours/da4ml over {len(lut_r)} models: LUT {_gmean(lut_r):.3f}, CARRY4 {_gmean(c4_r):.3f}')
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
