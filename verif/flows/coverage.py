"""Coverage of a program's corners by a set of input vectors, from the exact reference's values.

Why from the reference and not the simulators: whether a vector drives an adder to the end of
its interval is a fact about the program and the vector, the same in every simulator; reading
it off ``verif.oracle.reference`` (independent of the compiler's interpreter) keeps the measure
honest and simulator-free. The events, one list per program (:func:`events`):

=========== ==============================================================================
adder_min   an ADD / SUB / CONST_ADD output at the minimum of its exact interval (the declared
            one, tightened by the range of its linear form: ``x - x/4`` spans 3/4 of x's range)
adder_max   ... at its maximum (both: a wrap one bit too early shows)
mux_a       a MUX taking its first branch (msb of the key set); ``mux_b`` the other
sat_clamp   a MUX with a constant branch (how SAT / SAT_SYM clamps) choosing the constant;
            ``sat_pass`` choosing the value (in range)
mux_edge    a MUX key exactly at one of the two values either side of its split (signed: -1
            and 0; unsigned: 2**(n-1) and 2**(n-1) - 1): where a comparison off by one shows
relu_pos    a RELU operand > 0; ``relu_neg`` < 0
relu_edge   a RELU operand exactly one step on the clamped side of zero (a clamp at v < -1
            instead of v < 0 shows only there)
round_tie   a rounding quantizer (QUANTIZE of ``x + offset`` dropping bits of x) on an exact
            tie: x exactly half way between two output grid points
lut_entry   one reachable entry (key value) of a LOOKUP read
=========== ==============================================================================

An adder's extremes over inputs only (its linear form's leaves are inputs or bit slices of
inputs, each of a different input) are ``reachable``: proven reachable by the signs of the form; any other event may be unreachable
(its interval is an over-approximation), so coverage reports hits over all events and over
the proven-reachable ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from da4ml_core.ir import Opcode, Program
from da4ml_core.ir.ranges import LinearRanges

from ..oracle.reference import FAULT_KINDS, evaluate_ops_raw, evaluate_raw_clean_and_faulty

__all__ = ['FAULTS', 'KINDS', 'Coverage', 'Event', 'distance', 'distances', 'events', 'input_form', 'input_leaf', 'live_ops',
           'measure', 'observing']

KINDS = ('adder_min', 'adder_max', 'mux_a', 'mux_b', 'sat_clamp', 'sat_pass', 'mux_edge', 'relu_pos', 'relu_neg',
         'relu_edge', 'round_tie', 'lut_entry')
_ADDERS = (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD)


@dataclass(frozen=True)
class Event:
    """One corner: ``kind`` at op ``op``; ``watch`` is the op whose value decides it and
    ``target`` the raw value (or bound) it must reach; ``reachable`` True when proven."""

    kind: str
    op: int
    watch: int
    target: int
    reachable: bool = False


CHUNK = 8192  # rows evaluated at once: every op's column of them in memory (~0.1 GB at 1.3k ops)
OBSERVE_ROWS = 8  # hitting rows per event checked for observation by measure(): the first and last half

# The faults an event is observed through (``verif.oracle.reference.FAULT_KINDS``), injected at
# the event's op: what the subtle mutants of that corner do there.
FAULTS = {'adder_min': ('msb',), 'adder_max': ('msb',), 'mux_a': ('select',), 'mux_b': ('select',),
          'sat_clamp': ('select',), 'sat_pass': ('select',), 'mux_edge': ('select',), 'relu_pos': ('up', 'down'),
          'relu_neg': ('pass',), 'relu_edge': ('pass',), 'round_tie': ('up', 'down'), 'lut_entry': ('up', 'down')}


def live_ops(prog: Program) -> list[bool]:
    """Ops an output depends on."""
    live = [False] * len(prog.ops)
    stack = [i for i in prog.out_idxs if i >= 0]
    while stack:
        i = stack.pop()
        if not live[i]:
            live[i] = True
            stack.extend(prog.ops[i].operands)
    return live


def input_leaf(prog: Program, j: int) -> int | None:
    """The INPUT op that op j is a bit slice of, else None: j itself, or a QUANTIZE of it
    (possibly rounded first: of ``input + c`` with 0 <= c < one output step), such that every
    value v of j's interval is produced by the input raw ``v << D`` (D = bits dropped)."""
    op = prog.ops[j]
    if op.opcode == Opcode.INPUT:
        return j
    if op.opcode != Opcode.QUANTIZE:
        return None
    a = prog.ops[op.id0]
    if a.opcode == Opcode.CONST_ADD and prog.ops[a.id0].opcode == Opcode.INPUT and a.qint.f == prog.ops[a.id0].qint.f:
        c, i = a.data, a.id0
    elif a.opcode == Opcode.INPUT:
        c, i = 0, op.id0
    else:
        return None
    q, qi = op.qint, prog.ops[i].qint
    D = qi.f - q.f
    if D < 0 or not 0 <= c < 1 << D or (q.lo << D) < qi.lo or (q.hi << D) > qi.hi:
        return None
    return i


