"""A slow, obvious evaluator of DAIS programs on exact rationals, for tests only.

It reads a program's op list and applies each opcode's meaning as written in the Opcode table,
with ``Fraction`` values and Python integers: no shifts of raw words, no precomputed plan, no
numba. It shares nothing with ``da4ml_core.interp`` beyond the program it is given.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from types import SimpleNamespace

import numpy as np

from da4ml_core.ir.ops import Opcode

__all__ = ['FAULT_KINDS', 'evaluate', 'evaluate_all', 'evaluate_ops_raw', 'evaluate_raw', 'evaluate_raw_clean_and_faulty',
           'evaluate_raw_faulty', 'evaluate_sample', 'msb',
           'truncate_wrap']

TWO = Fraction(2)


@functools.lru_cache(maxsize=1 << 16)
def _kif(q):
    """Minimal (k, i, f) of a raw interval (lo, hi, f), computed plainly (cached: every column
    of every op asks it)."""
    lo, hi, f = q
    k = 1 if lo < 0 else 0
    bits = 0
    while hi > 2**bits - 1 or lo < -(2**bits):
        bits += 1
    if k == 0 and hi == 0:
        return 0, -f, f
    return k, bits - f, f


def truncate_wrap(v: Fraction, k: int, i: int, f: int) -> Fraction:
    """Round ``v`` down to the grid 2**-f, then wrap into the k+i+f bit range."""
    width = k + i + f
    if width <= 0:
        return Fraction(0)
    scaled = v * TWO**f
    raw = scaled.numerator // scaled.denominator
    raw %= 2**width
    if k and raw >= 2 ** (width - 1):
        raw -= 2**width
    return raw / TWO**f


def msb(v: Fraction, k: int, i: int, f: int) -> bool:
    """Top bit of v in precision (k, i, f): the sign when signed, else v >= 2**(i-1)."""
    if k + i + f <= 0:
        return False
    if k:
        return v < 0
    return v >= TWO ** (i - 1)


def evaluate_sample(prog, x) -> list[Fraction]:
    """Exact outputs for one input vector ``x`` (floats or Fractions)."""
    vals: list[Fraction] = []
    for op in prog.ops:
        code = op.opcode
        k, i, f = _kif(op.qint)
        step = TWO**-op.qint.f
        if code == Opcode.INPUT:
            v = truncate_wrap(Fraction(x[op.id0]) * TWO ** prog.inp_shifts[op.id0], k, i, f)
        elif code == Opcode.ADD:
            v = vals[op.id0] + vals[op.id1] * TWO**op.data
        elif code == Opcode.SUB:
            v = vals[op.id0] - vals[op.id1] * TWO**op.data
        elif code in (Opcode.RELU, Opcode.RELU_NEG):
            a = vals[op.id0] if code == Opcode.RELU else -vals[op.id0]
            v = truncate_wrap(max(a, Fraction(0)), k, i, f)
        elif code in (Opcode.QUANTIZE, Opcode.QUANTIZE_NEG):
            a = vals[op.id0] if code == Opcode.QUANTIZE else -vals[op.id0]
            v = truncate_wrap(a, k, i, f)
        elif code == Opcode.CONST_ADD:
            v = vals[op.id0] + op.data * step
        elif code == Opcode.CONST:
            v = op.data * step
        elif code in (Opcode.MUX, Opcode.MUX_NEG):
            key = op.data & 0xFFFFFFFF
            shift = op.data >> 32
            other = vals[op.id1] * TWO**shift
            if code == Opcode.MUX_NEG:
                other = -other
            chosen = vals[op.id0] if msb(vals[key], *_kif(prog.ops[key].qint)) else other
            v = truncate_wrap(chosen, k, i, f)  # on grid already; keeps the declared width
        elif code == Opcode.MUL:
            v = vals[op.id0] * vals[op.id1]
        elif code == Opcode.LOOKUP:
            table = prog.tables[op.data & 0xFFFFFFFF]
            base = op.data >> 32
            key_raw = vals[op.id0] * TWO ** prog.ops[op.id0].qint.f
            assert key_raw.denominator == 1
            v = table[int(key_raw) - base] * step
        else:
            raise ValueError(f'opcode {int(code)} has no reference meaning')
        vals.append(v)
    out = []
    for idx, s, neg in zip(prog.out_idxs, prog.out_shifts, prog.out_negs):
        v = vals[idx] * TWO**s if idx >= 0 else Fraction(0)
        out.append(-v if neg else v)
    return out


def evaluate_all(prog, x) -> list[Fraction]:
    """Exact value of every op (before output shifts) for one input vector, for debugging."""
    n = len(prog.ops)
    view = SimpleNamespace(
        ops=prog.ops,
        tables=prog.tables,
        inp_shifts=prog.inp_shifts,
        out_idxs=range(n),
        out_shifts=[0] * n,
        out_negs=[False] * n,
    )
    return evaluate_sample(view, x)


def evaluate(prog, X) -> np.ndarray:
    """Exact outputs for every row of ``X``: an object array of Fractions (n_samples, n_out)."""
    X = np.asarray(X, dtype=np.float64)
    return np.array([evaluate_sample(prog, row) for row in X], dtype=object).reshape(X.shape[0], prog.n_out)


# ------------------------------------------------------------------------------------------------
# the same meanings on raw integers, for every vector of a batch at once
# ------------------------------------------------------------------------------------------------

SAFE_BITS = 62  # int64 holds every raw value of magnitude below 2**62 with room for one add


class _Col:
    """One op's raw integers for every vector: ``value = raw * 2**-f``. ``raw`` is an int64
    array when ``bound`` (a bound on |raw|) proves it safe, else an object array of Python ints."""

    __slots__ = ('raw', 'f', 'bound')

    def __init__(self, raw, f: int, bound: int):
        self.raw, self.f, self.bound = raw, f, bound


def _as(raw, bound: int):
    """``raw`` as int64 if every |value| <= bound < 2**SAFE_BITS, else as Python ints."""
    if bound < 1 << SAFE_BITS:
        return raw.astype(np.int64) if raw.dtype != np.int64 else raw
    return raw if raw.dtype == object else raw.astype(object)


def _on_grid(c: _Col, f: int, extra_bound: int = 0) -> tuple[np.ndarray, int]:
    """c's raw integers moved onto the finer-or-equal grid f (exact), and their bound."""
    d = f - c.f
    assert d >= 0, 'only moves onto a finer grid'
    bound = c.bound << d
    raw = _as(c.raw, max(bound, extra_bound))
    return raw << d if d else raw, bound


