"""The files a testbench and Python exchange: hex word files and the per-cycle vector file.

Hex word files hold one zero-padded word per line, the format Verilog's ``$readmemh`` reads and
``$fwrite(fd, "%h\\n", ...)`` writes; a word with x or z digits is never read as a number.
The vector file (JSON, so the per-cycle testbench reads it without importing numpy) carries
stimulus and expected words with both buses' layouts, latency and whether the DUT is clocked.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .bus import Bus

if TYPE_CHECKING:
    import numpy as np

__all__ = ['VectorFile', 'hex_text', 'load_vectors', 'read_bus', 'read_words', 'save_vectors', 'write_hex']

# numpy is imported inside the functions that need it: the per-cycle testbench imports this
# module inside every simulation, where importing numpy costs ~0.7 s per run.


def hex_text(words: Iterable, digits: int) -> str:
    """One zero-padded hex word per line; ``None`` is written as x digits."""
    return ''.join('x' * digits + '\n' if w is None else f'{w:0{digits}x}\n' for w in words)


def write_hex(path: Path | str, words: Iterable, digits: int) -> None:
    """:func:`hex_text` into ``path``."""
    Path(path).write_text(hex_text(words, digits))


def read_words(path: Path | str, allow_unknown: bool = False) -> list:
    """Every word of a hex file as a Python int (any width), in order.

    A word with x or z digits is an error, or ``None`` with ``allow_unknown``; never a number.
    """
    words = []
    for lineno, line in enumerate(Path(path).read_text().split(), 1):
        try:
            words.append(int(line, 16))
        except ValueError:
            if not allow_unknown:
                raise ValueError(f'{path}: line {lineno}: word {line!r} is not a number (x/z bits?)') from None
            words.append(None)
    return words


def read_bus(path: Path | str, bus: Bus, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows (n, n_fields), unknown (n,) bool) from a hex file of ``n`` words of ``bus``.

    Words with x / z digits read as 0 and are flagged in ``unknown``. The common case (every
    line exactly as wide as the bus, no field wider than 56 bits: an 8-byte window must hold it
    at any bit offset) is decoded in numpy; anything else goes through :func:`read_words`.
    """
    import numpy as np

    path = Path(path)
    digits = bus.hex_digits
    raw = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    if raw.size != n * (digits + 1) or any(f.width > 56 for f in bus.fields):
        words = read_words(path, allow_unknown=True)
        if len(words) != n:
            raise ValueError(f'{path}: {len(words)} words, expected {n}')
        unknown = np.array([w is None for w in words], dtype=bool)
        return bus.unpack([0 if w is None else w for w in words]), unknown
    nib = _nibble_table()[raw.reshape(n, digits + 1)[:, :digits]]  # uint8, 255 = not a hex digit
    unknown = np.any(nib == 255, axis=1)
    if unknown.any():
        nib = np.where(nib == 255, 0, nib).astype(np.uint8)
    if digits % 2:
        nib = np.concatenate([np.zeros((n, 1), np.uint8), nib], axis=1)
    nbytes = nib.shape[1] // 2
    # big-endian bytes of every word, 8 zero bytes in front so any 8-byte window fits
    bts = np.zeros((n, nbytes + 8), dtype=np.uint8)
    bts[:, 8:] = (nib[:, 0::2] << 4) | nib[:, 1::2]
    cols = np.empty((len(bus.fields), n), dtype=np.int64)  # returned transposed: no strided writes
    for j, (f, off) in enumerate(zip(bus.fields, bus.offsets)):
        end = nbytes + 8 - off // 8  # one past the byte holding the field's LSB
        window = np.ascontiguousarray(bts[:, end - 8:end]).view('>u8').reshape(n).astype(np.uint64)
        v = ((window >> np.uint64(off % 8)) & np.uint64((1 << f.width) - 1)).astype(np.int64)
        if f.signed:  # two's complement: flip the sign bit, subtract its weight
            v = (v ^ (1 << (f.width - 1))) - (1 << (f.width - 1))
        cols[j] = v
    return cols.T, unknown


@functools.cache
def _nibble_table():
    """ASCII code -> hex digit value (255: not a hex digit)."""
    import numpy as np

    table = np.full(256, 255, dtype=np.uint8)
    for c in b'0123456789':
        table[c] = c - 48
    for c in b'abcdef':
        table[c] = table[c - 32] = c - 87
    return table


def save_vectors(path: Path | str, inputs: Sequence[int], expected: Sequence[int], in_bus: Bus, out_bus: Bus,
                 latency: int = 0, clocked: bool = False) -> None:
    """Write stimulus and expected words (hex strings, any width) for the per-cycle testbench."""
    if len(inputs) != len(expected):
        raise ValueError(f'{len(inputs)} input words but {len(expected)} expected words')
    doc = {
        'in_fields': in_bus.describe(), 'out_fields': out_bus.describe(),
        'latency': int(latency), 'clocked': bool(clocked),
        'inputs': [f'{int(w):x}' for w in inputs], 'expected': [f'{int(w):x}' for w in expected],
    }
    Path(path).write_text(json.dumps(doc))


@dataclass(frozen=True)
class VectorFile:
    """What :func:`save_vectors` wrote."""

    inputs: list[int]
    expected: list[int]
    in_bus: Bus
    out_bus: Bus
    latency: int
    clocked: bool


def load_vectors(path: Path | str) -> VectorFile:
    doc = json.loads(Path(path).read_text())
    return VectorFile(
        inputs=[int(s, 16) for s in doc['inputs']],
        expected=[int(s, 16) for s in doc['expected']],
        in_bus=Bus.of(*doc['in_fields']),
        out_bus=Bus.of(*doc['out_fields']),
        latency=int(doc['latency']),
        clocked=bool(doc['clocked']),
    )
