"""metadata.json: what a user (or the test harness) needs to drive and judge an emitted design.

Ports (per element: offset, width, (k, i, f), signedness, pad or not), latency in cycles,
the cost model's numbers, register bits and a first resource estimate, so nobody has to
parse Verilog to find out how to feed it. Keys are sorted: same design, same bytes.

Resource estimate (LUTs): the cost model's LUTs of every live op (``ir.cost.op_cost``, with the
program's tables), split by kind: ADD / SUB adders, constant adders, negations (of ``*_NEG`` ops
and of negated outputs, ``negation_bits``), RELUs, MUXes, multipliers, lookup tables. INPUT,
CONST and QUANTIZE are wires; only output bits something reads are priced (``used_bits``), and
a RELU / MUX folded into the LUTs of its one RELU / MUX reader costs nothing (``absorbed``),
and constant adders reading the same bit of one signal inverted share its inverter.
``bench/resources.py`` measures it against yosys.

FFs are the pipeline register bits.

With ``interface='valid'`` or ``'axis'`` the numbers are the core's; the document adds an
``interface`` section (interface.py: ports, reset, the wrapper's latency and register bits,
the ``tdata`` layout) and its ``latency_cycles`` / ``clocked`` are those of the wrapper.
"""

from __future__ import annotations

import json

from ..ir import Opcode, Program
from ..ir.cost import absorbed, const_adder_inverted, negation_bits, op_cost, used_bits
from .layout import Layout
from .pipeline import Schedule

__all__ = ['dumps', 'metadata', 'resources']

FORMAT = 1
KINDS = ('adders', 'const_adders', 'negations', 'relus', 'muxes', 'multipliers', 'tables')
_KIND = {Opcode.ADD: 'adders', Opcode.SUB: 'adders', Opcode.CONST_ADD: 'const_adders', Opcode.RELU: 'relus',
         Opcode.MUX: 'muxes', Opcode.MUL: 'multipliers', Opcode.LOOKUP: 'tables', Opcode.QUANTIZE: 'negations'}


def resources(prog: Program, lay: Layout, sched: Schedule) -> dict:
    """LUT estimate by kind (see the module docstring) and FFs."""
    qints = [op.qint for op in prog.ops]
    used = used_bits(prog.ops, prog.out_idxs)
    folded = absorbed(prog.ops, prog.out_idxs)
    luts = dict.fromkeys(KINDS, 0)
    inverted: set[tuple[int, int]] = set()  # (op, bit): one inverter serves every constant adder
    for i, op in enumerate(prog.ops):
        code = op.opcode
        if not lay.live[i] or code in (Opcode.INPUT, Opcode.CONST) or folded[i]:
            continue
        if code == Opcode.CONST_ADD:
            bits = {(op.id0, b) for b in const_adder_inverted(qints[op.id0], op.qint, op.data, used[i].bit_length())}
            luts['const_adders'] += len(bits - inverted)
            inverted |= bits
            continue
        total = int(op_cost(op, qints, 1, -1, prog.tables, used[i])[0])
        if code < 0:  # the negation of the operand, then the op itself
            neg = negation_bits(qints[op.id1] if abs(code) == Opcode.MUX else qints[op.id0])[0]
            luts['negations'] += neg
            total -= neg
        luts[_KIND[Opcode(abs(code))]] += total
    for el, idx, neg in zip(lay.outputs, prog.out_idxs, prog.out_negs):
        if el.used and neg and prog.ops[idx].opcode != Opcode.CONST:
            luts['negations'] += negation_bits(qints[idx])[0]
    return {'luts': sum(luts.values()), 'ffs': sched.reg_bits, 'luts_by_kind': luts}


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
