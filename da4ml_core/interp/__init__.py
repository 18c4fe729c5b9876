"""The bit-exact interpreter: a program lowered once to int64 rows (``lowering``), run by numba
kernels (``kernels``, compiled on first use and cached) or, for small batches, by numpy
(``dispatch``). Both back ends compute the same integers.

Importing this package makes ``Program.__call__`` work: it registers :func:`run` as the IR's
evaluator (the IR itself never imports the interpreter; ``da4ml_core`` imports this package).
"""

from ..ir.program import register_evaluator
from .dispatch import NUMPY_MAX_WORK, run, run_raw
from .lowering import MAX_WIDTH, Plan, compile_plan, plan_of

__all__ = ['MAX_WIDTH', 'NUMPY_MAX_WORK', 'Plan', 'compile_plan', 'plan_of', 'run', 'run_raw']

register_evaluator(run)
