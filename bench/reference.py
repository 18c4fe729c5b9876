"""Speed of the exact reference evaluator: raw integers (verif.oracle.reference.evaluate_raw)
against the Fraction definition (evaluate) and the compiler's interpreter, on the bundled jet
tagger (or any program.json), with the outputs compared.

    python bench/reference.py [--program DIR/program.json] [--vectors N] [--fraction-vectors M]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from da4ml_core.interp import run_raw
from da4ml_core.ir import Program
from verif.oracle.reference import evaluate, evaluate_raw


def jet_tagger() -> Program:
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    from da4ml_core.convert import convert_model, load_model
    from da4ml_core.convert.examples import example_files

    with example_files() as (model_path, _):
        return convert_model(load_model(model_path), on_inexact='error').program


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--program', type=Path, help='a program.json (default: the bundled jet tagger)')
    ap.add_argument('--vectors', type=int, default=20_000, help='vectors through the integer reference')
    ap.add_argument('--fraction-vectors', type=int, default=200, help='vectors through the Fraction one')
    args = ap.parse_args(argv)
    prog = Program.from_json(args.program.read_text()) if args.program else jet_tagger()
    X = np.random.default_rng(1).uniform(-64, 64, (args.vectors, prog.n_in)).round(3)
    t0 = time.perf_counter()
    raw, fs = evaluate_raw(prog, X)
    t_int = time.perf_counter() - t0
    t0 = time.perf_counter()
    frac = evaluate(prog, X[: args.fraction_vectors])
    t_frac = time.perf_counter() - t0
    t0 = time.perf_counter()
    interp = run_raw(prog, X)
    t_interp = time.perf_counter() - t0
    same = all(Fraction(int(raw[n, j])) / Fraction(2) ** fs[j] == frac[n, j]
               for n in range(len(frac)) for j in range(prog.n_out))
    print(f'program: {len(prog.ops)} ops, {prog.n_in} inputs, {prog.n_out} outputs; raw dtype {raw.dtype}')
    per_int, per_frac = t_int / len(X), t_frac / len(frac)
    print(f'integer reference : {len(X):>7} vectors {t_int:8.3f} s  {len(X) / t_int:>11,.0f} vectors/s')
    print(f'Fraction reference: {len(frac):>7} vectors {t_frac:8.3f} s  {len(frac) / t_frac:>11,.0f} vectors/s')
    print(f'interpreter       : {len(X):>7} vectors {t_interp:8.3f} s  {len(X) / t_interp:>11,.0f} vectors/s')
    print(f'integer / Fraction speed: {per_frac / per_int:,.0f}x; integer equals Fraction on the shared vectors: {same}')
    if not same:
        sys.exit('the two reference forms disagree')


if __name__ == '__main__':
    main()
