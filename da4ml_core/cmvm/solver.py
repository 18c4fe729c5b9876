"""``solve``: a constant matrix-vector product as a multiplier-free adder graph, as an IR program.

The search tries each candidate (pattern score x decomposition depth x stage-1 latency share),
costs it with the exact interval model, keeps the cheapest that meets the latency constraint,
and can spend extra seeded restarts on the winner. The plain CSD tree (no sharing) is always a
candidate, so the answer never costs more than it and always meets the constraint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..csd import integer_matrix
from ..fixed import Precision
from ..ir import Op, Opcode, Program, QInt
from ..ir.intervals import shift_add
from . import kernels
from .decompose import split
from .stage import StageResult, Terms, digits_of, run_stage

__all__ = ["DEFAULT_INPUT_KIF", "AdderGraph", "Candidate", "search", "solve", "solve_graph"]

DEFAULT_INPUT_KIF = (1, 7, 0)  # signed 8-bit integers, when no input precision is given
_WIDTH_LIMIT = 61


@dataclass
class Candidate:
    """One solution of the search: its stages, cost (LUT-bits) and latency, and how it was made."""

    stages: list[StageResult]
    cost: float
    latency: float
    label: str
    stage2_rows: np.ndarray | None = field(default=None, repr=False)


# ----------------------------------------------------------------------------- arguments


def _input_qints(n_in: int, input_kifs, input_qints) -> list[QInt]:
    if input_qints is not None:
        if input_kifs is not None:
            raise ValueError("give input_kifs or input_qints, not both")
        qs = list(input_qints)
        if len(qs) != n_in:
            raise ValueError(f"input_qints has {len(qs)} entries but W has {n_in} rows")
        out = []
        for j, q in enumerate(qs):
            if not isinstance(q, QInt):
                try:
                    q = QInt(*(int(v) for v in q))
                except (TypeError, ValueError) as err:
                    raise TypeError(f"input_qints[{j}] = {q!r} is not a QInt(lo, hi, f)") from err
            if q.lo > q.hi:
                raise ValueError(f"input_qints[{j}] = {q!r} has lo > hi")
            out.append(q)
        return out
    kifs = np.asarray(DEFAULT_INPUT_KIF if input_kifs is None else input_kifs, dtype=object)
    if kifs.shape == (3,):
        kifs = np.broadcast_to(kifs, (n_in, 3))
    if kifs.shape != (n_in, 3):
        raise ValueError(f"input_kifs must be one (k, i, f) or {n_in} of them, got shape {kifs.shape}")
    out = []
    for j, (k, i, f) in enumerate(kifs):
        try:
            p = Precision.of(k, i, f)
        except (TypeError, ValueError) as err:
            raise type(err)(f"input_kifs[{j}]: {err}") from None
        out.append(QInt.of_kif(*p))
    return out


def _latencies(n_in: int, input_latencies) -> np.ndarray:
    if input_latencies is None:
        return np.zeros(n_in)
    lat = np.asarray(input_latencies, dtype=np.float64).ravel()
    if lat.size == 1:
        lat = np.full(n_in, lat[0])
    if lat.size != n_in:
        raise ValueError(f"input_latencies has {lat.size} entries but W has {n_in} rows")
    if not np.all(np.isfinite(lat)) or np.any(lat < 0):
        raise ValueError(f"input_latencies must be finite and >= 0, got {lat.tolist()}")
    return lat


def _check_width(split, qints: list[QInt]) -> None:
    """Refuse problems whose partial sums could leave the int64 lanes of the optimizer
    (``split``: the matrix's ``integer_matrix``)."""
    M, row, col = split
    mags = [max(abs(q.lo), abs(q.hi) + 1) for q in qints]
    f_fine = max(q.f for q in qints) - min(int(row.min()) + int(col.min()), 0)
    top_bit = int(np.abs(M).max(initial=0)).bit_length() + int(row.max()) + int(col.max())
    need = max(m.bit_length() - q.f for m, q in zip(mags, qints)) + top_bit + f_fine
    need += math.ceil(math.log2(max(np.count_nonzero(M), 1))) + 2
    if need > _WIDTH_LIMIT:
        raise ValueError(
            f"W with these input precisions needs sums of about {need} bits; at most {_WIDTH_LIMIT} are supported"
        )


# ----------------------------------------------------------------------------- candidates


def _cost(stages: list[StageResult], adder_size: int) -> float:
    bits = np.concatenate([s.cost_bits for s in stages]) if stages else np.zeros(0, np.int64)
    if adder_size > 0:
        return float(np.sum(-(-bits // adder_size)))
    return float(bits.sum())


def _stage2_terms(first: StageResult, W2: np.ndarray):
    """Stage 2 reads stage 1's output terms; their sign and shift move into W2's rows."""
    n = first.out_term.size
    lo, hi, f, lat = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n)
    W2 = W2.copy()
    for v, t in enumerate(first.out_term):
        if t < 0:
            W2[v] = 0.0
            continue
        lo[v], hi[v], f[v], lat[v] = first.lo[t], first.hi[t], first.f[t], first.lat[t]
        W2[v] *= first.out_sign[v] * math.ldexp(1.0, int(first.out_bit[v]))
    return Terms(lo, hi, f, lat), W2


class _Prepared:
    """Per-matrix work shared by all candidates: digits of W, and the split for each depth."""

    def __init__(self, W: np.ndarray, terms: Terms, split=None):
        self.W, self.terms = W, terms
        self.int_split = split if split is not None else integer_matrix(W)
        self.live = ~((terms.lo == 0) & (terms.hi == 0))
        self.digits = digits_of(W, self.live, self.int_split)
        self._splits: dict[int, tuple | None] = {}

    def split(self, depth: int):
        if depth not in self._splits:
            M, row, col = self.int_split
            parts = split(M, depth)
            if parts is None:
                self._splits[depth] = None
            else:
                W1 = parts[0] * np.ldexp(1.0, row)[:, None]
                W2 = parts[1] * np.ldexp(1.0, col)[None, :]
                self._splits[depth] = (W1, W2, digits_of(W1, self.live))
        return self._splits[depth]


def _candidate(
    prep: _Prepared, method, depth, bound, share, carry_size, adder_size, seed
) -> Candidate | None:
    terms = prep.terms
    if depth > 1:
        parts = prep.split(depth)
        if parts is None:
            return None
        W1, W2, digits1 = parts
        b1 = bound - share if bound < kernels.NO_BOUND else bound
        first = run_stage(W1, terms, method, b1, carry_size, seed=seed, digits=digits1)
        t2, W2s = _stage2_terms(first, W2)
        second = run_stage(W2s, t2, method, bound, carry_size, seed=seed)
        stages = [first, second]
    else:
        stages = [run_stage(prep.W, terms, method, bound, carry_size, seed=seed, digits=prep.digits)]
    lat = float(stages[-1].out_latency().max(initial=0.0))
    if lat > bound:
        return None
    name = next((k for k, v in kernels.SCORES.items() if v == method), f"score {method}")
    label = f"{name}, depth {depth}" + (
        f", stage-1 share {share}" if depth > 1 and bound < kernels.NO_BOUND else ""
    )
    return Candidate(stages, _cost(stages, adder_size), lat, label)


# The default plan: settings that won most often on the benchmark sets, best first, as
# (method, decomposition depth (0 = n_out), stage-1 share of the latency bound). Without a bound
# deep decompositions win; under a tight one, flat delay-aware elimination; with slack, both.
_PLAN_FREE = (("wmc", 0, 0), ("wmc", 1, 0), ("mc", 1, 0), ("wmc-dc", 0, 0), ("wmc", 3, 0))
_PLAN_TIGHT = (("wmc-dc", 1, 0), ("wmc", 1, 0), ("mc", 1, 0), ("wmc-dc", 2, 1))
_PLAN_SLACK = (("wmc-dc", 1, 0), ("wmc", 1, 0), ("wmc", 0, 1), ("wmc", 0, 2), ("wmc-dc", 2, 1), ("mc", 1, 0))
_BIG = 32 * 32  # matrices with more entries than this try only the first two settings


def _plan(method, decompose_depth, n_out: int, hard_dc, n_entries: int):
    if method == "auto" and decompose_depth == "auto":
        plan = _PLAN_FREE if hard_dc is None else _PLAN_TIGHT if hard_dc == 0 else _PLAN_SLACK
        plan = plan[:2] if n_entries > _BIG else plan
        out = [(kernels.SCORES[m], d or n_out, sh) for m, d, sh in plan]
    else:
        methods = list(kernels.SCORES) if method == "auto" else [method]
        depths = (1, 3, n_out) if decompose_depth == "auto" else (int(decompose_depth),)
        share = 0 if hard_dc is None else 1
        out = [(kernels.SCORES[m], d, share) for m in methods for d in depths]
    seen = []
    for m, d, sh in out:  # depths beyond n_out are all the same tree
        d = min(max(d, 1), max(n_out, 1))
        sh = 0 if d == 1 else sh
        if (m, d, sh) not in seen:
            seen.append((m, d, sh))
    return seen


def search(
    W, terms: Terms, hard_dc, method, decompose_depth, adder_size, carry_size, restarts, time_budget, seed,
    split=None,
):
    """Run the plan; return (best, plain, tried) with ``tried`` as (label, cost, latency).
    ``split``: W's ``integer_matrix`` if the caller has it."""
    t0 = time.perf_counter()
    prep = _Prepared(W, terms, split)
    plain_stage = run_stage(
        W, terms, kernels.SCORE_COUNT, kernels.NO_BOUND, carry_size, cse=False, digits=prep.digits
    )
    plain_lat = float(plain_stage.out_latency().max(initial=0.0))
    plain = Candidate([plain_stage], _cost([plain_stage], adder_size), plain_lat, "plain CSD")
    bound = kernels.NO_BOUND if hard_dc is None else plain_lat + hard_dc
    tried = [(plain.label, plain.cost, plain.latency)]
    best = plain
    plan = _plan(method, decompose_depth, W.shape[1], hard_dc, W.size)
    for m, d, share in plan:
        cand = _candidate(prep, m, d, bound, share, carry_size, adder_size, seed)
        if cand is None:
            continue
        tried.append((cand.label, cand.cost, cand.latency))
        if _better(cand, best):
            best = cand
    for r in range(1, restarts + 1):
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
        m, d, share = plan[(r - 1) % len(plan)]  # every setting gets its share of reruns
        cand = _candidate(prep, m, d, bound, share, carry_size, adder_size, seed * 7919 + r)
        if cand is None:
            continue
        cand.label += f", restart {r}"
        tried.append((cand.label, cand.cost, cand.latency))
        if _better(cand, best):
            best = cand
    return best, plain, tried


LATENCY_TRADE = 0.01  # a level of latency is worth this fraction of the cost


def _better(a: Candidate, b: Candidate) -> bool:
    """Cheaper wins, but a shallower solution within ``LATENCY_TRADE`` per level of the cost wins
    too: a pipeline stage costs registers the LUT-bit model does not see."""
    score_a = a.cost * (1.0 + LATENCY_TRADE * a.latency)
    score_b = b.cost * (1.0 + LATENCY_TRADE * b.latency)
    return (score_a, a.cost, a.latency) < (score_b, b.cost, b.latency)


# ----------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class AdderGraph:
    """The answer of the search, before it is written as a Program: node ``j < n_in`` is input j,
    node ``n_in + t`` is ``adders[t] = (a, b, shift, sub)``: ``node[a] ± node[b] * 2**shift``
    (operands are earlier nodes); output ``o`` is ``outputs[o] = (node, shift, negate)``, node -1
    for a zero output. Only adders some output needs are listed."""

    n_in: int
    adders: tuple[tuple[int, int, int, bool], ...]
    outputs: tuple[tuple[int, int, bool], ...]


def graph_of(n_in: int, cand: Candidate) -> AdderGraph:
    """Number the stages' adders after the inputs, keep those an output reads."""
    rows: list[tuple[int, int, int, bool]] = []
    index = np.arange(n_in)
    prev_index = index
    for s_idx, st in enumerate(cand.stages):
        if s_idx > 0:  # stage-2 inputs are stage-1 output terms
            prev = cand.stages[s_idx - 1]
            index = np.array([prev_index[t] if t >= 0 else -1 for t in prev.out_term], dtype=np.int64)
        local = np.empty(st.lo.size, np.int64)
        local[: st.n_inputs] = index
        for t in range(st.n_inputs, st.lo.size):
            local[t] = n_in + len(rows)
            rows.append((int(local[st.a[t]]), int(local[st.b[t]]), int(st.shift[t]), bool(st.sub[t])))
        prev_index = local
    last = cand.stages[-1]
    outs = [int(prev_index[t]) if t >= 0 else -1 for t in last.out_term]
    live = np.zeros(n_in + len(rows), dtype=bool)
    live[:n_in] = True
    stack = [o for o in outs if o >= 0]
    while stack:
        g = stack.pop()
        if not live[g]:
            live[g] = True
            a, b, _, _ = rows[g - n_in]
            stack += [a, b]
    new_index = np.cumsum(live) - 1
    adders = tuple(
        (int(new_index[a]), int(new_index[b]), shift, sub)
        for g, (a, b, shift, sub) in enumerate(rows, start=n_in)
        if live[g]
    )
    outputs = tuple(
        (int(new_index[o]), int(b), bool(s < 0)) if o >= 0 else (-1, 0, False)
        for o, b, s in zip(outs, last.out_bit, last.out_sign)
    )
    return AdderGraph(n_in, adders, outputs)


def assemble(graph: AdderGraph, qints: list[QInt], adder_size: int, carry_size: int) -> Program:
    """The IR program of an adder graph: INPUT ops at the inputs' precisions, then the adders.

    Intervals are re-derived from the INPUT precisions (the search may have used narrower exact
    input intervals), so the program is exact by construction; the tests validate it fully."""
    ops = [Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(*qints[j].kif)) for j in range(graph.n_in)]
    for a, b, shift, sub in graph.adders:
        q = shift_add(ops[a].qint, ops[b].qint, shift, sub)
        ops.append(Op(Opcode.SUB if sub else Opcode.ADD, a, b, shift, q))
    return Program(
        graph.n_in,
        len(graph.outputs),
        ops,
        None,
        [o[0] for o in graph.outputs],
        [o[1] for o in graph.outputs],
        [o[2] for o in graph.outputs],
        (),
        adder_size,
        carry_size,
        validate=False,
    )


def _auto_restarts(n_entries: int) -> int:
    """Small matrices solve in well under a millisecond: spend a few seeded reruns on them, where
    one adder is a large fraction of the cost."""
    return 48 if n_entries <= 16 else 12 if n_entries <= 36 else 0


def solve_graph(
    W,
    input_kifs=None,
    hard_dc: int | None = None,
    *,
    input_qints=None,
    input_latencies=None,
    method: str = "auto",
    decompose_depth="auto",
    adder_size: int = 1,
    carry_size: int = -1,
    restarts: int | str = "auto",
    time_budget: float | None = None,
    seed: int = 0,
) -> tuple[AdderGraph, list[QInt]]:
    """The adder graph computing ``y = x @ W`` exactly, and the input intervals it was solved for.
    Arguments as for :func:`solve`; the tracer inlines the graph without building a Program."""
    split = integer_matrix(W)  # type / shape / finiteness / range errors, naming the entry
    arr = np.asarray(W, dtype=np.float64)
    n_in = arr.shape[0]
    qints = _input_qints(n_in, input_kifs, input_qints)
    lat = _latencies(n_in, input_latencies)
    if hard_dc is not None and (
        isinstance(hard_dc, bool) or not isinstance(hard_dc, (int, np.integer)) or hard_dc < 0
    ):
        raise ValueError(f"hard_dc must be None (unconstrained) or an integer >= 0, got {hard_dc!r}")
    if method != "auto" and method not in kernels.SCORES:
        raise ValueError(f"method={method!r} is unknown; choose auto or one of {', '.join(kernels.SCORES)}")
    if decompose_depth != "auto" and (
        not isinstance(decompose_depth, (int, np.integer)) or decompose_depth < 1
    ):
        raise ValueError(f"decompose_depth must be 'auto' or an integer >= 1, got {decompose_depth!r}")
    if not isinstance(adder_size, (int, np.integer)) or adder_size == 0 or adder_size < -1:
        raise ValueError(f"adder_size must be a positive integer (or -1 for raw bits), got {adder_size!r}")
    if not isinstance(carry_size, (int, np.integer)) or carry_size == 0 or carry_size < -1:
        raise ValueError(
            f"carry_size must be a positive integer or -1 (one level per adder), got {carry_size!r}"
        )
    if restarts == "auto":
        restarts = _auto_restarts(arr.size)
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 0:
        raise ValueError(f"restarts must be 'auto' or an integer >= 0, got {restarts!r}")
    _check_width(split, qints)
    terms = Terms(
        np.array([q.lo for q in qints], np.int64),
        np.array([q.hi for q in qints], np.int64),
        np.array([q.f for q in qints], np.int64),
        lat,
    )
    best, _, _ = search(
        arr,
        terms,
        hard_dc,
        method,
        decompose_depth,
        int(adder_size),
        int(carry_size),
        int(restarts),
        time_budget,
        int(seed),
        split,
    )
    return graph_of(n_in, best), qints


def solve(
    W,
    input_kifs=None,
    hard_dc: int | None = None,
    *,
    adder_size: int = 1,
    carry_size: int = -1,
    **options,
) -> Program:
    """A program computing ``y = x @ W`` exactly with adders only.

    ``W`` (n_in, n_out): real entries exactly representable in fixed point. Inputs: one or
    ``n_in`` precisions ``input_kifs`` (default signed 8-bit integers), or exact intervals
    ``input_qints``, and arrival ``input_latencies``. ``hard_dc``: the latency may exceed the plain
    CSD tree's by at most this many adder levels (None: unconstrained). ``method``: pattern score
    ('mc', 'wmc', 'mc-dc', 'wmc-dc') or 'auto' to try all; ``decompose_depth``: column-tree depth
    (1 = no decomposition) or 'auto'. ``restarts`` extra seeded runs of the best setting ('auto': a
    few for small matrices), within ``time_budget`` seconds if given. ``seed`` seeds them. The same
    arguments give the same program.
    """
    graph, qints = solve_graph(W, input_kifs, hard_dc, adder_size=adder_size, carry_size=carry_size, **options)
    return assemble(graph, qints, int(adder_size), int(carry_size))
