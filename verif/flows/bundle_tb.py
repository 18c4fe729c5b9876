"""The ``tb/`` directory of a release bundle: a standalone cocotb check anybody can re-run.

Why: a bundle is handed to people without the compiler or this harness. ``tb/`` carries the
stimulus and the oracle's expected outputs as files (hex bus words, no code that needs the
compiler), a cocotb testbench that reads them, and a ``test_<name>.py`` that runs it through
cocotb-test on Icarus and Verilator after checking every file against ``manifest.json``
(templates in ``bundle_files/``). ``pytest --junitxml=junit.xml`` in the bundle runs it.

The vectors are the ones the gate's per-cycle path checks: a spec design's first stimulus
rows with the golden model's outputs (rows with an unrepresentable output left out), a converted
model's stored vectors with Keras's outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..hdl.design import buses
from ..hdl.files import write_hex
from . import regress
from .model_dir import load_reference

__all__ = ['TB_DIR', 'bundle_vectors', 'write_tb']

TB_DIR = 'tb'
TEMPLATES = Path(__file__).with_name('bundle_files')


def bundle_vectors(design_dir: Path, spec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(input rows, expected rows), at most ``n``: from the golden model for a spec design
    (``spec`` given), from ``reference.npz`` (Keras) for a converted model."""
    if spec is not None:
        prep = regress.prepare(spec, design_dir, build=False)
        known = np.array([all(e is not None for e in row) for row in prep.expected], dtype=bool)
        return prep.rows[known][:n], prep.expected[known][:n]
    ref = load_reference(design_dir)
    return np.asarray(ref['inputs'])[:n], np.asarray(ref['expected'])[:n]


def write_tb(bundle: Path, meta: dict, rows, expected) -> list[str]:
    """Write ``tb/`` and ``pytest.ini`` into ``bundle``; return their names relative to it."""
    if len(rows) != len(expected) or len(rows) == 0:
        raise ValueError(f'bundle testbench: {len(rows)} input rows and {len(expected)} expected rows')
    in_bus, out_bus = buses(meta)
    tb = Path(bundle) / TB_DIR
    tb.mkdir()
    write_hex(tb / 'stimulus.hex', in_bus.pack(rows), in_bus.hex_digits)
    write_hex(tb / 'expected.hex', out_bus.pack(expected), out_bus.hex_digits)
    copies = {'bundle_tb.py': f'{TB_DIR}/bundle_tb.py', 'test_bundle.py': f'{TB_DIR}/test_{meta["top"]}.py',
              'README.md': f'{TB_DIR}/README.md', 'pytest.ini': 'pytest.ini'}
    for src, dst in copies.items():
        shutil.copyfile(TEMPLATES / src, Path(bundle) / dst)
    return sorted([f'{TB_DIR}/stimulus.hex', f'{TB_DIR}/expected.hex', *copies.values()])
