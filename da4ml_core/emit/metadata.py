"""metadata.json: what a user (or the test harness) needs to drive and judge an emitted design.

Ports (per element: offset, width, (k, i, f), signedness, pad or not), latency in cycles,
the cost model's numbers, register bits and a first resource estimate, so nobody has to
parse Verilog to find out how to feed it. Keys are sorted: same design, same bytes.

Resource estimate (LUTs), per live op, from its operand and result widths:

- ADD / SUB / CONST_ADD: one LUT per adder bit (``adder_bits`` of the cost model);
- negations (``*_NEG`` ops, negated outputs): one LUT per bit of the negated value;
- RELU and MUX: one LUT per output bit; MUL: ``width(a) * width(b)``;
- LOOKUP: ``width(out) * 2**max(width(key) - 6, 0)`` (a LUT6 per output bit per 64 entries);
- INPUT, CONST, QUANTIZE: wires, none.

FFs are the pipeline register bits.

With ``interface='valid'`` or ``'axis'`` the numbers are the core's; the document adds an
``interface`` section (interface.py: ports, reset, the wrapper's latency and register bits,
the ``tdata`` layout) and its ``latency_cycles`` / ``clocked`` are those of the wrapper.
"""

from __future__ import annotations

import json

from ..ir import Opcode, Program, QInt, adder_bits
from .layout import Layout
from .pipeline import Schedule

__all__ = ['dumps', 'metadata', 'resources']

FORMAT = 1
KINDS = ('adders', 'negations', 'relus', 'muxes', 'multipliers', 'tables')


def _neg_width(q: QInt) -> int:
    return QInt(-q.hi, -q.lo, q.f).width


def resources(prog: Program, lay: Layout, sched: Schedule) -> dict:
    """LUT estimate by kind (formula in the module docstring) and FFs."""
    qints = [op.qint for op in prog.ops]
    luts = dict.fromkeys(KINDS, 0)
    for i, op in enumerate(prog.ops):
        if not lay.live[i]:
            continue
        code, out = op.opcode, op.qint
        if code in (Opcode.ADD, Opcode.SUB):
            luts['adders'] += adder_bits(qints[op.id0], qints[op.id1], op.data)
        elif code == Opcode.CONST_ADD:
            luts['adders'] += adder_bits(qints[op.id0], QInt(op.data, op.data, out.f))
        elif code == Opcode.MUL:
            luts['multipliers'] += qints[op.id0].width * qints[op.id1].width
        elif code == Opcode.LOOKUP:
            luts['tables'] += out.width * 2 ** max(qints[op.id0].width - 6, 0)
        if code < 0 and code != Opcode.INPUT:
            src = qints[op.id1] if abs(code) == Opcode.MUX else qints[op.id0]
            luts['negations'] += _neg_width(src)
        if abs(code) == Opcode.RELU:
            luts['relus'] += out.width
        elif abs(code) == Opcode.MUX:
            luts['muxes'] += out.width
    for el, neg in zip(lay.outputs, prog.out_negs):
        if el.used and neg:
            luts['negations'] += el.width
    ffs = sched.reg_bits
    return {'luts': sum(luts.values()), 'ffs': ffs, 'luts_by_kind': luts}


def metadata(prog: Program, lay: Layout, sched: Schedule, name: str, sources: list[str],
             latency_cutoff: float | None, clock_period_ns: float, language: str | None = None) -> dict:
    """The metadata document (plain JSON types only); ``language`` ('vhdl') is recorded when
    given, and absent for Verilog, whose documents predate it."""
    doc = {
        'format': FORMAT,
        'top': name,
        'sources': list(sources),
        'clocked': sched.clocked,
        'clock_period_ns': float(clock_period_ns),
        'latency_cycles': sched.out_stage,
        'latency_cutoff': None if latency_cutoff is None else float(latency_cutoff),
        'stage_capacity': sched.capacity,
        'stage_levels': [float(x) for x in sched.stage_levels],
        'latency_levels': float(prog.latency),
        'cost': float(prog.cost),
        'adder_size': prog.adder_size,
        'carry_size': prog.carry_size,
        'n_in': prog.n_in,
        'n_out': prog.n_out,
        'n_ops': len(prog.ops),
        'n_live_ops': sum(lay.live),
        'register_bits': sched.reg_bits,
        'resources': resources(prog, lay, sched),
        'inp_width': lay.in_width,
        'out_width': lay.out_width,
        'inputs': [e.as_dict() for e in lay.inputs],
        'outputs': [e.as_dict() for e in lay.outputs],
    }
    if language is not None:
        doc['language'] = language
    return doc


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + '\n'
