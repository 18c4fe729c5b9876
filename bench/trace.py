"""Benchmark of the tracer: trace time and cost (LUT-bits) against da4ml 0.6.0's tracer.

Two networks, written once and traced by both tracers from the same weights (fixed seed):

- dense 64-64-32-5, 8-bit inputs and weights, relu + quantize (SAT, RND) between layers;
- a small conv net: 8x8x2 input, 3x3 conv to 4 channels (im2col + matrix product), relu +
  quantize, 2x2 max pool, dense to 5.

Both programs are checked to give the same outputs on random inputs. ``ours-csd`` is our
tracer without the CMVM solver (each output a latency-ordered sum of CSD terms). Costs are reported in our
cost model for both (their program loaded from its DAIS binary) and in their own model for
theirs. Run: ``python bench/trace.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from da4ml_core.ir import Program

RNG_SEED = 2024


def weights(rng, shape, bits=8, frac=6):
    """Random signed ``bits``-bit weights with ``frac`` fractional bits."""
    return rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), shape) * 2.0**-frac


def dense_net(x, q, relu, params):
    h = x
    for n, W in enumerate(params):
        h = h @ W
        if n < len(params) - 1:
            h = q(relu(h), 0, 3, 5, 'SAT', 'RND')
    return h


def conv_net(x, q, relu, params):
    K, W = params  # K: (3*3*2, 4), W: (3*3*4, 5)
    rows = []
    for r in range(6):
        cols = []
        for c in range(6):
            cols.append(x[r:r + 3, c:c + 3, :].reshape(-1))
        rows.append(np.stack(cols))
    patches = np.stack(rows)  # (6, 6, 18)
    h = q(relu(patches @ K), 0, 3, 5, 'SAT', 'RND')  # (6, 6, 4)
    pooled = []
    for r in range(3):
        for c in range(3):
            win = np.stack([h[2 * r, 2 * c], h[2 * r, 2 * c + 1], h[2 * r + 1, 2 * c], h[2 * r + 1, 2 * c + 1]])
            pooled.append(np.max(win, axis=0))
    flat = np.stack(pooled).reshape(-1)  # (36,)
    return flat @ W


NETS = {
    'dense 64-64-32-5': (dense_net, (64,), lambda rng: [weights(rng, (64, 64)), weights(rng, (64, 32)),
                                                         weights(rng, (32, 5))]),
    'conv 8x8x2 -> 5': (conv_net, (8, 8, 2), lambda rng: [weights(rng, (18, 4)), weights(rng, (36, 5))]),
}


def ours(net, shape, params, method='auto'):
    from da4ml_core.trace import FixedArray, cmvm, cmvm_options, quantize, relu, trace

    cmvm._PROGRAMS.clear()  # no solutions kept from an earlier run
    x = FixedArray.input(shape, 1, 3, 4)
    with cmvm_options(method=method):
        y = net(x, quantize, relu, params)
    return trace(x, y)


def theirs(net, shape, params):
    from da4ml.trace import FixedVariableArray, comb_trace

    x = FixedVariableArray.from_kif(np.ones(shape, int), np.full(shape, 3), np.full(shape, 4))

    def q(v, k, i, f, ovf, rnd):
        return v.quantize(k, i, f, overflow_mode=ovf, round_mode=rnd)

    y = net(x, q, lambda v: v.relu(), params)
    comb = comb_trace(x, y)
    return comb, Program.from_binary(comb.to_binary(), validate=False)


def timed(fn, repeat):
    best, out = float('inf'), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=2, help='runs per tracer (best time is reported)')
    args = parser.parse_args()
    print(f'{"network":18s} {"tracer":8s} {"time s":>8s} {"cost (ours)":>12s} {"cost (theirs)":>14s} '
          f'{"latency":>8s} {"adders":>7s}')
    for name, (net, shape, make) in NETS.items():
        params = make(np.random.default_rng(RNG_SEED))
        t_ours, prog = timed(lambda n=net, s=shape, p=params: ours(n, s, p), args.repeat)
        t_theirs, (comb, their_prog) = timed(lambda n=net, s=shape, p=params: theirs(n, s, p), args.repeat)
        X = np.random.default_rng(1).uniform(-8, 8, (256, int(np.prod(shape))))
        agree = np.array_equal(prog(X), their_prog(X))
        print(f'{name:18s} {"ours":8s} {t_ours:8.2f} {prog.cost:12.0f} {"":>14s} {prog.latency:8.0f} '
              f'{prog.n_adders:7d}')
        print(f'{"":18s} {"da4ml":8s} {t_theirs:8.2f} {their_prog.cost:12.0f} {comb.cost:14.0f} '
              f'{their_prog.latency:8.0f} {their_prog.n_adders:7d}')
        print(f'{"":18s} {"ratio":8s} {t_ours / t_theirs:8.2f} {prog.cost / their_prog.cost:12.3f} '
              f'{prog.cost / comb.cost:14.3f} {prog.latency / max(their_prog.latency, 1):8.2f}   '
              f'outputs agree: {agree}')
        t_csd, csd = timed(lambda n=net, s=shape, p=params: ours(n, s, p, 'csd'), args.repeat)
        agree = np.array_equal(csd(X), their_prog(X))
        print(f'{"":18s} {"ours-csd":8s} {t_csd:8.2f} {csd.cost:12.0f} {"":>14s} {csd.latency:8.0f} '
              f'{csd.n_adders:7d}   (per-output CSD sums, no solver; outputs agree: {agree})')


if __name__ == '__main__':
    main()
