"""The gate policy for big designs: a simulator with a budget runs every structured vector plus a
stated number of the others, and says so in the report; the program checks still cover all."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

from support.cli import SMALL_MODEL_KIF, run, small_model

from verif.flows.converted import sample_rows


def test_sample_rows_keeps_every_structured_row_and_spreads_the_rest():
    structured = np.zeros(100, bool)
    structured[[0, 1, 50, 99]] = True
    keep = sample_rows(structured, 10)
    assert set(np.flatnonzero(structured)) <= set(keep.tolist())
    others = [k for k in keep if not structured[k]]
    assert len(others) == 10 and others[0] == 2 and others[-1] == 98  # the first and last of the others
    assert np.all(np.diff(keep) > 0)  # in vector order, no repeats
    assert sample_rows(structured, None).tolist() == list(range(100))
    assert sample_rows(structured, 1000).tolist() == list(range(100))
    assert sample_rows(structured, 0).tolist() == [0, 1, 50, 99]
    with pytest.raises(ValueError, match='n_others=-1'):
        sample_rows(structured, -1)


@pytest.fixture(scope='module')
def converted(tmp_path_factory) -> Path:
    from da4ml_core import cli

    base = tmp_path_factory.mktemp('sampling')
    small_model(base / 'm.keras')
    assert cli.main(['convert', str(base / 'm.keras'), str(base / 'out'), *SMALL_MODEL_KIF, '-n', '300']) == 0
    return base / 'out'


def _corrupt(d: Path, row: int) -> None:
    with np.load(d / 'reference.npz') as ref:
        data = {k: ref[k] for k in ref.files}
    data['expected'][row, 0] += 1
    np.savez(d / 'reference.npz', **data)


@pytest.mark.rtl
def test_sampled_icarus_runs_all_structured_rows_and_reports_its_budget(converted, tmp_path, capsys):
    with np.load(converted / 'reference.npz') as ref:
        structured = ref['structured']
    n_structured = int(structured.sum())
    assert 0 < n_structured < len(structured)
    args = ['--simulators', 'icarus,verilator', '--scheduler', 'none', '--sample', 'icarus=20']
    status, out, _ = run(['verify', converted, *args], capsys)
    assert status == 0, out
    rep = json.loads((converted / 'report.json').read_text())
    ica, ver = rep['verification']['simulators']['icarus'], rep['verification']['simulators']['verilator']
    assert ica['sample'] == {'structured': n_structured, 'others': 20, 'of': len(structured)}
    assert ica['vectors'] == n_structured + 20 and ver['vectors'] == len(structured) and 'sample' not in ver
    assert rep['verification']['simulator_vectors'] == {'icarus': 'every structured row + 20 others',
                                                       'verilator': 'all'}
    assert rep['verification']['reference']['vectors'] == len(structured)

    keep = sample_rows(structured, 20)
    skipped = next(i for i in range(len(structured)) if i not in set(keep.tolist()))
    for row, icarus_sees_it in ((int(np.flatnonzero(structured)[-1]), True), (skipped, False)):
        bad = tmp_path / f'row{row}'
        shutil.copytree(converted, bad)
        _corrupt(bad, row)
        status, out, _ = run(['verify', bad, *args], capsys)
        assert status == 1
        sims = json.loads((bad / 'report.json').read_text())['verification']['simulators']
        assert sims['verilator']['mismatches'] == 1
        assert sims['icarus']['mismatches'] == (1 if icarus_sees_it else 0)


@pytest.mark.parametrize('bad', ['modelsim=3', 'icarus', 'icarus=-1', 'icarus=many'])
def test_sample_argument_is_checked(capsys, tmp_path, bad):
    with pytest.raises(SystemExit) as exit_:
        run(['verify', tmp_path, '--sample', bad], capsys)
    assert exit_.value.code == 2
    assert f"--sample {bad!r}: expected SIMULATOR=N" in capsys.readouterr().err
