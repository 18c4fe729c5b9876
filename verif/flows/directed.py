"""Directed input vectors for the corners coverage says a stimulus misses.

Why: uniform and extreme rows rarely drive an inner adder to the end of its interval or land
a quantizer exactly on a tie, and those are where the subtle faults (an adder one bit too
narrow, a clamp one step off, a tie rounded the wrong way) show. For each event
``verif.flows.coverage`` reports missed:

1. over the linear part (the watched op's linear form has INPUT ops only as leaves) the row
   follows from the form: each input at the bound its coefficient's sign picks (an adder's
   min / max), or solved greedily for a target value (a key's sign change, a tie, a table key);
2. deeper events (and targets the greedy solve misses) get a seeded local search from the
   closest rows: each round mutates a few fields at a time and sweeps one field over its range,
   scored by the exact reference (``verif.oracle.reference``).

Candidates that hit are then chosen greedily (most missed events first) within a budget of
``PER_ADDER`` rows per adder, capped at ``CAP``. Same program, rows and seed: same rows.
"""

from __future__ import annotations

from fractions import Fraction

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
CROSSES = 3  # of the mutated rows, mixes with rows that show another corner (and as many scaled)
SWEEP_VALUES = 40  # rows per missed event and round with one field swept
SWEEP_NEAR = 4  # of them, the field's neighbours either side of its current value
REPAIR_STEPS = 8  # single / pair moves of a linear solve toward its window
REPAIR_PAIRS = 8  # terms (the smallest coefficients) a move may pair with another
REPAIR_NEAR = 2  # steps either side of a term's ideal change tried
EXACT_SUMS = 1 << 25  # reachable-sum table entries the exact solve may keep (all stages)
EXACT_WORK = 1 << 28  # and entries it may touch
ENUM_TERMS = 4  # smallest-coefficient terms changed together when pairs fall short
ENUM_NEAR = 6  # steps either side for each of them
WINDOW_HOPS = 6  # ops walked back from a watched op to a linear one
UNSEEN = 0.5  # the score of a hit where no fault shows
OBSERVE_CHECKS = 4  # hitting rows per event checked for observation per round
START_CHECKS = 16  # hitting rows of the stimulus per event checked for a start that shows
FOUND_CHECKS = 64  # and of the rows solved for other corners, tried first
EXACT_KINDS = ('mux_edge', 'relu_edge', 'lut_entry')  # events on one raw value of the watched op
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


def _linear_row(prog, form, inputs, lo, hi, kind: str, target) -> np.ndarray | None:
    """A bus row driving ``const + sum(c * input op)`` to its min / max, or to ``target``: one raw
    value, or an inclusive (low, high) window of them, solved greedily then repaired."""
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
        t_lo, t_hi = target if isinstance(target, tuple) else (target, target)
        mid = (t_lo + t_hi) // 2
        exact = _solve_exact(terms, qs, const, t_lo, t_hi)
        if exact is not None:
            val.update(exact)
        else:
            order = sorted(terms, key=lambda j: -abs(terms[j]))
            for _ in range(2):
                for j in order:
                    c = terms[j]
                    r = mid - const - sum(terms[m] * val[m] for m in terms)
                    val[j] = int(min(max(val[j] + round(r / c), qs[j].lo), qs[j].hi))
            _repair(terms, qs, val, const, t_lo, t_hi)
    for j, v in val.items():
        field, d = inputs[j]
        row[field] = min(max(v << d, lo[field]), hi[field])
    return row


