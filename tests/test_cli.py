"""The ``da4ml-core`` command: exit statuses, one-line errors, report formats, the main job.

Exit statuses (da4ml_core/cli.py): 0 ok, 1 verification mismatch, 2 usage / bad input,
3 unsupported model, 4 environment. Tests marked ``rtl`` run a simulator.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import hgq  # noqa: F401  (the keras extra is a test requirement: missing it is an error, not a skip)

from da4ml_core import cli
from support.cli import one_line_error, run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def float_model(tmp_path_factory) -> Path:
    import keras

    path = tmp_path_factory.mktemp('m') / 'float.keras'
    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Dense(2, name='plain_dense')(inp)).save(path)
    return path


@pytest.fixture(scope='module')
def sat_model(tmp_path_factory) -> Path:
    import keras
    from hgq.layers import QDense
    from hgq.quantizer.config import QuantizerConfig

    keras.utils.set_random_seed(1)
    path = tmp_path_factory.mktemp('m') / 'sat.keras'
    inp = keras.Input((5,))
    iq = QuantizerConfig('kif', 'datalane', overflow_mode='SAT', round_mode='RND', i0=2, f0=3)
    out = QDense(3, iq_conf=iq, name='d_sat')(inp)
    keras.Model(inp, out, name='sat_model').save(path)
    return path


@pytest.fixture(scope='module')
def example_dir(tmp_path_factory) -> Path:
    """The bundled example converted (combinational, 200 random words + its 1000 test samples)."""
    out = tmp_path_factory.mktemp('example')
    assert cli.main(['convert', 'example', str(out), '-n', '200'], out=io.StringIO()) == 0
    return out


# ------------------------------------------------------------------ usage errors (2)


def test_missing_model_file(capsys, tmp_path):
    status, _, err = run(['convert', tmp_path / 'nope.keras', tmp_path / 'out'], capsys)
    assert status == cli.EXIT_USAGE == 2
    assert 'nope.keras: no such file' in one_line_error(err)


def test_wrong_model_extension(capsys, tmp_path):
    bad = tmp_path / 'model.h5'
    bad.write_bytes(b'not a model')
    status, _, err = run(['convert', bad, tmp_path / 'out'], capsys)
    assert status == 2 and 'expected a .keras file' in one_line_error(err)


def test_corrupt_model_file(capsys, tmp_path):
    bad = tmp_path / 'broken.keras'
    bad.write_bytes(b'garbage')
    status, _, err = run(['convert', bad, tmp_path / 'out'], capsys)
    line = one_line_error(err)
    assert status == 2 and f'{bad}: not a Keras archive (zip)' in line and line.count(str(bad)) == 1
    assert not (tmp_path / 'out').exists()


def test_data_with_nan_is_refused(capsys, tmp_path):
    bad = tmp_path / 'bad.npz'
    x = np.zeros((5, 16), dtype=np.float32)
    x[3, 7] = np.nan
    np.savez(bad, x_test=x)
    status, _, err = run(['convert', 'example', tmp_path / 'out', '--data', bad], capsys)
    assert status == 2 and f"--data {bad}: 'x_test' row 3 is not finite" in one_line_error(err)
    assert not (tmp_path / 'out').exists()


def test_report_of_a_corrupt_or_unwritable_report(capsys, tmp_path):
    d = tmp_path / 'd'
    d.mkdir()
    (d / 'report.json').write_text('{"top": \n')
    status, _, err = run(['report', d], capsys)
    assert status == 2 and f'{d / "report.json"}: not a readable report.json' in one_line_error(err)
    status, _, err = run(['report', d, '-o', tmp_path / 'nodir' / 'x.md'], capsys)
    assert status == 2 and f'no directory {tmp_path / "nodir"}' in one_line_error(err)


def test_debug_shows_the_traceback(capsys, tmp_path):
    bad = tmp_path / 'broken.keras'
    bad.write_bytes(b'garbage')
    status, _, err = run(['--debug', 'convert', bad, tmp_path / 'out'], capsys)
    assert status == 2 and 'Traceback' in err


@pytest.mark.parametrize('kif', [['1', '2'], ['a', 'b', 'c'], ['wide']])
def test_bad_input_kif(capsys, sat_model, tmp_path, kif):
    status, _, err = run(['convert', sat_model, tmp_path / 'out', '--input-kif', *kif], capsys)
    assert status == 2 and '--input-kif' in one_line_error(err)


def test_argparse_errors_exit_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(['convert', 'example', str(tmp_path), '--verify', 'modelsim'])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(['frobnicate'])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(['verify', str(tmp_path), '--mutants', '-1'])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(['release', str(tmp_path), '--out', str(tmp_path / 'b'), '--min-coverage', '1.5'])
    assert info.value.code == 2


def test_saturating_input_needs_input_kif(capsys, sat_model, tmp_path):
    status, _, err = run(['convert', sat_model, tmp_path / 'a'], capsys)
    line = one_line_error(err)
    assert status == 2 and '--input-kif' in line and 'd_sat' in line
    status, _, _ = run(['convert', sat_model, tmp_path / 'b', '--input-kif', '1', '4', '5'], capsys)
    assert status == 0 and (tmp_path / 'b' / 'sat_model.v').is_file()
    status, _, _ = run(['convert', sat_model, tmp_path / 'c', '--input-kif', 'quantizer'], capsys)
    assert status == 0
    rep = json.loads((tmp_path / 'c' / 'report.json').read_text())
    assert rep['input_mode'] == 'quantizer'


# ------------------------------------------------------------------ unsupported model (3)


def test_unsupported_model_exit_3(capsys, float_model, tmp_path):
    status, _, err = run(['convert', float_model, tmp_path / 'out'], capsys)
    line = one_line_error(err)
    assert status == cli.EXIT_UNSUPPORTED == 3
    assert 'plain_dense (Dense)' in line and 'Supported layers:' in line
    assert not (tmp_path / 'out').exists()  # nothing written


# ------------------------------------------------------------------ convert + report


def test_convert_writes_the_design(example_dir):
    for f in ('jet_tagger.v', 'metadata.json', 'program.json', 'reference.npz', 'report.json'):
        assert (example_dir / f).is_file(), f
    rep = json.loads((example_dir / 'report.json').read_text())
    assert rep['input_mode'] == 'inferred' and rep['data_vectors'] == 1000
    assert rep['accuracy'] == pytest.approx(0.779, abs=1e-9)
    # the data rows, then the stimulus generator's: 7 all-field rows, each of the 16 inputs alone at
    # min and max, 256 random mixes of extremes (4**16 combinations are too many to list), 200 random,
    # then the directed rows for the corners those miss
    from da4ml_core.ir import Program
    from verif.flows.directed import budget_for, directed_rows

    prog = Program.from_json((example_dir / 'program.json').read_text())
    meta = json.loads((example_dir / 'metadata.json').read_text())
    n_base = 1000 + 7 + 2 * 16 + 256 + 200
    with np.load(example_dir / 'reference.npz') as ref:
        assert ref['inputs'].shape == (rep['vectors'], 16) and ref['expected'].shape == (rep['vectors'], 5)
        directed = directed_rows(prog, meta, ref['inputs'][:n_base], seed=1)
        assert 0 < len(directed) <= budget_for(prog)
        assert ref['inputs'][n_base:].tolist() == directed.tolist()
    assert rep['vectors'] == n_base + len(directed)
    assert prog.cost == rep['cost']


def test_report_formats(capsys, example_dir, tmp_path):
    status, out, _ = run(['report', example_dir], capsys)
    assert status == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:6] == ['design', 'model', 'n_in', 'n_out', 'luts', 'ffs']
    assert row.split()[:4] == ['jet_tagger', 'example', '16', '5']

    status, _, _ = run(['report', example_dir, example_dir, '-o', tmp_path / 'r.json'], capsys)
    rows = json.loads((tmp_path / 'r.json').read_text())
    assert status == 0 and len(rows) == 2 and rows[0]['n_in'] == 16 and rows[0]['verified'] == '-'

    run(['report', example_dir, '-o', tmp_path / 'r.csv'], capsys)
    table = list(csv.DictReader((tmp_path / 'r.csv').open()))
    assert table[0]['design'] == 'jet_tagger' and int(table[0]['luts']) > 0

    run(['report', example_dir, '-o', tmp_path / 'r.md'], capsys)
    md = (tmp_path / 'r.md').read_text().splitlines()
    assert md[0].startswith('| design |') and md[1].startswith('|---|') and '| jet_tagger |' in md[2]

    status, _, err = run(['report', example_dir, '-o', tmp_path / 'r.txt'], capsys)
    assert status == 2 and '.json, .csv or .md' in one_line_error(err)
    status, _, err = run(['report', tmp_path / 'empty'], capsys)
    assert status == 2 and 'no report.json' in one_line_error(err)


def test_verify_needs_a_converted_dir(capsys, tmp_path):
    status, _, err = run(['verify', tmp_path], capsys)
    assert status == 2 and 'not a directory written by da4ml-core convert' in one_line_error(err)


# ------------------------------------------------------------------ release


def test_release_without_the_gate(capsys, tmp_path, monkeypatch):
    import verif.flows

    monkeypatch.setitem(sys.modules, 'verif.flows.release', None)
    monkeypatch.delattr(verif.flows, 'release', raising=False)
    status, _, err = run(['release', tmp_path, '--out', tmp_path / 'bundle'], capsys)
    assert status == cli.EXIT_ENV == 4 and 'release gate' in one_line_error(err)


def _fake_gate(monkeypatch, released: bool):
    seen = []

    def release(design_dir, bundle_dir, **kw):
        seen.append((Path(design_dir), Path(bundle_dir), kw))
        run_ = {'simulator': 'icarus', 'version': '11.0', 'path': 'bulk', 'vectors': 10, 'seed': 1, 'mismatches': 0}
        return types.SimpleNamespace(released=released, bundle=Path(bundle_dir) if released else None,
                                     reasons=[] if released else ['lint is not clean'], report={'runs': [run_]})

    import verif.flows
    from verif.flows.release import run_line

    fake = types.ModuleType('verif.flows.release')
    fake.release = release
    fake.run_line = run_line
    monkeypatch.setitem(sys.modules, 'verif.flows.release', fake)
    monkeypatch.setattr(verif.flows, 'release', fake, raising=False)
    return seen


def test_release_calls_the_gate(capsys, tmp_path, monkeypatch):
    seen = _fake_gate(monkeypatch, released=True)
    status, out, _ = run(['release', tmp_path, '--out', tmp_path / 'b', '--vectors', '2000', '--scheduler', 'none',
                          '--sample', 'icarus=300'], capsys)
    assert status == 0 and f'RELEASED {tmp_path / "b"}' in out and 'icarus 11.0 bulk' in out
    assert seen == [(tmp_path, tmp_path / 'b', {'n_vectors': 2000, 'client': None, 'samples': {'icarus': 300}})]
    run(['release', tmp_path, '--out', tmp_path / 'c', '--min-coverage', '0.5', '--scheduler', 'none'], capsys)
    assert seen[-1] == (tmp_path, tmp_path / 'c', {'min_coverage': 0.5, 'client': None, 'samples': {}})
    seen = _fake_gate(monkeypatch, released=False)
    status, out, _ = run(['release', tmp_path, '--out', tmp_path / 'c', '--scheduler', 'none'], capsys)
    assert status == 1 and 'REFUSED' in out and '- lint is not clean' in out
    assert seen[0][2] == {'client': None, 'samples': {}}
    status, _, err = run(['release', tmp_path / 'missing', '--out', tmp_path / 'd'], capsys)
    assert status == 2 and 'no such directory' in one_line_error(err)


# ------------------------------------------------------------------ packaging


def test_bundled_example_matches_the_repository_copy():
    for f in ('model.keras', 'data.npz'):
        pkg = ROOT / 'da4ml_core' / 'examples' / 'jet_tagger' / f
        assert pkg.read_bytes() == (ROOT / 'examples' / 'jet_tagger' / f).read_bytes(), f


def test_module_entry_point_help():
    res = subprocess.run([sys.executable, '-m', 'da4ml_core', '--help'], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, check=False)
    assert res.returncode == 0
    for verb in ('demo', 'convert', 'verify', 'report', 'release'):
        assert verb in res.stdout


# ------------------------------------------------------------------ with simulators


@pytest.mark.rtl
@pytest.mark.slow
def test_verify_passes_and_catches_a_wrong_reference(capsys, example_dir, tmp_path):
    import shutil

    status, out, _ = run(['verify', example_dir, '--simulators', 'icarus,verilator'], capsys)
    assert status == 0, out
    rep = json.loads((example_dir / 'report.json').read_text())
    assert rep['mismatches'] == 0 and rep['verified'] == ['icarus', 'verilator']
    sims = rep['verification']['simulators']
    assert sims['icarus']['vectors'] == sims['verilator']['vectors'] == rep['vectors']
    assert f"coverage {rep['coverage']['events_hit']}/{rep['coverage']['events']} events" in out
    assert rep['coverage']['per_kind']['adder_min']['reachable_hit'] == rep['coverage']['per_kind']['adder_min']['reachable']

    bad = tmp_path / 'bad'
    shutil.copytree(example_dir, bad)
    with np.load(bad / 'reference.npz') as ref:
        data = {k: ref[k] for k in ref.files}
    data['expected'][7, 2] += 1  # one wrong Keras value: every checker must flag that row
    np.savez(bad / 'reference.npz', **data)
    status, out, _ = run(['verify', bad, '--simulators', 'verilator'], capsys)
    assert status == cli.EXIT_MISMATCH == 1
    assert 'interpreter 1, reference 1, verilator 1' in out
    status, _, _ = run(['report', bad], capsys)
    assert status == 1


@pytest.mark.rtl
def test_verify_with_mutants(capsys, sat_model, tmp_path):
    """A one-layer model (5 inputs of 10 bits: too many to enumerate): 8 mutants judged on the
    stored vectors, every one killed or undecided, each recorded in report.json."""
    status, _, _ = run(['convert', sat_model, tmp_path / 'm', '--input-kif', '1', '4', '5', '-n', '100'], capsys)
    assert status == 0
    status, out, _ = run(['verify', tmp_path / 'm', '--simulators', 'verilator', '--mutants', '8'], capsys)
    assert status == 0 and '8 mutants on verilator' in out, out
    mut = json.loads((tmp_path / 'm' / 'report.json').read_text())['mutation']
    assert mut['mutants'] == len(mut['outcomes']) == 8 and mut['killed'] + mut['undecided'] == 8
    assert mut['equivalent'] == mut['unbuildable'] == 0
    assert all((o['first'] is None) == (o['status'] == 'undecided') for o in mut['outcomes'])


@pytest.mark.rtl
def test_verify_with_toggle_coverage(capsys, sat_model, tmp_path):
    """--toggle-coverage: Verilator's toggle counts of the stored vectors in report.json and in
    ``report``; a later verify without it drops them (they describe that run's files only)."""
    status, _, _ = run(['convert', sat_model, tmp_path / 'm', '--input-kif', '1', '4', '5', '-n', '50'], capsys)
    assert status == 0
    status, out, _ = run(['verify', tmp_path / 'm', '--simulators', 'verilator', '--toggle-coverage'], capsys)
    rep = json.loads((tmp_path / 'm' / 'report.json').read_text())
    tog = rep['toggle_coverage']
    assert status == 0 and f"toggle coverage {tog['points_hit']}/{tog['points']} points" in out, out
    assert tog['vectors'] == rep['vectors'] and 0 < tog['wires_hit'] <= tog['wires'] < tog['points']
    assert (tmp_path / 'm' / 'toggle_coverage' / 'sat_model.v').is_file()  # verilator_coverage's annotation
    status, _, _ = run(['report', tmp_path / 'm', '-o', tmp_path / 'r.json'], capsys)
    assert json.loads((tmp_path / 'r.json').read_text())[0]['toggle'] == f"{tog['points_hit']}/{tog['points']}"
    status, out, _ = run(['verify', tmp_path / 'm', '--simulators', 'verilator'], capsys)
    assert status == 0 and 'toggle coverage' not in out
    assert 'toggle_coverage' not in json.loads((tmp_path / 'm' / 'report.json').read_text())


@pytest.mark.rtl
@pytest.mark.slow
def test_main_job(capsys, tmp_path):
    status, out, _ = run(['demo', '--out', tmp_path, '-n', '500'], capsys)
    assert status == 0, out
    assert 'all checks passed' in out and 'accuracy' in out
    rep = json.loads((tmp_path / 'report.json').read_text())
    assert rep['mismatches'] == 0 and rep['verified'] == ['icarus', 'verilator']
    assert rep['accuracy'] == rep['accuracy_keras'] == pytest.approx(0.779, abs=1e-9)
    assert rep['latency_cycles'] > 1 and rep['luts'] > 0 and rep['ffs'] > 0
