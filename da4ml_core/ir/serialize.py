"""JSON (readable, byte-stable) and DAIS int32 binary forms of a program.

DAIS binary, spec version 1, all int32 words:

    [spec_version, firmware_version, n_in, n_out, n_ops, n_tables]
    inp_shifts[n_in], out_idxs[n_out], out_shifts[n_out], out_negs[n_out]
    n_ops x [opcode, id0, id1, data_lo, data_hi, k, i, f]
    table_sizes[n_tables], then every table's entries back to back

``data`` is one signed 64-bit word split into its low and high 32 bits (low first). An op carries
only its precision (k, i, f), not its interval: the loader re-derives the tightest interval the
op can produce inside that precision, so binary -> Program -> binary is the identity.

Both loaders check every field before deriving anything from it (``validate.check_op``): k in
{0, 1}, |i| and |f| at most ``MAX_BITS`` (2048), width k + i + f >= 0, |shift| at most
``MAX_SHIFT`` (4096), known opcodes, operands that name earlier ops; counts against the length,
types and missing keys. A bad field raises :class:`ProgramError` naming it, the op and the value.
"""

from __future__ import annotations

import json

import numpy as np

from . import intervals
from .ops import Op, Opcode, QInt, pack_lookup, signed32
from .program import Program
from .ranges import LinearRanges
from .validate import MAX_BITS, ProgramError, check_fields, check_op

__all__ = ['to_json', 'from_json', 'to_binary', 'from_binary', 'DAIS_SPEC_VERSION', 'JSON_FORMAT']

DAIS_SPEC_VERSION = 1
JSON_FORMAT = 'da4ml-core/dais'
JSON_VERSION = 1
_OP_KEYS = ('op', 'id0', 'id1', 'data', 'lo', 'hi', 'f')
_LINEAR = (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD)
_OPCODES = dict(Opcode.__members__)


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


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + '...'


def _key(d: dict, key: str, where: str, default=...):
    if key not in d:
        if default is not ...:
            return default
        raise ProgramError(f'{where}: missing key {key!r}')
    return d[key]


def _int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProgramError(f'{what} must be an integer, got {_short(v)}')
    return v


def _ints(v, what: str) -> list[int]:
    if not isinstance(v, list):
        raise ProgramError(f'{what} must be a list of integers, got {_short(v)}')
    return [_int(x, f'{what}[{j}]') for j, x in enumerate(v)]


def _flags(v, what: str) -> list[bool]:
    if not isinstance(v, list):
        raise ProgramError(f'{what} must be a list of booleans, got {_short(v)}')
    for j, x in enumerate(v):
        if not (isinstance(x, bool) or (type(x) is int and x in (0, 1))):
            raise ProgramError(f'{what}[{j}] must be true or false, got {_short(x)}')
    return [bool(x) for x in v]


def _json_op(j: int, o) -> Op:
    if type(o) is dict and len(o) == 7:  # the common case first, in one test
        code, id0, id1, data = o.get('op'), o.get('id0'), o.get('id1'), o.get('data')
        lo, hi, f = o.get('lo'), o.get('hi'), o.get('f')
        if type(id0) is type(id1) is type(data) is type(lo) is type(hi) is type(f) is int:
            if type(code) is str and code in _OPCODES:
                return Op(_OPCODES[code], id0, id1, data, QInt(lo, hi, f))
            if type(code) is int:
                return Op(code, id0, id1, data, QInt(lo, hi, f))
    where = f'ops[{j}]'
    if not isinstance(o, dict):
        raise ProgramError(f'{where} must be an object with keys {", ".join(_OP_KEYS)}, got {_short(o)}')
    code = _key(o, 'op', where)
    if isinstance(code, str):
        if code not in _OPCODES:
            raise ProgramError(f'{where}.op: unknown opcode name {_short(code)}')
        code = _OPCODES[code]
    else:
        code = _int(code, f'{where}.op')
    ids = [_int(_key(o, key, where), f'{where}.{key}') for key in _OP_KEYS[1:]]
    id0, id1, data, lo, hi, f = ids
    return Op(code, id0, id1, data, QInt(lo, hi, f))


