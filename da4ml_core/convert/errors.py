"""What the Keras converter raises and warns.

Every error is a ``ConversionError`` (a ``ValueError``) whose message is one line naming the
layer (and its class) at fault; nothing is returned half-converted.
"""

from __future__ import annotations

__all__ = [
    'ConversionError',
    'Float32ExactnessError',
    'Float32Warning',
    'InputPrecisionError',
    'ModelFileError',
    'UnsupportedLayerError',
]


class ConversionError(ValueError):
    """The model cannot be converted as it is (bad configuration, trace failure)."""


class ModelFileError(ConversionError):
    """A model file that Keras cannot load: not a ``.keras`` zip archive, or an archive without a
    model in it. The message starts with the path."""


class UnsupportedLayerError(ConversionError):
    """A layer (or one of its settings) has no exact fixed-point replay.

    ``layers``: list of ``(name, class name, reason)`` for every offending layer of the model.
    """

    def __init__(self, layers: list[tuple[str, str, str]], supported: list[str]):
        self.layers = list(layers)
        self.supported = list(supported)
        what = '; '.join(f'{name} ({cls}): {reason}' for name, cls, reason in self.layers)
        super().__init__(f'unsupported: {what}. Supported layers: {", ".join(self.supported)}')


class InputPrecisionError(ConversionError):
    """A model input needs a port precision the converter cannot infer (pass ``input_kif``)."""


class Float32Warning(UserWarning):
    """Keras computes some value in float32 inexactly: ``model.predict`` may then differ from
    the (exact) converted program. The program is still the exact fixed-point function."""


class Float32ExactnessError(ConversionError):
    """As :class:`Float32Warning`, raised instead with ``on_inexact='error'``."""
