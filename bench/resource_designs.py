"""The designs of the resource benchmarks: isolated op kinds, CMVMs, the test models, the jet tagger.

Shared by ``bench/resources.py`` (estimate vs yosys) and ``bench/resources_vs_da4ml.py`` (ours
vs da4ml 0.6.0, both synthesized). Every design is a :class:`Design` holding a DAIS program;
models also keep the Keras model so a peer can convert the same one. Seeds are fixed.

Isolated op kinds: 16 parallel copies of one op on independent inputs, at several input
widths, so the whole design's synthesized LUTs are that op kind's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_COPIES = 16
WIDTHS = (4, 8, 12, 16)


@dataclass
class Design:
    name: str
    kind: str  # the op kind it isolates, 'cmvm', or 'model'
    program: object
    model: object = None  # the Keras model of a converted design
    input_kif: object = None  # what our conversion was given (None or 'quantizer')


def _traced(name: str, kind: str, fn, n_in: int, k: int, i: int, f: int) -> Design:
    from da4ml_core.trace import FixedArray, trace

    x = FixedArray.input((n_in,), k, i, f)
    return Design(name, kind, trace(x, fn(x)))


def op_designs() -> list[Design]:
    """Each op kind alone, across input widths (w = k + i + f, signed, f = 2)."""
    from da4ml_core.trace import lut, relu

    rng = np.random.default_rng(7)
    n = N_COPIES
    out = []
    for w in WIDTHS:
        i = w - 3
        out.append(_traced(f'add_w{w}', 'adders', lambda x: x[:n] + x[n:], 2 * n, 1, i, 2))
        out.append(_traced(f'add_shift_w{w}', 'adders', lambda x: x[:n] + x[n:] * 8, 2 * n, 1, i, 2))
        out.append(_traced(f'sub_unsigned_w{w}', 'adders', lambda x: x[:n] - x[n:] * 2, 2 * n, 0, i + 1, 2))
        consts = rng.integers(-(2 ** (w - 1)), 2 ** (w - 1), n) / 4.0
        out.append(_traced(f'const_add_w{w}', 'const_adders', lambda x, c=consts: x + c, n, 1, i, 2))
        small = rng.integers(1, 8, n) * 2.0 ** rng.integers(-2, w - 4, n)
        out.append(_traced(f'const_add_sparse_w{w}', 'const_adders', lambda x, c=small: x + c, n, 1, i, 2))
        out.append(_traced(f'relu_w{w}', 'relus', lambda x: relu(x), n, 1, i, 2))
        out.append(_traced(f'mux_w{w}', 'muxes', lambda x: np.where(x[:n] < 0, x[n:2 * n], x[2 * n:]), 3 * n, 1, i, 2))
        out.append(_traced(f'neg_w{w}', 'negations', lambda x: -x, n, 1, i, 2))
    for w in (4, 6, 8, 10):  # a table of 2**w entries per copy
        out.append(_traced(f'lookup_w{w}', 'tables', lambda x: lut(x, np.tanh, 1, 0, 6), n, 1, w - 3, 2))
    return out


def quantize_designs() -> list[Design]:
    """Rounding and saturating quantizers: what they lower to (constant adders, muxes)."""
    from da4ml_core.trace import quantize

    out = []
    for w in (8, 12, 16):
        i = w - 3
        for rnd, ovf in (('RND', 'WRAP'), ('TRN', 'SAT'), ('RND', 'SAT')):
            out.append(_traced(f'quant_{rnd}_{ovf}_w{w}', 'quantize', lambda x, r=rnd, o=ovf: quantize(
                x, 1, i - 3, 0, round_mode=r, overflow_mode=o), N_COPIES, 1, i, 2))
    return out


def cmvm_designs() -> list[Design]:
    """Constant matrix-vector products of several shapes, input widths and weight widths."""
    from da4ml_core.cmvm import solve

    rng = np.random.default_rng(3)
    out = []
    for n_in, n_out, w_in, w_w in ((4, 4, 8, 8), (8, 8, 8, 8), (8, 8, 4, 4), (16, 16, 8, 4), (16, 8, 6, 6),
                                   (12, 12, 12, 8), (16, 16, 4, 8), (24, 8, 8, 3)):
        W = rng.integers(-(2 ** (w_w - 1)), 2 ** (w_w - 1), (n_in, n_out)).astype(float)
        W[rng.random(W.shape) < 0.3] = 0  # HGQ-like sparsity
        out.append(Design(f'cmvm_{n_in}x{n_out}_i{w_in}_w{w_w}', 'cmvm', solve(W, input_kifs=(1, w_in - 1, 0))))
    return out


def _test_models_module():
    """tests/convert/models.py, loaded under the name the tests use."""
    name = 'hgq_test_models'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / 'tests' / 'convert' / 'models.py')
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _convert(model):
    from da4ml_core.convert import convert_model
    from da4ml_core.convert.errors import InputPrecisionError

    try:
        return convert_model(model, None, on_inexact='ignore').program, None
    except InputPrecisionError:  # a saturating first quantizer: ports at its precision
        return convert_model(model, 'quantizer', on_inexact='ignore').program, 'quantizer'


def model_designs(names=None) -> list[Design]:
    """The converted test models (trained once, cached like the tests do) and the jet tagger."""
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    os.environ.setdefault('JAX_PLATFORMS', 'cpu')
    from da4ml_core.convert import load_model
    from da4ml_core.convert.examples import example_files

    models = _test_models_module()
    cache = Path(os.environ.get('DA4ML_CACHE', Path.home() / '.cache' / 'da4ml_core')) / 'hgq_models'
    out = []
    for name in names if names is not None else [*models.BUILDERS, 'jet_tagger']:
        if name == 'jet_tagger':
            with example_files() as (path, _):
                model = load_model(path)
        else:
            model = models.build(name, cache_dir=cache).model
        prog, kif = _convert(model)
        out.append(Design(name, 'model', prog, model, kif))
    return out