def _floor_to(raw, f_from: int, f_to: int, bound: int):
    """floor(raw * 2**(f_to - f_from)) and its bound (arithmetic shifts floor)."""
    d = f_to - f_from
    if d >= 0:
        return _as(raw, bound << d) << d, bound << d
    return raw >> -d, bound >> -d


def _wrap(raw, k: int, width: int):
    """Two's complement wrap of raw integers into ``width`` bits (signed when k)."""
    if width <= 0:
        return np.zeros(raw.shape, dtype=np.int64)
    u = raw & ((1 << width) - 1)
    if k:
        u = np.where(u >= 1 << (width - 1), u - (1 << width), u)
    return _as(u, 1 << width)


def _bound(q) -> int:
    return max(abs(q[0]), abs(q[1]))


def _trunc_wrap_col(raw, f_from: int, bound: int, q) -> _Col:
    k, i, f = _kif(q)
    floored, _ = _floor_to(raw, f_from, f, bound)
    return _Col(_wrap(floored, k, k + i + f), f, 1 << max(k + i + f, 0))


def _exact_to(raw, f_from: int, q, what: str) -> _Col:
    """An exact value (raw on grid f_from) on the op's own grid q.f; it must lie on it."""
    d = q[2] - f_from
    if d >= 0:
        return _Col(_as(raw, _bound(q)) << d if d else _as(raw, _bound(q)), q[2], _bound(q))
    if np.any(raw & ((1 << -d) - 1)):
        raise ValueError(f'{what}: a value is off its declared grid 2**-{q[2]}')
    return _Col(_as(raw >> -d, _bound(q)), q[2], _bound(q))


