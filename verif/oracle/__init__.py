"""Oracles independent of the compiler: the golden fixed-point model (``golden``), golden array
operations (``golden_ops``), the exact reference evaluator of DAIS programs (``reference``, which
reads only the IR's data types) and Xilinx's own ap_fixed headers (``ap_fixed``).

Nothing here imports the compiler's arithmetic, interpreter or optimizer (an import-linter
contract checks it): two oracles that agree are worth more than one that checks itself.
"""
