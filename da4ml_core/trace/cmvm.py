"""Constant linear maps on traced values: split into independent blocks, solve each block with
the CMVM optimizer (``da4ml_core.cmvm.solve``) and inline the returned program.

Blocks: inputs and outputs connected through non-zero weights form one CMVM each, so a batch
of rows times one matrix (or the patches of a convolution) gives many small identical problems,
solved once and inlined many times (cached by matrix, input intervals and latencies). Constant
inputs never reach the solver: their contribution is added as a constant. Until the solver is
importable (or with ``method='csd'``) each output is a latency-ordered sum of CSD terms.
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction

import numpy as np

from ..ir import Opcode, Program
from .reduce import sum_tree
from .var import (
    FixedVar,
    add,
    const,
    const_add,
    csd_digits,
    frac_bits,
    mul,
    neg,
    ready,
    relu,
    scale,
    select,
    trunc_wrap,
)

__all__ = ['OPTIONS', 'cmvm_options', 'csd_cmvm', 'linear_map', 'run_graph', 'run_program']

OPTIONS: dict = {'method': 'auto'}  # 'auto' | 'solve' | 'csd', plus keyword arguments for solve
_PROGRAMS: dict = {}  # solved adder graphs by (matrix, input intervals and latencies, options)


@contextlib.contextmanager
def cmvm_options(**options):
    """Within the block, constant linear maps use these options: ``method`` ('auto' = the
    solver when importable, 'solve', 'csd') and any keyword argument of ``solve``."""
    saved = dict(OPTIONS)
    OPTIONS.update(options)
    try:
        yield OPTIONS
    finally:
        OPTIONS.clear()
        OPTIONS.update(saved)


def _solver():
    method = OPTIONS.get('method', 'auto')
    if method not in ('auto', 'solve', 'csd'):
        raise ValueError(f"cmvm method={method!r} is not 'auto', 'solve' or 'csd'")
    if method == 'csd':
        return None
    try:
        from ..cmvm import solve_graph
    except ImportError:
        if method == 'solve':
            raise
        return None
    return solve_graph


def run_program(prog: Program, xs: list[FixedVar]) -> list[FixedVar]:
    """Re-execute a program on traced values: every op is rebuilt from the values' own (possibly
    narrower) intervals, shifts and signs fold as usual. LOOKUP and unsigned-key MUX are not
    supported (a CMVM program has neither)."""
    vals: list[FixedVar] = []
    for j, op in enumerate(prog.ops):
        code = op.opcode
        a = vals[op.id0] if code not in (Opcode.INPUT, Opcode.CONST) else None
        if code == Opcode.INPUT:
            v = trunc_wrap(scale(xs[op.id0], prog.inp_shifts[op.id0]), *op.qint.kif)
        elif code in (Opcode.ADD, Opcode.SUB):
            b = scale(vals[op.id1], op.data)
            v = add(a, neg(b) if code == Opcode.SUB else b)
        elif code == Opcode.CONST_ADD:
            v = const_add(a, Fraction(op.data) / Fraction(2) ** op.qint.f)
        elif code == Opcode.CONST:
            v = const(Fraction(op.data) / Fraction(2) ** op.qint.f)
        elif abs(code) == Opcode.QUANTIZE:
            v = trunc_wrap(neg(a) if code < 0 else a, *op.qint.kif)
        elif abs(code) == Opcode.RELU:
            v = relu(neg(a) if code < 0 else a, op.qint.kif)
        elif code == Opcode.MUL:
            v = mul(a, vals[op.id1])
        elif abs(code) == Opcode.MUX and prog.ops[op.key].qint.lo < 0:
            from .logic import lt0

            b = scale(vals[op.id1], op.shift)
            v = select(lt0(vals[op.key]), a, neg(b) if code < 0 else b)
        else:
            raise ValueError(f'op {j} ({Opcode(code).name}) cannot be inlined into a trace')
        vals.append(ready(v))
    outs = []
    for idx, s, n in zip(prog.out_idxs, prog.out_shifts, prog.out_negs):
        v = scale(vals[idx], s) if idx >= 0 else FixedVar(value=Fraction(0))
        outs.append(neg(v) if n else v)
    return outs


def run_graph(graph, xs: list[FixedVar]) -> list[FixedVar]:
    """Re-execute a solver's adder graph (``da4ml_core.cmvm.AdderGraph``) on traced values, the
    way :func:`run_program` runs its Program, minus building that Program."""
    vals = [ready(x) for x in xs]
    for a, b, shift, sub in graph.adders:
        vb = scale(vals[b], shift)
        vals.append(ready(add(vals[a], neg(vb) if sub else vb)))
    outs = []
    for idx, s, n in graph.outputs:
        v = scale(vals[idx], s) if idx >= 0 else FixedVar(value=Fraction(0))
        outs.append(neg(v) if n else v)
    return outs


def csd_cmvm(xs: list[FixedVar], W: np.ndarray) -> list[FixedVar]:
    """y = x @ W, each output one latency-ordered sum of all its CSD terms (no sharing)."""
    outs = []
    for j in range(W.shape[1]):
        terms = []
        for i in np.flatnonzero(W[:, j]):
            c = Fraction(float(W[i, j]))
            e = frac_bits(c)
            base = neg(xs[i]) if c < 0 else xs[i]
            for pos, d in csd_digits(int(abs(c) * Fraction(2) ** e)):
                terms.append(scale(base if d > 0 else neg(base), pos - e))
        outs.append(sum_tree(terms))
    return outs


def _exact_float(x: Fraction) -> float:
    f = float(x)
    if Fraction(f) != x:
        raise ValueError(f'a combined weight {x} is not exactly representable as float64')
    return f


def _merge(keys: np.ndarray, weights: list[Fraction]):
    """Sum weights with equal keys exactly; drop zeros. Returns (unique keys, float weights)."""
    uniq, inv = np.unique(keys, return_inverse=True)
    acc = [Fraction(0)] * len(uniq)
    for j, w in zip(inv.tolist(), weights):
        acc[j] += w
    keep = [j for j, w in enumerate(acc) if w != 0]
    return uniq[keep], np.array([_exact_float(acc[j]) for j in keep], dtype=np.float64)


def _components(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """Connected-component label of every column (rows and columns linked by entries)."""
    col_lab = np.arange(n_cols)
    row_lab = np.full(n_rows, n_cols, dtype=np.int64)
    while True:
        new_row = np.full(n_rows, n_cols, dtype=np.int64)
        np.minimum.at(new_row, rows, col_lab[cols])
        new_col = col_lab.copy()
        np.minimum.at(new_col, cols, new_row[rows])
        if np.array_equal(new_col, col_lab) and np.array_equal(new_row, row_lab):
            return col_lab
        col_lab, row_lab = new_col, new_row


def _solve_block(xs: list[FixedVar], W: np.ndarray) -> list[FixedVar]:
    solve = _solver()
    if solve is None:
        return csd_cmvm(xs, W)
    qints = [x.qint for x in xs]
    lats = [x.latency for x in xs]
    opts = {k: v for k, v in OPTIONS.items() if k != 'method'}
    key = (W.shape, W.tobytes(), tuple(qints), tuple(lats), tuple(sorted(opts.items())))
    graph = _PROGRAMS.get(key)
    if graph is None:
        if len(_PROGRAMS) > 256:
            _PROGRAMS.clear()
        graph, _ = solve(W, input_qints=qints, input_latencies=lats, **opts)
        _PROGRAMS[key] = graph
    return run_graph(graph, xs)


def linear_map(xs: list[FixedVar], rows, cols, weights, n_out: int) -> list[FixedVar]:
    """``y[c] = sum of x[r] * w`` over the entries (r, c, w); weights exact floats."""
    xs = [ready(x) for x in xs]
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    wf = np.asarray(weights, dtype=np.float64)
    bias = [Fraction(0)] * n_out
    node_id: dict[int, int] = {}
    nodes: list[FixedVar] = []
    keys, kept = [], []
    for r, c, w in zip(rows.tolist(), cols.tolist(), wf.tolist()):
        if w == 0:
            continue
        x = xs[r]
        if x.is_const:
            bias[c] += x.value * Fraction(w)
            continue
        j = node_id.setdefault(id(x.node), len(nodes))
        if j == len(nodes):
            nodes.append(FixedVar(x.node))
        keys.append(j * n_out + c)
        kept.append((-w if x.neg else w, x.shift))
    outs = [FixedVar(value=b) for b in bias]
    if not keys:
        return outs
    keys_arr = np.array(keys, dtype=np.int64)
    if np.unique(keys_arr).size == keys_arr.size:
        # every (input, output) pair once: scaling by 2**shift is exact in float64, nothing to sum
        order = np.argsort(keys_arr, kind='stable')
        scaled = np.array([math.ldexp(w, s) for w, s in kept], dtype=np.float64)
        exact = all(math.isfinite(v) and math.ldexp(v, -s) == w for v, (w, s) in zip(scaled.tolist(), kept))
        if not exact:
            raise ValueError('a weight times its input scale is not exactly representable as float64')
        ukeys, uw = keys_arr[order], scaled[order]
    else:  # repeated inputs: sum their weights exactly
        ukeys, uw = _merge(keys_arr, [Fraction(w) * Fraction(2) ** s for w, s in kept])
    r_idx, c_idx = ukeys // n_out, ukeys % n_out
    labels = _components(r_idx, c_idx, len(nodes), n_out)
    order = np.argsort(labels[c_idx], kind='stable')
    bounds = np.flatnonzero(np.diff(labels[c_idx][order])) + 1
    for part in np.split(order, bounds):
        in_ids, in_pos = np.unique(r_idx[part], return_inverse=True)
        out_ids, out_pos = np.unique(c_idx[part], return_inverse=True)
        W = np.zeros((len(in_ids), len(out_ids)), dtype=np.float64)
        W[in_pos, out_pos] = uw[part]
        ys = _solve_block([nodes[j] for j in in_ids.tolist()], W)
        for o, y in zip(out_ids.tolist(), ys):
            outs[o] = const_add(y, bias[o])
    return outs
