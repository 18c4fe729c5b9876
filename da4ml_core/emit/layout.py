"""What the hardware holds: which ops are live, and how inputs and outputs sit on the flat buses.

Decided once, before any text is written, so the Verilog, the pipeline and the metadata all
agree on one port convention:

- ``inp`` packs input ``j`` at bits ``[offset_j +: width_j]``, element 0 at the LSB; ``out``
  likewise. An element's precision ``(k, i, f)`` is that of the value itself, shifts included:
  the raw bus integer ``r`` stands for ``r * 2**-f`` (for an input, the INPUT op's precision
  is ``(k, i + shift, f - shift)`` with ``shift = inp_shifts[j]``; shifts cost no logic).
- An input read by several INPUT ops at different precisions gets the union precision
  (largest ``k``, ``k + i`` and ``f``), from which every INPUT op's TRN + WRAP is a bit slice.
- A zero-width element (an unread input, an output of index -1 or of a constant-zero op) is a
  1-bit unsigned pad reported as ``(k, i, f) = (0, 1, 0)``, ``used = False``: outputs drive
  it with 0, inputs ignore it. Bus fields must be at least one bit wide for both simulators
  and for ``verif.hdl.bus.Field``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Opcode, Program, QInt

__all__ = ['PAD_KIF', 'Element', 'Layout', 'const_raw_width', 'layout']

PAD_KIF = (0, 1, 0)


@dataclass(frozen=True)
class Element:
    """One input or output element on its bus."""

    index: int
    offset: int
    width: int
    k: int
    i: int
    f: int
    used: bool
    shift: int = 0  # inp_shifts[j] / out_shifts[j], already folded into (k, i, f)

    @property
    def signed(self) -> bool:
        return bool(self.k)

    def as_dict(self) -> dict:
        return {
            'index': self.index, 'offset': self.offset, 'width': self.width,
            'k': self.k, 'i': self.i, 'f': self.f, 'signed': self.signed, 'used': self.used,
            'shift': self.shift,
        }


@dataclass(frozen=True)
class Layout:
    """Live ops, bus elements, and where each live INPUT op reads ``inp``."""

    live: tuple[bool, ...]
    inputs: tuple[Element, ...]
    outputs: tuple[Element, ...]
    input_slices: dict[int, tuple[int, int]]  # INPUT op index -> (lsb on inp, width)

    @property
    def in_width(self) -> int:
        """Bits of ``inp`` (at least 1: a program without inputs still gets a 1-bit pad port)."""
        return max(1, sum(e.width for e in self.inputs))

    @property
    def out_width(self) -> int:
        return max(1, sum(e.width for e in self.outputs))


def _liveness(prog: Program) -> list[bool]:
    """Ops whose value reaches an output through hardware: non-zero width, read by a live op."""
    widths = [op.qint.width for op in prog.ops]
    live = [False] * len(prog.ops)
    for idx, neg in zip(prog.out_idxs, prog.out_negs):
        if idx >= 0 and widths[idx] > 0 and not (neg and prog.ops[idx].opcode == Opcode.CONST):
            live[idx] = True  # a negated constant output is a literal of its own
    for i in range(len(prog.ops) - 1, -1, -1):
        if live[i]:
            for j in prog.ops[i].operands:
                if widths[j] > 0:
                    live[j] = True
    return live


def _pack(specs: list[tuple[int, int, int] | None], shifts) -> tuple[Element, ...]:
    """Elements for ``(k, i, f)`` specs (None = pad), packed LSB-first."""
    out, pos = [], 0
    for j, (kif, shift) in enumerate(zip(specs, shifts)):
        used = kif is not None
        k, i, f = kif if used else PAD_KIF
        width = k + i + f
        out.append(Element(j, pos, width, k, i, f, used, shift))
        pos += width
    return tuple(out)


def layout(prog: Program) -> Layout:
    """Live ops and bus elements of a validated program."""
    live = _liveness(prog)
    readers: dict[int, list[int]] = {}
    for i, op in enumerate(prog.ops):
        if op.opcode == Opcode.INPUT and live[i]:
            readers.setdefault(op.id0, []).append(i)
    in_specs: list[tuple[int, int, int] | None] = []
    union_f: dict[int, int] = {}
    for j in range(prog.n_in):
        kifs = [prog.ops[i].qint.kif for i in readers.get(j, [])]
        if not kifs:
            in_specs.append(None)
            continue
        k = max(q.k for q in kifs)
        top = max(q.k + q.i for q in kifs)
        f = max(q.f for q in kifs)
        union_f[j] = f
        s = prog.inp_shifts[j]
        in_specs.append((k, top - k - s, f + s))  # value units: x * 2**s on grid f is x on grid f + s
    inputs = _pack(in_specs, prog.inp_shifts)
    slices = {}
    for j, ops in readers.items():
        for i in ops:
            q = prog.ops[i].qint
            slices[i] = (inputs[j].offset + union_f[j] - q.f, q.width)
    out_specs: list[tuple[int, int, int] | None] = []
    for idx, q in zip(prog.out_idxs, prog.out_qints):
        out_specs.append(tuple(q.kif) if idx >= 0 and q.width > 0 else None)
    return Layout(tuple(live), inputs, _pack(out_specs, prog.out_shifts), slices)


def const_raw_width(raw: int) -> tuple[int, bool]:
    """Width and signedness of the minimal two's-complement field holding ``raw``."""
    q = QInt(raw, raw, 0)
    return q.width, q.lo < 0
