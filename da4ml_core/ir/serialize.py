"""JSON (readable, byte-stable) and DAIS int32 binary forms of a program.

DAIS binary, spec version 1, all int32 words:

    [spec_version, firmware_version, n_in, n_out, n_ops, n_tables]
    inp_shifts[n_in], out_idxs[n_out], out_shifts[n_out], out_negs[n_out]
    n_ops x [opcode, id0, id1, data_lo, data_hi, k, i, f]
    table_sizes[n_tables], then every table's entries back to back

``data`` is one signed 64-bit word split into its low and high 32 bits (low first). An op carries
only its precision (k, i, f), not its interval: the loader re-derives the tightest interval the
op can produce inside that precision, so binary -> Program -> binary is the identity.
"""

from __future__ import annotations

import json

import numpy as np

from . import intervals
from .ops import Op, Opcode, QInt, pack_lookup, signed32
from .program import Program
from .ranges import LinearRanges
from .validate import ProgramError

__all__ = ['to_json', 'from_json', 'to_binary', 'from_binary', 'DAIS_SPEC_VERSION', 'JSON_FORMAT']

DAIS_SPEC_VERSION = 1
JSON_FORMAT = 'da4ml-core/dais'
JSON_VERSION = 1
_OP_KEYS = ('op', 'id0', 'id1', 'data', 'lo', 'hi', 'f')
_LINEAR = (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD)


def _dumps(v) -> str:
    return json.dumps(v, separators=(', ', ': '))


def to_json(prog: Program) -> str:
    """One header key per line, one op per line; identical programs give identical bytes."""
    head = {
        'format': JSON_FORMAT,
        'version': JSON_VERSION,
        'n_in': prog.n_in,
        'n_out': prog.n_out,
        'adder_size': prog.adder_size,
        'carry_size': prog.carry_size,
        'inp_shifts': list(prog.inp_shifts),
        'out_idxs': list(prog.out_idxs),
        'out_shifts': list(prog.out_shifts),
        'out_negs': list(prog.out_negs),
    }
    lines = ['{']
    lines += [f'  {json.dumps(k)}: {_dumps(v)},' for k, v in head.items()]
    ops = []
    for op in prog.ops:
        code = op.opcode
        name = code.name if isinstance(code, Opcode) else int(code)
        ops.append(_dumps(dict(zip(_OP_KEYS, (name, op.id0, op.id1, op.data, *op.qint)))))
    lines.append('  "ops": [' + ('' if ops else '],'))
    lines += [f'    {o},' for o in ops[:-1]] + ([f'    {ops[-1]}', '  ],'] if ops else [])
    tables = [_dumps(list(t)) for t in prog.tables]
    lines.append('  "tables": [' + ('' if tables else ']'))
    lines += [f'    {t},' for t in tables[:-1]] + ([f'    {tables[-1]}', '  ]'] if tables else [])
    lines.append('}')
    return '\n'.join(lines) + '\n'


def from_json(text: str, validate: bool = True) -> Program:
    d = json.loads(text)
    if d.get('format') != JSON_FORMAT or d.get('version') != JSON_VERSION:
        got = (d.get('format'), d.get('version'))
        raise ProgramError(f'not a {JSON_FORMAT} v{JSON_VERSION} document (format, version = {got!r})')
    ops = []
    for o in d['ops']:
        code = o['op']
        code = Opcode[code] if isinstance(code, str) else code
        ops.append(Op(code, o['id0'], o['id1'], o['data'], QInt(o['lo'], o['hi'], o['f'])))
    return Program(
        d['n_in'],
        d['n_out'],
        ops,
        inp_shifts=d['inp_shifts'],
        out_idxs=d['out_idxs'],
        out_shifts=d['out_shifts'],
        out_negs=d['out_negs'],
        tables=d.get('tables', ()),
        adder_size=d.get('adder_size', 1),
        carry_size=d.get('carry_size', -1),
        validate=validate,
    )


def _raw_min(q: QInt) -> int:
    k, i, f = q.kif
    return -(1 << (i + f)) if k and k + i + f > 0 else 0


