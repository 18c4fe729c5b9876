"""Hypothesis profiles shared by every test.

``dev`` (default) is quick; ``ci`` is loaded when the CI variable is set (our own profile of that
name replaces Hypothesis's built-in one); ``nightly`` runs many examples and keeps a database
of failures. Choose one explicitly with HYPOTHESIS_PROFILE=nightly. Also the ``simulator``
fixture: one run per simulator, and a missing simulator is an error, never a skip.
"""

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from verif import sim

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile('dev', max_examples=30, deadline=None, suppress_health_check=_SLOW_OK, derandomize=False)
settings.register_profile(
    'ci',
    max_examples=60,
    deadline=None,
    suppress_health_check=_SLOW_OK,
    derandomize=True,  # CI reruns the same examples: a red build is reproducible
    database=None,
    print_blob=True,
)
settings.register_profile(
    'nightly',
    max_examples=2000,
    deadline=None,
    suppress_health_check=_SLOW_OK,
    database=DirectoryBasedExampleDatabase(os.path.join(os.path.dirname(__file__), '..', '.hypothesis', 'nightly')),
    print_blob=True,
)

_profile = os.environ.get('HYPOTHESIS_PROFILE') or ('ci' if os.environ.get('CI') else 'dev')
settings.load_profile(_profile)


def pytest_report_header(config):
    return f'hypothesis profile: {_profile}'


@pytest.fixture(scope='session', params=sim.SIMULATORS)
def simulator(request) -> str:
    """Name of a simulator that is installed and new enough (raises otherwise, never skips)."""
    sim.find_simulator(request.param)
    return request.param
