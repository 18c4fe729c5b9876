"""Seeded deep-sets HGQ2 models at trigger sizes, for the scale benchmark (no downloads, no training).

A deep-sets particle model, as level-1 jet taggers use: per-particle ``QEinsumDenseBatchnorm``
layers ``F -> H -> H`` (ReLU), a ``QSum`` over the particles, then ``QDense H -> H -> 5``.
Weights are drawn from a seeded generator (HGQ2's own initializers under a fixed Keras seed) and
the WRAP activation quantizers are calibrated with ``hgq.utils.trace_minmax`` on seeded Gaussian
inputs, as a user does before export. ``SIZES`` names three configurations whose converted
programs cost about 20k, 70k and 200k LUT-bits.
"""

from __future__ import annotations

import os

os.environ.setdefault('KERAS_BACKEND', 'jax')

import numpy as np

__all__ = ['SIZES', 'deep_sets', 'calibration_data']

# name -> (particles, features per particle, hidden width)
SIZES = {'20k': (8, 8, 16), '70k': (16, 12, 20), '200k': (26, 16, 32)}
N_CALIB = 4096


def calibration_data(particles: int, features: int, seed: int, n: int = N_CALIB) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, particles, features)).astype(np.float32)


def deep_sets(particles: int, features: int, hidden: int, seed: int = 0):
    """The calibrated Keras model (inputs of shape (particles, features), 5 outputs)."""
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense, QEinsumDenseBatchnorm, QSum
    from hgq.utils import trace_minmax

    keras.utils.set_random_seed(seed)
    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='RND', f0=4),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=5),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        inp = keras.Input((particles, features))
        h = QEinsumDenseBatchnorm('bnf,fh->bnh', (particles, hidden), bias_axes='h', activation='relu',
                                  name='phi1')(inp)
        h = QEinsumDenseBatchnorm('bnh,hk->bnk', (particles, hidden), bias_axes='k', activation='relu',
                                  name='phi2')(h)
        h = QSum(axes=1, name='pool')(h)
        h = QDense(hidden, activation='relu', name='rho1')(h)
        out = QDense(5, name='rho2')(h)
    model = keras.Model(inp, out, name=f'deepsets_{particles}x{features}x{hidden}')
    trace_minmax(model, calibration_data(particles, features, seed), batch_size=1024, verbose=0)
    return model
