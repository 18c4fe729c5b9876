"""Walk a Keras 3 model (functional, sequential, nested) in topological order and replay every
layer on traced fixed-point arrays; the result is one DAIS Program, bit-exact with
``model.predict`` on float32 inputs.

Inputs. A hardware port carries a fixed-point word, so each model input needs a precision:

- ``input_kif=None`` (default): inferred from the first quantizer each input element meets, when
  that quantizer wraps (WRAP) and rounds with TRN or RND: the port then holds exactly what the
  quantizer keeps (one extra fractional bit for RND), and the program equals
  ``model.predict(x)`` for every float32 ``x``, out-of-range values included. A first quantizer
  that saturates (SAT, SAT_SYM) or rounds otherwise acts on bits the port would have to carry
  first, so the converter raises :class:`InputPrecisionError` instead of guessing a port width.
- ``input_kif='quantizer'``: every input element's port has exactly its first quantizer's
  precision: inputs are expected already quantized (in range, on the grid), no rounding or
  overflow logic is built for them.
- ``input_kif=(k, i, f)`` (scalars or arrays broadcast to the input shape), or one such triple
  per model input: the port precision; the program reads ``x`` at that precision (truncate,
  wrap) and the model's quantizers act on it, so it equals ``model.predict`` on every ``x``
  representable at the port.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..ir import Program
from ..trace import FixedArray, cmvm_options, trace
from .errors import ConversionError, InputPrecisionError, UnsupportedLayerError
from .exactness import Issue
from .keras_env import import_keras, load_model
from .quantizers import unknown_mask
from . import layers_linear, layers_misc, layers_pool, layers_products  # noqa: F401 - they register their handlers
from .registry import Ctx, handler_for, supported_layers

__all__ = ['Conversion', 'convert_model', 'trace_model']

_INEXACT = ('warn', 'error', 'ignore')


@dataclass
class Conversion:
    """A converted model: the program and what a caller needs to feed and read it."""

    program: Program
    name: str
    input_names: list[str]
    input_shapes: list[tuple[int, ...]]
    output_names: list[str]
    output_shapes: list[tuple[int, ...]]
    input_mode: str  # 'inferred', 'quantizer' or 'given'
    layers: list[tuple[str, str]] = field(default_factory=list)  # (name, class) in replay order
    float32_issues: list[Issue] = field(default_factory=list)
    max_accumulator_bits: int = 0
    seconds: float = 0.0

    def flatten_inputs(self, xs) -> np.ndarray:
        """Keras-style inputs (one array, or a list with one array per input) -> (n, n_in)."""
        xs = list(xs) if isinstance(xs, (list, tuple)) else [xs]
        if len(xs) != len(self.input_shapes):
            raise ValueError(f'the model has {len(self.input_shapes)} inputs, got {len(xs)} arrays')
        cols = []
        for x, shape in zip(xs, self.input_shapes):
            x = np.asarray(x)
            if x.shape[1:] != shape:
                raise ValueError(f'expected inputs of shape (n, {", ".join(map(str, shape))}), got {x.shape}')
            cols.append(x.reshape(len(x), -1))
        return np.concatenate(cols, axis=1).astype(np.float64)

    def split_inputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Program inputs (n, n_in) -> one array per model input, Keras shapes."""
        return self._split(X, self.input_shapes)

    def split_outputs(self, y: np.ndarray) -> list[np.ndarray]:
        """Program outputs (n, n_out) -> one array per model output, Keras shapes."""
        return self._split(y, self.output_shapes)

    @staticmethod
    def _split(y: np.ndarray, shapes) -> list[np.ndarray]:
        out, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape, dtype=np.int64))
            out.append(y[:, start:start + size].reshape((len(y), *shape)))
            start += size
        return out

    def predict(self, xs) -> np.ndarray | list[np.ndarray]:
        """The program on Keras-style inputs, shaped like ``model.predict``'s result (float64)."""
        ys = self.split_outputs(self.program(self.flatten_inputs(xs)))
        return ys[0] if len(ys) == 1 else ys


# ------------------------------------------------------------------ graph


