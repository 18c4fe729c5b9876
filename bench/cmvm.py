"""CMVM solver quality and speed against da4ml (and alkaid) on the same matrices, same process.

    python bench/cmvm.py                 # all sets, 100 draws for set (a)
    python bench/cmvm.py --sets a --draws 20 --dc none 0

For each matrix set and latency constraint it prints mean adders, LUT-bit cost, depth and solve
time, ours and the peers', and the geometric-mean ratio ours/peer of cost and time, plus the
worst single-matrix cost ratio. Costs are LUT-bits (adder_size=1), depth in adder levels; inputs
are signed 8-bit integers. A peer that is not installed is reported as missing, not skipped
silently.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from da4ml_core.cmvm import solve

INPUT_KIF = (1, 7, 0)


def matrix_sets(draws: int, seed: int):
    """(name, list of matrices): published set (a), uniform signed (b), HGQ-like sparse (c)."""
    rng = np.random.default_rng(seed)
    sets = {}
    for n in (2, 4, 8, 12, 16):
        sets[f"a: {n}x{n} U[129,255]"] = [
            rng.integers(129, 256, (n, n)).astype(np.float64) for _ in range(draws)
        ]
    for bits in (4, 6, 8):
        for n in (8, 16, 32, 64):
            k = max(1, draws // 10) if n <= 16 else (2 if n == 32 else 1)
            half = 2 ** (bits - 1)
            sets[f"b: {n}x{n} {bits}-bit"] = sets.get(f"b: {n}x{n} {bits}-bit", []) + [
                rng.integers(-half, half, (n, n)).astype(np.float64) for _ in range(k)
            ]
    for n_in, n_out in ((16, 32), (32, 32), (64, 32)):
        mats = []
        for _ in range(max(1, draws // 10)):
            p = rng.uniform(size=(n_in, n_out))
            w = np.where(
                p < 0.55,
                0.0,
                rng.choice([-1.0, 1.0], (n_in, n_out)) * 2.0 ** rng.integers(-3, 1, (n_in, n_out)),
            )
            dense = p > 0.9  # a few 3-4 bit weights
            w = np.where(dense, rng.integers(-8, 8, (n_in, n_out)) / 4.0, w)
            mats.append(w)
        sets[f"c: {n_in}x{n_out} sparse HGQ-like"] = mats
    return sets


def ours(W, dc):
    t = time.perf_counter()
    prog = solve(W, INPUT_KIF, hard_dc=dc)
    return prog.n_adders, prog.cost, prog.latency, time.perf_counter() - t


def da4ml_peer():
    try:
        from da4ml.cmvm import solve as their_solve
    except ImportError:
        return None
    lo, hi = -(2.0 ** INPUT_KIF[1]) * INPUT_KIF[0], 2.0 ** INPUT_KIF[1] - 2.0 ** -INPUT_KIF[2]

    def run(W, dc):
        q = [(lo, hi, 2.0 ** -INPUT_KIF[2])] * W.shape[0]
        t = time.perf_counter()
        pipe = their_solve(
            W.astype(np.float32), hard_dc=-1 if dc is None else dc, qintervals=q, adder_size=1, carry_size=-1
        )
        dt = time.perf_counter() - t
        n_add = sum(sum(1 for op in s.ops if op.opcode in (0, 1)) for s in pipe.solutions)
        return n_add, float(pipe.cost), float(pipe.latency[1]), dt

    return run


def gmean(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.exp(np.mean(np.log(x))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=100, help="matrices per size in set (a)")
    ap.add_argument("--sets", default="abc", help="which sets to run (letters)")
    ap.add_argument(
        "--dc", nargs="+", default=["none", "0", "2"], help="hard_dc values (none = unconstrained)"
    )
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    peer = da4ml_peer()
    if peer is None:
        print("da4ml: not installed, no peer columns")
    solve(np.eye(2), INPUT_KIF)  # numba kernels load once before timing
    if peer is not None:
        peer(np.eye(2), None)
    header = f"{'set':28} {'dc':>4} | {'adders':>7} {'cost':>9} {'depth':>5} {'ms':>8} | {'peer add':>8} {'peer cost':>9} {'depth':>5} {'ms':>8} | {'cost r':>6} {'worst':>6} {'time r':>6}"
    print(header)
    print("-" * len(header))
    summary = {}
    for name, mats in matrix_sets(args.draws, args.seed).items():
        if name[0] not in args.sets:
            continue
        for dc_s in args.dc:
            dc = None if dc_s == "none" else int(dc_s)
            mine = np.array([ours(W, dc) for W in mats])
            line = f"{name:28} {dc_s:>4} | {mine[:, 0].mean():7.1f} {mine[:, 1].mean():9.1f} {mine[:, 2].mean():5.2f} {1e3 * mine[:, 3].mean():8.2f} |"
            if peer is not None:
                theirs = np.array([peer(W, dc) for W in mats])
                cr = mine[:, 1] / theirs[:, 1]
                tr = mine[:, 3] / theirs[:, 3]
                line += f" {theirs[:, 0].mean():8.1f} {theirs[:, 1].mean():9.1f} {theirs[:, 2].mean():5.2f} {1e3 * theirs[:, 3].mean():8.2f} | {gmean(cr):6.3f} {cr.max():6.3f} {gmean(tr):6.3f}"
                summary.setdefault((name[0], dc_s), []).append((cr, tr, mine[:, 2] - theirs[:, 2]))
            print(line, flush=True)
    if summary:
        print("\ngeometric means over each set (ours / da4ml):")
        for (s, dc_s), rows in sorted(summary.items()):
            cr = np.concatenate([r[0] for r in rows])
            tr = np.concatenate([r[1] for r in rows])
            dd = np.concatenate([r[2] for r in rows])
            print(
                f"  set {s} hard_dc={dc_s:>4}: cost {gmean(cr):.3f} (worst {cr.max():.3f}), time {gmean(tr):.3f}, "
                f"depth diff mean {dd.mean():+.2f}"
            )


if __name__ == "__main__":
    main()
