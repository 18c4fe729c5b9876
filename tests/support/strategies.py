"""Hypothesis strategies for random valid DAIS programs and their inputs, and the settings of
property tests that simulate (every example is a new simulator build).

``programs()`` grows a program op by op: each new op picks an opcode, operands among the ops
so far and parameters, and declares the exact interval the op can produce (what validation
demands). Widths stay under ``max_width`` bits so the int64 interpreter accepts every program.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from da4ml_core.ir import Op, Opcode, Program, QInt, intervals, pack_lookup, pack_mux

__all__ = ['ALL_OPCODES', 'cmvm_matrices', 'input_kifs', 'inputs_for', 'programs', 'quantize_programs', 'rtl_settings']

# every opcode the IR supports; all of them are DAIS opcodes da4ml 0.6.0 also runs
ALL_OPCODES = (
    Opcode.ADD,
    Opcode.SUB,
    Opcode.RELU,
    Opcode.RELU_NEG,
    Opcode.QUANTIZE,
    Opcode.QUANTIZE_NEG,
    Opcode.CONST_ADD,
    Opcode.CONST,
    Opcode.MUX,
    Opcode.MUX_NEG,
    Opcode.MUL,
    Opcode.LOOKUP,
)


def _kif(draw, max_width: int, f_range=(-2, 6)):
    k = draw(st.integers(0, 1))
    f = draw(st.integers(*f_range))
    width = draw(st.integers(0, max_width))
    return k, width - k - f, f


def _op(draw, code, qints, tables, dais_safe):
    """One new op of opcode ``code`` over ``qints`` (None if this draw cannot make one)."""
    n = len(qints)
    pick = st.integers(0, n - 1)
    if code in (Opcode.ADD, Opcode.SUB):
        a, b, s = draw(pick), draw(pick), draw(st.integers(-3, 3))
        op = Op(code, a, b, s, QInt(0, 0, 0))
        return op.with_(qint=intervals.natural(op, qints))
    if code in (Opcode.RELU, Opcode.RELU_NEG, Opcode.QUANTIZE, Opcode.QUANTIZE_NEG):
        a = draw(pick)
        fa = qints[a].f
        k, i, f = _kif(draw, 16, (fa - 3, fa))
        op = Op(code, a, -1, 0, QInt.of_kif(k, i, f))
        return op.with_(qint=intervals.natural(op, qints))
    if code == Opcode.CONST_ADD:
        a = draw(pick)
        f = qints[a].f + draw(st.integers(0, 3))
        c = draw(st.integers(-64, 64))
        op = Op(code, a, -1, c, QInt(0, 0, f))
        return op.with_(qint=intervals.natural(op, qints))
    if code == Opcode.CONST:
        c, f = draw(st.integers(-200, 200)), draw(st.integers(-2, 6))
        return Op(code, -1, -1, c, QInt(c, c, f))
    if code in (Opcode.MUX, Opcode.MUX_NEG):
        keys = list(range(n))
        if dais_safe:  # da4ml 0.6.0's C++ interpreter misreads the MSB of unsigned keys wider than 2 bits
            keys = [j for j in keys if qints[j].lo < 0 or qints[j].width <= 2]
        if not keys:
            return None
        key = draw(st.sampled_from(keys))
        a, b, s = draw(pick), draw(pick), draw(st.integers(-3, 3))
        op = Op(code, a, b, pack_mux(key, s), QInt(0, 0, 0))
        return op.with_(qint=intervals.natural(op, qints))
    if code == Opcode.MUL:
        a, b = draw(pick), draw(pick)
        op = Op(code, a, b, 0, QInt(0, 0, 0))
        return op.with_(qint=intervals.natural(op, qints))
    if code == Opcode.LOOKUP:
        small = [j for j in range(n) if qints[j].hi - qints[j].lo < 256]
        if not small:
            return None
        a = draw(st.sampled_from(small))
        key = qints[a]
        base = key.lo - draw(st.integers(0, 2))
        size = key.hi - base + 1 + draw(st.integers(0, 2))
        reuse = [t for t, tab in enumerate(tables) if len(tab) == size]
        if reuse and draw(st.booleans()):
            t = draw(st.sampled_from(reuse))
        else:
            bits = draw(st.integers(1, 12))
            vals = draw(
                st.lists(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1)), min_size=size, max_size=size)
            )
            tables.append(vals)
            t = len(tables) - 1
        f = draw(st.integers(-2, 6))
        op = Op(code, a, -1, pack_lookup(t, base), QInt(0, 0, f))
        return op.with_(qint=intervals.natural(op, qints, tables))
    raise ValueError(code)


@st.composite
def programs(
    draw,
    n_in=(1, 4),
    n_ops=(1, 24),
    n_out=(1, 4),
    opcodes=ALL_OPCODES,
    max_width: int = 40,
    in_width: int = 12,
    dais_safe: bool = False,
    shifts: bool = True,
) -> Program:
    """A random valid Program. ``n_*`` are (min, max) ranges; ``opcodes`` the ops to draw from
    (INPUT ops are always there); ``dais_safe`` avoids what da4ml 0.6.0's interpreter gets
    wrong: values wider than 32 bits and MUX keys that are unsigned and wider than 2 bits."""
    if dais_safe:  # da4ml 0.6.0's interpreter wraps values wider than 32 bits wrongly
        max_width, in_width = min(max_width, 32), min(in_width, 32)
    n_inputs = draw(st.integers(*n_in))
    inp_shifts = [draw(st.integers(-2, 2)) if shifts else 0 for _ in range(n_inputs)]
    ops: list[Op] = []
    for j in range(n_inputs):
        k, i, f = _kif(draw, in_width)
        ops.append(Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(k, i, f)))
    if draw(st.booleans()) and n_inputs:  # an input read twice, at another precision
        k, i, f = _kif(draw, in_width)
        ops.append(Op(Opcode.INPUT, draw(st.integers(0, n_inputs - 1)), -1, 0, QInt.of_kif(k, i, f)))
    tables: list[list[int]] = []
    target = draw(st.integers(*n_ops))
    attempts = 0
    while len(ops) < target + n_inputs and attempts < 4 * target + 8:
        attempts += 1
        code = draw(st.sampled_from(tuple(opcodes)))
        n_tab = len(tables)
        op = _op(draw, code, [o.qint for o in ops], tables, dais_safe)
        if op is None or op.qint.width > max_width or _aligned_width(op, ops) > max_width:
            del tables[n_tab:]
            continue
        ops.append(op)
    n_outputs = draw(st.integers(*n_out))
    idx = st.integers(0, len(ops) - 1)
    out_idxs = [draw(idx) if draw(st.integers(0, 9)) else -1 for _ in range(n_outputs)]
    out_shifts = [draw(st.integers(-2, 2)) if shifts else 0 for _ in range(n_outputs)]
    out_negs = [draw(st.booleans()) for _ in range(n_outputs)]
    return Program(n_inputs, n_outputs, ops, inp_shifts, out_idxs, out_shifts, out_negs, tables)


def _aligned_width(op: Op, ops: list[Op]) -> int:
    """Widest operand once moved to the op's grid (what the interpreter holds)."""
    f = op.qint.f
    widths = [0]
    for j in op.operands:
        q = ops[j].qint
        if abs(op.opcode) == Opcode.MUX and j == op.id1:
            q = q.shifted(op.shift)
        elif op.opcode in (Opcode.ADD, Opcode.SUB) and j == op.id1:
            q = q.shifted(op.data)
        if q.f <= f:
            widths.append(q.at(f).width + 1)
    if op.opcode == Opcode.MUL:
        widths.append(ops[op.id0].qint.width + ops[op.id1].qint.width)
    return max(widths)


