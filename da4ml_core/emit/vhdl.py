"""The VHDL-2008 text of one program: the same netlist as the Verilog top, spelled as one entity.

The entity has the Verilog top's ports and bus layout: ``clk`` (pipelined designs only),
``inp`` and ``out`` as flat ``std_logic_vector``s, element 0 at the LSB. ``out`` is a VHDL
reserved word, so the output port is the extended identifier ``\\out\\`` (VHDL-93 and later;
instantiate it as ``\\out\\ => ...``). Values are ``std_logic_vector`` signals ``v<i>`` /
``o<j>`` holding the same raw bits as the Verilog wires; arithmetic lives in the primitives
(rtl_templates/*.vhd, ``numeric_std`` only). Constants are VHDL constants, tables are functions
of the architecture, pipeline registers one clocked process per stage (no reset, like the
Verilog). Same program and schedule, same bytes.
"""

from __future__ import annotations

from ..ir import Program
from .layout import Layout
from .netlist import Cell, Netlist, Operand, Rom, netlist
from .pipeline import Schedule
from .verilog import header

__all__ = ['OUT_PORT', 'literal', 'render']

OUT_PORT = '\\out\\'  # the extended identifier: plain `out` is reserved in VHDL


def literal(raw: int, width: int) -> str:
    """A VHDL-2008 sized bit-string literal of the two's-complement pattern of ``raw``."""
    return f'{width}x"{raw & ((1 << width) - 1):x}"'


def _slv(width: int) -> str:
    return f'std_logic_vector({width - 1} downto 0)'


def _operand(o: Operand) -> str:
    if o.zero:
        return '"0"'
    return o.name if o.name is not None else literal(o.raw, o.width)


def _statement(c: Cell) -> list[str]:
    lines = [f'    -- {c.comment}']
    if c.kind == 'input':
        return [*lines, f'    {c.name} <= inp({c.lsb + c.width - 1} downto {c.lsb});']
    if c.kind == 'lookup':
        return [*lines, f'    {c.name} <= {c.rom}({_operand(c.ports[0][1])});']
    generics = ', '.join(f'{k} => {v}' for k, v in c.params)
    ports = ', '.join([*(f'{k} => {_operand(o)}' for k, o in c.ports), f'y => {c.name}'])
    return [*lines, f'    {c.inst}: entity work.{c.kind} generic map ({generics}) port map ({ports});']


def _rom(r: Rom) -> list[str]:
    """A function holding the table entries the key can reach (others: zero, as in Verilog)."""
    body = [
        f'    -- {r.name}: table {r.table}, key raw {r.lo} .. {r.hi}, entry = table[key - ({r.base})]',
        f'    function {r.name}(key : {_slv(r.key_width)}) return std_logic_vector is',
        '    begin',
        '        case key is',
    ]
    for key, value in zip(range(r.lo, r.hi + 1), r.entries):
        body.append(f'            when {literal(key, r.key_width)} => return {literal(value, r.width)};')
    return body + [f'            when others => return {literal(0, r.width)};', '        end case;',
                   f'    end function {r.name};', '']


def _declarations(net: Netlist) -> list[str]:
    decl = [line for r in net.roms for line in _rom(r)]
    for c in net.cells:
        if c.kind == 'const':
            decl += [f'    -- {c.comment}', f'    constant {c.name} : {_slv(c.width)} := {literal(c.raw, c.width)};']
        else:
            decl.append(f'    signal {c.name} : {_slv(c.width)};')
    if net.registers:
        decl.append('    -- pipeline registers')
        decl += [f'    signal {r} : {_slv(w)};' for _, r, _, w in net.registers]
    return decl


def _body(net: Netlist, sched: Schedule, clock_enable: bool = False) -> list[str]:
    body = [line for c in net.cells if c.kind != 'const' for line in _statement(c)]
    if net.registers:
        body += ['', f'    -- pipeline registers: {sched.out_stage} stages, outputs registered']
        edge = "        if rising_edge(clk) and ce = '1' then" if clock_enable else '        if rising_edge(clk) then'
        for t in sorted({r[0] for r in net.registers}):
            body += [f'    stage{t}: process (clk)  -- into stage {t}', '    begin', edge]
            body += [f'            {r} <= {src};' for s, r, src, _ in net.registers if s == t]
            body += ['        end if;', f'    end process stage{t};']
    fields = ['"0"' if v is None else v for v in net.outputs]
    packed = ' & '.join(reversed(fields)) if fields else '"0"'  # element 0 at the LSB: last
    body += ['', f'    {OUT_PORT} <= {packed};']
    if net.unused_inputs:
        spare = ', '.join(f'inp({hi} downto {lo})' for lo, hi in net.unused_inputs)
        body += ['', f'    -- input bits no live op reads (pads, unused precision): {spare}']
    return body


def render(prog: Program, lay: Layout, sched: Schedule, name: str,
           clock_enable: bool = False) -> tuple[str, list[str]]:
    """Entity + architecture text and the sorted primitive names it instantiates
    (``clock_enable``: a ``ce`` port stalling every register, as in verilog.render)."""
    net = netlist(prog, lay, sched)
    ports = ['        clk : in  std_logic;'] if sched.clocked else []
    if clock_enable and net.registers:
        ports.append('        ce : in  std_logic;')
    ports += [f'        inp : in  {_slv(lay.in_width)};', f'        {OUT_PORT} : out {_slv(lay.out_width)}']
    text = '\n'.join([
        *header(prog, sched, name, '--'),
        'library ieee;',
        'use ieee.std_logic_1164.all;',
        '',
        f'entity {name} is',
        '    port (',
        *ports,
        '    );',
        f'end entity {name};',
        '',
        f'architecture rtl of {name} is',
        *_declarations(net),
        'begin',
        *_body(net, sched, clock_enable),
        'end architecture rtl;',
        '',
    ])
    return text, list(net.primitives)
