"""Shape operations pass the variables through: the traced program equals the same numpy
operation on the exact input values, in C order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from trace_support import assert_bit_exact, input_matrix, kif_arrays

from da4ml_core.ir import Opcode
from da4ml_core.trace import FixedArray, trace

seeds = st.integers(0, 2**32 - 1)

# (name, function) pairs for a (2, 3, 4) array; each works on FixedArray and object ndarray alike
CASES = [
    ('reshape', lambda a: a.reshape(4, 6)),
    ('np.reshape', lambda a: np.reshape(a, (3, -1))),
    ('transpose', lambda a: a.transpose(2, 0, 1)),
    ('T', lambda a: a.T),
    ('np.transpose', lambda a: np.transpose(a)),
    ('moveaxis', lambda a: np.moveaxis(a, 0, -1)),
    ('swapaxes', lambda a: np.swapaxes(a, 0, 2)),
    ('slice', lambda a: a[1, ::-1, 1:3]),
    ('fancy index', lambda a: a[:, [2, 0, 2]]),
    ('bool index', lambda a: a[np.array([False, True])]),
    ('concatenate', lambda a: np.concatenate([a, a[:, :1]], axis=1)),
    ('concatenate constants', lambda a: np.concatenate([a[0], np.ones((3, 4))], axis=0)),
    ('stack', lambda a: np.stack([a[0], a[1] * 1], axis=-1)),
    ('hstack', lambda a: np.hstack([a[0], a[1]])),
    ('vstack', lambda a: np.vstack([a[0], a[1]])),
    ('repeat', lambda a: np.repeat(a, 2, axis=1)),
    ('repeat method', lambda a: a.repeat(3)),
    ('tile', lambda a: np.tile(a[0], (2, 1))),
    ('flatten', lambda a: a.flatten()),
    ('ravel', lambda a: np.ravel(a)),
    ('pad zeros', lambda a: np.pad(a, ((0, 1), (2, 0), (1, 1)))),
    ('pad edge', lambda a: np.pad(a, 1, mode='edge')),
    ('expand_dims', lambda a: np.expand_dims(a, 1)),
    ('squeeze', lambda a: np.squeeze(a[:, :1, :])),
    ('broadcast_to', lambda a: np.broadcast_to(a[0, 0], (2, 4))),
    ('flip', lambda a: np.flip(a, axis=2)),
    ('roll', lambda a: np.roll(a, 1, axis=1)),
    ('diagonal', lambda a: np.diagonal(a[0], offset=1)),
    ('rot90', lambda a: np.rot90(a[1])),
    ('fliplr', lambda a: np.fliplr(a[0])),
    ('atleast_2d', lambda a: np.atleast_2d(a[0, 0])),
    ('column_stack', lambda a: np.column_stack([a[0, 0], a[1, 1]])),
    ('dstack', lambda a: np.dstack([a[0], a[1]])),
    ('swapaxes method', lambda a: a.swapaxes(1, 2)),
    ('squeeze method', lambda a: a[:1].squeeze(0)),
]


@pytest.mark.parametrize('fn', [fn for _, fn in CASES], ids=[name for name, _ in CASES])
@given(st.data(), seeds)
def test_shape_operations(fn, data, seed):
    shape = (2, 3, 4)
    k, i, f = data.draw(kif_arrays(shape, max_width=6))
    x = FixedArray.input(shape, k, i, f)
    y = fn(x)
    want_shape = fn(np.zeros(shape, dtype=object)).shape
    assert isinstance(y, FixedArray) and y.shape == want_shape
    prog = trace(x, y)
    assert all(op.opcode in (Opcode.INPUT, Opcode.CONST) for op in prog.ops)  # nothing computed
    X = input_matrix(k, i, f, np.random.default_rng(seed), n_random=4)

    def golden(v):
        return np.asarray(fn(v.reshape(shape)), dtype=object).ravel()

    assert_bit_exact(prog, X, golden, None)


def test_setitem_and_iteration():
    x = FixedArray.input((3,), 1, 3, 0)
    y = FixedArray.input((3,), 1, 3, 0)
    z = x * 1
    z[1] = y[0] + 1
    z[2:] = 5
    rows = list(FixedArray.input((2, 2), 0, 2, 0))
    assert len(rows) == 2 and rows[0].shape == (2,)
    prog = trace([x, y], z)
    assert_bit_exact(prog, np.array([[1.0, 2, 3, -4, -5, -6]]), lambda v: [v[0], v[3] + 1, 5], None)
