"""Bad input through the Python API, as a new user or a corrupt file gives it: a typed error that
names the argument (or the field, and the op) and the value; never a hang, a huge allocation or
a numpy/json message from deep inside."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from da4ml_core.cmvm import solve
from da4ml_core.fixed import MAX_BITS, Precision, quantize
from da4ml_core.ir import Op, Opcode, Program, ProgramError, QInt
from da4ml_core.ir.ranges import MAX_COEF_BITS, LinearRanges
from da4ml_core.ir.serialize import from_json
from da4ml_core.ir.validate import MAX_SHIFT
from da4ml_core.trace import FixedArray, lut, relu, trace
from da4ml_core.trace import quantize as trace_quantize

# ------------------------------------------------------------------------------ DAIS binary

OPCODE, ID0, ID1, DATA_LO, DATA_HI, K, I, F = range(8)


@pytest.fixture(scope='module')
def prog() -> Program:
    """Inputs, ADD, SUB, MUX, LOOKUP and RELU in one small traced program."""
    x = FixedArray.input((2,), 1, 3, 2)
    y = [x[0] + x[1] * 2, np.maximum(x[0], x[1]), lut(x[0], np.tanh, 1, 1, 3), relu(x[1] - x[0])]
    return trace(x, y)


def _op_word(prog: Program, name: str, word: int) -> int:
    """Index in ``prog.to_binary()`` of word ``word`` of the first op named ``name``."""
    j = next(j for j, op in enumerate(prog.ops) if op.opcode.name == name)
    return 6 + prog.n_in + 3 * prog.n_out + 8 * j + word


def _corrupt(prog: Program, index: int, value: int) -> np.ndarray:
    w = prog.to_binary().copy()
    w[index] = value
    return w


@pytest.mark.parametrize(
    'name, word, value, message',
    [
        ('ADD', DATA_HI, 6, r'op 2 \(ADD\): shift 25769803777 is out of range \(\|shift\| <= 4096\)'),
        ('ADD', DATA_LO, MAX_SHIFT + 1, r'op 2 \(ADD\): shift 4097 is out of range'),
        ('SUB', DATA_LO, -(1 << 30), r'op 3 \(SUB\): shift 3221225472 is out of range'),  # data = hi:lo
        ('MUX', DATA_HI, 1 << 20, r'op 4 \(MUX\): shift 1048576 is out of range'),
        ('ADD', K, 2, r'op 2 \(ADD\): precision k=2 must be 0 or 1'),
        ('ADD', I, 10**6, r'op 2 \(ADD\): precision i=1000000 is out of range \(\|i\| <= 2048\)'),
        ('RELU', F, -(10**6), r'op 7 \(RELU\): precision f=-1000000 is out of range'),
        ('ADD', I, -40, r'op 2 \(ADD\): precision width k \+ i \+ f = -37 is negative'),
    ],
)
def test_binary_field_out_of_range(prog, name, word, value, message):
    words = _corrupt(prog, _op_word(prog, name, word), value)
    for validate in (True, False):  # the field checks run either way
        with pytest.raises(ProgramError, match=message):
            Program.from_binary(words, validate=validate)


@pytest.mark.parametrize(
    'field, message',
    [
        ('inp_shifts', r'inp_shifts\[0\] = 1000000 is out of range'),
        ('out_shifts', r'out_shifts\[0\] = 1000000 is out of range'),
        ('out_negs', r'out_negs\[0\] = 1000000 must be 0 or 1'),
    ],
)
def test_binary_header_field_out_of_range(prog, field, message):
    start = {'inp_shifts': 6, 'out_shifts': 6 + prog.n_in + prog.n_out, 'out_negs': 6 + prog.n_in + 2 * prog.n_out}
    words = _corrupt(prog, start[field], 10**6)
    for validate in (True, False):
        with pytest.raises(ProgramError, match=message):
            Program.from_binary(words, validate=validate)


def test_binary_truncated_at_every_byte_or_extended(prog):
    raw = prog.to_binary().tobytes()
    for n in range(len(raw)):
        with pytest.raises(ProgramError, match='DAIS binary'):
            Program.from_binary(raw[:n])
    with pytest.raises(ProgramError, match=f'{len(raw) + 1} bytes is not a whole number of 32-bit words'):
        Program.from_binary(raw + b'\0')
    n = len(raw) // 4
    with pytest.raises(ProgramError, match=f'has {n + 1} words, header and table sizes say {n}'):
        Program.from_binary(raw + b'\0' * 4)


def test_binary_words_of_the_wrong_type(prog):
    with pytest.raises(TypeError, match='DAIS words must be an integer array or bytes, got dtype float64'):
        Program.from_binary(prog.to_binary().astype(np.float64))
    wide = prog.to_binary().astype(np.int64)
    wide[7] = 1 << 40
    with pytest.raises(ProgramError, match='DAIS word 7 = 1099511627776 does not fit int32'):
        Program.from_binary(wide)


def test_binary_repeated_large_shifts_do_not_blow_up():
    """4000 ops ``x = x + (x << 2048)``: every field is in range, but the exact range of the
    chain would need integers of 8 million bits. Refused as an overflow at the first adder."""
    n = 4000
    head = [1, 0, 1, 1, n + 1, 0, 0, n, 0, 0]  # 1 input, 1 output (op n), its shift and sign
    ops = [[-1, 0, -1, 0, 0, 1, 3, 0]] + [[0, j, j, 2048, 0, 1, 100, 0] for j in range(n)]
    words = np.asarray(head + [v for op in ops for v in op], dtype=np.int32)
    with pytest.raises(ProgramError, match=r'op 1 \(ADD\).*cannot hold the result \[-~2\^2051.0, ~2\^2050.8\]'):
        Program.from_binary(words)  # huge bounds are shown by magnitude, not in 600 digits
    assert len(Program.from_binary(words, validate=False).ops) == n + 1


def test_linear_ranges_drop_forms_with_huge_coefficients():
    """``x_j = x_(j-1) + (x_(j-1) << 2048)``: op j's coefficient on x_0 has about 2048 j bits."""
    ops = [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 0))]
    ops += [Op(Opcode.ADD, j, j, 2048, QInt.of_kif(1, 100, 0)) for j in range(4)]
    ranges = LinearRanges(ops)
    assert ranges.range(2) is not None  # 4097 bits
    assert ranges.range(3) is None  # 6145 bits > MAX_COEF_BITS
    assert MAX_COEF_BITS == 6144


