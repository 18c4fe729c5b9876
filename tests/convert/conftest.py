"""Shared setup for the HGQ2 / Keras converter tests.

Keras runs on the JAX backend, CPU only, with XLA single-threaded (results do not depend on
thread scheduling, and two pytest workers share two cores). These variables must be set before
anything imports keras or jax, so they are set here, at collection.

The test models of ``models.py`` are loaded under the unique module name ``hgq_test_models``
(tests do ``import hgq_test_models as models``); the ``hgq_case`` fixture builds one by name,
once per session, and keeps trained models in a disk cache (``$DA4ML_CACHE/hgq_models``,
default ``~/.cache/da4ml_core/hgq_models``) keyed by models.py and the library versions.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
if '--xla_cpu_multi_thread_eigen' not in os.environ.get('XLA_FLAGS', ''):
    os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' --xla_cpu_multi_thread_eigen=false').strip()

_MODULE = 'hgq_test_models'
_HAVE_STACK = all(importlib.util.find_spec(m) is not None for m in ('keras', 'hgq', 'jax'))

if _HAVE_STACK and _MODULE not in sys.modules:
    if os.environ['KERAS_BACKEND'] != 'jax':
        raise RuntimeError(f'the converter tests need KERAS_BACKEND=jax, got {os.environ["KERAS_BACKEND"]!r}')
    _spec = importlib.util.spec_from_file_location(_MODULE, Path(__file__).with_name('models.py'))
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules[_MODULE] = _mod
    _spec.loader.exec_module(_mod)


def pytest_configure(config):
    # keras 3.15 on numpy 2.4 warns on every variable read; not ours to fix
    config.addinivalue_line('filterwarnings', "ignore:__array__ implementation doesn't accept a copy keyword")


def _cache_dir() -> Path:
    root = os.environ.get('DA4ML_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'da4ml_core')
    return Path(root) / 'hgq_models'


@pytest.fixture(scope='session')
def hgq_case():
    """``hgq_case(name) -> ModelCase``: a trained test model (built once per session, cached on disk)."""
    models = sys.modules[_MODULE]
    built = {}

    def get(name: str):
        if name not in built:
            built[name] = models.build(name, cache_dir=_cache_dir())
        return built[name]

    return get
