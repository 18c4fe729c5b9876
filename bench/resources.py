"""Resource calibration: the estimate in metadata.json against yosys, per design and per op kind.

    python bench/resources.py [--only ops,quantize,cmvm,models] [--models dense,lut,...] [--json OUT]

Each design (bench/resource_designs.py: every op kind alone across widths, rounding and
saturating quantizers, CMVMs of several shapes and widths, the converted test models and the
jet tagger) is written as combinational Verilog and synthesized with the default flow of
``da4ml_core.synth`` (yosys ``synth_xilinx``, cached). Printed: estimated vs synthesized LUTs and
the error of each, the carry cells (CARRY4), and per op kind the summed error over the designs
that isolate it. Targets: every model within +-5 % in LUTs, every op kind within +-10 %.
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

GROUPS = ('ops', 'quantize', 'cmvm', 'models')


def measure(design, root: Path, family: str = 'xilinx') -> dict:
    """Estimate (metadata.json) and yosys counts of one design, combinational."""
    from da4ml_core.emit import write_verilog
    from da4ml_core.synth import synthesize

    d = root / design.name
    write_verilog(design.program, d, name=design.name)
    meta = json.loads((d / 'metadata.json').read_text())
    syn = synthesize(d, family)
    est = meta['resources']
    return {'name': design.name, 'kind': design.kind, 'ops': meta['n_live_ops'], 'est_luts': est['luts'],
            'est_by_kind': est['luts_by_kind'], 'est_carry': est.get('carry'), 'luts': syn['luts'],
            'carry': syn['carry'], 'muxf': syn['muxf'], 'dsps': syn['dsps'], 'cost': meta['cost'],
            'seconds': syn['seconds'], 'cached': syn['cached']}


def _err(est: float, real: float) -> str:
    return f'{100 * (est - real) / real:+6.1f}%' if real else '     -'


def print_table(rows: list[dict]) -> None:
    print(f'{"design":30s}{"kind":>13s}{"ops":>6s}{"est LUT":>9s}{"yosys":>8s}{"err":>8s}'
          f'{"est C4":>8s}{"CARRY4":>8s}{"err":>8s}{"MUXF":>6s}{"DSP":>5s}')
    for r in rows:
        ec = r['est_carry']
        print(f'{r["name"]:30s}{r["kind"]:>13s}{r["ops"]:>6d}{r["est_luts"]:>9d}{r["luts"]:>8d}'
              f'{_err(r["est_luts"], r["luts"]):>8s}{"-" if ec is None else ec:>8}{r["carry"]:>8d}'
              f'{_err(ec, r["carry"]) if ec is not None else "":>8s}{r["muxf"]:>6d}{r["dsps"]:>5d}')


def by_kind(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """Per isolated op kind: (estimated LUTs, synthesized LUTs) summed over its designs."""
    out: dict[str, list[int]] = {}
    for r in rows:
        if r['kind'] in ('cmvm', 'model'):
            continue
        acc = out.setdefault(r['kind'], [0, 0])
        acc[0] += r['est_luts']
        acc[1] += r['luts']
    return {k: (a, b) for k, (a, b) in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--only', default=','.join(GROUPS), help=f'comma-separated subset of {",".join(GROUPS)}')
    ap.add_argument('--models', default=None, help='comma-separated test model names (default: all + jet_tagger)')
    ap.add_argument('--family', default='xilinx')
    ap.add_argument('--json', default=None, help='also write the rows here')
    args = ap.parse_args(argv)
    groups = [g for g in args.only.split(',') if g]
    designs = []
    if 'ops' in groups:
        designs += rd.op_designs()
    if 'quantize' in groups:
        designs += rd.quantize_designs()
    if 'cmvm' in groups:
        designs += rd.cmvm_designs()
    if 'models' in groups:
        designs += rd.model_designs(args.models.split(',') if args.models else None)
    rows = []
    with tempfile.TemporaryDirectory(prefix='bench-resources-') as tmp:
        for d in designs:
            rows.append(measure(d, Path(tmp), args.family))
            print(f'  {d.name}: est {rows[-1]["est_luts"]} / yosys {rows[-1]["luts"]} LUTs', file=sys.stderr)
    print(f'{len(rows)} designs, yosys synth_{args.family} (da4ml_core.synth), combinational\n')
    print_table(rows)
    kinds = by_kind(rows)
    if kinds:
        print('\nper op kind (designs isolating it, summed):')
        for k, (e, s) in sorted(kinds.items()):
            print(f'  {k:14s} est {e:7d}  yosys {s:7d}  {_err(e, s)}')
    models = [r for r in rows if r['kind'] == 'model']
    if models:
        gm = math.exp(sum(math.log(r['est_luts'] / r['luts']) for r in models) / len(models))
        worst = max(models, key=lambda r: abs(r['est_luts'] / r['luts'] - 1))
        print(f'\nmodels: est/yosys LUT gmean {gm:.3f}; worst {worst["name"]} {_err(worst["est_luts"], worst["luts"])}; '
              f'{sum(abs(r["est_luts"] / r["luts"] - 1) <= 0.05 for r in models)}/{len(models)} within +-5 %')
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
