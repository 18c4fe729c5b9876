"""DAIS IR: a flat SSA list of fixed-point ops, each with its exact output interval.

``from da4ml_core.ir import Program, Op, Opcode`` is the public entry point; serialization, passes,
validation and the cost model live in the submodules.
"""

from .cost import adder_bits, op_cost
from .ops import Op, Opcode, QInt, pack_lookup, pack_mux
from .program import Program
from .validate import ProgramError

__all__ = [
    'Program',
    'Op',
    'Opcode',
    'QInt',
    'ProgramError',
    'op_cost',
    'adder_bits',
    'pack_mux',
    'pack_lookup',
]
