"""Pack and unpack fixed-width integer fields into flat bus words.

The flat-bus convention every testbench here uses: a DUT has one input port ``inp`` and one
output port ``out``; the fields (one per operand / result) are packed LSB-first, field 0 in
the lowest bits. Values are plain Python ints (any width); signed fields are two's complement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# numpy is imported inside the functions that need it: this module also runs inside every
# simulation (the per-cycle testbench), where importing numpy costs ~0.7 s per run.


@dataclass(frozen=True)
class Field:
    """One integer field of a bus: ``width`` bits, read as two's complement if ``signed``."""

    width: int
    signed: bool

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f'field width must be >= 1, got {self.width}')

    @property
    def lo(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def __str__(self) -> str:
        return f'a {"signed" if self.signed else "unsigned"} {self.width}-bit field'

    def extremes(self) -> list[int]:
        """min, max, 0 and -1 (when representable): the values every check must include."""
        values = [self.lo, self.hi, 0] + ([-1] if self.signed else [])
        return list(dict.fromkeys(values))


@dataclass(frozen=True)
class Bus:
    """An ordered list of fields packed LSB-first into one word."""

    fields: tuple[Field, ...]

    @classmethod
    def of(cls, *fields: tuple[int, bool] | Field) -> Bus:
        return cls(tuple(f if isinstance(f, Field) else Field(int(f[0]), bool(f[1])) for f in fields))

    @property
    def width(self) -> int:
        return sum(f.width for f in self.fields)

    @property
    def offsets(self) -> list[int]:
        out, pos = [], 0
        for f in self.fields:
            out.append(pos)
            pos += f.width
        return out

    @property
    def hex_digits(self) -> int:
        return (self.width + 3) // 4

    def pack_one(self, values: Sequence[int]) -> int:
        if len(values) != len(self.fields):
            raise ValueError(f'{len(values)} values for {len(self.fields)} fields')
        word = 0
        for f, off, v in zip(self.fields, self.offsets, values):
            v = int(v)
            if not f.lo <= v <= f.hi:
                raise ValueError(f'{v} does not fit {f}')
            word |= (v & ((1 << f.width) - 1)) << off
        return word

    def unpack_one(self, word: int) -> list[int]:
        out = []
        for f, off in zip(self.fields, self.offsets):
            v = (int(word) >> off) & ((1 << f.width) - 1)
            out.append(v - (1 << f.width) if f.signed and v >> (f.width - 1) else v)
        return out

    def pack(self, rows) -> list[int]:
        """(n, n_fields) integers -> n bus words (Python ints)."""
        import numpy as np

        arr = np.asarray(rows)
        if arr.dtype.kind in 'iu' and self.width <= 62 and arr.ndim == 2:
            return self._pack_int64(arr)
        return [self.pack_one(r) for r in rows]

    def _pack_int64(self, arr: np.ndarray) -> list[int]:
        """Vectorised :meth:`pack` for buses narrow enough for int64 arithmetic."""
        import numpy as np

        if arr.shape[1] != len(self.fields):
            raise ValueError(f'{arr.shape[1]} values per row for {len(self.fields)} fields')
        arr = arr.astype(np.int64)
        words = np.zeros(arr.shape[0], dtype=np.int64)
        for j, (f, off) in enumerate(zip(self.fields, self.offsets)):
            col = arr[:, j]
            if col.size and (col.min() < f.lo or col.max() > f.hi):
                bad = col[(col < f.lo) | (col > f.hi)][0]
                raise ValueError(f'{bad} does not fit {f}')
            words |= (col & ((1 << f.width) - 1)) << off
        return words.tolist()

    @property
    def n_bytes(self) -> int:
        return (self.width + 7) // 8

    def pack_bytes(self, rows) -> np.ndarray:
        """(n, n_fields) integers -> (n, :attr:`n_bytes`) uint8: each word big-endian, the bus
        right-aligned (the layout ``$fread`` fills a ``reg [8*n_bytes-1:0]`` from).

        Why not :meth:`pack`: a bus of hundreds of bits packed into Python ints costs ~10 us a
        row; fields up to 56 bits go through a numba loop (``verif.hdl.pack_kernel``) instead."""
        import numpy as np

        from .pack_kernel import MAX_FIELD_BITS, pack_rows

        arr = np.asarray(rows)
        if arr.ndim != 2 or arr.shape[1] != len(self.fields):
            raise ValueError(f'rows of shape {arr.shape} for {len(self.fields)} fields')
        n, nb = arr.shape[0], self.n_bytes
        if arr.dtype.kind not in 'iu' or any(f.width > MAX_FIELD_BITS for f in self.fields):
            words = self.pack(arr)  # Python ints: any width
            return np.frombuffer(b''.join(w.to_bytes(nb, 'big') for w in words), np.uint8).reshape(n, nb)
        if n:  # per-field range check, reduced along rows in one pass (columns are strided)
            lo, hi = arr.min(axis=0), arr.max(axis=0)
            for j, f in enumerate(self.fields):
                if lo[j] < f.lo or hi[j] > f.hi:
                    col = arr[:, j]
                    raise ValueError(f'{col[(col < f.lo) | (col > f.hi)][0]} does not fit {f}')
        return pack_rows(arr, [f.width for f in self.fields], self.offsets, nb)

    def unpack(self, words: Iterable[int]) -> np.ndarray:
        """n bus words -> (n, n_fields) array: int64 when every field fits, else Python ints."""
        import numpy as np

        words = list(words)
        if self.width <= 62:
            w = np.array(words, dtype=np.int64).reshape(-1)
            cols = []
            for f, off in zip(self.fields, self.offsets):
                v = (w >> off) & ((1 << f.width) - 1)
                cols.append(np.where(v >> (f.width - 1) != 0, v - (1 << f.width), v) if f.signed else v)
            return np.stack(cols, axis=1) if cols else np.zeros((len(words), 0), np.int64)
        rows = [self.unpack_one(w) for w in words]
        dtype = np.int64 if all(f.width <= 63 for f in self.fields) else object
        return np.array(rows, dtype=dtype).reshape(len(rows), len(self.fields))

    def describe(self) -> list[list]:
        return [[f.width, int(f.signed)] for f in self.fields]
