#!/usr/bin/env python3
"""Release gate: verify a design directory on Icarus and Verilator, then write a release bundle.

    python ci/release_gate.py <design dir> --out <bundle dir> [--vectors N] [--per-cycle N] [--seed S]

The design directory holds metadata.json, the Verilog and either spec.json (as written by
``verif.flows.specs.build``) or program.json + reference.npz (as written by ``da4ml-core convert``). Exit 0: every check passed and the bundle was written. Exit 1: the
design was refused; the reasons are printed and nothing is written. Exit 2: bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from verif.flows import release


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('design_dir', type=Path)
    ap.add_argument('--out', type=Path, required=True, help='bundle directory to create (must not exist)')
    ap.add_argument('--vectors', type=int, default=release.DEFAULT_VECTORS, help='bulk vectors per simulator')
    ap.add_argument('--per-cycle', type=int, default=release.DEFAULT_PER_CYCLE,
                    help='vectors through the per-cycle cocotb testbench per simulator')
    ap.add_argument('--seed', type=int, help="stimulus seed (default: the spec's, or 1)")
    args = ap.parse_args(argv)
    if args.vectors < 1000 or args.per_cycle < 0:
        ap.error('--vectors must be >= 1000 and --per-cycle >= 0')
    result = release.release(args.design_dir, args.out, n_vectors=args.vectors, per_cycle=args.per_cycle,
                             seed=args.seed)
    for run in result.report.get('runs', []):
        print(f'  {release.run_line(run)}')
    if result.released:
        print(f'RELEASED {result.bundle}')
        print(json.dumps(result.report['files'], indent=1))
        return 0
    print(f'REFUSED {args.design_dir}: nothing written', file=sys.stderr)
    for reason in result.reasons:
        print(f'- {reason}', file=sys.stderr)
    if result.evidence:
        print(f'evidence (reports, waveforms): {result.evidence}', file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