def _solve_exact(terms: dict, qs: dict, const: int, t_lo: int, t_hi: int) -> dict | None:
    """Values of the terms putting ``const + sum(c * v)`` in [t_lo, t_hi] (the reachable sum
    nearest the window's middle), found by dynamic programming over the reachable sums when
    they are few enough (``EXACT_SUMS``); None when the window is unreachable or too wide to
    enumerate. Why: a key that must sit on one value is a subset-sum problem, which greedy
    moves solve only when a small coefficient happens to be free."""
    js = list(terms)
    cs = [int(terms[j]) for j in js]
    ns = [int(qs[j].hi - qs[j].lo) for j in js]
    neg = sum(min(0, c * n) for c, n in zip(cs, ns))
    size = sum(abs(c) * n for c, n in zip(cs, ns)) + 1
    if size * len(js) > EXACT_SUMS or size * sum(n + 1 for n in ns) > EXACT_WORK:
        return None
    base = const + sum(c * int(qs[j].lo) for c, j in zip(cs, js)) + neg  # sum at index 0
    stages = [np.zeros(size, dtype=bool)]
    stages[0][-neg] = True
    for c, n in zip(cs, ns):
        prev, cur = stages[-1], np.zeros(size, dtype=bool)
        for u in range(n + 1):
            d = c * u
            if d >= 0:
                cur[d:] |= prev[:size - d]
            else:
                cur[:size + d] |= prev[-d:]
        stages.append(cur)
    a, b = max(t_lo - base, 0), min(t_hi - base, size - 1)
    if a > b or not stages[-1][a:b + 1].any():
        return None
    idx = np.flatnonzero(stages[-1][a:b + 1]) + a
    s = int(idx[np.argmin(np.abs(idx - ((t_lo + t_hi) // 2 - base)))])
    out = {}
    for k in range(len(js) - 1, -1, -1):
        c, prev = cs[k], stages[k]
        for u in range(ns[k] + 1):
            if 0 <= s - c * u < size and prev[s - c * u]:
                out[js[k]] = int(qs[js[k]].lo) + u
                s -= c * u
                break
    return out


def _repair(terms: dict, qs: dict, val: dict, const: int, t_lo: int, t_hi: int) -> None:
    """Move ``val`` (in place) until ``const + sum(c * val)`` lies in [t_lo, t_hi], one or two
    terms changed per step (a pair of coefficients reaches residuals neither reaches alone),
    for at most REPAIR_STEPS steps; stops where no change gets closer."""
    def off(s):
        return max(t_lo - s, s - t_hi, 0)

    fine = sorted(terms, key=lambda j: abs(terms[j]))[:REPAIR_PAIRS]
    for _ in range(REPAIR_STEPS):
        s = const + sum(terms[j] * val[j] for j in terms)
        if not off(s):
            return
        goal = (t_lo + t_hi) // 2 - s
        best, move = off(s), None
        for j, c in terms.items():
            ideal = goal / c
            for dj in {int(np.floor(ideal)) + k for k in range(-REPAIR_NEAR, REPAIR_NEAR + 2)}:
                nj = min(max(val[j] + dj, qs[j].lo), qs[j].hi)
                s1 = s + c * (nj - val[j])
                if off(s1) < best:
                    best, move = off(s1), ((j, nj),)
                for m in fine:
                    if m == j:
                        continue
                    cm = terms[m]
                    for dm in (int(np.floor((goal - (s1 - s)) / cm)), int(np.ceil((goal - (s1 - s)) / cm))):
                        nm = min(max(val[m] + dm, qs[m].lo), qs[m].hi)
                        s2 = s1 + cm * (nm - val[m])
                        if off(s2) < best:
                            best, move = off(s2), ((j, nj), (m, nm))
        if move is None:
            break
        for j, v in move:
            val[j] = v
    s = const + sum(terms[j] * val[j] for j in terms)
    if off(s):
        _enumerate_fine(terms, qs, val, s, t_lo, t_hi)


def _enumerate_fine(terms: dict, qs: dict, val: dict, s: int, t_lo: int, t_hi: int) -> None:
    """Every change of at most ENUM_NEAR steps of the ENUM_TERMS terms with the smallest
    coefficients at once (vectorized): the residuals a pair cannot reach (three or four small
    coefficients combined) land in the window; the first combination that does is applied."""
    fine = sorted(terms, key=lambda j: abs(terms[j]))[:ENUM_TERMS]
    steps = np.arange(-ENUM_NEAR, ENUM_NEAR + 1, dtype=np.int64)
    grids = np.meshgrid(*[steps] * len(fine), indexing='ij')
    delta = np.stack([g.ravel() for g in grids], axis=1)
    now = np.array([val[j] for j in fine], dtype=np.int64)
    lo = np.array([qs[j].lo for j in fine], dtype=np.int64)
    hi = np.array([qs[j].hi for j in fine], dtype=np.int64)
    new = now[None, :] + delta
    ok = ((new >= lo) & (new <= hi)).all(axis=1)
    s_new = s + (new - now[None, :]) @ np.array([terms[j] for j in fine], dtype=np.int64)
    hit = np.flatnonzero(ok & (s_new >= t_lo) & (s_new <= t_hi))
    if len(hit):
        k = hit[np.argmin(np.abs(delta[hit]).sum(axis=1))]  # the smallest change
        for j, v in zip(fine, new[k].tolist()):
            val[j] = v


def _window_through(prog, lin, watch: int, t_lo: int, t_hi: int):
    """For a watched op with no linear form of its own, the linear op below it and its raw
    window: back through constant adds, truncating quantizers and a rounding offset (an add of
    a MUX of constants), value windows mapped exactly (the offset by its declared range, so the
    window is checked by the reference afterwards). (op, (low, high)) or None."""
    j = watch
    f = prog.ops[j].qint.f
    lo_v, hi_v = Fraction(t_lo) * Fraction(2) ** -f, Fraction(t_hi) * Fraction(2) ** -f
    for _ in range(WINDOW_HOPS):
        if cov.input_form(lin, prog, j) is not None:
            fj = prog.ops[j].qint.f
            scale = Fraction(2) ** fj
            r_lo, r_hi = -((-lo_v * scale).numerator // (-lo_v * scale).denominator), \
                (hi_v * scale).numerator // (hi_v * scale).denominator
            return (j, (int(r_lo), int(r_hi))) if r_lo <= r_hi else None
        op = prog.ops[j]
        q = op.qint
        if op.opcode == Opcode.CONST_ADD:
            c = Fraction(op.data) * Fraction(2) ** -q.f
            lo_v, hi_v, j = lo_v - c, hi_v - c, op.id0
        elif op.opcode == Opcode.QUANTIZE:
            fa = prog.ops[op.id0].qint.f
            hi_v = hi_v + Fraction(2) ** -q.f - Fraction(2) ** -fa if fa > q.f else hi_v
            j = op.id0
        elif op.opcode == Opcode.ADD and abs(prog.ops[op.id1].opcode) == Opcode.MUX and all(
                prog.ops[m].opcode == Opcode.CONST for m in (prog.ops[op.id1].id0, prog.ops[op.id1].id1)):
            oq = prog.ops[op.id1].qint
            o_lo = Fraction(oq.lo) * Fraction(2) ** (op.data - oq.f)
            o_hi = Fraction(oq.hi) * Fraction(2) ** (op.data - oq.f)
            a, b = lo_v - o_lo, hi_v - o_hi
            lo_v, hi_v = (a, b) if a <= b else (lo_v - o_hi, hi_v - o_lo)
            j = op.id0
        else:
            return None
    return None


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


def _mutated(rows: np.ndarray, lo, hi, rng) -> np.ndarray:
    """Each row with 1-3 fields redrawn: uniform, nudged by up to 4 steps, or set to a bound."""
    out = rows.copy()
    span = hi - lo
    for r in range(len(out)):
        for j in rng.choice(len(lo), size=min(len(lo), int(rng.integers(1, 4))), replace=False).tolist():
            if span[j] == 0:
                continue
            how = rng.integers(3)
            if how == 0:
                out[r, j] = rng.integers(lo[j], hi[j], endpoint=True)
            elif how == 1:
                out[r, j] = min(max(out[r, j] + int(rng.integers(-4, 5)), lo[j]), hi[j])
            else:
                out[r, j] = lo[j] if rng.integers(2) else hi[j]
    return out


def _crossed(row: np.ndarray, donors: np.ndarray, rng) -> np.ndarray:
    """CROSSES rows mixing ``row`` with random donor rows field by field. Why: a corner that
    is hit but hidden downstream (a tie rounded into a clamp) needs the rest of the row from
    somewhere the clamp passes, and a row that shows another corner is such a place."""
    picks = donors[rng.integers(len(donors), size=CROSSES)]
    mine = rng.random((CROSSES, len(row))) < 0.5
    return np.where(mine, row[None, :], picks)


def _scaled(row: np.ndarray, lo, hi, rng) -> np.ndarray:
    """CROSSES rows with every field moved toward one end of its range by a random factor:
    sums of many inputs shrink (or grow) together, where single-field moves cannot leave a
    region that saturates."""
    u = rng.random((CROSSES, 1))
    end = np.where(rng.random((CROSSES, 1)) < 0.5, lo[None, :], hi[None, :])
    return np.round(end + (row[None, :] - end) * u).astype(np.int64)


def _swept(row: np.ndarray, j: int, lo, hi) -> np.ndarray:
    """SWEEP_VALUES rows: ``row`` with field j at every value of its range (evenly spaced ones
    when wider) and near its current value. Why: a key that must sit on one exact value moves
    monotonically with each input of a linear form, so one field swept lands on it or next to it
    where random redraws rarely do."""
    span = int(hi[j] - lo[j])
    coarse = SWEEP_VALUES - 2 * SWEEP_NEAR
    if span + 1 <= SWEEP_VALUES:
        vals = np.arange(lo[j], hi[j] + 1, dtype=np.int64)
    else:
        vals = np.linspace(lo[j], hi[j], coarse).round().astype(np.int64)
        near = row[j] + np.array([d for d in range(-SWEEP_NEAR, SWEEP_NEAR + 1) if d], dtype=np.int64)
        vals = np.concatenate([vals, np.clip(near, lo[j], hi[j])])
    vals = np.resize(vals, SWEEP_VALUES)  # a fixed block per event (short ranges repeat)
    out = np.repeat(row[None, :], SWEEP_VALUES, axis=0)
    out[:, j] = vals
    return out


def _with_observation(prog, meta, evs, which: np.ndarray, rows: np.ndarray, d: np.ndarray,
                      checks: int = 0) -> np.ndarray:
    """Distances ``d`` (row r to event ``evs[which[r]]``) with ``UNSEEN`` where a row hits its
    event but no fault there shows at an output (``verif.flows.coverage.observing``); at most
    ``checks`` (default ``OBSERVE_CHECKS``) hitting rows per event, evenly spread over them,
    are checked, the others count as unseen."""
    checks = checks or OBSERVE_CHECKS
    d = np.asarray(d, dtype=np.float64).copy()
    zero = np.flatnonzero(d == 0)
    if not len(zero):
        return d
    d[zero] = UNSEEN
    keep = []
    for t in np.unique(which[zero]).tolist():
        mine = zero[which[zero] == t]
        keep.append(mine[np.unique(np.linspace(0, len(mine) - 1, min(len(mine), checks)).round().astype(np.int64))])
    keep = np.concatenate(keep)
    obs = cov.observing(prog, [evs[int(t)] for t in which[keep]], bus_to_floats(meta, rows[keep]))
    d[keep[obs]] = 0
    return d


def _observed_starts(prog, meta, evs, start: np.ndarray, pool: np.ndarray, checks: int) -> np.ndarray:
    """``start`` with each event's row replaced by a row of ``pool`` hitting it where a fault
    shows, when ``start``'s own row does not show one (``checks`` hitting rows of the pool
    tried per event, evenly spread)."""
    d_start = cov.distances(prog, evs, _evaluate(prog, meta, start)).diagonal()
    shown = _with_observation(prog, meta, evs, np.arange(len(evs)), start, d_start) == 0
    out = start.copy()
    for a in range(0, len(pool), cov.CHUNK):
        part = pool[a:a + cov.CHUNK]
        hits = cov.distances(prog, evs, _evaluate(prog, meta, part)) == 0
        hits[shown] = False
        ev, row = np.nonzero(hits)
        if not len(ev):
            continue
        ok = _with_observation(prog, meta, evs, ev, part[row], np.zeros(len(ev)), checks) == 0
        for t, r in zip(ev[ok][::-1].tolist(), row[ok][::-1].tolist()):  # reversed: the first row wins
            out[t] = part[r]
        shown[ev[ok]] = True
    return out


def _search(prog, meta, evs, start: np.ndarray, lo, hi, rng) -> np.ndarray:
    """Best row per event after SEARCH_ROUNDS rounds (start: one row per event); a round tries,
    per event still open, SEARCH_WIDTH seeded mutations of its best row and one of its fields
    swept (the fields taken in turn); each event scores only its own candidates, and a hit
    where no fault shows scores ``UNSEEN``, short of a hit that shows."""
    best = start.copy()
    values = _evaluate(prog, meta, best)
    d0 = np.array([cov.distance(prog, e, values[e.watch][0][k:k + 1])[0] for k, e in enumerate(evs)])
    best_d = _with_observation(prog, meta, evs, np.arange(len(evs)), best, d0)
    fields = np.flatnonzero(hi > lo)
    B = SEARCH_WIDTH + SWEEP_VALUES
    step = cov.CHUNK - cov.CHUNK % B
    for rnd in range(SEARCH_ROUNDS):
        todo = np.flatnonzero(best_d > 0)
        if not len(todo):
            break
        blocks = []
        donors = best[best_d == 0]  # rows that show some corner: their fields carry what shows
        for t in todo.tolist():
            block = [_mutated(np.repeat(best[t:t + 1], SEARCH_WIDTH - 2 * CROSSES, axis=0), lo, hi, rng),
                     _scaled(best[t], lo, hi, rng)]
            block.append(_crossed(best[t], donors, rng) if len(donors) else _scaled(best[t], lo, hi, rng))
            if len(fields):
                block.append(_swept(best[t], int(fields[(rnd + t) % len(fields)]), lo, hi))
            else:
                block.append(np.repeat(best[t:t + 1], SWEEP_VALUES, axis=0))
            blocks.append(np.concatenate(block))
        cand = np.concatenate(blocks)
        for a in range(0, len(cand), step):
            part = cand[a:a + step]
            values = _evaluate(prog, meta, part)
            owners = todo[a // B + np.arange(len(part) // B)]
            d = np.concatenate([cov.distance(prog, evs[int(t)], values[evs[int(t)].watch][0][k * B:(k + 1) * B])
                                for k, t in enumerate(owners)])
            d = _with_observation(prog, meta, evs, np.repeat(owners, B), part, d).reshape(len(owners), B)
            for k, t in enumerate(owners.tolist()):
                m = int(np.argmin(d[k]))
                if d[k, m] < best_d[t]:
                    best_d[t], best[t] = d[k, m], part[k * B + m]
    return best


def directed_rows(prog: Program, meta: dict, base_rows, *, budget: int | None = None, seed: int = 0) -> np.ndarray:
    """Rows (n, n_input_fields) hitting events ``base_rows`` miss, or hit only where no fault
    shows, at most ``budget`` of them (default :func:`budget_for`); deterministic in the arguments."""
    base_rows = np.asarray(base_rows, dtype=np.int64)
    budget = budget_for(prog) if budget is None else budget
    if budget < 0:
        raise ValueError(f'budget={budget} must be >= 0')
    n_fields = max(len(meta['inputs']), 1)
    empty = np.zeros((0, n_fields), dtype=np.int64)
    if len(base_rows):
        c = cov.measure(prog, bus_to_floats(meta, base_rows))
        missed, unobserved = list(c.missed), list(c.unobserved)
    else:
        missed, unobserved = cov.events(prog), []
    missed.sort(key=lambda e: e.op)
    # proven-reachable misses first, then corners hit where nothing shows, then the rest
    missed = [e for e in missed if e.reachable] + sorted(unobserved, key=lambda e: e.op) + \
        [e for e in missed if not e.reachable]
    missed = missed[:SEARCH_EVENTS_PER_ROW * budget]
    if not missed or not budget:
        return empty
    rng = np.random.default_rng([seed, 7])
    lo, hi = _field_ranges(meta)
    lin, inputs = LinearRanges(prog.ops), _input_map(prog, meta)
    linear = []
    for e in missed:
        form = cov.input_form(lin, prog, e.watch)
        if form is not None:
            row = _linear_row(prog, form, inputs, lo, hi, e.kind, _targets(prog, e))
        elif e.kind in EXACT_KINDS and (w := _window_through(prog, lin, e.watch, e.target, e.target)) is not None:
            row = _linear_row(prog, cov.input_form(lin, prog, w[0]), inputs, lo, hi, e.kind, w[1])
        else:
            row = None
        linear.append(row)
    found = [r for r in linear if r is not None]
    pool = np.concatenate([base_rows, np.array(found, dtype=np.int64).reshape(-1, n_fields)]) \
        if len(base_rows) else np.array(found or [np.zeros(n_fields, np.int64)], dtype=np.int64)
    start = pool[_closest(prog, meta, missed, pool)]
    # a row of the stimulus or one solved for another corner (a clamp's edge, say) may show
    # what the closest row hides
    solved = np.array(found, dtype=np.int64).reshape(-1, n_fields)
    start = _observed_starts(prog, meta, missed, start, solved, FOUND_CHECKS)
    start = _observed_starts(prog, meta, missed, start, base_rows, START_CHECKS)
    searched = _search(prog, meta, missed, start, lo, hi, rng)
    cand = np.unique(np.concatenate([np.array(found, dtype=np.int64).reshape(-1, n_fields), searched]), axis=0)
    hits = cov.distances(prog, missed, _evaluate(prog, meta, cand)) == 0
    ev, row = np.nonzero(hits)
    seen = np.zeros_like(hits)
    if len(ev):
        ok = _with_observation(prog, meta, missed, ev, cand[row], np.zeros(len(ev))) == 0
        seen[ev[ok], row[ok]] = True
    chosen, open_ = [], np.ones(len(missed), dtype=bool)
    for cover in (seen, hits):  # rows where a fault shows first, then plain hits for what is left
        while len(chosen) < budget:
            gain = (cover & open_[:, None]).sum(axis=0)
            best = int(np.argmax(gain))
            if gain[best] == 0:
                break
            chosen.append(best)
            open_ &= ~hits[:, best] if cover is hits else ~seen[:, best]
    return cand[chosen] if chosen else empty
