"""The Program: a flat SSA list of ops with its inputs, outputs and lookup tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np

from .cost import op_cost
from .ops import Op, Opcode, QInt
from .text import dump
from .validate import validate

__all__ = ['Program']


_EVALUATOR = None  # how programs are run: da4ml_core.interp registers itself on import


def register_evaluator(fn) -> None:
    """Make ``fn(program, X, n_threads=...)`` what ``Program.__call__`` runs. The IR names no
    interpreter: the interpreter depends on the IR, never the other way round."""
    global _EVALUATOR
    _EVALUATOR = fn


class Program:
    """A static fixed-point computation: ``n_in`` inputs, ``n_out`` outputs, ops in SSA order.

    Input ``j`` is read by INPUT ops as ``x[j] * 2**inp_shifts[j]``; output ``j`` is
    ``(-1 if out_negs[j] else 1) * buf[out_idxs[j]] * 2**out_shifts[j]`` (0 when the index is -1).
    Each op's latency and cost are (re)computed from the cost model with ``adder_size`` and
    ``carry_size``; they are annotations, not identity.
    """

    __slots__ = (
        'n_in',
        'n_out',
        'ops',
        'inp_shifts',
        'out_idxs',
        'out_shifts',
        'out_negs',
        'tables',
        'adder_size',
        'carry_size',
        '_validated',
        '_annotated_ok',
        '__weakref__',
    )

    def __init__(
        self,
        n_in: int,
        n_out: int,
        ops: Iterable[Op],
        inp_shifts: Sequence[int] | None = None,
        out_idxs: Sequence[int] | None = None,
        out_shifts: Sequence[int] | None = None,
        out_negs: Sequence[bool] | None = None,
        tables: Iterable[Sequence[int]] = (),
        adder_size: int = 1,
        carry_size: int = -1,
        validate: bool = True,
        annotate: bool = True,
    ):
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.inp_shifts = tuple(int(s) for s in (inp_shifts if inp_shifts is not None else [0] * self.n_in))
        self.out_idxs = tuple(int(s) for s in (out_idxs if out_idxs is not None else range(self.n_out)))
        self.out_shifts = tuple(int(s) for s in (out_shifts if out_shifts is not None else [0] * self.n_out))
        self.out_negs = tuple(bool(s) for s in (out_negs if out_negs is not None else [False] * self.n_out))
        self.tables = tuple(tuple(int(v) for v in np.asarray(t).ravel()) for t in tables)
        self.adder_size = int(adder_size)
        self.carry_size = int(carry_size)
        self._validated = False
        self.ops = tuple(ops)
        self._annotated_ok = False
        if validate:
            self.validate()
        if annotate:
            try:
                self.ops = self._annotated(self.ops)
                self._annotated_ok = True
            except (IndexError, KeyError, TypeError, ValueError):
                if validate:
                    raise
                # malformed; validate() will say where
        else:
            self._annotated_ok = True  # the caller vouches: ops already carry this cost model's numbers

    # ---------------------------------------------------------------- construction helpers

    def _annotated(self, ops: tuple[Op, ...]) -> tuple[Op, ...]:
        """Ops with cost and latency from the cost model."""
        qints = [op.qint for op in ops]
        lat: list[float] = []
        out = []
        for op in ops:  # each op alone: passes that renumber or drop ops keep every op's cost
            cost, delay = op_cost(op, qints, self.adder_size, self.carry_size, self.tables)
            start = 0.0
            if op.opcode != Opcode.INPUT:
                for j in op.operands:
                    if lat[j] > start:
                        start = lat[j]
            lat.append(start + delay)
            if op.cost != cost or op.latency != lat[-1]:
                op = Op(op.opcode, op.id0, op.id1, op.data, op.qint, lat[-1], cost)
            out.append(op)
        return tuple(out)

    def replace(self, keep_annotations: bool = False, **changes) -> Program:
        """A copy with some fields changed; fully validated again if this one was (or if
        ``validate=True`` is passed), else left for the interpreter's structural check.

        ``keep_annotations``: the new ops are this program's ops renumbered or dropped (cost and
        latency of each op unchanged), so the cost model need not run again."""
        validate = changes.pop('validate', self._validated)
        annotate = not (keep_annotations and self._annotated_ok and not ({'adder_size', 'carry_size'} & set(changes)))
        fields = dict(
            n_in=self.n_in,
            n_out=self.n_out,
            ops=self.ops,
            inp_shifts=self.inp_shifts,
            out_idxs=self.out_idxs,
            out_shifts=self.out_shifts,
            out_negs=self.out_negs,
            tables=self.tables,
            adder_size=self.adder_size,
            carry_size=self.carry_size,
        )
        fields.update(changes)
        return Program(**fields, validate=validate, annotate=annotate)

    @property
    def validated(self) -> bool:
        """Whether a full validation (bounds included) has passed on this program."""
        return self._validated

    def validate(self, bounds: bool = True) -> Program:
        """Raise :class:`ProgramError` naming the first bad op; return self when valid.

        ``bounds=False`` checks only the structure the interpreter relies on (see validate.py)."""
        validate(self, bounds=bounds)
        if bounds:
            self._validated = True
        return self

    # ---------------------------------------------------------------- evaluation

    def __call__(self, X, n_threads: int | None = None) -> np.ndarray:
        """Bit-exact outputs for float inputs ``X`` of shape (n_samples, n_in) (or one sample of
        shape (n_in,)), as float64. Inputs are quantized as the INPUT ops say (TRN, WRAP).
        ``n_threads``: None or 1 single-threaded, 0 every core, n that many (numba kernel)."""
        if _EVALUATOR is None:
            raise RuntimeError('no evaluator registered: import da4ml_core (it loads da4ml_core.interp)')
        return _EVALUATOR(self, X, n_threads=n_threads)

    def predict(self, X, n_threads: int | None = None) -> np.ndarray:
        return self(X, n_threads=n_threads)

    # ---------------------------------------------------------------- summaries

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_in, self.n_out

    @property
    def cost(self) -> float:
        """Total cost (LUT-bits with adder_size=1) of all ops."""
        return float(sum(op.cost for op in self.ops))

    @property
    def latency(self) -> float:
        """Latest output, in adder levels."""
        return self.latency_range[1]

    @property
    def latency_range(self) -> tuple[float, float]:
        lats = [self.ops[i].latency for i in self.out_idxs if i >= 0]
        return (min(lats), max(lats)) if lats else (0.0, 0.0)

    @property
    def n_adders(self) -> int:
        """Carry-chain adders: ADD, SUB and CONST_ADD ops (negations are costed, not counted)."""
        return sum(1 for op in self.ops if op.opcode in (Opcode.ADD, Opcode.SUB, Opcode.CONST_ADD))

    @property
    def inp_qints(self) -> list[QInt | None]:
        """Precision range each input is read at (None for an unread input)."""
        out: list[QInt | None] = [None] * self.n_in
        for op in self.ops:
            if op.opcode == Opcode.INPUT and out[op.id0] is None:
                out[op.id0] = op.qint
        return out

    @property
    def out_qints(self) -> list[QInt]:
        """Exact interval of each output after its shift and sign."""
        res = []
        for idx, s, neg in zip(self.out_idxs, self.out_shifts, self.out_negs):
            q = self.ops[idx].qint.shifted(s) if idx >= 0 else QInt(0, 0, 0)
            res.append(QInt(-q.hi, -q.lo, q.f) if neg else q)
        return res

    @property
    def reg_bits(self) -> int:
        """Bits to register the inputs and outputs (what a one-stage pipeline needs)."""
        return sum(q.width for q in self.inp_qints if q is not None) + sum(q.width for q in self.out_qints)

    def summary(self) -> dict:
        """Counts, cost, latency, register bits and widths in one dict (for reports)."""
        widths = [op.qint.width for op in self.ops]
        return {
            'n_in': self.n_in,
            'n_out': self.n_out,
            'n_ops': len(self.ops),
            'n_adders': self.n_adders,
            'cost': self.cost,
            'latency': self.latency,
            'reg_bits': self.reg_bits,
            'max_width': max(widths, default=0),
            'ops': dict(sorted(Counter(Opcode(op.opcode).name for op in self.ops).items())),
        }

    # ---------------------------------------------------------------- serialization & passes

    def to_json(self) -> str:
        from .serialize import to_json

        return to_json(self)

    @classmethod
    def from_json(cls, text: str) -> Program:
        from .serialize import from_json

        return from_json(text)

    def to_binary(self, version: int = 0) -> np.ndarray:
        from .serialize import to_binary

        return to_binary(self, version)

    @classmethod
    def from_binary(cls, data, validate: bool = True) -> Program:
        from .serialize import from_binary

        return from_binary(data, validate=validate)

    def dce(self, keep_inputs: bool = False) -> Program:
        from .transform import dead_code_elimination

        return dead_code_elimination(self, keep_inputs=keep_inputs)

    def dedup(self) -> Program:
        from .transform import deduplicate

        return deduplicate(self)

    # ---------------------------------------------------------------- identity and display

    def _identity(self) -> tuple:
        return (
            self.n_in,
            self.n_out,
            self.inp_shifts,
            self.out_idxs,
            self.out_shifts,
            self.out_negs,
            self.tables,
            tuple(op.key_tuple() for op in self.ops),
        )

    def __eq__(self, other) -> bool:
        return isinstance(other, Program) and self._identity() == other._identity()

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return (
            f'Program({self.n_in} -> {self.n_out}, {len(self.ops)} ops, cost={self.cost:g}, '
            f'latency={self.latency:g}, adders={self.n_adders})'
        )

    def __str__(self) -> str:
        return dump(self)

    def value_range(self, j: int) -> tuple[Fraction, Fraction]:
        """Exact (min, max) of output ``j``."""
        q = self.out_qints[j]
        return q.min, q.max
