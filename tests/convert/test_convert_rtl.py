"""Converted HGQ2 models as Verilog: simulated in Icarus and Verilator, equal to ``model.predict``.

The trained dense and convolutional test models (tests/convert/models.py) are converted, written
combinational and pipelined, and driven on the bulk path with their probe inputs (in range,
out of range, rounding ties). The output integers must equal Keras's float32 outputs scaled to
the output grid, and the interpreter's. Keras's answer is the oracle here: no compiler code
computes the expected values.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
if '--xla_cpu_multi_thread_eigen' not in os.environ.get('XLA_FLAGS', ''):
    os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' --xla_cpu_multi_thread_eigen=false').strip()

import hgq  # noqa: F401  (the keras extra is a test requirement: missing it is an error, not a skip)

from da4ml_core.convert import convert_model
from da4ml_core.emit import write_verilog
from da4ml_core.fixed import quantize
from verif import sim
from verif.flows import judge
from verif.flows.ports import bus_to_floats, floats_to_bus, outputs_to_bus
from verif.flows.program_oracle import expected_interp
from verif.hdl.design import emitted_design, load_metadata

pytestmark = [pytest.mark.rtl, pytest.mark.slow]

N_VECTORS = 2000
_MODULE = 'hgq_test_models'


def _models():
    if _MODULE not in sys.modules:
        path = Path(__file__).resolve().parents[1] / 'convert' / 'models.py'
        spec = importlib.util.spec_from_file_location(_MODULE, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[_MODULE] = mod
        spec.loader.exec_module(mod)
    return sys.modules[_MODULE]


_CASES: dict = {}


def _case(name: str):
    if name not in _CASES:
        root = os.environ.get('DA4ML_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'da4ml_core')
        _CASES[name] = _models().build(name, cache_dir=Path(root) / 'hgq_models')
    return _CASES[name]


def _inputs(case, n: int, seed: int) -> np.ndarray:
    """The case's probes, calibration rows scaled up to 16x, and uniform noise over 8x the range."""
    models = _models()
    rng = np.random.default_rng(seed)
    shape = case.x.shape[1:]
    k, i, f = models.kif_of(case.in_quantizer, shape)
    hi = np.exp2(np.where(k + i + f > 0, i, 0).astype(np.float64))
    m = (n - len(case.x)) // 2
    rows = case.x_calib[rng.integers(0, len(case.x_calib), m)] * rng.choice([1, 2, 4, 16], size=(m,) + (1,) * len(shape))
    noise = (rng.uniform(size=(n - len(case.x) - m,) + shape) * 2 - 1) * 8 * hi
    return np.concatenate([case.x, rows, noise]).astype(np.float32)


CASES = [('dense', None), ('dense', 3), ('conv2d_pool', 4), ('conv1d', 2), ('lut', 2)]


@pytest.mark.parametrize(('name', 'cutoff'), CASES, ids=[f'{n}-{c}' for n, c in CASES])
def test_converted_model_in_simulator(simulator, tmp_path, name, cutoff):
    case = _case(name)
    x = _inputs(case, N_VECTORS, seed=len(name))
    if name == 'conv1d':  # saturating input quantizer: a port 3 integer and 2 fractional bits wider
        _, i, f = _models().kif_of(case.in_quantizer, x.shape[1:])
        kif = (1, int(i.max()) + 3, int(f.max()) + 2)
        conv = convert_model(case.model, input_kif=kif, on_inexact='error')
        x = quantize(x.astype(np.float64), *kif, round_mode='TRN', overflow_mode='WRAP').astype(np.float32)
    else:
        conv = convert_model(case.model, on_inexact='error')
    write_verilog(conv.program, tmp_path, name=name, latency_cutoff=cutoff)
    meta = load_metadata(tmp_path)
    X = x.reshape(len(x), -1)
    rows = floats_to_bus(meta, X)
    Xq = bus_to_floats(meta, rows)  # the port values: x itself where the design reads it
    y_keras = case.model.predict(x, verbose=0, batch_size=4096).reshape(len(x), -1)
    y_port = case.model.predict(Xq.reshape(x.shape).astype(np.float32), verbose=0, batch_size=4096).reshape(len(x), -1)
    assert np.array_equal(y_keras, y_port), 'the port does not carry what the model reads of its input'
    expected = outputs_to_bus(meta, y_keras)
    assert np.array_equal(expected_interp(conv.program, meta, Xq), expected)
    design = emitted_design(tmp_path, meta)
    assert design.clocked == (cutoff is not None)
    outcome = sim.replay([design], [rows], simulator, tmp_path / 'run')
    found = judge.compare(outcome.outputs[0], outcome.unknown[0], expected)
    assert found.count == 0, judge.report(f'{name} on {simulator}', meta, rows, outcome.outputs[0],
                                          outcome.unknown[0], expected, found, oracle='Keras')
    assert outcome.n_vectors == len(rows)


def _products_and_softmax_model():
    """Untrained: pairwise QEinsum of particle embeddings, a QDot, and a stable QSoftmax (lookup
    tables and multipliers in the Verilog)."""
    import keras
    from hgq.layers import QDot, QEinsum, QEinsumDense, QSoftmax

    keras.utils.set_random_seed(7)
    inp = keras.Input((4, 3))
    h = QEinsumDense('bnc,cd->bnd', (4, 3), bias_axes='d', activation='relu', name='embed')(inp)
    pairs = QEinsum('bnd,bmd->bnm', name='pairs')([h, h])
    dot = QDot(axes=(1, 1), name='dot')([h, inp])
    soft = QSoftmax(axis=-1, name='soft')(h)
    flat = [keras.layers.Flatten()(t) for t in (pairs, dot, soft)]
    return keras.Model(inp, keras.layers.Concatenate()(flat), name='products')


@pytest.mark.parametrize('cutoff', [None, 2])
def test_products_and_softmax_in_simulator(simulator, tmp_path, cutoff):
    model = _products_and_softmax_model()
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(N_VECTORS, 4, 3)) * 2).astype(np.float32)
    x[: N_VECTORS // 4] *= 8  # far outside the input quantizer's range: WRAP
    conv = convert_model(model, on_inexact='error')
    codes = {op.opcode.name for op in conv.program.ops}
    assert {'MUL', 'LOOKUP'} <= codes
    write_verilog(conv.program, tmp_path, name='products', latency_cutoff=cutoff)
    meta = load_metadata(tmp_path)
    rows = floats_to_bus(meta, x.reshape(len(x), -1))
    Xq = bus_to_floats(meta, rows)
    y_keras = model.predict(x, verbose=0, batch_size=4096).reshape(len(x), -1)
    y_port = model.predict(Xq.reshape(x.shape).astype(np.float32), verbose=0, batch_size=4096).reshape(len(x), -1)
    assert np.array_equal(y_keras, y_port), 'the port does not carry what the model reads of its input'
    expected = outputs_to_bus(meta, y_keras)
    assert len(np.unique(expected, axis=0)) > N_VECTORS // 2  # not a constant design
    outcome = sim.replay([emitted_design(tmp_path, meta)], [rows], simulator, tmp_path / 'run')
    found = judge.compare(outcome.outputs[0], outcome.unknown[0], expected)
    assert found.count == 0, f'products on {simulator}: {found.count} of {len(rows)} vectors differ'
