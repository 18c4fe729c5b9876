"""da4ml-core: fixed-point computation graphs to multiplier-free, bit-exact Verilog.

Importing the package loads the interpreter, so ``Program(...)(X)`` works wherever a program is
made (the IR itself does not import it).
"""

from . import interp  # noqa: F401 - registers the evaluator Program.__call__ uses