def input_form(lin: LinearRanges, prog: Program, i: int) -> tuple[dict[int, int], int] | None:
    """Op i as ``const + sum(c * raw(leaf j))`` on its own grid, every leaf an input or a bit
    slice of one; None otherwise (or when the grids do not align)."""
    form = lin._form(i)
    if form is None or any(input_leaf(prog, j) is None for j in form[0]):
        return None
    return dict(form[0]), form[1]


def _independent(prog: Program, terms: dict[int, int]) -> bool:
    """Every leaf reads a different input: each can sit at its own bound."""
    inputs = [prog.ops[input_leaf(prog, j)].id0 for j in terms]
    return len(set(inputs)) == len(inputs)


def _exact_bounds(lin: LinearRanges, i: int, q) -> tuple[int, int]:
    """An adder's interval, tightened by the range of its linear form over its leaves (the
    declared one is op-by-op and loose where an operand repeats: ``x - x/4``)."""
    r = lin.range(i)
    if r is None or r.f != q.f:
        return q.lo, q.hi
    return max(q.lo, r.lo), min(q.hi, r.hi)


def _msb_split(q) -> int | None:
    """For a key of interval q: the raw value at which its msb turns on (signed: msb <=> raw < 0,
    returned as 0 with the sense flipped by the caller), None when q is zero width."""
    k, i, f = q.kif
    if k + i + f <= 0:
        return None
    return 0 if k else 1 << (i + f - 1)


def events(prog: Program) -> list[Event]:
    """Every event of the module docstring for the live ops of ``prog``, in op order."""
    lin = LinearRanges(prog.ops)
    live = live_ops(prog)
    out: list[Event] = []
    for i, op in enumerate(prog.ops):
        if not live[i]:
            continue
        code, q = op.opcode, op.qint
        if code in _ADDERS and q.lo < q.hi:
            lo, hi = _exact_bounds(lin, i, q)
            form = input_form(lin, prog, i)
            proven = form is not None and _independent(prog, form[0])
            out += [Event('adder_min', i, i, lo, proven), Event('adder_max', i, i, hi, proven)]
        elif abs(code) == Opcode.MUX:
            kq = prog.ops[op.key].qint
            split = _msb_split(kq)
            if split is None:
                continue
            signed = kq.kif.k == 1
            on_ok = kq.lo < 0 if signed else kq.hi >= split
            off_ok = kq.hi >= 0 if signed else kq.lo < split
            if not (on_ok and off_ok):
                continue
            const_a, const_b = (prog.ops[j].opcode == Opcode.CONST for j in (op.id0, op.id1))
            sat = const_a != const_b
            a_kind = ('sat_clamp' if const_a else 'sat_pass') if sat else 'mux_a'
            b_kind = ('sat_clamp' if const_b else 'sat_pass') if sat else 'mux_b'
            out += [Event(a_kind, i, op.key, 1), Event(b_kind, i, op.key, 0)]  # target: msb wanted
            out += [Event('mux_edge', i, op.key, v) for v in ((-1, 0) if signed else (split, split - 1))]
        elif abs(code) == Opcode.RELU:
            aq = prog.ops[op.id0].qint
            lo, hi = (aq.lo, aq.hi) if code > 0 else (-aq.hi, -aq.lo)
            if lo < 0 < hi:
                sign = 1 if code > 0 else -1
                out += [Event('relu_pos', i, op.id0, sign), Event('relu_neg', i, op.id0, -sign),
                        Event('relu_edge', i, op.id0, -sign)]  # target: the operand's raw value
        elif code == Opcode.QUANTIZE:
            x = _rounded_operand(prog, op)
            if x is not None:
                d = prog.ops[x].qint.f - q.f
                out.append(Event('round_tie', i, x, d))
        elif code == Opcode.LOOKUP:
            kq = prog.ops[op.id0].qint
            out += [Event('lut_entry', i, op.id0, r) for r in range(kq.lo, kq.hi + 1)]
    return out