def _graph(model):
    """The functional graph of ``model`` (a Sequential model's inner functional one)."""
    keras = import_keras()
    if isinstance(model, keras.Sequential):
        inner = getattr(model, '_functional', None)
        if inner is None:
            raise ConversionError(f'the Sequential model {model.name} is not built (give it an Input)')
        return inner
    if not hasattr(model, '_nodes_by_depth'):
        raise ConversionError(f'{model.name} ({type(model).__name__}) is not a functional or sequential Keras model')
    return model


def _nodes(model):
    """Non-input nodes, operands before users."""
    g = _graph(model)
    for depth in sorted(g._nodes_by_depth, reverse=True):
        for node in g._nodes_by_depth[depth]:
            if node.operation is not None and not node.is_input:
                yield node


def _is_model(op) -> bool:
    keras = import_keras()
    return isinstance(op, keras.Model)


def _unsupported(model, prefix: str = '') -> list[tuple[str, str, str]]:
    bad = []
    for node in _nodes(model):
        op = node.operation
        name, cls = prefix + op.name, type(op).__name__
        if _is_model(op):
            bad += _unsupported(op, prefix=name + '/')
            continue
        h = handler_for(op)
        if h is None:
            bad.append((name, cls, 'no fixed-point replay for this class'))
            continue
        reason = h.check(op) if h.check is not None else None
        if reason:
            bad.append((name, cls, reason))
    return bad


def _shape_of(t, what: str) -> tuple[int, ...]:
    shape = tuple(t.shape[1:])
    if any(d is None for d in shape):
        raise ConversionError(f'{what} has a dynamic shape {tuple(t.shape)}: every axis but the batch must be fixed')
    return tuple(int(d) for d in shape)


def _run(model, inputs: list[FixedArray], ctx: Ctx, layers: list, prefix: str = '') -> list[FixedArray]:
    g = _graph(model)
    values = {id(t): x for t, x in zip(g.inputs, inputs)}
    for node in _nodes(model):
        if any(id(t) not in values for t in node.input_tensors):
            continue
        op = node.operation
        name, cls = prefix + op.name, type(op).__name__
        args, _ = node.arguments.fill_in(values)
        xs = [a for a in _flat(args) if isinstance(a, FixedArray)]
        ctx.layer = name
        try:
            if _is_model(op):
                outs = _run(op, xs, ctx, layers, prefix=name + '/')
            else:
                outs = handler_for(op).fn(ctx, op, xs)
                layers.append((name, cls))
        except (InputPrecisionError, UnsupportedLayerError):
            raise
        except (ValueError, TypeError, ArithmeticError, AttributeError) as err:
            if any(np.any(unknown_mask(x)) for x in xs):
                raise InputPrecisionError(
                    f'{name} ({cls}) computes on a model input that no quantizer has read yet: its precision '
                    f'is unknown; give input_kif=(k, i, f) (CLI: --input-kif K I F)') from err
            if isinstance(err, AttributeError):
                raise
            msg = str(err)
            if isinstance(err, ConversionError) and msg.startswith(name):
                raise
            raise ConversionError(f'{name} ({cls}): {msg}') from err
        outs = outs if isinstance(outs, list) else [outs]
        if len(outs) != len(node.outputs):
            raise ConversionError(f'{name} ({cls}): {len(outs)} outputs replayed, the layer has {len(node.outputs)}')
        for t, y in zip(node.outputs, outs):
            expect = _shape_of(t, f'the output of {name}')
            if y.shape[1:] != expect:
                raise ConversionError(f'{name} ({cls}): replayed shape {y.shape[1:]}, Keras says {expect}')
            values[id(t)] = y
    missing = [t for t in g.outputs if id(t) not in values]
    if missing:
        raise ConversionError(f'{model.name}: an output is not connected to the inputs')
    return [values[id(t)] for t in g.outputs]


