"""HGQ2 / Keras 3 model conversion: a trained quantized model -> one bit-exact DAIS Program.

    from da4ml_core.convert import trace_model
    prog = trace_model(model)                   # model: keras.Model or a path to a .keras file
    assert np.array_equal(prog(x.reshape(len(x), -1)), model.predict(x))   # x float32

Runs Keras on the JAX backend (``KERAS_BACKEND=jax``; set before Keras is first imported).
The exact inference semantics replayed are written up in docs/hgq2_semantics.md.
"""

from .errors import (
    ConversionError,
    Float32ExactnessError,
    Float32Warning,
    InputPrecisionError,
    ModelFileError,
    UnsupportedLayerError,
)
from .keras_env import import_keras, load_model
from .model import Conversion, convert_model, trace_model
from .registry import supported_layers

__all__ = [
    'Conversion',
    'ConversionError',
    'Float32ExactnessError',
    'Float32Warning',
    'InputPrecisionError',
    'ModelFileError',
    'UnsupportedLayerError',
    'convert_model',
    'import_keras',
    'load_model',
    'supported_layers',
    'trace_model',
]
