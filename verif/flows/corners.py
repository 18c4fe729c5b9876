"""Fixed corner designs of the regression: shapes and modes where emitters go wrong.

1x1 matrices, zero matrices (exact and quantized), all-negative weights, columns of one CSD
digit (no adder at all), 12-bit weights on 10-bit inputs, SAT_SYM onto an unsigned output,
1-bit and negative-width inputs, a tall and a wide matrix, and traced relu / tanh table / max of
a stack / einsum designs. Every simulator column of the regression runs all of them.
"""

from __future__ import annotations

import numpy as np

from .specs import Spec

__all__ = ['N_VECTORS', 'corner_specs']

N_VECTORS = 1000


def _m(rows):
    return [list(r) for r in rows]


def corner_specs() -> list[Spec]:
    rng = np.random.default_rng(2024)
    cm = lambda name, W, kifs, out=None, ovf='WRAP', rnd='TRN', cut=None: Spec(
        name, 'cmvm', kifs, out, ovf, rnd, latency_cutoff=cut, W=_m(W), seed=len(name), n_vectors=N_VECTORS)
    single = np.zeros((6, 5))
    for c, (j, e) in enumerate([(0, 0), (2, 3), (5, -2), (1, 7), (2, -1)]):
        single[j, c] = (-1) ** c * 2.0**e  # one CSD digit per column: no adder at all
    wide = rng.integers(-2048, 2048, (8, 8)).astype(float)
    wide[0, :] = [-2048, 2047, -1, 1, 1365, -1366, 2046, -2047]
    kif = [(1, 2, 3)] * 6
    return [
        cm('one_by_one', [[3]], [(1, 3, 0)]),
        cm('one_by_one_q', [[-0.75]], [(0, 2, 2)], (1, 1, 1), 'SAT', 'RND', 1),
        cm('zero_exact', np.zeros((4, 3)), [(1, 5, 2)] * 4),
        cm('zero_quant', np.zeros((4, 3)), [(1, 5, 2)] * 4, (1, 3, 1), 'WRAP', 'RND', 2),
        cm('all_negative', -rng.integers(1, 256, (6, 5)), [(0, 6, 0)] * 6, (1, 12, -2), 'SAT_SYM', 'RND_CONV', 2),
        cm('single_digit', single, [(1, 4, 3)] * 6, cut=1),
        cm('single_digit_q', single, [(1, 4, 3)] * 6, (1, 6, 1), 'SAT', 'RND_CONV', 1),
        cm('wide_exact', wide, [(1, 9, 0)] * 8, cut=4),
        cm('wide_quant', wide, [(0, 10, 0)] * 8, (1, 18, -4), 'SAT', 'RND', 2),
        cm('satsym_unsigned', rng.integers(-9, 10, (5, 4)), [(1, 3, 1)] * 5, (0, 4, 2), 'SAT_SYM', 'RND', 2),
        cm('one_bit', rng.integers(-1, 2, (6, 6)), [(1, 0, 0), (0, 1, 0), (0, -1, 2), (1, -2, 3), (0, 10, -2),
                                                    (1, 9, 0)], (1, 5, 1), 'WRAP', 'RND_CONV', 1),
        cm('tall', rng.integers(-7, 8, (16, 1)), [(1, 3, 2)] * 16, (1, 6, 0), 'SAT', 'RND', 4),
        cm('wide_row', rng.integers(-7, 8, (1, 16)), [(1, 3, 2)], (1, 4, 1), 'WRAP', 'RND', None),
        Spec('relu_u', 'traced', [(0, 3, 2)] * 4, (0, 2, 1), 'SAT', 'RND', 1, function='relu', params={'shape': [4]}),
        Spec('tanh8', 'traced', [(1, 2, 5)] * 2, (1, 0, 7), 'SAT', 'RND', 2, function='lut',
             params={'shape': [2], 'fn': 'tanh'}),
        Spec('max4x4', 'traced', kif * 2 + kif[:4], (1, 2, 2), 'SAT_SYM', 'RND_CONV', None, function='max_stack',
             params={'shape': [4, 4]}),
        Spec('einsum_t', 'traced', kif, (1, 5, 1), 'WRAP', 'RND', 1, function='einsum',
             params={'shape': [2, 3], 'subscripts': 'ij,jk->ki', 'C': [[1, -2.5], [3, 0.25], [-1, 2]]}),
    ]