def _rounded_operand(prog: Program, op) -> int | None:
    """x of a rounding quantizer ``QUANTIZE(x + offset)`` (offset a constant, or a MUX of two
    constants for RND_CONV) that drops at least one bit of x; else None."""
    r = prog.ops[op.id0]
    if r.opcode == Opcode.CONST_ADD and r.data > 0:
        x = r.id0
    elif r.opcode == Opcode.ADD and abs(prog.ops[r.id1].opcode) == Opcode.MUX and all(
            prog.ops[j].opcode == Opcode.CONST for j in (prog.ops[r.id1].id0, prog.ops[r.id1].id1)):
        x = r.id0
    else:
        return None
    return x if prog.ops[x].qint.f - op.qint.f >= 1 else None


def _as_int(raw) -> np.ndarray:
    return np.asarray(raw, dtype=object) if np.asarray(raw).dtype == object else np.asarray(raw, dtype=np.int64)


def distance(prog: Program, e: Event, raw) -> np.ndarray:
    """How far each value ``raw`` of the op ``e`` watches is from ``e`` (0: hit)."""
    raw = _as_int(raw)
    if e.kind == 'adder_min':
        d = raw - e.target
    elif e.kind == 'adder_max':
        d = e.target - raw
    elif e.kind in ('mux_a', 'mux_b', 'sat_clamp', 'sat_pass'):
        kq = prog.ops[e.watch].qint
        split = _msb_split(kq)
        if kq.kif.k:  # msb <=> raw < 0
            d = (raw + 1) if e.target else -raw
        else:
            d = (split - raw) if e.target else (raw - split + 1)
        d = np.maximum(d, 0)
    elif e.kind in ('relu_pos', 'relu_neg'):
        d = np.maximum(1 - raw * e.target, 0)
    elif e.kind == 'round_tie':
        m = (raw - (1 << (e.target - 1))) % (1 << e.target)
        d = np.minimum(m, (1 << e.target) - m)
    else:  # lut_entry, mux_edge, relu_edge: one raw value of the watched op
        d = np.abs(raw - e.target)
    return np.asarray(d, dtype=np.float64)


