"""``python -m verif.flows.primitives_demo`` passes on the bundled design and exits non-zero on a mismatch."""

from __future__ import annotations

import pytest

from verif.flows import primitives_demo as demo

pytestmark = pytest.mark.rtl


def test_demo_passes(simulator, capsys):
    assert demo.main(['--per-cycle', '50', '--bulk', '3000', '--simulators', simulator]) == 0
    out = capsys.readouterr().out
    assert 'mismatches = 0' in out and 'all checks passed' in out and simulator in out


def test_demo_fails_on_injected_mismatch(simulator, capsys):
    assert demo.main(['--per-cycle', '50', '--bulk', '3000', '--simulators', simulator, '--inject-mismatch']) == 1
    assert 'FAILED' in capsys.readouterr().out