def quantize_programs(n_ops=(1, 12), max_width: int = 24) -> st.SearchStrategy[Program]:
    """Programs of INPUT, RELU and QUANTIZE ops only: the quantization ops, for golden-model checks."""
    return programs(
        n_in=(1, 3),
        n_ops=n_ops,
        n_out=(1, 4),
        opcodes=(Opcode.RELU, Opcode.RELU_NEG, Opcode.QUANTIZE, Opcode.QUANTIZE_NEG),
        max_width=max_width,
    )


_SPECIAL = (0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1e-300, -1e-300)
_EXTREME = (1e30, -1e30, 2.0**62, -(2.0**62), 2.0**70 + 2.0**20, 1.7e308)


def inputs_for(prog: Program, n_samples=(1, 16), magnitude: float = 2.0**8, extreme: bool = True):
    """Float inputs (n_samples, n_in): on-grid, off-grid and out-of-range values mixed.

    ``extreme`` adds huge values (wrap-around of far out-of-range inputs) and subnormal floats;
    da4ml 0.6.0's interpreter converts ``x * 2**f`` to int64 directly and reads subnormals as
    zero, so interop tests leave them out."""
    values = st.one_of(
        st.floats(-magnitude, magnitude, allow_nan=False, allow_infinity=False, allow_subnormal=extreme),
        st.integers(-4096, 4096).map(lambda r: r / 64.0),
        st.sampled_from(_SPECIAL + (_EXTREME if extreme else ())),
    )
    return st.integers(*n_samples).flatmap(
        lambda n: st.lists(st.lists(values, min_size=prog.n_in, max_size=prog.n_in), min_size=n, max_size=n)
    )


