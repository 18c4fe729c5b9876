"""Model-conversion benchmark: da4ml-core vs da4ml 0.6.0 on the bundled HGQ2 example.

Both convert the same trained model (da4ml_core/examples/jet_tagger/model.keras):

- ours:   ``da4ml_core.convert.convert_model(model)``;
- theirs: ``da4ml.converter.trace_model(model)`` (HGQ2's DAIS tracer plugin, which da4ml finds
  through its entry point) then ``da4ml.trace.comb_trace(inputs, outputs)``.

Cost is compared in ONE cost model, ours (``Program.cost``: LUT-bits, adder_size 1): their
program is exported as DAIS binary (``CombLogic.to_binary``) and loaded with
``Program.from_binary(..., validate=False)``. Their own reported ``CombLogic.cost`` is printed
too, for reference. Both programs are also run on the example's test data and compared with
``model.predict`` (mismatching samples are reported, not hidden).

Times: wall time of the conversion call(s) only (model already loaded), best of ``--repeat``
runs after one warm-up run each (numba / XLA compilation excluded); our CMVM program cache is
cleared before every run so each run solves from scratch.

    python bench/model.py [--model PATH.keras [--data X.npz]]... [--repeat 3] [--json OUT]

Several ``--model`` (each optionally followed by its ``--data``) give one table per model and
the geometric means of the ratios at the end. A model whose first quantizer saturates is
converted by us with ports at that quantizer's precision (``input_kif='quantizer'``); da4ml
0.6.0 refuses such models (reported, not fatal).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import numpy as np


def _ours(model, input_kif=None):
    from da4ml_core.convert import convert_model
    from da4ml_core.trace import cmvm

    cmvm._PROGRAMS.clear()  # no solved CMVM reused between runs
    return convert_model(model, input_kif, on_inexact='ignore').program


def _theirs(model, input_kif=None):
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    inp, out = trace_model(model)
    return comb_trace(inp, out)


def _best_time(fn, model, repeat: int, input_kif=None):
    result = fn(model, input_kif)  # warm-up (JIT compilation)
    best = float('inf')
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(model, input_kif)
        best = min(best, time.perf_counter() - t0)
    return result, best


def _mismatches(y_keras: np.ndarray, y: np.ndarray) -> int:
    return int(np.count_nonzero(np.any(y_keras.reshape(len(y), -1) != y.reshape(len(y), -1), axis=1)))


def _pairs(argv_models, argv_data):
    """(model path, data path) per --model; data defaults to the bundled example's for it."""
    if argv_data and len(argv_data) != len(argv_models):
        raise SystemExit('give one --data per --model, or none')
    return list(zip(argv_models, argv_data or [None] * len(argv_models)))


def bench_one(model_path, data_path, repeat: int, input_kif=None) -> dict:
    """Convert one model both ways; costs in our model, times, mismatches vs model.predict."""
    from da4ml_core.convert import load_model
    from da4ml_core.ir import Program

    model = load_model(model_path)
    with np.load(data_path) as d:
        key = 'x_test' if 'x_test' in d.files else 'x' if 'x' in d.files else d.files[0]
        x = d[key].astype(np.float32)
    y_keras = np.asarray(model.predict(x, verbose=0, batch_size=4096), dtype=np.float64)
    from da4ml_core.convert.errors import InputPrecisionError

    try:
        _ours(model, input_kif)
    except InputPrecisionError:  # a saturating first quantizer: ports at its precision
        input_kif = 'quantizer'
    ours, t_ours = _best_time(_ours, model, repeat, input_kif)
    X = x.reshape(len(x), -1).astype(np.float64)
    res = {
        'model': model.name,
        'samples': len(x),
        'input_kif': input_kif,
        'ours': {'cost': ours.cost, 'latency': ours.latency, 'n_ops': len(ours.ops), 'seconds': t_ours,
                 'mismatches_vs_keras': _mismatches(y_keras, ours(X))},
    }
    try:
        comb, t_theirs = _best_time(_theirs, model, repeat)
    except Exception as exc:  # noqa: BLE001 - the peer's limits are reported, not fatal
        res['da4ml_error'] = f'{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else "(no message)"}'
        return res
    theirs = Program.from_binary(comb.to_binary(), validate=False)
    res['da4ml'] = {'cost_in_our_model': theirs.cost, 'cost_reported': float(comb.cost), 'latency': theirs.latency,
                    'n_ops': len(theirs.ops), 'seconds': t_theirs,
                    'mismatches_vs_keras': _mismatches(y_keras, np.asarray(comb.predict(X), dtype=np.float64))}
    res['cost_ratio'] = ours.cost / theirs.cost
    res['time_ratio'] = t_ours / t_theirs
    return res


def _print(res: dict) -> None:
    o = res['ours']
    print(f'model {res["model"]}, {res["samples"]} test samples')
    print(f'{"":12s}{"cost (LUT-bits)":>16s}{"latency":>9s}{"ops":>7s}{"time (s)":>10s}{"mismatch":>10s}')
    print(f'{"da4ml-core":12s}{o["cost"]:16.0f}{o["latency"]:9.0f}{o["n_ops"]:7d}{o["seconds"]:10.3f}'
          f'{o["mismatches_vs_keras"]:10d}')
    if 'da4ml' not in res:
        print(f'da4ml 0.6.0 cannot convert this model ({res["da4ml_error"]})', flush=True)
        return
    t = res['da4ml']
    print(f'{"da4ml 0.6.0":12s}{t["cost_in_our_model"]:16.0f}{t["latency"]:9.0f}{t["n_ops"]:7d}{t["seconds"]:10.3f}'
          f'{t["mismatches_vs_keras"]:10d}')
    print(f'(da4ml reports cost {t["cost_reported"]:.0f} in its own model; the table uses ours for both)')
    print(f'LUT-cost ratio ours/da4ml = {res["cost_ratio"]:.3f}   conversion time ratio ours/da4ml = '
          f'{res["time_ratio"]:.2f}', flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', action='append', default=[], help='a .keras file (default: the bundled example)')
    ap.add_argument('--data', action='append', default=[],
                    help='.npz with x_test (or x) per --model (default: the bundled example data)')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--json', default=None, help='also write the results here')
    args = ap.parse_args(argv)

    from da4ml_core.convert.demo import example_files

    results = []
    with example_files() as (model_path, data_path):
        pairs = _pairs(args.model, args.data) if args.model else [(model_path, data_path)]
        for m, d in pairs:
            res = bench_one(m, d or data_path, args.repeat)
            _print(res)
            results.append(res)
    both = [r for r in results if 'da4ml' in r]
    if len(results) > 1 and both:
        cost = np.exp(np.mean(np.log([r['cost_ratio'] for r in both])))
        speed = np.exp(np.mean(np.log([r['time_ratio'] for r in both])))
        worst = max(r['time_ratio'] for r in both)
        print(f'\n{len(both)} of {len(results)} models converted by both: geometric mean LUT-cost ratio '
              f'{cost:.3f}, conversion time ratio {speed:.2f} (slowest {worst:.2f})')
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(results if len(results) > 1 else results[0], fh, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
