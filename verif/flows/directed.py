"""Directed input vectors for the corners coverage says a stimulus misses.

Why: uniform and extreme rows rarely drive an inner adder to the end of its interval or land
a quantizer exactly on a tie, and those are where the subtle faults (an adder one bit too
narrow, a clamp one step off, a tie rounded the wrong way) show. For each event
``verif.flows.coverage`` reports missed:

1. over the linear part (the watched op's linear form has INPUT ops only as leaves) the row
   follows from the form: each input at the bound its coefficient's sign picks (an adder's
   min / max), or solved greedily for a target value (a key's sign change, a tie, a table key);
2. deeper events get a seeded local search: the closest rows are mutated a few fields at a
   time and scored by the exact reference (``verif.oracle.reference``) for some rounds.

Candidates that hit are then chosen greedily (most missed events first) within a budget of
``PER_ADDER`` rows per adder, capped at ``CAP``. Same program, rows and seed: same rows.
"""

from __future__ import annotations

import numpy as np

from da4ml_core.ir import Opcode, Program
from da4ml_core.ir.ranges import LinearRanges

from ..oracle.reference import evaluate_ops_raw
from . import coverage as cov
from .ports import bus_to_floats

__all__ = ['CAP', 'MIN_BUDGET', 'PER_ADDER', 'budget_for', 'directed_rows']

PER_ADDER = 2
MIN_BUDGET = 16
CAP = 1024
SEARCH_ROUNDS = 12
SEARCH_WIDTH = 8  # mutated rows per missed event and round
SEARCH_EVENTS_PER_ROW = 4  # missed events looked at per row of the budget


def budget_for(prog: Program) -> int:
    n_adders = sum(op.opcode in (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD) for op in prog.ops)
    return min(max(PER_ADDER * n_adders, MIN_BUDGET), CAP)