def test_binary_random_corruption_gives_a_program_or_a_program_error(prog):
    """Any word set to any value: a ProgramError or a Program (which then evaluates or raises a
    ProgramError); nothing else, and quickly."""
    rng = np.random.default_rng(18)
    base = prog.to_binary()
    specials = [0, 1, -1, 2, 7, 8, 99, -(1 << 31), (1 << 31) - 1, 1 << 20, -(1 << 20)]
    X = np.array([[1.25, -3.5], [7.75, -8.0]])
    for _ in range(400):
        w = base.copy()
        for _ in range(rng.integers(1, 3)):
            j = int(rng.integers(0, w.size))
            w[j] = specials[rng.integers(len(specials))] if rng.random() < 0.7 else rng.integers(-(1 << 31), 1 << 31)
        for validate in (True, False):
            try:
                p = Program.from_binary(w, validate=validate)
            except ProgramError:
                continue
            if validate:
                try:
                    p(X)
                except ProgramError:
                    pass


# ------------------------------------------------------------------------------ JSON


def _doc(prog: Program) -> dict:
    return json.loads(prog.to_json())


def test_json_shift_out_of_range(prog):
    d = _doc(prog)
    d['ops'][2]['data'] = 25769803777
    for validate in (True, False):  # the field checks run either way
        with pytest.raises(ProgramError, match=r'op 2 \(ADD\): shift 25769803777 is out of range'):
            from_json(json.dumps(d), validate=validate)


def test_json_precision_out_of_range(prog):
    d = _doc(prog)
    d['ops'][5]['f'] = 10**6
    with pytest.raises(ProgramError, match=r'op 5 \(LOOKUP\): precision f=1000000 is out of range'):
        Program.from_json(json.dumps(d))


def test_json_truncated_anywhere(prog):
    text = prog.to_json()
    for n in range(0, len(text) - 2, 7):  # the last two characters are '}\n'
        with pytest.raises(ProgramError, match='not valid JSON'):
            Program.from_json(text[:n])


def test_json_not_an_object():
    with pytest.raises(ProgramError, match='is a JSON object, got list'):
        Program.from_json('[1, 2]')


