"""Mutants shared by the mutation tests."""

from __future__ import annotations

import numpy as np

from verif.flows import mutants as M
from verif.flows import mutation

__all__ = ['twin_swap']


def twin_swap(t: mutation.Target, name: str) -> M.Mutant:
    """An operand swapped for another constant wire with the same bits (two clamps of one raw
    value on different grids): a change of the text that computes the same function."""
    top = mutation.top_module(t)
    twins = {}
    for wire, lit in top.consts.items():
        twins.setdefault(lit, []).append(wire)
    pair = next(names for names in twins.values() if len(names) > 1)
    line, port = next((n, p) for n, c in top.instances.items() for p, v in c.ports.items() if v == pair[0])
    site = M.Site('operand_swap', line, f'{port} {pair[0]} -> {pair[1]}', ('swap', port, (pair[1],)))
    return M.mutate(top, site, name, np.random.default_rng(0))