def _flat(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _flat(obj=o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _flat(o)
    else:
        yield obj


# ------------------------------------------------------------------ inputs


def _input_kifs(input_kif, n_inputs: int):
    """One of None / 'quantizer' / (k, i, f) per model input."""
    if input_kif is None or isinstance(input_kif, str):
        if isinstance(input_kif, str) and input_kif != 'quantizer':
            raise ValueError(f"input_kif must be None, 'quantizer', (k, i, f) or a list of them, got {input_kif!r}")
        return [input_kif] * n_inputs
    seq = list(input_kif)
    per_input = n_inputs > 1 and len(seq) == n_inputs and all(
        isinstance(s, (list, tuple)) and len(s) == 3 for s in seq)
    if per_input:
        return seq
    if len(seq) != 3:
        raise ValueError(f'input_kif must be (k, i, f), got {input_kif!r}')
    return [tuple(seq)] * n_inputs


def _make_input(shape, kif) -> FixedArray:
    if kif is None or isinstance(kif, str):
        return FixedArray.input(shape)
    k, i, f = kif
    return FixedArray.input(shape, k, i, f)


# ------------------------------------------------------------------ entry points


def convert_model(model, input_kif=None, *, on_inexact: str = 'warn', **cmvm_opts) -> Conversion:
    """Convert a Keras 3 / HGQ2 model (or a path to a ``.keras`` file) into a :class:`Conversion`.

    ``input_kif``: see the module docstring. ``on_inexact``: 'warn' (default; a
    :class:`Float32Warning`), 'error' (:class:`Float32ExactnessError`) or 'ignore' when some
    Keras float32 intermediate is not guaranteed exact (then ``model.predict`` may differ from
    the exact program). Other keyword arguments go to the CMVM optimizer (e.g. ``hard_dc``,
    ``method``). Raises :class:`UnsupportedLayerError` listing every unsupported layer before
    converting anything, :class:`InputPrecisionError`, or :class:`ConversionError`.
    """
    if on_inexact not in _INEXACT:
        raise ValueError(f'on_inexact must be one of {_INEXACT}, got {on_inexact!r}')
    t0 = time.perf_counter()
    import_keras()
    if not hasattr(model, 'layers'):
        model = load_model(model)
    bad = _unsupported(model)
    if bad:
        raise UnsupportedLayerError(bad, supported_layers())
    g = _graph(model)
    in_shapes = [_shape_of(t, f'input {t.name}') for t in g.inputs]
    out_shapes = [_shape_of(t, f'output {t.name}') for t in g.outputs]
    kifs = _input_kifs(input_kif, len(in_shapes))
    ports = []
    for shape, kif, t in zip(in_shapes, kifs, g.inputs):
        try:
            ports.append(_make_input(shape, kif))
        except ValueError as err:
            raise InputPrecisionError(f'input {t.name}: input_kif {kif!r}: {err}') from err
    mode = 'given' if kifs[0] not in (None, 'quantizer') else ('quantizer' if kifs[0] else 'inferred')
    ctx = Ctx(input_mode='quantizer' if mode == 'quantizer' else None)
    layers: list = []
    with cmvm_options(**cmvm_opts):
        outs = _run(model, [p.reshape((1, *p.shape)) for p in ports], ctx, layers)
        _check_outputs(outs, g)
        try:
            prog = trace(ports, outs)
        except ValueError as err:
            raise ConversionError(f'{model.name}: {err}') from err
    ctx.float32.finish(on_inexact)
    return Conversion(prog, model.name, [t.name for t in g.inputs], in_shapes, [t.name for t in g.outputs],
                      out_shapes, mode, layers, list(ctx.float32.issues), ctx.float32.max_accumulator_bits,
                      time.perf_counter() - t0)


def _check_outputs(outs, g):
    for y, t in zip(outs, g.outputs):
        if np.any(unknown_mask(y)):
            raise InputPrecisionError(
                f'output {t.name}: a model input reaches it without passing a quantizer; give input_kif=(k, i, f)')
        if any(v.lazy is not None for v in y._vars.flat):
            raise ConversionError(
                f'output {t.name} is a float32 function value (a LUT layer without output quantizer, or an '
                f'average pool whose window is not a power of two) that no quantizer rounds: add one')


def trace_model(model, input_kif=None, *, on_inexact: str = 'warn', **cmvm_opts) -> Program:
    """The DAIS Program of a Keras 3 / HGQ2 model, bit-exact with ``model.predict`` (see
    :func:`convert_model`). Program inputs are the model inputs flattened (C order) and
    concatenated; outputs likewise."""
    return convert_model(model, input_kif, on_inexact=on_inexact, **cmvm_opts).program
