"""Every synthesis test uses its own result cache, so cached counts of other runs never answer."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _synth_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv('DA4ML_SYNTH_CACHE', str(tmp_path_factory.getbasetemp() / 'synth-cache'))
