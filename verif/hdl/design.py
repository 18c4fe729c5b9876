"""What a simulation needs to know of a design, and how to read it off an emitted directory.

Why: every testbench speaks one convention (``inp`` / ``out`` buses, fields LSB-first, an
optional ``clk`` and a pipeline latency). An emitted directory says everything about its ports
in ``metadata.json``, so the harness needs no knowledge of the emitter's internals to build a
:class:`Design` from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .bus import Bus, Field

__all__ = ['METADATA', 'Design', 'MetadataError', 'buses', 'emitted_design', 'load_metadata']

METADATA = 'metadata.json'
REQUIRED_KEYS = ('top', 'sources', 'inputs', 'outputs', 'latency_cycles', 'clocked', 'n_in', 'n_out')


class MetadataError(ValueError):
    """``metadata.json`` is missing, truncated or lacks what a testbench needs."""


@dataclass(frozen=True)
class Design:
    """A flat-bus top module ``name`` in ``sources`` (compile order, top last), ready to simulate."""

    name: str
    sources: tuple[Path, ...]
    in_bus: Bus
    out_bus: Bus
    latency: int = 0
    clocked: bool = False


def load_metadata(outdir: Path | str) -> dict:
    """``outdir/metadata.json``; a MetadataError naming the file if it cannot describe the design."""
    path = Path(outdir) / METADATA
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise MetadataError(f'{path}: not a readable {METADATA} ({reason}); write the design again') from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise MetadataError(f'{path} has no {", ".join(missing)}; write the design again')
    return meta


def buses(meta: dict) -> tuple[Bus, Bus]:
    """The ``inp`` and ``out`` buses, one field per element (a 1-bit pad if there is none)."""
    ins = [Field(e['width'], e['signed']) for e in meta['inputs']] or [Field(1, False)]
    outs = [Field(e['width'], e['signed']) for e in meta['outputs']] or [Field(1, False)]
    return Bus(tuple(ins)), Bus(tuple(outs))


def emitted_design(outdir: Path | str, meta: dict | None = None) -> Design:
    """The emitted design in ``outdir`` (its metadata read unless given)."""
    outdir = Path(outdir).resolve()
    meta = load_metadata(outdir) if meta is None else meta
    in_bus, out_bus = buses(meta)
    sources = tuple(outdir / s for s in meta['sources'])
    return Design(meta['top'], sources, in_bus, out_bus, int(meta['latency_cycles']), bool(meta['clocked']))
