"""The models bundled with the package (``da4ml_core/examples/<name>``: ``model.keras`` + ``data.npz``)."""

from __future__ import annotations

import contextlib
import importlib.resources
from pathlib import Path

__all__ = ['EXAMPLE', 'example_files']

EXAMPLE = 'jet_tagger'


@contextlib.contextmanager
def example_files(name: str = EXAMPLE):
    """(model path, data path) of a bundled example, as real files (also from a zipped wheel)."""
    root = importlib.resources.files('da4ml_core') / 'examples' / name
    with importlib.resources.as_file(root / 'model.keras') as model, importlib.resources.as_file(root / 'data.npz') as data:
        yield Path(model), Path(data)