def _inputs_raw(x: np.ndarray, f: int) -> np.ndarray:
    """floor(x * 2**f) exactly for float64 x: ldexp and floor are exact on binary floats while
    the result stays below 2**62; beyond that, exact rational arithmetic on the float's value."""
    with np.errstate(over='ignore', invalid='ignore'):
        scaled = np.floor(np.ldexp(x, f))
    safe = np.abs(scaled) < 2.0**SAFE_BITS
    if safe.all():
        return scaled.astype(np.int64)
    out = np.where(safe, scaled, 0).astype(np.int64).astype(object)
    for j in np.flatnonzero(~safe).tolist():
        v = Fraction(float(x[j])) * TWO**f
        out[j] = v.numerator // v.denominator
    return out


def evaluate_ops_raw(prog, X) -> list[tuple[np.ndarray, int]]:
    """Exact value of every op for every row of ``X``: per op (raw integers (n,), f), the value
    being ``raw * 2**-f`` on the op's own grid (what coverage of intermediate values reads)."""
    return [(c.raw, c.f) for c in _columns(prog, X)]


def _columns(prog, X, faults=None) -> list[_Col]:
    """Every op's column; ``faults`` (op per row, -1 for none; kind per row: FAULT_KINDS)
    perturbs one op's value in chosen rows (see :func:`evaluate_raw_faulty`)."""
    return _column_pair(prog, X, faults)[1]


