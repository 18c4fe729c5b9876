"""The release gate accepts a good design and refuses a broken one, writing nothing then.

The gate runs both simulators itself, so these tests take no ``simulator`` parameter. The
broken design is the good one with one adder turned into a subtractor in its Verilog: lint
stays clean, only simulation against the golden model can catch it. Both kinds of design
directory go through it: a regression spec design and a model converted by ``da4ml-core
convert`` (Keras's stored outputs as the oracle).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verif.flows import regress, release, specs
from verif.flows.specs import Spec
from verif.hdl.design import buses, load_metadata
from verif.hdl.files import read_words

pytestmark = pytest.mark.rtl

ROOT = Path(__file__).resolve().parents[3]
GATE = [sys.executable, str(ROOT / 'ci' / 'release_gate.py')]
VECTORS, PER_CYCLE = 2000, 200


@pytest.fixture(scope='module')
def good_design(tmp_path_factory) -> Path:
    W = np.random.default_rng(11).integers(-40, 41, (5, 4)) / 2.0
    spec = Spec('gate_dut', 'cmvm', [(1, 4, 2)] * 5, (1, 6, 1), 'SAT', 'RND_CONV', latency_cutoff=2,
                W=W.tolist(), seed=17)
    return specs.build(spec, tmp_path_factory.mktemp('good') / 'gate_dut')


def _gate(design: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [*GATE, str(design), '--out', str(out), '--vectors', str(VECTORS), '--per-cycle', str(PER_CYCLE), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT, check=False)


def test_good_design_is_released(good_design, tmp_path):
    out = tmp_path / 'bundle'
    res = _gate(good_design, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'RELEASED' in res.stdout
    manifest = json.loads((out / release.MANIFEST).read_text())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file())
    assert sorted([*manifest['files'], release.MANIFEST]) == files
    assert {'tb/stimulus.hex', 'tb/expected.hex', 'tb/bundle_tb.py', 'tb/test_gate_dut.py', 'pytest.ini'} <= set(files)
    for name, digest in manifest['files'].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    for name in json.loads((good_design / 'metadata.json').read_text())['sources']:
        assert (out / name).read_bytes() == (good_design / name).read_bytes()
    report = json.loads((out / release.REPORT).read_text())
    assert {s['name'] for s in report['simulators']} == {'icarus', 'verilator'}
    assert all(s['version'] for s in report['simulators'])
    runs = {(r['simulator'], r['path']): r for r in report['runs']}
    assert set(runs) == {(s, p) for s in ('icarus', 'verilator') for p in ('bulk', 'per-cycle')}
    n_directed = report['stimulus']['directed_vectors']  # the regression's stimulus: spec rows, then directed ones
    assert 0 <= n_directed <= regress.DIRECTED_BUDGET
    for (_, path), r in runs.items():
        assert r['mismatches'] == 0 and r['passed'] and r['seed'] == 17
        assert r['vectors'] == (VECTORS + n_directed if path == 'bulk' else PER_CYCLE)
    assert report['lint']['clean'] and report['rebuild_matches'] is True
    assert report['stimulus'] == {**report['stimulus'], 'seed': 17, 'spec_vectors': VECTORS,
                                  'bulk_vectors': VECTORS + n_directed}
    cov = report['coverage']
    assert cov['vectors'] == VECTORS + n_directed and 0 < cov['events_hit'] <= cov['events'] and cov['floor'] is None
    assert 'not_run' in report['toggle_coverage']  # an extra build: only when asked for
    again = _gate(good_design, out)  # never overwrites a bundle
    assert again.returncode == 1 and 'already exists' in again.stderr


def test_coverage_below_the_floor_is_refused(good_design, tmp_path):
    from verif.flows import design_coverage

    spec = Spec.load(good_design).with_(n_vectors=1000)
    fraction = design_coverage.of_spec(spec, load_metadata(good_design)).fraction
    assert 0 < fraction < 1
    result = release.release(good_design, tmp_path / 'b', n_vectors=1000, per_cycle=0, simulators=('verilator',),
                             min_coverage=(1 + fraction) / 2, toggle_coverage=True)
    assert not result.released and not (tmp_path / 'b').exists()
    assert [r for r in result.reasons if r.startswith(f'coverage {fraction:.4f} is below the floor')]
    assert result.report['coverage']['fraction'] == round(fraction, 6)
    toggle = result.report['toggle_coverage']  # recorded next to it, on the same 1000 spec vectors
    assert toggle['vectors'] == result.report['coverage']['vectors'] and 0 < toggle['points_hit'] <= toggle['points']
    with pytest.raises(ValueError, match='min_coverage=2'):
        design_coverage.gate(good_design, spec, 0, 1, 2, [])


def _flip_one_adder(path: Path) -> str:
    """Turn the first adder of a design's Verilog into a subtractor (or back)."""
    text = path.read_text()
    at = text.index('shift_add #(')
    sub = text.index('.SUB(', at) + 5
    flipped = '1' if text[sub] == '0' else '0'
    path.write_text(text[:sub] + flipped + text[sub + 1:])
    return text[at:text.index(';', at)]


