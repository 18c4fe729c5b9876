"""Bus packing: fields LSB-first, two's complement, any width; the vectorised paths agree; the
hex and vector files round-trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verif.hdl.bus import Bus, Field
from verif.hdl.files import load_vectors, read_bus, read_words, save_vectors, write_hex


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
    assert read_words(tmp_path / 'w.hex', allow_unknown=True) == [0, 255, None, 17]
    with pytest.raises(ValueError, match='x/z'):
        read_words(tmp_path / 'w.hex')
    bus = Bus.of((70, True))
    save_vectors(tmp_path / 'v.json', [2**69], [1], bus, Bus.of((1, False)), latency=3, clocked=True)
    vf = load_vectors(tmp_path / 'v.json')
    assert vf.inputs == [2**69] and vf.expected == [1] and vf.in_bus == bus and vf.latency == 3 and vf.clocked
    assert np.array_equal(Bus.of((8, False)).unpack([]), np.zeros((0, 1)))


@given(bus_and_rows(), st.data())
def test_read_bus_agrees_with_the_exact_reader(tmp_path_factory, case, data):
    """The numpy decoder (fields up to 56 bits) and the exact line reader give the same rows,
    x / z words flagged and read as 0."""
    bus, rows = case
    words = bus.pack(rows)
    unknown = [data.draw(st.booleans()) for _ in words]
    path = tmp_path_factory.mktemp('hex') / 'out.hex'
    write_hex(path, [None if u else w for w, u in zip(words, unknown)], bus.hex_digits)
    got, flags = read_bus(path, bus, len(words))
    want = [[0] * len(bus.fields) if u else r for r, u in zip(rows, unknown)]
    assert got.tolist() == want and flags.tolist() == unknown


def test_read_bus_refuses_a_short_file(tmp_path):
    bus = Bus.of((8, True))
    write_hex(tmp_path / 'o.hex', [1, 2], bus.hex_digits)
    with pytest.raises(ValueError, match='2 words, expected 3'):
        read_bus(tmp_path / 'o.hex', bus, 3)


@given(bus_and_rows())
def test_pack_bytes_is_pack_big_endian(case):
    """The binary stimulus words are the packed words, big-endian in whole bytes: fields of up to
    56 bits through the numba kernel, wider ones through Python ints."""
    bus, rows = case
    arr = np.array(rows, dtype=object if any(f.width > 62 for f in bus.fields) else np.int64)
    got = bus.pack_bytes(arr)
    assert got.dtype == np.uint8 and got.shape == (len(rows), bus.n_bytes)
    assert [int.from_bytes(bytes(r), 'big') for r in got] == bus.pack(rows)


def test_pack_bytes_of_a_wide_bus():
    """Many rows of a bus of 56-bit fields at every bit offset within a byte, and 1-bit ones."""
    bus = Bus.of(*[(w, w % 2 == 0) for w in (56, 1, 55, 7, 56, 33, 1, 2, 56, 56)])
    rng = np.random.default_rng(3)
    rows = np.stack([rng.integers(f.lo, f.hi, 3000, endpoint=True) for f in bus.fields], axis=1)
    got = bus.pack_bytes(rows)
    assert [int.from_bytes(bytes(r), 'big') for r in got] == bus.pack(rows)


def test_pack_bytes_refuses_values_that_do_not_fit():
    bus = Bus.of((4, True), (3, False))
    with pytest.raises(ValueError, match='8 does not fit a unsigned 3-bit field'):
        bus.pack_bytes(np.array([[1, 2], [-8, 8]]))
    with pytest.raises(ValueError, match=r'rows of shape \(2, 3\) for 2 fields'):
        bus.pack_bytes(np.zeros((2, 3), dtype=np.int64))