# --------------------------------------------------------------------------------------------
# constant matrices for the CMVM solver
# --------------------------------------------------------------------------------------------


@st.composite
def cmvm_matrices(draw, max_in: int = 32, max_out: int = 32, max_bits: int = 12):
    """Constant matrices as CMVM meets them: dense or sparse signed integers of 1..max_bits
    bits, optionally scaled to fractions, with zero rows and columns, duplicated and negated
    columns and power-of-two entries mixed in."""
    import numpy as np

    n_in = draw(st.integers(1, max_in))
    n_out = draw(st.integers(1, max_out))
    bits = draw(st.integers(1, max_bits))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    half = 2 ** (bits - 1)
    M = rng.integers(-half, half, (n_in, n_out)) if bits > 1 else rng.integers(-1, 2, (n_in, n_out))
    density = draw(st.sampled_from((1.0, 0.5, 0.15)))
    M = np.where(rng.uniform(size=M.shape) < density, M, 0)
    if draw(st.booleans()):  # powers of two, as HGQ-trained kernels are full of
        pow2 = rng.choice([-1, 1], M.shape) * 2 ** rng.integers(0, bits, M.shape)
        M = np.where(rng.uniform(size=M.shape) < 0.3, pow2, M)
    if n_out > 1 and draw(st.booleans()):
        src, dst = rng.integers(0, n_out, 2)
        M[:, dst] = M[:, src] * draw(st.sampled_from((1, -1, 2, -4)))
    if draw(st.booleans()):
        M[rng.integers(0, n_in)] = 0
    if draw(st.booleans()):
        M[:, rng.integers(0, n_out)] = 0
    scale = draw(st.sampled_from((0, 0, 1, 3, -2)))  # entries M * 2**-scale
    return np.ldexp(M.astype(np.float64), -scale)


@st.composite
def input_kifs(draw, n_in: int, k=(0, 1), i=(-2, 10), f=(-2, 10)):
    """One (k, i, f) per input, width >= 1."""
    out = []
    for _ in range(n_in):
        kk = draw(st.integers(*k))
        ii = draw(st.integers(*i))
        ff = draw(st.integers(max(f[0], 1 - kk - ii), max(f[1], 1 - kk - ii)))
        out.append((kk, ii, ff))
    return out


def rtl_max_examples() -> int:
    """A fifth of the active profile's examples (at least 5): every example is a new build."""
    return max(5, settings().max_examples // 5)


rtl_settings = settings(max_examples=rtl_max_examples(), deadline=None, suppress_health_check=[HealthCheck.too_slow])
