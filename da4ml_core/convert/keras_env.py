"""Import Keras on the JAX backend (the only backend whose float details the converter matches)
and load ``.keras`` files holding HGQ2 layers."""

from __future__ import annotations

import os
import sys

__all__ = ['import_keras', 'load_model']


def import_keras():
    """``keras`` with HGQ2 registered. Sets ``KERAS_BACKEND=jax`` (and CPU-only JAX, single-
    threaded XLA) unless Keras was imported already; refuses another backend."""
    if 'keras' not in sys.modules:
        os.environ.setdefault('KERAS_BACKEND', 'jax')
        os.environ.setdefault('JAX_PLATFORMS', 'cpu')
        flags = os.environ.get('XLA_FLAGS', '')
        if '--xla_cpu_multi_thread_eigen' not in flags:
            os.environ['XLA_FLAGS'] = (flags + ' --xla_cpu_multi_thread_eigen=false').strip()
    try:
        import hgq  # noqa: F401 - registers the HGQ2 layers for deserialization
        import keras
    except ImportError as err:
        raise ImportError(
            f'the Keras converter needs keras, jax and hgq2 installed ({err}); '
            f'pip install keras jax hgq2'
        ) from err
    backend = keras.backend.backend()
    if backend != 'jax':
        raise ImportError(f'the Keras converter needs the JAX backend (KERAS_BACKEND=jax), Keras runs on {backend!r}')
    return keras


def load_model(path):
    """Load a ``.keras`` model (HGQ2 layers included) without compiling it."""
    keras = import_keras()
    return keras.saving.load_model(os.fspath(path), compile=False)
