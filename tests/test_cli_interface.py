"""``da4ml-core convert --interface``: the wrapper is written, ``--verify`` / ``verify`` stream the
stored Keras vectors through it, a wrong expected word fails, a bad value exits 2."""

from __future__ import annotations

import contextlib
import io
import json
import os

import numpy as np
import pytest

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

from da4ml_core import cli, emit


def test_cli_interfaces_are_the_emitters():
    assert cli.INTERFACES == emit.INTERFACES


def test_bad_interface_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(['convert', 'example', str(tmp_path / 'x'), '--interface', 'axi'])
    assert info.value.code == 2 and "--interface: invalid choice: 'axi'" in capsys.readouterr().err
    assert not (tmp_path / 'x').exists()


@pytest.mark.rtl
def test_convert_valid_interface_and_verify(tmp_path):
    out = tmp_path / 'jet'
    text = io.StringIO()
    status = cli.main(['convert', 'example', str(out), '--interface', 'valid', '--latency-cutoff', '2', '-n', '40',
                       '--verify', 'icarus,verilator'], out=text)
    assert status == 0, text.getvalue()
    meta = json.loads((out / 'metadata.json').read_text())
    assert meta['interface']['kind'] == 'valid' and (out / 'jet_tagger_core.v').is_file()
    report = json.loads((out / 'report.json').read_text())
    sims = report['verification']['simulators']
    assert set(sims) == {'icarus', 'verilator'} and all(r['passed'] for r in sims.values())
    assert report['mismatches'] == 0 and all(r['beats_out'] > 0 for r in sims.values())
    assert 'streamed through the valid wrapper vs Keras: icarus ok, verilator ok' in text.getvalue()
    ref = dict(np.load(out / 'reference.npz'))
    ref['expected'][len(ref['expected']) // 2, 0] += 1  # one wrong Keras word: the stream check must fail
    np.savez_compressed(out / 'reference.npz', **ref)
    text = io.StringIO()
    assert cli.main(['verify', str(out), '--simulators', 'icarus'], out=text) == cli.EXIT_MISMATCH
    assert 'icarus FAILED' in text.getvalue()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(['verify', str(out), '--toggle-coverage'], out=io.StringIO())
    assert status == cli.EXIT_USAGE and '--toggle-coverage' in err.getvalue() and 'bare designs' in err.getvalue()
