"""The release gate accepts a good design and refuses a broken one, writing nothing then.

The gate runs both simulators itself, so these tests take no ``simulator`` parameter. The
broken design is the good one with one adder turned into a subtractor in its Verilog: lint
stays clean, only simulation against the golden model can catch it.
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

from verif import designs, release
from verif.designs import Spec

pytestmark = pytest.mark.rtl

ROOT = Path(__file__).resolve().parents[2]
GATE = [sys.executable, str(ROOT / 'ci' / 'release_gate.py')]
VECTORS, PER_CYCLE = 2000, 200


@pytest.fixture(scope='module')
def good_design(tmp_path_factory) -> Path:
    W = np.random.default_rng(11).integers(-40, 41, (5, 4)) / 2.0
    spec = Spec('gate_dut', 'cmvm', [(1, 4, 2)] * 5, (1, 6, 1), 'SAT', 'RND_CONV', latency_cutoff=2,
                W=W.tolist(), seed=17)
    return designs.build(spec, tmp_path_factory.mktemp('good') / 'gate_dut')


def _gate(design: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [*GATE, str(design), '--out', str(out), '--vectors', str(VECTORS), '--per-cycle', str(PER_CYCLE), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT, check=False)


def test_good_design_is_released(good_design, tmp_path):
    out = tmp_path / 'bundle'
    res = _gate(good_design, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'RELEASED' in res.stdout
    manifest = json.loads((out / release.MANIFEST).read_text())
    files = sorted(p.name for p in out.iterdir())
    assert sorted([*manifest['files'], release.MANIFEST]) == files
    for name, digest in manifest['files'].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    for name in json.loads((good_design / 'metadata.json').read_text())['sources']:
        assert (out / name).read_bytes() == (good_design / name).read_bytes()
    report = json.loads((out / release.REPORT).read_text())
    assert {s['name'] for s in report['simulators']} == {'icarus', 'verilator'}
    assert all(s['version'] for s in report['simulators'])
    runs = {(r['simulator'], r['path']): r for r in report['runs']}
    assert set(runs) == {(s, p) for s in ('icarus', 'verilator') for p in ('bulk', 'per-cycle')}
    for (_, path), r in runs.items():
        assert r['mismatches'] == 0 and r['passed'] and r['seed'] == 17
        assert r['vectors'] == (VECTORS if path == 'bulk' else PER_CYCLE)
    assert report['lint']['clean'] and report['rebuild_matches'] is True
    assert report['stimulus'] == {**report['stimulus'], 'seed': 17, 'bulk_vectors': VECTORS}
    again = _gate(good_design, out)  # never overwrites a bundle
    assert again.returncode == 1 and 'already exists' in again.stderr


def _flip_one_adder(path: Path) -> str:
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
    (no_spec / designs.SPEC_FILE).unlink()
    result = release.release(no_spec, tmp_path / 'b1')
    assert not result.released and 'spec.json' in result.reasons[0] and not (tmp_path / 'b1').exists()
    renamed = tmp_path / 'renamed'
    shutil.copytree(good_design, renamed)
    spec = Spec.load(renamed)
    spec.with_(name='other').save(renamed / designs.SPEC_FILE)
    result = release.release(renamed, tmp_path / 'b2', n_vectors=1000, per_cycle=0, simulators=('icarus',))
    assert not result.released and any('is not the spec name' in r for r in result.reasons)
    assert not (tmp_path / 'b2').exists()
