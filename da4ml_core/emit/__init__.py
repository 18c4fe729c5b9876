"""HDL back ends: a validated DAIS program to a flat-bus Verilog or VHDL design, metadata and project scripts.

``write_verilog(prog, outdir)`` writes, into ``outdir``: ``<name>.v`` (the top module), the
rtl_templates primitives it instantiates, ``metadata.json`` (ports, latency, cost, resources)
and Vivado / Quartus scripts. ``write_vhdl`` writes the same design as VHDL-2008
(``<name>.vhd`` and the ``.vhd`` primitives; ``metadata.json`` equal but for its sources and
``"language": "vhdl"``). One design, in one language, per directory. Ports: ``inp`` and
``out`` (``\\out\\`` in VHDL, where ``out`` is reserved) are flat buses, element 0 at the LSB; a
zero-width element (output index -1, unread input) is a 1-bit pad, 0 on outputs and ignored
on inputs (see layout.py); pipelined designs add ``clk`` (II = 1, outputs registered, no reset).
``interface='valid'`` or ``'axis'`` writes the core as ``<name>_core.v`` (``.vhd``) with a
clock enable and a handshake wrapper as the top ``<name>.v`` (``.vhd``; interface.py,
interface_vhdl.py); ``'bare'``, the default, is the flat-bus module alone.
"""

from __future__ import annotations

from pathlib import Path

import rtl_templates

from ..ir import Program
from . import verilog, vhdl
from .args import RESERVED_NAMES, check_args
from .interface import INTERFACES, check_interface, core_name, wrapper
from .layout import Element, Layout, layout
from .metadata import dumps, metadata
from .pipeline import Schedule, nodes_of, schedule
from .project import write_project

__all__ = ['INTERFACES', 'METADATA', 'RESERVED_NAMES', 'Element', 'Layout', 'Schedule', 'plan', 'write_verilog',
           'write_vhdl']

METADATA = 'metadata.json'
_LANGUAGES = {'verilog': (verilog.render, '.v'), 'vhdl': (vhdl.render, '.vhd')}


def plan(prog: Program, latency_cutoff: float | None = None, retime: bool = True) -> tuple[Layout, Schedule]:
    """Port layout and pipeline schedule of a validated program (what the writers render)."""
    lay = layout(prog)
    nodes, reads = nodes_of(prog, lay)
    return lay, schedule(nodes, reads, latency_cutoff, retime=retime)


def _write(language: str, prog: Program, outdir, name: str, latency_cutoff: float | None,
           clock_period_ns: float, interface: str = 'bare') -> list[Path]:
    check_args(prog, outdir, name, latency_cutoff, clock_period_ns, language)
    check_interface(interface, name, language)
    prog.validate()
    render, suffix = _LANGUAGES[language]
    lay, sched = plan(prog, latency_cutoff)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    top = outdir / f'{name}{suffix}'
    if interface == 'bare':
        text, primitives = render(prog, lay, sched, name)
        top.write_text(text)
        paths, tops = [top], [top.name]
    else:
        core_text, primitives = render(prog, lay, sched, core_name(name), clock_enable=True)
        core = outdir / f'{core_name(name)}{suffix}'
        core.write_text(core_text)
        core_latency = sched.out_stage if sched.registers() else 0
        wrap = wrapper(interface, name, lay.in_width, lay.out_width, core_latency, sched.clocked, language)
        top.write_text(wrap.text)
        paths, tops = [top, core], [core.name, top.name]
    for prim in primitives:
        dst = outdir / f'{prim}{suffix}'
        dst.write_bytes(rtl_templates.template_path(f'{prim}{suffix}').read_bytes())
        paths.append(dst)
    sources = [f'{p}{suffix}' for p in primitives] + tops
    meta = outdir / METADATA
    doc = metadata(prog, lay, sched, name, sources, latency_cutoff, clock_period_ns,
                   None if language == 'verilog' else language)
    if interface != 'bare':
        doc.update(clocked=True, latency_cycles=wrap.latency,
                   interface=wrap.describe(interface, core_name(name), core_latency))
    meta.write_text(dumps(doc))
    paths.append(meta)
    ports = ('inp', 'out') if interface != 'axis' else ('s_axis_*', 'm_axis_*')
    paths += write_project(outdir, name, sources, doc['clocked'], clock_period_ns, language=language,
                           data_ports=ports)
    return paths


def write_verilog(prog: Program, outdir, name: str = 'top', latency_cutoff: float | None = None, *,
                  clock_period_ns: float = 5.0, interface: str = 'bare') -> list[Path]:
    """Write the design of ``prog`` into ``outdir``; return every written path, top module first.

    ``latency_cutoff``: adder levels per pipeline stage; None gives a combinational module.
    ``clock_period_ns`` goes into the XDC / SDC constraints only. ``interface``: 'bare' (flat
    ``inp`` / ``out`` buses), 'valid' or 'axis' (a handshake wrapper, see interface.py; its
    ports, reset, latency and ``tdata`` layout are in metadata.json under ``interface``).
    Raises TypeError / ValueError naming the bad argument, and ``ProgramError`` (a ValueError)
    for an invalid program.
    """
    return _write('verilog', prog, outdir, name, latency_cutoff, clock_period_ns, interface)


def write_vhdl(prog: Program, outdir, name: str = 'top', latency_cutoff: float | None = None, *,
               clock_period_ns: float = 5.0, interface: str = 'bare') -> list[Path]:
    """The VHDL-2008 twin of :func:`write_verilog` (same arguments, errors and design; the
    name must also be a VHDL identifier); return every written path, top entity first. The
    wrappers of ``interface='valid'`` / ``'axis'`` have the same ports (``\\out\\`` for ``out``)."""
    return _write('vhdl', prog, outdir, name, latency_cutoff, clock_period_ns, interface)