def from_json(text, validate: bool = True) -> Program:
    """Read :func:`to_json` text back. Malformed text, missing keys and wrong types raise
    :class:`ProgramError` naming the key; field limits are checked even with ``validate=False``."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f'program JSON must be str or bytes, got {type(text).__name__}')
    try:
        d = json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, oversized integers, deep nesting
        raise ProgramError(f'not valid JSON ({err})') from None
    if not isinstance(d, dict):
        raise ProgramError(f'a {JSON_FORMAT} document is a JSON object, got {type(d).__name__}')
    if d.get('format') != JSON_FORMAT or d.get('version') != JSON_VERSION:
        got = (d.get('format'), d.get('version'))
        raise ProgramError(f'not a {JSON_FORMAT} v{JSON_VERSION} document (format, version = {got!r})')
    where = 'program'
    ops = _key(d, 'ops', where)
    if not isinstance(ops, list):
        raise ProgramError(f'ops must be a list of op objects, got {_short(ops)}')
    tables = _key(d, 'tables', where, [])
    if not isinstance(tables, list):
        raise ProgramError(f'tables must be a list of integer lists, got {_short(tables)}')
    fields = dict(
        n_in=_int(_key(d, 'n_in', where), 'n_in'),
        n_out=_int(_key(d, 'n_out', where), 'n_out'),
        ops=[_json_op(j, o) for j, o in enumerate(ops)],
        inp_shifts=_ints(_key(d, 'inp_shifts', where), 'inp_shifts'),
        out_idxs=_ints(_key(d, 'out_idxs', where), 'out_idxs'),
        out_shifts=_ints(_key(d, 'out_shifts', where), 'out_shifts'),
        out_negs=_flags(_key(d, 'out_negs', where), 'out_negs'),
        tables=[_ints(t, f'tables[{j}]') for j, t in enumerate(tables)],
        adder_size=_int(_key(d, 'adder_size', where, 1), 'adder_size'),
        carry_size=_int(_key(d, 'carry_size', where, -1), 'carry_size'),
    )
    if validate:
        return Program(**fields)  # validated before the cost model sees it
    check_fields(Program(**fields, validate=False, annotate=False))
    return Program(**fields, validate=False)


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
        raw = bytes(data)
        if len(raw) % 4:
            raise ProgramError(f'DAIS binary of {len(raw)} bytes is not a whole number of 32-bit words')
        return np.frombuffer(raw, dtype='<i4').astype(np.int32)
    try:
        w = np.ravel(np.asarray(data))
    except ValueError as err:  # ragged nested lists
        raise TypeError(f'DAIS words must be an integer array or bytes ({err})') from None
    if w.dtype.kind not in 'iu':
        raise TypeError(f'DAIS words must be an integer array or bytes, got dtype {w.dtype}')
    if w.size and (int(w.min()) < -(1 << 31) or int(w.max()) >= 1 << 31):
        j, v = next((j, v) for j, v in enumerate(w.tolist()) if not -(1 << 31) <= v < 1 << 31)
        raise ProgramError(f'DAIS word {j} = {v} does not fit int32')
    return np.ascontiguousarray(w, dtype=np.int32)


def _precision_error(j: int, op: Op, k: int, i: int, f: int) -> ProgramError:
    """What is wrong with a stored (k, i, f) that failed the range test in from_binary."""
    if k not in (0, 1):
        return ProgramError(f'precision k={k} must be 0 or 1', j, op)
    for name, v in (('i', i), ('f', f)):
        if abs(v) > MAX_BITS:
            return ProgramError(f'precision {name}={v} is out of range (|{name}| <= {MAX_BITS})', j, op)
    return ProgramError(f'precision width k + i + f = {k + i + f} is negative (k={k}, i={i}, f={f})', j, op)


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
    """Read DAIS words (int32 array or little-endian bytes) back into a Program. Corrupt input
    (counts against the length, precisions, shifts, opcodes, operand indices) raises
    :class:`ProgramError` naming the field; those checks run even with ``validate=False``."""
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
        counts = f'n_in={n_in}, n_out={n_out}, n_ops={n_ops}, n_tables={n_tables}'
        raise ProgramError(
            f'DAIS binary has {w.size} words, header and table sizes say {pos + sum(sizes)} '
            f'({counts}, table sizes {sizes[:8]}{"..." if n_tables > 8 else ""})'
        )
    for j, neg in enumerate(out_negs):
        if neg not in (0, 1):
            raise ProgramError(f'out_negs[{j}] = {neg} must be 0 or 1')
    tables = []
    for s in sizes:
        tables.append(w[pos : pos + s].tolist())
        pos += s

    ops: list[Op] = []
    qints: list[QInt] = []
    linear = LinearRanges(ops)
    for j, (opcode, id0, id1, lo32, hi32, k, i, f) in enumerate(code):
        data = (hi32 << 32) | (lo32 & 0xFFFFFFFF)
        if not (0 <= k <= 1 and -MAX_BITS <= i <= MAX_BITS and -MAX_BITS <= f <= MAX_BITS and k + i + f >= 0):
            raise _precision_error(j, Op(opcode, id0, id1, data, QInt(0, 0, 0)), k, i, f)
        op = Op(opcode, id0, id1, data, QInt.of_kif(k, i, f))
        if op.opcode == Opcode.LOOKUP and 0 <= id0 < len(qints):  # offset -> base
            op = op.with_(data=pack_lookup(signed32(data), (data >> 32) + _raw_min(qints[id0])))
        check_op(j, op, n_in)  # opcode, shifts, causality: what deriving its interval relies on
        ops.append(op)  # visible to the linear ranges while its interval is worked out
        if op.opcode == Opcode.CONST:
            q = QInt(data, data, f)
        else:
            q = _interval(op, k, i, f, qints, tables, linear)
        ops[-1] = op.with_(qint=q)
        qints.append(q)
    prog = Program(
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
    if not validate:
        check_fields(prog)  # the header too (the ops were checked above)
    return prog