def test_injected_bug_is_refused(good_design, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(good_design, bad)
    _flip_one_adder(bad / 'gate_dut.v')
    out = tmp_path / 'releases' / 'bundle'
    res = _gate(bad, out)
    assert res.returncode == 1, res.stdout + res.stderr
    assert 'REFUSED' in res.stderr and 'nothing written' in res.stderr
    for simulator in ('icarus', 'verilator'):
        assert f'gate_dut on {simulator}' in res.stderr and 'FAIL' in res.stderr
    assert 'expected' in res.stderr and 'bits' in res.stderr  # the failing vectors are named
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no half-written bundle either


def test_refusals_without_simulation(good_design, tmp_path):
    no_spec = tmp_path / 'no_spec'
    shutil.copytree(good_design, no_spec)
    (no_spec / specs.SPEC_FILE).unlink()
    result = release.release(no_spec, tmp_path / 'b1')
    assert not result.released and 'spec.json' in result.reasons[0] and not (tmp_path / 'b1').exists()
    renamed = tmp_path / 'renamed'
    shutil.copytree(good_design, renamed)
    spec = Spec.load(renamed)
    spec.with_(name='other').save(renamed / specs.SPEC_FILE)
    result = release.release(renamed, tmp_path / 'b2', n_vectors=1000, per_cycle=0, simulators=('icarus',))
    assert not result.released and any('is not the spec name' in r for r in result.reasons)
    assert not (tmp_path / 'b2').exists()


# ------------------------------------------------------------------ converted models


@pytest.fixture(scope='module')
def converted_design(tmp_path_factory) -> Path:
    """A small HGQ2 model (SAT input, RND, relu, two dense layers) through ``da4ml-core convert``,
    pipelined, with 300 random bus words on top of the edge rows."""
    import io
    import os

    os.environ.setdefault('KERAS_BACKEND', 'jax')
    import keras
    from hgq.layers import QDense
    from hgq.quantizer.config import QuantizerConfig

    from da4ml_core import cli

    keras.utils.set_random_seed(5)
    root = tmp_path_factory.mktemp('conv')
    iq = QuantizerConfig('kif', 'datalane', overflow_mode='SAT', round_mode='RND', i0=2, f0=3)
    inp = keras.Input((6,))
    hidden = QDense(5, iq_conf=iq, activation='relu', name='d1')(inp)
    model = keras.Model(inp, QDense(3, name='d2')(hidden), name='gate_model')
    model.save(root / 'model.keras')
    out = root / 'design'
    args = ['convert', str(root / 'model.keras'), str(out), '--input-kif', '1', '2', '3', '-n', '300',
            '--latency-cutoff', '2']
    assert cli.main(args, out=io.StringIO()) == 0
    return out


def test_converted_model_is_released(converted_design, tmp_path):
    out = tmp_path / 'bundle'
    res = _gate(converted_design, out, '--vectors', '1000')  # the last --vectors wins
    assert res.returncode == 0, res.stdout + res.stderr
    names = sorted(p.name for p in out.iterdir())
    assert {'program.json', 'reference.npz', 'gate_model.v', release.MANIFEST, release.REPORT} <= set(names)
    assert 'report.json' not in names  # the converter's own report is not release evidence
    manifest = json.loads((out / release.MANIFEST).read_text())
    for name, digest in manifest['files'].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    report = json.loads((out / release.REPORT).read_text())
    assert report['kind'] == 'converted model' and report['rebuild_matches'] is True
    with np.load(converted_design / 'reference.npz') as ref:
        n_keras = len(ref['inputs'])
        in_bus, out_bus = buses(json.loads((out / 'metadata.json').read_text()))
        n_tb = min(PER_CYCLE, n_keras)  # the bundle's own testbench: the per-cycle vectors, Keras's outputs
        assert read_words(out / 'tb' / 'stimulus.hex') == in_bus.pack(ref['inputs'][:n_tb])
        assert read_words(out / 'tb' / 'expected.hex') == out_bus.pack(ref['expected'][:n_tb])
    runs = {(r['simulator'], r['path'], r.get('oracle')): r for r in report['runs']}
    want = {('interpreter', 'model', 'keras'), ('reference', 'model', 'keras'),
            ('reference', 'program', 'interpreter')}
    want |= {(s, p, o) for s in ('icarus', 'verilator') for p, o in
             (('bulk', 'keras'), ('bulk', 'program'), ('per-cycle', 'keras'))}
    assert set(runs) == want
    assert all(r['mismatches'] == 0 and r['passed'] for r in runs.values())
    assert runs[('reference', 'model', 'keras')]['vectors'] == n_keras  # the exact reference checks every vector
    assert runs[('reference', 'program', 'interpreter')]['vectors'] == runs[('icarus', 'bulk', 'program')]['vectors']
    for s in ('icarus', 'verilator'):
        assert runs[(s, 'bulk', 'keras')]['vectors'] == runs[('interpreter', 'model', 'keras')]['vectors'] == n_keras
        assert runs[(s, 'bulk', 'program')]['vectors'] >= 1000
        assert runs[(s, 'per-cycle', 'keras')]['vectors'] == min(PER_CYCLE, n_keras)


def test_converted_model_with_a_flipped_adder_is_refused(converted_design, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(converted_design, bad)
    _flip_one_adder(bad / 'gate_model.v')
    out = tmp_path / 'bundle'
    res = _gate(bad, out, '--vectors', '1000')
    assert res.returncode == 1, res.stdout + res.stderr
    assert 'REFUSED' in res.stderr and not out.exists()
    for simulator in ('icarus', 'verilator'):
        assert f'gate_model on {simulator}' in res.stderr
    assert 'keras vectors' in res.stderr and 'expected' in res.stderr and 'got' in res.stderr
    assert 'waveform:' in res.stderr


def test_converted_model_with_a_wrong_keras_value_is_refused(converted_design, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(converted_design, bad)
    with np.load(bad / 'reference.npz') as ref:
        data = {k: ref[k] for k in ref.files}
    data['expected'][3, 1] += 1  # the design is right, the stored model output is not
    np.savez(bad / 'reference.npz', **data)
    result = release.release(bad, tmp_path / 'b', n_vectors=1000, per_cycle=0, simulators=('verilator',))
    assert not result.released and not (tmp_path / 'b').exists()
    failed = {(r['simulator'], r['path'], r.get('oracle')) for r in result.report['runs'] if not r['passed']}
    assert failed == {('interpreter', 'model', 'keras'), ('reference', 'model', 'keras'),
                      ('verilator', 'bulk', 'keras')}
    assert any('vector 3:' in r for r in result.reasons)


def test_reference_of_another_shape_is_refused(converted_design, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(converted_design, bad)
    with np.load(bad / 'reference.npz') as ref:
        data = {k: ref[k] for k in ref.files}
    data['expected'] = data['expected'][:, :-1]  # vectors of a model with one output fewer
    np.savez(bad / 'reference.npz', **data)
    result = release.release(bad, tmp_path / 'b', n_vectors=1000, per_cycle=0, simulators=('icarus',))
    assert not result.released and not (tmp_path / 'b').exists()
    assert any('reference.npz holds inputs' in r and 'output fields' in r for r in result.reasons)


def test_directory_of_neither_kind_is_refused(converted_design, tmp_path):
    bare = tmp_path / 'bare'
    shutil.copytree(converted_design, bare)
    (bare / 'reference.npz').unlink()
    result = release.release(bare, tmp_path / 'b')
    assert not result.released and 'spec.json' in result.reasons[0] and 'reference.npz' in result.reasons[0]


def test_cli_release_of_a_converted_model(converted_design, tmp_path):
    import io

    from da4ml_core import cli

    out, log = tmp_path / 'bundle', io.StringIO()
    args = ['release', str(converted_design), '--out', str(out), '--vectors', '1000', '--per-cycle', '50']
    assert cli.main(args, out=log) == cli.EXIT_OK, log.getvalue()
    text = log.getvalue()
    assert f'RELEASED {out}' in text and 'verilator' in text and 'vs keras' in text
    assert (out / release.MANIFEST).is_file()
