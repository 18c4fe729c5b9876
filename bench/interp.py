"""Interpreter throughput: samples/s of ``Program.__call__`` against da4ml 0.6.0's DAIS interpreter.

Programs are random adder graphs shaped like CMVM solutions (shift-adds over a few dozen inputs,
with truncations and ReLUs keeping widths in check, a few muxes and multipliers), built with
exact intervals and run by both interpreters from the same DAIS binary. Also times a fresh
process's start to first result with the numba cache warm.

    python bench/interp.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from da4ml_core.ir import Op, Opcode, Program, QInt, intervals, pack_mux  # noqa: E402


def random_program(n_ops: int, n_in: int = 64, n_out: int = 32, seed: int = 0) -> Program:
    """A valid program of about ``n_ops`` ops: mostly shift-adds, some truncations, relus, muxes, muls."""
    rng = np.random.default_rng(seed)
    ops = [Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(1, 3, 4)) for j in range(n_in)]
    qints = [op.qint for op in ops]

    def recent() -> int:  # operands among the last 256 ops: locality like a real graph
        n = len(ops)
        return int(rng.integers(max(0, n - 256), n))

    while len(ops) < n_ops:
        r = rng.random()
        if r < 0.80:
            code = Opcode.ADD if rng.random() < 0.5 else Opcode.SUB
            op = Op(code, recent(), recent(), int(rng.integers(-2, 3)), QInt(0, 0, 0))
        elif r < 0.90:
            code = (Opcode.QUANTIZE, Opcode.RELU, Opcode.QUANTIZE_NEG)[int(rng.integers(0, 3))]
            a = recent()
            op = Op(code, a, -1, 0, QInt.of_kif(1, 4, min(qints[a].f, 4)))
        elif r < 0.96:
            a, b = recent(), recent()
            s = int(rng.integers(-1, 2))
            key = recent()
            if qints[key].lo >= 0:
                key = a if qints[a].lo < 0 else 0
            op = Op(Opcode.MUX, a, b, pack_mux(key, s), QInt(0, 0, 0))
        else:
            a, b = recent(), recent()
            if qints[a].width + qints[b].width > 32:
                continue
            op = Op(Opcode.MUL, a, b, 0, QInt(0, 0, 0))
        q = intervals.natural(op, qints)
        if q.width > 32 or abs(q.f) > 12:  # da4ml's interpreter handles up to 32 bits
            continue
        op = op.with_(qint=q)
        ops.append(op)
        qints.append(q)
    out_idxs = [int(i) for i in rng.choice(np.arange(n_in, len(ops)), size=n_out, replace=False)]
    return Program(n_in, n_out, ops, out_idxs=out_idxs)


def _rate(fn, n_samples: int, repeats: int = 5) -> float:
    """Best samples/s over a few runs (the machine is shared; the best run is the least disturbed)."""
    fn()  # warm (compile / load cache)
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n_samples / best


def cold_start(backend: str) -> float:
    """Wall seconds from a new process's start (interpreter start-up and imports included) to its
    first result, with the numba cache already warm (one discarded run fills it)."""
    code = (
        'import numpy as np\n'
        'from da4ml_core.interp import run\n'
        'from da4ml_core.ir import Program, Op, Opcode, QInt\n'
        'p = Program(1, 1, [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 2))])\n'
        f'run(p, np.zeros((4, 1)), backend={backend!r})\n'
    )
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get('PYTHONPATH', '')]))
    best = float('inf')
    for _ in range(4):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, '-c', code], check=True, env=env)
        best = min(best, time.perf_counter() - t0)
    return best


def cold_start_python() -> float:
    best = float('inf')
    for _ in range(4):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, '-c', 'pass'], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='fewer samples, shorter timing')
    ap.add_argument('--sizes', type=int, nargs='*', default=[1_000, 10_000, 100_000])
    args = ap.parse_args()

    from da4ml._binary import dais_interp_run

    rows = []
    for n_ops in args.sizes:
        prog = random_program(n_ops)
        n_samples = max(1_000, min(200_000, 100_000_000 // n_ops)) // (4 if args.quick else 1)
        X = np.random.default_rng(1).uniform(-8, 8, (n_samples, prog.n_in))
        binary = prog.to_binary()
        ref = dais_interp_run(binary, X, 1).reshape(n_samples, prog.n_out)
        assert np.array_equal(prog(X), ref), 'interpreters disagree'
        for threads in (1, 2):
            reps = 3 if args.quick else 7
            ours = _rate(lambda: prog(X, n_threads=threads), n_samples, reps)
            theirs = _rate(lambda: dais_interp_run(binary, X, threads), n_samples, reps)
            rows.append((len(prog.ops), threads, n_samples, ours, theirs))
            print(
                f'{len(prog.ops):>7} ops  {threads} thr  {n_samples:>7} samples  ours {ours:>12,.0f}/s  '
                f'da4ml {theirs:>12,.0f}/s  ratio {ours / theirs:5.2f}',
                flush=True,
            )
    bare = cold_start_python()
    print(
        f'new process to first result: {cold_start("auto"):.2f} s (small batch, numpy path), '
        f'{cold_start("numba"):.2f} s (numba kernel, warm cache); bare python -c pass: {bare:.2f} s'
    )
    return rows


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '2')
    main()
