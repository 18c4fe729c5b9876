"""Constant matrix-vector products as multiplier-free adder graphs.

``solve(W, ...)`` returns an IR :class:`~da4ml_core.ir.Program` computing ``y = x @ W``
(``solve_graph`` the bare adder graph, for callers that inline it): stage 1
splits W along a spanning tree of its columns (decompose.py), stage 2 eliminates common
subexpressions over canonical signed digits (kernels.py), and the search (solver.py) keeps the
cheapest candidate that meets the latency constraint.
"""

from .solver import DEFAULT_INPUT_KIF, AdderGraph, solve, solve_graph

__all__ = ["DEFAULT_INPUT_KIF", "AdderGraph", "solve", "solve_graph"]