def _column_pair(prog, X, faults=None) -> tuple[list[_Col], list[_Col]]:
    """(clean columns, faulty columns). Why both in one pass: an op outside the forward cone of
    the faulted ops has the same column in both, so it is computed once, and only the faulted
    ops pay for the fault checks."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != prog.n_in:
        raise ValueError(f'X must have shape (n, {prog.n_in}), got {X.shape}')
    n = X.shape[0]
    faulted = set() if faults is None else set(np.unique(faults[0][faults[0] >= 0]).tolist())
    cone = _forward_cone(prog, faulted)
    clean: list[_Col] = []
    faulty: list[_Col] = []
    for i, op in enumerate(prog.ops):
        clean.append(_op_column(prog, op, i, clean, X, n, None))
        if i not in cone:
            faulty.append(clean[-1])
            continue
        col = _op_column(prog, op, i, faulty, X, n, faults)
        faulty.append(_perturbed(col, tuple(op.qint), faults, i) if i in faulted else col)
    return clean, faulty


def _forward_cone(prog, ops: set[int]) -> set[int]:
    """``ops`` and every op reading one of them, directly or not (a MUX reads its key too)."""
    cone = set(ops)
    if not cone:
        return cone
    for i in range(min(cone), len(prog.ops)):
        op = prog.ops[i]
        reads = [op.id0, op.id1]
        if op.opcode in (Opcode.MUX, Opcode.MUX_NEG):
            reads.append(op.data & 0xFFFFFFFF)
        if op.opcode not in (Opcode.INPUT, Opcode.CONST) and any(r in cone for r in reads if r >= 0):
            cone.add(i)
    return cone


def _op_column(prog, op, at: int, cols: list[_Col], X, n: int, faults) -> _Col:
    """Op ``at``'s column from the columns before it; ``faults`` (or None) as in :func:`_columns`."""
    code, q = op.opcode, tuple(op.qint)
    k, i, f = _kif(q)
    if code == Opcode.INPUT:
        s = prog.inp_shifts[op.id0]
        raw = _inputs_raw(X[:, op.id0], s + f)
        return _Col(_wrap(raw, k, k + i + f), f, 1 << max(k + i + f, 0))
    elif code in (Opcode.ADD, Opcode.SUB):
        a, b = cols[op.id0], cols[op.id1]
        fine = max(a.f, b.f - op.data, q[2])
        bound = (a.bound << (fine - a.f)) + (b.bound << (fine - b.f + op.data))
        ra, _ = _on_grid(a, fine, bound)
        rb, _ = _on_grid(_Col(b.raw, b.f - op.data, b.bound), fine, bound)
        return _exact_to(ra + rb if code == Opcode.ADD else ra - rb, fine, q, f'op {at}')
    elif code in (Opcode.RELU, Opcode.RELU_NEG, Opcode.QUANTIZE, Opcode.QUANTIZE_NEG):
        a = cols[op.id0]
        raw = -a.raw if code in (Opcode.RELU_NEG, Opcode.QUANTIZE_NEG) else a.raw
        if code in (Opcode.RELU, Opcode.RELU_NEG):
            clamped = np.maximum(raw, 0)
            raw = clamped if faults is None else np.where(_faulted(faults, at, 'pass'), raw, clamped)
        return _trunc_wrap_col(raw, a.f, a.bound, q)
    elif code == Opcode.CONST_ADD:
        a = cols[op.id0]
        fine = max(a.f, q[2])
        bound = (a.bound << (fine - a.f)) + (abs(op.data) << (fine - q[2]))
        ra, _ = _on_grid(a, fine, bound)
        return _exact_to(ra + (op.data << (fine - q[2])), fine, q, f'op {at}')
    elif code == Opcode.CONST:
        return _Col(_as(np.full(n, op.data, dtype=object), abs(op.data)), q[2], abs(op.data))
    elif code in (Opcode.MUX, Opcode.MUX_NEG):
        a, b = cols[op.id0], cols[op.id1]
        key = op.data & 0xFFFFFFFF
        shift = op.data >> 32
        kq = tuple(prog.ops[key].qint)
        kk, ki, kf = _kif(kq)
        kc = cols[key]
        if kk + ki + kf <= 0:
            sel = np.zeros(n, dtype=bool)
        elif kk:
            sel = kc.raw < 0
        else:  # v >= 2**(i-1) on the key's own grid
            sel = _floor_to(kc.raw, kc.f, kf, kc.bound)[0] >= 1 << (ki + kf - 1)
        if faults is not None:
            sel = sel ^ _faulted(faults, at, 'select')
        fine = max(a.f, b.f - shift, f)
        bound = max(a.bound << (fine - a.f), b.bound << (fine - b.f + shift))
        ra, _ = _on_grid(a, fine, bound)
        rb, _ = _on_grid(_Col(b.raw, b.f - shift, b.bound), fine, bound)
        other = -rb if code == Opcode.MUX_NEG else rb
        return _trunc_wrap_col(np.where(sel, ra, other), fine, bound, q)
    elif code == Opcode.MUL:
        a, b = cols[op.id0], cols[op.id1]
        bound = a.bound * b.bound
        return _exact_to(_as(a.raw, bound) * _as(b.raw, bound), a.f + b.f, q, f'op {at}')
    elif code == Opcode.LOOKUP:
        table = prog.tables[op.data & 0xFFFFFFFF]
        base = op.data >> 32
        a = cols[op.id0]
        idx = np.asarray(a.raw - base, dtype=np.int64)
        if faults is not None:  # a perturbed key may leave the table
            idx = np.clip(idx, 0, len(table) - 1)
        if idx.size and (idx.min() < 0 or idx.max() >= len(table)):
            raise ValueError(f'op {at}: a key is outside its table')
        tbound = max((abs(v) for v in table), default=0)
        return _Col(_as(np.array(table, dtype=object)[idx], tbound), q[2], tbound)
    else:
        raise ValueError(f'opcode {int(code)} has no reference meaning')


FAULT_KINDS = ('msb', 'up', 'down', 'select', 'pass')  # index = the kind's code in ``faults``


def _faulted(faults, i: int, kind: str) -> np.ndarray:
    """Rows whose fault is ``kind`` at op i."""
    ops, kinds = faults
    return (ops == i) & (kinds == FAULT_KINDS.index(kind))


