"""Hand-written Verilog (``.v``) and VHDL-2008 (``.vhd``) primitives the emitters instantiate;
shipped inside the wheel. Each primitive has the same parameters and semantics in both.

Located through ``importlib.resources`` so the same call works from a source checkout, an
editable install and an installed wheel.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

PRIMITIVES = ('shift_add', 'negate', 'quantize', 'mux', 'mul')


def template_path(name: str) -> Path:
    """Filesystem path of the primitive ``name`` (``'shift_add'`` or ``'shift_add.v'``; the VHDL
    one is ``'shift_add.vhd'``)."""
    filename = name if name.endswith(('.v', '.sv', '.vhd')) else f'{name}.v'
    resource = files(__name__) / filename
    if not resource.is_file():
        raise FileNotFoundError(f'no RTL template {filename!r} in {__name__}; known: {", ".join(PRIMITIVES)}')
    # wheels installed as directories (the only kind pip makes) give a real path already
    with as_file(resource) as path:
        return Path(path)


def all_templates(suffix: str = '.v') -> list[Path]:
    """Paths of every primitive in one language (``'.v'`` or ``'.vhd'``), in a fixed order."""
    return [template_path(name + suffix) for name in PRIMITIVES]
