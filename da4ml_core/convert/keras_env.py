"""Import Keras on the JAX backend (the only backend whose float details the converter matches)
and load ``.keras`` files holding HGQ2 layers."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

from .errors import ModelFileError

__all__ = ['check_model_file', 'import_keras', 'load_model']


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


_LEGACY = ('.h5', '.hdf5')  # HDF5 files: Keras reads and checks those itself
_CONFIG = 'config.json'  # every .keras archive holds the model's config under this name


def check_model_file(path) -> None:
    """Refuse, before Keras sees it, a path that is missing, a directory, or a ``.keras`` file
    that is not a zip archive holding a model config (Keras would say "File not found")."""
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f'{p}: no such model file')
    if p.is_dir():
        raise ModelFileError(f'{p}: is a directory, not a .keras model file')
    if p.suffix.lower() in _LEGACY:
        return
    if not zipfile.is_zipfile(p):
        size = p.stat().st_size
        raise ModelFileError(
            f'{p}: not a Keras archive (zip); the file ({size} bytes) is empty, truncated or of another format'
        )
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFileError(f'{p}: not a readable Keras archive (zip): {err}') from None
    if _CONFIG not in names:
        listed = ', '.join(sorted(names)[:5]) or 'nothing'
        raise ModelFileError(f'{p}: a zip archive but not a Keras model (no {_CONFIG}; it holds {listed})')


def load_model(path):
    """Load a ``.keras`` model (HGQ2 layers included) without compiling it. A file that is not a
    Keras model raises :class:`ModelFileError` (or FileNotFoundError) naming the path."""
    check_model_file(path)
    keras = import_keras()
    try:
        return keras.saving.load_model(os.fspath(path), compile=False)
    except (KeyError, TypeError, ValueError) as err:  # a damaged or foreign archive's contents
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f'{os.fspath(path)}: Keras cannot load this model ({type(err).__name__}: {first})') from err