def _field_ranges(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([-(1 << (e['width'] - 1)) if e['signed'] else 0 for e in meta['inputs']] or [0], dtype=np.int64)
    hi = np.array([(1 << (e['width'] - 1)) - 1 if e['signed'] else (1 << e['width']) - 1 for e in meta['inputs']]
                  or [1], dtype=np.int64)
    used = np.array([e['used'] for e in meta['inputs']] or [False])
    return np.where(used, lo, 0), np.where(used, hi, 0)


def _input_map(prog: Program, meta: dict) -> dict[int, tuple[int, int]]:
    """Input-like leaf op (an INPUT or a bit slice of one) -> (bus field, left shift from the
    op's raw value to the field's)."""
    out = {}
    for j in range(len(prog.ops)):
        i = cov.input_leaf(prog, j)
        if i is None:
            continue
        field = prog.ops[i].id0
        if field >= len(meta['inputs']) or not meta['inputs'][field]['used']:
            continue
        d = int(meta['inputs'][field]['f']) - (prog.ops[i].qint.f + prog.inp_shifts[field])
        d += prog.ops[i].qint.f - prog.ops[j].qint.f
        if d >= 0:
            out[j] = (field, d)
    return out


def _linear_row(prog, form, inputs, lo, hi, kind: str, target: int) -> np.ndarray | None:
    """A bus row driving ``const + sum(c * input op)`` to its min / max, or greedily to ``target``."""
    terms, const = form
    if any(j not in inputs for j in terms):
        return None
    row = np.zeros(len(lo), dtype=np.int64)
    val = {j: 0 for j in terms}
    qs = {j: prog.ops[j].qint for j in terms}
    if kind in ('adder_min', 'adder_max'):
        for j, c in terms.items():
            up = (c > 0) == (kind == 'adder_max')
            val[j] = qs[j].hi if up else qs[j].lo
    else:
        order = sorted(terms, key=lambda j: -abs(terms[j]))
        for _ in range(2):
            for j in order:
                c = terms[j]
                r = target - const - sum(terms[m] * val[m] for m in terms)
                val[j] = int(min(max(val[j] + round(r / c), qs[j].lo), qs[j].hi))
    for j, v in val.items():
        field, d = inputs[j]
        row[field] = min(max(v << d, lo[field]), hi[field])
    return row


def _targets(prog: Program, e: cov.Event) -> int:
    """The raw value of the watched op to aim a linear solve at."""
    q = prog.ops[e.watch].qint
    if e.kind in ('mux_a', 'mux_b', 'sat_clamp', 'sat_pass'):
        if q.kif.k:
            return -1 if e.target else 0
        split = 1 << (q.kif.i + q.kif.f - 1)
        return split if e.target else split - 1
    if e.kind in ('relu_pos', 'relu_neg'):
        return e.target
    if e.kind == 'round_tie':
        return 1 << (e.target - 1)
    return e.target


def _evaluate(prog, meta, rows) -> list:
    return evaluate_ops_raw(prog, bus_to_floats(meta, rows))


def _closest(prog, meta, evs, pool: np.ndarray) -> np.ndarray:
    """Per event, the index of the pool row closest to it (the first of equals), ``cov.CHUNK``
    rows evaluated at a time."""
    best_d = np.full(len(evs), np.inf)
    best_i = np.zeros(len(evs), dtype=np.int64)
    for a in range(0, len(pool), cov.CHUNK):
        d = cov.distances(prog, evs, _evaluate(prog, meta, pool[a:a + cov.CHUNK]))
        k = np.argmin(d, axis=1)
        dk = d[np.arange(len(evs)), k]
        better = dk < best_d
        best_d[better], best_i[better] = dk[better], a + k[better]
    return best_i


def _search(prog, meta, evs, start: np.ndarray, lo, hi, rng) -> np.ndarray:
    """Best row per event after SEARCH_ROUNDS rounds of seeded mutation (start: one row per
    event); each event scores only its own candidates."""
    best = start.copy()
    values = _evaluate(prog, meta, best)
    best_d = np.array([cov.distance(prog, e, values[e.watch][0][k:k + 1])[0] for k, e in enumerate(evs)])
    span = hi - lo
    W = SEARCH_WIDTH
    for _ in range(SEARCH_ROUNDS):
        todo = np.flatnonzero(best_d > 0)
        if not len(todo):
            break
        cand = np.repeat(best[todo], W, axis=0)
        for r in range(len(cand)):
            for j in rng.choice(len(lo), size=min(len(lo), int(rng.integers(1, 4))), replace=False).tolist():
                if span[j] == 0:
                    continue
                how = rng.integers(3)
                if how == 0:
                    cand[r, j] = rng.integers(lo[j], hi[j], endpoint=True)
                elif how == 1:
                    cand[r, j] = min(max(cand[r, j] + int(rng.integers(-4, 5)), lo[j]), hi[j])
                else:
                    cand[r, j] = lo[j] if rng.integers(2) else hi[j]
        values = _evaluate(prog, meta, cand)
        for k, t in enumerate(todo.tolist()):
            e = evs[t]
            mine = cov.distance(prog, e, values[e.watch][0][k * W:(k + 1) * W])
            m = int(np.argmin(mine))
            if mine[m] < best_d[t]:
                best_d[t], best[t] = mine[m], cand[k * W + m]
    return best


def directed_rows(prog: Program, meta: dict, base_rows, *, budget: int | None = None, seed: int = 0) -> np.ndarray:
    """Rows (n, n_input_fields) hitting events ``base_rows`` miss, at most ``budget`` of them
    (default :func:`budget_for`); deterministic in the arguments."""
    base_rows = np.asarray(base_rows, dtype=np.int64)
    budget = budget_for(prog) if budget is None else budget
    if budget < 0:
        raise ValueError(f'budget={budget} must be >= 0')
    n_fields = max(len(meta['inputs']), 1)
    empty = np.zeros((0, n_fields), dtype=np.int64)
    missed = list(cov.measure(prog, bus_to_floats(meta, base_rows)).missed) if len(base_rows) else cov.events(prog)
    missed.sort(key=lambda e: (not e.reachable, e.op))  # proven-reachable first, then in op order
    missed = missed[:SEARCH_EVENTS_PER_ROW * budget]
    if not missed or not budget:
        return empty
    rng = np.random.default_rng([seed, 7])
    lo, hi = _field_ranges(meta)
    lin, inputs = LinearRanges(prog.ops), _input_map(prog, meta)
    linear = []
    for e in missed:
        form = cov.input_form(lin, prog, e.watch)
        row = _linear_row(prog, form, inputs, lo, hi, e.kind, _targets(prog, e)) if form is not None else None
        linear.append(row)
    found = [r for r in linear if r is not None]
    pool = np.concatenate([base_rows, np.array(found, dtype=np.int64).reshape(-1, n_fields)]) \
        if len(base_rows) else np.array(found or [np.zeros(n_fields, np.int64)], dtype=np.int64)
    start = pool[_closest(prog, meta, missed, pool)]
    searched = _search(prog, meta, missed, start, lo, hi, rng)
    cand = np.unique(np.concatenate([np.array(found, dtype=np.int64).reshape(-1, n_fields), searched]), axis=0)
    hits = cov.distances(prog, missed, _evaluate(prog, meta, cand)) == 0
    chosen, open_ = [], np.ones(len(missed), dtype=bool)
    while len(chosen) < budget:
        gain = (hits & open_[:, None]).sum(axis=0)
        best = int(np.argmax(gain))
        if gain[best] == 0:
            break
        chosen.append(best)
        open_ &= ~hits[:, best]
    return cand[chosen] if chosen else empty
