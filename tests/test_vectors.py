"""Bus packing: fields LSB-first, two's complement, any width; the vectorised path agrees."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verif.vectors import Bus, Field, load_vectors, read_hex, save_vectors, write_hex


@st.composite
def bus_and_rows(draw):
    fields = draw(st.lists(st.builds(Field, st.integers(1, 70), st.booleans()), min_size=1, max_size=4))
    bus = Bus(tuple(fields))
    rows = draw(st.lists(st.tuples(*(st.integers(f.lo, f.hi) for f in fields)), min_size=1, max_size=20))
    return bus, [list(r) for r in rows]


@given(bus_and_rows())
def test_pack_unpack_round_trip(case):
    bus, rows = case
    words = bus.pack(rows)
    assert all(0 <= w < 2**bus.width for w in words)
    assert [bus.unpack_one(w) for w in words] == rows
    assert bus.unpack(words).tolist() == rows
    assert words == [bus.pack_one(r) for r in rows]


def test_layout_is_lsb_first():
    bus = Bus.of((4, True), (3, False))
    assert bus.offsets == [0, 4] and bus.width == 7
    assert bus.pack_one([-1, 5]) == 0b101_1111
    assert bus.unpack_one(0b101_1000) == [-8, 5]


def test_out_of_range_is_rejected():
    bus = Bus.of((4, True))
    with pytest.raises(ValueError, match='does not fit'):
        bus.pack([[8]])
    with pytest.raises(ValueError, match='does not fit'):
        bus.pack_one([-9])


def test_extremes():
    assert Field(5, True).extremes() == [-16, 15, 0, -1]
    assert Field(1, True).extremes() == [-1, 0]
    assert Field(3, False).extremes() == [0, 7]


def test_files_round_trip(tmp_path):
    write_hex(tmp_path / 'w.hex', [0, 255, None, 17], 3)
    assert read_hex(tmp_path / 'w.hex', allow_unknown=True) == [0, 255, None, 17]
    with pytest.raises(ValueError, match='x/z'):
        read_hex(tmp_path / 'w.hex')
    bus = Bus.of((70, True))
    save_vectors(tmp_path / 'v.json', [2**69], [1], bus, Bus.of((1, False)), latency=3, clocked=True)
    vf = load_vectors(tmp_path / 'v.json')
    assert vf.inputs == [2**69] and vf.expected == [1] and vf.in_bus == bus and vf.latency == 3 and vf.clocked
    assert np.array_equal(Bus.of((8, False)).unpack([]), np.zeros((0, 1)))
