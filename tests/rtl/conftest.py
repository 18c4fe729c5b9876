"""Fixtures for the simulator tests: one run per simulator, and a missing one is an error."""

from __future__ import annotations

import pytest

from verif import sim


@pytest.fixture(scope='session', params=sim.SIMULATORS)
def simulator(request) -> str:
    """Name of a simulator that is installed and new enough (raises otherwise, never skips)."""
    sim.find_simulator(request.param)
    return request.param