def distances(prog: Program, evs: list[Event], values: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """(n_events, n_rows) how far each row is from each event (0: hit), from op values."""
    n = len(values[0][0]) if values else 0
    out = np.zeros((len(evs), n), dtype=np.float64)
    for k, e in enumerate(evs):
        out[k] = distance(prog, e, values[e.watch][0])
    return out


@dataclass(frozen=True)
class Coverage:
    """Hits per event kind over all events and over the proven-reachable ones, and adders'
    span reached (max seen - min seen over hi - lo, averaged)."""

    n_vectors: int
    per_kind: dict  # kind -> {'hit', 'total', 'reachable', 'reachable_hit', 'observed'}
    span: float
    missed: tuple[Event, ...]
    unobserved: tuple[Event, ...] = ()  # hit, but by no row where a fault there shows at an output

    @property
    def observed(self) -> int:
        return sum(v['observed'] for v in self.per_kind.values())

    @property
    def hit(self) -> int:
        return sum(v['hit'] for v in self.per_kind.values())

    @property
    def total(self) -> int:
        return sum(v['total'] for v in self.per_kind.values())

    @property
    def fraction(self) -> float:
        return self.hit / self.total if self.total else 1.0

    def as_dict(self) -> dict:
        return {'vectors': self.n_vectors, 'events_hit': self.hit, 'events': self.total,
                'fraction': round(self.fraction, 6), 'events_observed': self.observed, 'adder_span': round(self.span, 6),
                'per_kind': {k: dict(v) for k, v in self.per_kind.items()}}

    def line(self) -> str:
        parts = [f'{k} {v["hit"]}/{v["total"]}' for k, v in self.per_kind.items()]
        return (f'coverage {self.hit}/{self.total} events ({100 * self.fraction:.1f}%, {self.observed} observed): '
                + ', '.join(parts))


def measure(prog: Program, X) -> Coverage:
    """Coverage of the program's events by float inputs ``X`` (n, n_in), evaluated ``CHUNK`` rows at
    a time: every op's values for every row of a trigger-size design would take gigabytes."""
    X = np.asarray(X, dtype=np.float64)
    evs = events(prog)
    hit = np.zeros(len(evs), bool)
    lows = {e.op: e.target for e in evs if e.kind == 'adder_min'}
    highs = {e.op: e.target for e in evs if e.kind == 'adder_max'}
    seen: dict[int, tuple[int, int]] = {}
    first: dict[int, np.ndarray] = {}  # event -> the first rows hitting it
    last: dict[int, np.ndarray] = {}  # and the last ones (directed rows come last)
    half = OBSERVE_ROWS // 2
    for a in range(0, len(X), CHUNK):
        values = evaluate_ops_raw(prog, X[a:a + CHUNK])
        for k, e in enumerate(evs):
            rows = np.flatnonzero(distance(prog, e, values[e.watch][0]) == 0)
            if len(rows):
                hit[k] = True
                if len(first.get(k, ())) < half:  # the first rows over all chunks
                    first[k] = np.concatenate([first.get(k, rows[:0]), a + rows])[:half]
                last[k] = np.concatenate([last.get(k, rows[:0]), a + rows[-half:]])[-half:]
        for i in lows:
            raw = _as_int(values[i][0])
            lo, hi = int(raw.min()), int(raw.max())
            seen[i] = (min(lo, seen[i][0]), max(hi, seen[i][1])) if i in seen else (lo, hi)
    hit_rows = {k: np.unique(np.concatenate([first[k], last[k]])) for k in first}
    seen_at = np.zeros(len(evs), bool)
    if hit_rows:
        which = np.concatenate([np.full(len(r), k) for k, r in hit_rows.items()])
        rows = np.concatenate(list(hit_rows.values()))
        for a in range(0, len(rows), CHUNK):
            obs = observing(prog, [evs[k] for k in which[a:a + CHUNK]], X[rows[a:a + CHUNK]])
            seen_at[which[a:a + CHUNK][obs]] = True
    per_kind: dict = defaultdict(lambda: {'hit': 0, 'total': 0, 'reachable': 0, 'reachable_hit': 0, 'observed': 0})
    for e, h, o in zip(evs, hit.tolist(), seen_at.tolist()):
        c = per_kind[e.kind]
        c['total'] += 1
        c['hit'] += int(h)
        c['reachable'] += int(e.reachable)
        c['reachable_hit'] += int(e.reachable and h)
        c['observed'] += int(o)
    spans = [float(seen[i][1] - seen[i][0]) / float(max(highs[i] - lows[i], 1)) for i in sorted(seen)]
    ordered = {k: per_kind[k] for k in KINDS if k in per_kind}
    missed = tuple(e for e, h in zip(evs, hit.tolist()) if not h)
    unobserved = tuple(e for e, h, o in zip(evs, hit.tolist(), seen_at.tolist()) if h and not o)
    return Coverage(len(X), ordered, float(np.mean(spans)) if spans else 1.0, missed, unobserved)


def observing(prog: Program, evs: list[Event], X) -> np.ndarray:
    """For each float row ``X[r]`` (a row hitting ``evs[r]``): whether one of the faults
    ``FAULTS`` names for that event's kind, injected at its op, changes an output of the exact
    reference. Why: an adder at its maximum or a tie only matters to a vector when the next
    clamp or rounding does not hide a fault there; the directed rows aim at rows where it shows."""
    X = np.asarray(X, dtype=np.float64)
    if not len(evs):
        return np.zeros(0, bool)
    idx, ops, kinds = [], [], []
    for r, e in enumerate(evs):
        for kind in FAULTS[e.kind]:
            idx.append(r)
            ops.append(e.op)
            kinds.append(FAULT_KINDS.index(kind))
    idx = np.array(idx)
    gold, bad, _ = evaluate_raw_clean_and_faulty(prog, X[idx], np.array(ops), np.array(kinds))
    differs = (bad != gold).any(axis=1) if gold.shape[1] else np.zeros(len(idx), bool)
    out = np.zeros(len(evs), bool)
    np.logical_or.at(out, idx, np.asarray(differs, dtype=bool))
    return out
