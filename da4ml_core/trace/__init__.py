"""Symbolic fixed-point arrays that trace numpy-style code into one DAIS Program.

    x = FixedArray.input((4,), k=1, i=3, f=4)
    y = quantize(np.maximum(x @ W, 0), 1, 5, 3, round_mode='RND', overflow_mode='SAT')
    prog = trace(x, y)

Every op is exact: intervals are tracked exactly, quantization is bit-true for every rounding
and overflow mode, constant matrix products go through the CMVM optimizer.
"""

from .array import FixedArray, lut, quantize, relu
from .cmvm import cmvm_options
from .npapi import SUPPORTED_FUNCTIONS, SUPPORTED_UFUNCS
from .tracer import trace
from .var import FixedVar

__all__ = [
    'SUPPORTED_FUNCTIONS',
    'SUPPORTED_UFUNCS',
    'FixedArray',
    'FixedVar',
    'cmvm_options',
    'lut',
    'quantize',
    'relu',
    'trace',
]