@pytest.mark.parametrize('key', ['n_in', 'n_out', 'ops', 'inp_shifts', 'out_idxs', 'out_shifts', 'out_negs'])
def test_json_missing_key(prog, key):
    d = _doc(prog)
    del d[key]
    with pytest.raises(ProgramError, match=f"program: missing key '{key}'"):
        Program.from_json(json.dumps(d))


@pytest.mark.parametrize('key', ['op', 'id0', 'id1', 'data', 'lo', 'hi', 'f'])
def test_json_op_missing_key(prog, key):
    d = _doc(prog)
    del d['ops'][3][key]
    with pytest.raises(ProgramError, match=rf"ops\[3\]: missing key '{key}'"):
        Program.from_json(json.dumps(d))


@pytest.mark.parametrize(
    'path, value, message',
    [
        (('n_in',), '2', "n_in must be an integer, got '2'"),
        (('n_out',), 4.0, 'n_out must be an integer, got 4.0'),
        (('inp_shifts',), 0, 'inp_shifts must be a list of integers, got 0'),
        (('out_idxs',), [2, 4, 5, True], r'out_idxs\[3\] must be an integer, got True'),
        (('out_negs',), [False, 2, False, False], r'out_negs\[1\] must be true or false, got 2'),
        (('ops',), {}, 'ops must be a list of op objects'),
        (('ops', 3), [0, 1, 2], r'ops\[3\] must be an object'),
        (('ops', 3, 'op'), 'FOO', r"ops\[3\]\.op: unknown opcode name 'FOO'"),
        (('ops', 3, 'id0'), 1.5, r'ops\[3\]\.id0 must be an integer, got 1.5'),
        (('ops', 3, 'lo'), None, r'ops\[3\]\.lo must be an integer, got None'),
        (('tables',), {'0': [1]}, 'tables must be a list'),
        (('tables', 0, 3), 'a', r"tables\[0\]\[3\] must be an integer, got 'a'"),
        (('adder_size',), 'one', "adder_size must be an integer, got 'one'"),
    ],
)
def test_json_wrong_type(prog, path, value, message):
    d = _doc(prog)
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    with pytest.raises(ProgramError, match=message):
        Program.from_json(json.dumps(d))


def test_json_random_corruption_gives_a_program_or_a_program_error(prog):
    rng = np.random.default_rng(19)
    values = [0, 1, -1, 5, 99, 2048, 4097, -(1 << 40), 1 << 63, 1.5, True, None, 'ADD', 'x', [], {}, [1]]
    for _ in range(300):
        d = _doc(prog)
        target = d['ops'][rng.integers(len(d['ops']))] if rng.random() < 0.8 else d
        key = sorted(target)[rng.integers(len(target))]
        target[key] = values[rng.integers(len(values))]
        for validate in (True, False):
            try:
                from_json(json.dumps(d), validate=validate)
            except ProgramError:
                pass


# ------------------------------------------------------------------------------ solve


def test_solve_ragged_matrix():
    with pytest.raises(TypeError, match='W must be a 2-D numeric array, got list'):
        solve([[1.0, 2.0], [3.0]])


def test_solve_absurd_input_width():
    with pytest.raises(ValueError, match=r'input_kifs\[0\]: i=1000000 is out of range'):
        solve(np.ones((2, 2)), input_kifs=(1, 10**6, 0))


# ------------------------------------------------------------------------------ quantize


@pytest.mark.parametrize(
    'k, i, f, message',
    [
        (1, 10**9, 0, 'i=1000000000 is out of range: |i| is at most 2048 bits'),
        (1, 10**9, -(10**9), 'i=1000000000 is out of range'),
        (0, 0, 10**6, 'f=1000000 is out of range'),
        (1, [3, 3 + MAX_BITS], 0, f'i={3 + MAX_BITS} is out of range'),
    ],
)
def test_quantize_absurd_widths(k, i, f, message):
    with pytest.raises(ValueError, match=message.replace('|', r'\|')):
        quantize(np.array([0.3, -1.7]), k, i, f)


def test_quantize_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r'k, i, f of shapes \(\), \(3,\), \(\) do not broadcast against x of shape \(2,\)'):
        quantize(np.array([0.3, -1.7]), 1, [3, 3, 3], 2)


def test_quantize_ragged_arguments():
    with pytest.raises(TypeError, match='x must be a real numeric array'):
        quantize([[0.5], [0.5, 1.0]], 1, 3, 2)
    with pytest.raises(TypeError, match='k, i, f must be integers or arrays of integers'):
        quantize([0.5, 1.0], 1, [[3], [3, 4]], 2)