def to_binary(prog: Program, version: int = 0) -> np.ndarray:
    """The DAIS int32 words of ``prog`` (``version`` is the firmware version field)."""
    n_in, n_out, n_ops = prog.n_in, prog.n_out, len(prog.ops)
    head = [DAIS_SPEC_VERSION, version, n_in, n_out, n_ops, len(prog.tables)]
    head += (
        list(prog.inp_shifts) + list(prog.out_idxs) + list(prog.out_shifts) + [int(n) for n in prog.out_negs]
    )
    code = np.empty((n_ops, 8), dtype=np.int64)
    for j, op in enumerate(prog.ops):
        data = op.data
        if op.opcode == Opcode.LOOKUP:  # base -> offset from the bottom of the key's precision
            pad_left = op.base - _raw_min(prog.ops[op.id0].qint)
            data = (op.table & 0xFFFFFFFF) | (signed32(pad_left) << 32)
        if not -(1 << 63) <= data < (1 << 63):
            raise ProgramError(f'data {data} does not fit 64 bits', j, op)
        code[j] = (int(op.opcode), op.id0, op.id1, signed32(data), data >> 32, *op.qint.kif)
    tables = [len(t) for t in prog.tables] + [v for t in prog.tables for v in t]
    words = np.concatenate(
        [np.asarray(head, dtype=np.int64), code.ravel(), np.asarray(tables, dtype=np.int64)]
    )
    if words.size and (words.min() < -(1 << 31) or words.max() >= (1 << 31)):
        raise ProgramError('a field does not fit in int32 (shift, index, precision or table entry)')
    return words.astype(np.int32)


def _as_words(data) -> np.ndarray:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(data), dtype='<i4').astype(np.int32)
    return np.ascontiguousarray(np.ravel(data)).astype(np.int32, casting='same_kind')


def _interval(op: Op, k: int, i: int, f: int, qints: list[QInt], tables, linear: LinearRanges) -> QInt:
    """Tightest interval inside precision (k, i, f) that op ``len(qints)`` can produce.

    Op by op first; for adders whose op-by-op range spills out of the precision (typical of
    shift-add trees from a CMVM solver), the exact range of the linear form over its leaves."""
    full = QInt.of_kif(k, i, f)
    try:
        nat = intervals.natural(op, qints, tables)
        if nat is not None and nat.f <= f and not full.contains(nat.at(f)) and op.opcode in _LINEAR:
            nat = linear.range(len(qints)) or nat
    except (IndexError, ValueError, KeyError):
        return full
    if nat is None or nat.f > f:
        return full
    nat = nat.at(f)
    lo, hi = max(nat.lo, full.lo), min(nat.hi, full.hi)
    if lo > hi:
        return full
    tight = QInt(lo, hi, f)
    return tight if tuple(tight.kif) == (k, i, f) else full


def from_binary(data, validate: bool = True) -> Program:
    """Read DAIS words (int32 array or little-endian bytes) back into a Program."""
    w = _as_words(data)
    if w.size < 6:
        raise ProgramError(f'DAIS binary of {w.size} words is too short for its header')
    spec, _fw, n_in, n_out, n_ops, n_tables = (int(x) for x in w[:6])
    if spec != DAIS_SPEC_VERSION:
        raise ProgramError(f'DAIS spec version {spec} is not supported (expected {DAIS_SPEC_VERSION})')
    if min(n_in, n_out, n_ops, n_tables) < 0:
        raise ProgramError(f'negative count in DAIS header {w[:6].tolist()}')
    pos = 6
    need = pos + n_in + 3 * n_out + 8 * n_ops + n_tables
    if w.size < need:
        raise ProgramError(f'DAIS binary has {w.size} words, its header needs at least {need}')
    inp_shifts = w[pos : pos + n_in].tolist()
    pos += n_in
    out_idxs, out_shifts, out_negs = (w[pos + j * n_out : pos + (j + 1) * n_out].tolist() for j in range(3))
    pos += 3 * n_out
    code = w[pos : pos + 8 * n_ops].reshape(n_ops, 8).astype(np.int64).tolist()
    pos += 8 * n_ops
    sizes = w[pos : pos + n_tables].tolist()
    pos += n_tables
    if min(sizes, default=0) < 0 or w.size != pos + sum(sizes):
        raise ProgramError(f'DAIS binary has {w.size} words, header and table sizes say {pos + sum(sizes)}')
    tables = []
    for s in sizes:
        tables.append(w[pos : pos + s].tolist())
        pos += s

    ops: list[Op] = []
    qints: list[QInt] = []
    linear = LinearRanges(ops)
    for opcode, id0, id1, lo32, hi32, k, i, f in code:
        data = (hi32 << 32) | (lo32 & 0xFFFFFFFF)
        op = Op(opcode, id0, id1, data, QInt.of_kif(k, i, f))
        if op.opcode == Opcode.LOOKUP and 0 <= id0 < len(qints):  # offset -> base
            op = op.with_(data=pack_lookup(signed32(data), (data >> 32) + _raw_min(qints[id0])))
        ops.append(op)  # visible to the linear ranges while its interval is worked out
        if op.opcode == Opcode.CONST:
            q = QInt(data, data, f)
        else:
            q = _interval(op, k, i, f, qints, tables, linear)
        ops[-1] = op.with_(qint=q)
        qints.append(q)
    return Program(
        n_in,
        n_out,
        ops,
        inp_shifts=inp_shifts,
        out_idxs=out_idxs,
        out_shifts=out_shifts,
        out_negs=[bool(n) for n in out_negs],
        tables=tables,
        validate=validate,
    )