def _perturbed(col: _Col, q, faults, i: int) -> _Col:
    """Op i's column with its value-level faults applied, wrapped to the op's width: 'msb'
    flips the top bit (what an adder one bit too narrow does at the ends of its interval),
    'up' / 'down' move it one step (a tie rounded the other way, a table entry off by one)."""
    k, ii, f = _kif(q)
    w = k + ii + f
    flip, up, down = (_faulted(faults, i, kind) for kind in ('msb', 'up', 'down'))
    if w <= 0 or not (flip.any() or up.any() or down.any()):
        return col
    raw = col.raw.astype(object) if col.raw.dtype == object else col.raw.astype(np.int64)
    raw = np.where(flip, raw ^ (1 << (w - 1)), raw)  # two's complement xor of the top bit
    raw = np.where(up, raw + 1, np.where(down, raw - 1, raw))
    return _Col(_wrap(raw, k, w), col.f, max(col.bound, 1 << w))


def evaluate_raw_faulty(prog, X, fault_ops, fault_kinds) -> tuple[np.ndarray, list[int]]:
    """:func:`evaluate_raw` with one fault per row: row r's op ``fault_ops[r]`` (-1: none)
    perturbed as ``FAULT_KINDS[fault_kinds[r]]`` says, the ops after it computed from the
    perturbed value. Why: whether a corner a vector reaches can show at an output (is observed)
    is what decides if a fault there is caught; coverage asks it of the exact reference."""
    _, bad, fs = evaluate_raw_clean_and_faulty(prog, X, fault_ops, fault_kinds)
    return bad, fs


def evaluate_raw_clean_and_faulty(prog, X, fault_ops, fault_kinds) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(:func:`evaluate_raw`, :func:`evaluate_raw_faulty`, f per output) of the same rows in one
    pass: the ops no fault reaches are evaluated once for both."""
    ops = np.asarray(fault_ops, dtype=np.int64)
    kinds = np.asarray(fault_kinds, dtype=np.int64)
    n = np.asarray(X).shape[0]
    if ops.shape != (n,) or kinds.shape != (n,):
        raise ValueError(f'fault_ops and fault_kinds must have shape ({n},), got {ops.shape} and {kinds.shape}')
    if ops.size and (ops.max() >= len(prog.ops) or ops.min() < -1):
        raise ValueError(f'fault_ops must name ops in [-1, {len(prog.ops)}), got {ops.min()}..{ops.max()}')
    if kinds.size and (kinds.min() < 0 or kinds.max() >= len(FAULT_KINDS)):
        raise ValueError(f'fault_kinds must be codes in [0, {len(FAULT_KINDS)}), got {kinds.min()}..{kinds.max()}')
    clean, faulty = _column_pair(prog, X, (ops, kinds))
    gold, fs = _outputs(prog, clean, n)
    return gold, _outputs(prog, faulty, n)[0], fs


def evaluate_raw(prog, X) -> tuple[np.ndarray, list[int]]:
    """Exact outputs of every row of ``X`` as raw integers: output j of vector n is
    ``raw[n, j] * 2**-f[j]``. Returns (raw (n, n_out) int64 or object, f per output).

    The meaning of each opcode is the one :func:`evaluate_sample` applies to Fractions, written
    again on raw integers with explicit shifts: int64 where the declared intervals prove it safe,
    Python ints elsewhere. Nothing is shared with the compiler's interpreter."""
    return _outputs(prog, _columns(prog, X), np.asarray(X).shape[0])


def _outputs(prog, cols: list[_Col], n: int) -> tuple[np.ndarray, list[int]]:
    outs, fs = [], []
    for idx, s, neg in zip(prog.out_idxs, prog.out_shifts, prog.out_negs):
        if idx < 0:
            outs.append(np.zeros(n, dtype=np.int64))
            fs.append(0)
            continue
        c = cols[idx]
        outs.append(-c.raw if neg else c.raw)
        fs.append(c.f - s)  # value = raw * 2**-f * 2**s
    wide = any(o.dtype == object for o in outs)
    raw = np.stack([o.astype(object) if wide else o for o in outs], axis=1) if outs else np.zeros((n, 0), np.int64)
    return raw, fs
