"""Drive designs written by ``da4ml_core.emit.write_verilog`` with the harness.

Why: an emitted directory says everything about its ports in ``metadata.json``, so a test
needs no knowledge of the emitter's internals to build a :class:`~verif.wrappers.Design`, to
turn bus integers into the float inputs the interpreter and the reference take, and to turn
their answers back into the integers the output bus must carry.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from .vectors import Bus, Field
from .wrappers import Design

__all__ = [
    'bus_to_floats',
    'buses',
    'emitted_design',
    'every_opcode_program',
    'expected_interp',
    'expected_reference',
    'load_metadata',
    'stimulus',
]

METADATA = 'metadata.json'
MAX_CORNERS = 512


def load_metadata(outdir: Path | str) -> dict:
    return json.loads((Path(outdir) / METADATA).read_text())


def buses(meta: dict) -> tuple[Bus, Bus]:
    """The ``inp`` and ``out`` buses, one field per element (a 1-bit pad if there is none)."""
    ins = [Field(e['width'], e['signed']) for e in meta['inputs']] or [Field(1, False)]
    outs = [Field(e['width'], e['signed']) for e in meta['outputs']] or [Field(1, False)]
    return Bus(tuple(ins)), Bus(tuple(outs))


def emitted_design(outdir: Path | str) -> Design:
    """The emitted design in ``outdir`` as a harness Design (sources in compile order)."""
    outdir = Path(outdir).resolve()
    meta = load_metadata(outdir)
    in_bus, out_bus = buses(meta)
    sources = tuple(outdir / s for s in meta['sources'])
    return Design(meta['top'], sources, in_bus, out_bus, int(meta['latency_cycles']), bool(meta['clocked']))


def stimulus(meta: dict, n_random: int, seed: int) -> np.ndarray:
    """Bus rows: every combination of the fields' extremes (min, max, 0, -1; capped at
    MAX_CORNERS rows), then ``n_random`` uniform rows. Pads get random bits: they must be ignored."""
    in_bus, _ = buses(meta)
    rng = np.random.default_rng(seed)
    extremes = [f.extremes() for f in in_bus.fields]
    if math.prod(len(e) for e in extremes) <= MAX_CORNERS:
        corners = list(itertools.product(*extremes))
    else:  # too many to list (4**16 for 16 inputs): each row picks every field's extreme at random
        corners = [tuple(e[int(rng.integers(len(e)))] for e in extremes) for _ in range(MAX_CORNERS)]
    rand = [[int(rng.integers(f.lo, f.hi, endpoint=True)) for f in in_bus.fields] for _ in range(n_random)]
    return np.array(corners + rand, dtype=np.int64).reshape(-1, len(in_bus.fields))


def bus_to_floats(meta: dict, rows) -> np.ndarray:
    """Float inputs (n, n_in) that the program quantizes to exactly the bus integers ``rows``:
    element j's integer r stands for ``r * 2**-f_j``; pads read as 0."""
    rows = np.asarray(rows, dtype=np.int64)
    X = np.zeros((rows.shape[0], len(meta['inputs'])), dtype=np.float64)
    for j, e in enumerate(meta['inputs']):
        if e['used']:
            if e['width'] > 53:
                raise ValueError(f'input {j} is {e["width"]} bits wide: not exact as float64')
            X[:, j] = np.ldexp(rows[:, j].astype(np.float64), -e['f'])
    return X


def _out_shape(meta: dict, n: int) -> np.ndarray:
    return np.zeros((n, max(len(meta['outputs']), 1)), dtype=np.int64)


def expected_interp(prog, meta: dict, X) -> np.ndarray:
    """What ``out`` must carry, from the bit-exact interpreter (raw integers, pads 0)."""
    from da4ml_core.interp import run_raw

    raw = np.asarray(run_raw(prog, X, backend='numpy'), dtype=np.int64).reshape(len(X), -1)
    out = _out_shape(meta, len(X))
    for j, e in enumerate(meta['outputs']):
        if e['used']:
            out[:, j] = raw[:, j]
    return out


def expected_reference(prog, meta: dict, X) -> np.ndarray:
    """What ``out`` must carry, from the exact Fraction reference (independent of the interpreter)."""
    from .ir_reference import evaluate_sample

    out = _out_shape(meta, len(X))
    for n, row in enumerate(np.asarray(X, dtype=np.float64)):
        values = evaluate_sample(prog, [Fraction(float(v)) for v in row])
        for j, e in enumerate(meta['outputs']):
            if e['used']:
                raw = values[j] * Fraction(2) ** e['f']
                if raw.denominator != 1:
                    raise AssertionError(f'output {j} = {values[j]} is off the grid 2^-{e["f"]}')
                out[n, j] = int(raw)
    return out


def every_opcode_program():
    """A small fixed program with every supported opcode, an input read at two precisions,
    wide (> 32-bit) values, a wrapping QUANTIZE, and outputs that are negated, shifted, zero."""
    from da4ml_core.ir import Op, Opcode, Program, QInt, intervals, pack_lookup, pack_mux

    ops: list[Op] = []
    tables = [[5, -3, 0, 7, -8, 2, 1, -1, 4, 6, -5, 3, -2, -7, 0, 1, 2, 3]]

    def add(code, id0=-1, id1=-1, data=0, qint=None):
        op = Op(code, id0, id1, data, qint or QInt(0, 0, 0))
        nat = intervals.natural(op, [o.qint for o in ops], tables)
        ops.append(op.with_(qint=nat) if code not in (Opcode.INPUT, Opcode.CONST) else op)
        return len(ops) - 1

    x0 = add(Opcode.INPUT, 0, qint=QInt.of_kif(1, 3, 2))  # 6-bit signed
    x1 = add(Opcode.INPUT, 1, qint=QInt.of_kif(0, 4, 0))  # 4-bit unsigned
    x0c = add(Opcode.INPUT, 0, qint=QInt.of_kif(1, 1, 1))  # the same input, coarser and wrapped
    s = add(Opcode.ADD, x0, x1, 1)
    d = add(Opcode.SUB, x0, x0c, -1)
    r = add(Opcode.RELU, s, qint=QInt.of_kif(0, 3, 1))  # relu with wrap-around
    rn = add(Opcode.RELU_NEG, d, qint=QInt.of_kif(0, 5, 2))
    q = add(Opcode.QUANTIZE, s, qint=QInt.of_kif(1, 2, 0))  # truncating and wrapping
    qn = add(Opcode.QUANTIZE_NEG, d, qint=QInt.of_kif(1, 6, 1))
    ca = add(Opcode.CONST_ADD, r, data=-7, qint=QInt(0, 0, 3))
    c = add(Opcode.CONST, data=-45, qint=QInt(-45, -45, 2))
    m = add(Opcode.MUX, x0, s, pack_mux(x1, 2))
    mn = add(Opcode.MUX_NEG, qn, c, pack_mux(d, -1))
    p = add(Opcode.MUL, m, mn)
    sq = add(Opcode.MUL, p, p)
    big = add(Opcode.MUL, sq, s)  # > 32 bits
    lk = add(Opcode.LOOKUP, x1, data=pack_lookup(0, -1))
    tot = add(Opcode.ADD, big, lk, 3)
    out_idxs = [tot, rn, q, ca, -1, c, sq, mn]
    out_shifts = [0, 1, -2, 0, 0, 3, 0, -1]
    out_negs = [False, True, False, True, False, True, False, True]
    return Program(2, len(out_idxs), ops, [0, 1], out_idxs, out_shifts, out_negs, tables)