def test_precision_of_absurd_width():
    with pytest.raises(ValueError, match='f=5000 is out of range'):
        Precision.of(1, 3, 5000)


# ------------------------------------------------------------------------------ tracer


@pytest.mark.parametrize(
    'call, message',
    [
        (lambda x: FixedArray.input((3,), 1, 10**6, 0), 'i=1000000 is out of range'),
        (lambda x: trace_quantize(x, 1, 0, 10**7), 'f=10000000 is out of range'),
        (lambda x: lut(x, np.tanh, 1, 3, 10**6), 'f=1000000 is out of range'),
        (lambda x: FixedArray.input('abc', 1, 3, 0), "shape must be non-negative integers, got shape='abc'"),
        (lambda x: FixedArray.input((2.5,), 1, 3, 0), r'shape must be non-negative integers, got shape=\(2.5,\)'),
        (lambda x: FixedArray.input(None, 1, 3, 0), 'shape must be non-negative integers, got shape=None'),
        (lambda x: FixedArray.input((3,), 1, 3, 0, latency=np.nan), 'latency must be finite and >= 0, got latency=nan'),
        (lambda x: FixedArray.input((3,), 1, 3, 0, latency=-1), 'latency must be finite and >= 0, got latency=-1.0'),
        (lambda x: FixedArray.input((3,), 1, 3, 0, latency='a'), "latency=.a."),
        (lambda x: FixedArray.input((3,), 1, 3, 0, latency=[1, 2]), r'broadcasting to \(3,\), got latency=\[1, 2\]'),
    ],
)
def test_tracer_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(FixedArray.input((3,), 1, 3, 2))


def test_lut_function_must_be_callable():
    with pytest.raises(TypeError, match='fn must be a callable taking float64 arrays, got fn=5'):
        lut(FixedArray.input((3,), 1, 3, 2), 5, 1, 3, 2)


@pytest.mark.parametrize(
    'call, name',
    [
        (lambda a: np.linalg.inv(a), 'numpy.linalg.inv'),
        (lambda a: np.fft.fft(a), 'numpy.fft.fft'),
        (lambda a: np.linalg.norm(a), 'numpy.linalg.norm'),
    ],
)
def test_unsupported_numpy_submodule_function_names_itself(call, name):
    with pytest.raises(TypeError, match=name.replace('.', r'\.') + ' is not supported on FixedArray'):
        call(FixedArray.input((3, 3), 1, 3, 2))


# ------------------------------------------------------------------------------ model files


@pytest.fixture
def bad_models(tmp_path):
    (tmp_path / 'empty.keras').write_bytes(b'')
    (tmp_path / 'random.keras').write_bytes(np.random.default_rng(1).bytes(300))
    with zipfile.ZipFile(tmp_path / 'zip.keras', 'w') as z:
        z.writestr('hello.txt', 'hi')
    with zipfile.ZipFile(tmp_path / 'config.keras', 'w') as z:
        z.writestr('config.json', '{not json')
        z.writestr('metadata.json', '{}')
    return tmp_path


@pytest.mark.parametrize(
    'name, message',
    [
        ('empty.keras', r'empty\.keras: not a Keras archive \(zip\); the file \(0 bytes\)'),
        ('random.keras', r'random\.keras: not a Keras archive \(zip\); the file \(300 bytes\)'),
        ('zip.keras', r'zip\.keras: a zip archive but not a Keras model \(no config\.json; it holds hello\.txt\)'),
        ('.', r': is a directory, not a \.keras model file'),
    ],
)
def test_model_file_that_is_not_a_keras_archive(bad_models, name, message):
    from da4ml_core.convert import ModelFileError, load_model

    with pytest.raises(ModelFileError, match=message):
        load_model(bad_models / name)


def test_model_archive_with_a_broken_config(bad_models):
    from da4ml_core.convert import ModelFileError, load_model

    with pytest.raises(ModelFileError, match=r'config\.keras: Keras cannot load this model \(JSONDecodeError'):
        load_model(bad_models / 'config.keras')


def test_missing_model_file(tmp_path):
    from da4ml_core.convert import load_model

    with pytest.raises(FileNotFoundError, match='nope.keras: no such model file'):
        load_model(tmp_path / 'nope.keras')
