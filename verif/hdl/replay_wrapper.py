"""The one replay wrapper: designs fed from binary stimulus files, one vector per clock, in Verilog.

Why: 1e5+ vectors are too many for per-cycle Python driving, and every simulation has fixed
costs (Verilator runtime link, cocotb start-up ~0.4-1 s). So one ``replay_tb`` top
instantiates one or many designs side by side on one clock; design ``d`` reads its next input
word from ``stim_<d>.bin`` with ``$fread`` at every clock (words big-endian, whole bytes, as
:meth:`verif.hdl.bus.Bus.pack_bytes` writes them) and writes one output word per vector to
``out_<d>.hex`` (relative to the run directory), so each design is still checked on its own,
with its own latency. A single design is the case of one. Binary words streamed per clock,
not ``$readmemh``: Verilator parsed hex at about the cost of simulating a 3k-op design, and
no memory means no depth, so one build serves any number of vectors. Words are written GROUP
at a time: Verilator spends its time per ``$fwrite`` call, not per byte. The cocotb module
``verif.tb.bulk`` only runs the clock until ``done``. VHDL designs (GHDL) get the same
wrapper written in VHDL-2008 (:func:`vhdl_wrapper_text`), with the same timing, reading hex.

Timing per design: vector k is applied after rising edge k, its output is sampled at edge
``k + L + 1``; so a design whose real latency differs from its metadata yields the wrong
vector's outputs. ``vector_in`` / ``vector_out`` show in a waveform which vector is being
applied / sampled (``+first=`` offsets them for a window).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .design import Design

__all__ = ['OUT_PORT', 'REPLAY_TOP', 'VHDL_REPLAY_TOP', 'replay_sources', 'stimulus_file', 'vhdl_wrapper_text',
           'wrapper_text']

REPLAY_TOP = 'replay_tb'
VHDL_REPLAY_TOP = 'replay_vhdl_tb'
OUT_PORT = '\\out\\'  # emitted VHDL's output port: `out` is reserved, so the extended identifier
GROUP = 16  # output words per $fwrite call: the per-call cost, not the bytes, limits Verilator
WORD = '%h\\n'  # one output word per line, as Verilog source text


def stimulus_file(d: int, vhdl: bool = False) -> str:
    """The name of design ``d``'s stimulus file in a run directory (binary; hex for VHDL)."""
    return f'stim_{d}.hex' if vhdl else f'stim_{d}.bin'


def wrapper_text(designs: list[Design]) -> str:
    """The ``replay_tb(clk, done)`` module for ``designs`` (plain Verilog-2001, warning-free)."""
    decl, inst, init, step, flush = [], [], [], [], []
    for d, des in enumerate(designs):
        ni, no, nb = des.in_bus.width, des.out_bus.width, des.in_bus.n_bytes
        clk = '.clk(clk), ' if des.clocked else ''
        pad = ([f'    // verilator lint_off UNUSEDSIGNAL', f'    reg  [{8 * nb - 1}:0] word{d};  // whole bytes; inp{d} is the low bits',
                f'    // verilator lint_on UNUSEDSIGNAL'] if 8 * nb > ni else [f'    reg  [{8 * nb - 1}:0] word{d};'])
        decl += [*pad, f'    reg  [{ni - 1}:0] inp{d};',
                 f'    wire [{no - 1}:0] out{d};', f'    reg  [{no - 1}:0] ob{d} [0:{GROUP - 2}];',
                 f'    integer n{d}, fi{d}, fd{d}, cnt{d};']
        inst.append(f'    {des.name} u{d} ({clk}.inp(inp{d}), .out(out{d}));')
        init += [f'        inp{d} = {{{ni}{{1\'b0}}}};',
                 f'        word{d} = {{{8 * nb}{{1\'b0}}}};',
                 f'        if (!$value$plusargs("n{d}=%d", n{d}) || n{d} < 1) n{d} = 0;',
                 f'        fi{d} = $fopen("{stimulus_file(d)}", "rb");',
                 f'        fd{d} = $fopen("out_{d}.hex", "w");',
                 f'        cnt{d} = 0;',
                 f'        if (n{d} + {des.latency} > last) last = n{d} + {des.latency};']
        held = ', '.join(f'ob{d}[{g}]' for g in range(GROUP - 1))
        step += [f'            if (cycle > {des.latency} && cycle <= n{d} + {des.latency}) begin',
                 f'                if (cnt{d} == {GROUP - 1}) begin',
                 f'                    $fwrite(fd{d}, "{WORD * GROUP}", {held}, out{d});',
                 f'                    cnt{d} = 0;',
                 '                end else begin',
                 f'                    ob{d}[cnt{d}[{max(GROUP - 2, 1).bit_length() - 1}:0]] = out{d};',
                 f'                    cnt{d} = cnt{d} + 1;',
                 '                end',
                 '            end',
                 f'            if (cycle < n{d}) begin',
                 f'                got = $fread(word{d}, fi{d});',
                 f'                if (got != {nb}) begin  // the file is shorter than +n{d}=',
                 f'                    $display("replay_tb: {stimulus_file(d)} ends before vector %0d", cycle);',
                 '                    $finish;',
                 '                end',
                 f'                inp{d} <= word{d}[{ni - 1}:0];',
                 '            end']
        flush.append(f'                for (k = 0; k < cnt{d}; k = k + 1) $fwrite(fd{d}, "{WORD}", '
                     f'ob{d}[k[{max(GROUP - 2, 1).bit_length() - 1}:0]]);')
    closes = ' '.join(f'if (fi{d} != 0) $fclose(fi{d}); $fclose(fd{d});' for d in range(len(designs)))
    return f"""// generated by verif.hdl.replay_wrapper: {len(designs)} designs replayed from binary files, one vector per clock
module {REPLAY_TOP} (
    input  wire clk  /*verilator public_flat_rw*/,
    output reg  done /*verilator public_flat_rw*/
);
    integer cycle, last, first, k, got;
    reg [31:0] vector_in;   // index of the vector applied at this clock (for waveforms)
    reg [31:0] vector_out;  // index of the vector written at this clock, design 0's latency
{chr(10).join(decl)}

{chr(10).join(inst)}

    initial begin
        done = 1'b0;
        cycle = 0;
        last = 0;
        if (!$value$plusargs("first=%d", first)) first = 0;
        vector_in = first;
        vector_out = first;
{chr(10).join(init)}
    end

    always @(posedge clk) begin
        if (!done) begin
{chr(10).join(step)}
            vector_in <= first + cycle;
            vector_out <= first + cycle - {designs[0].latency if designs else 0};
            if (cycle >= last) begin  // the last words of every design, then close
{chr(10).join(flush)}
                {closes}
                done <= 1'b1;
            end
            cycle <= cycle + 1;
        end
    end
endmodule
"""


def replay_sources(designs: list[Design]) -> list[Path]:
    """Every design's sources once (shared primitives must be byte-identical), tops last."""
    seen: dict[str, tuple[Path, str]] = {}
    tops: list[Path] = []
    names = [d.name for d in designs]
    if len(set(names)) != len(names) or REPLAY_TOP in names:
        raise ValueError(f'design names must be distinct and not {REPLAY_TOP!r}: {names}')
    for des in designs:
        for src in des.sources[:-1]:
            digest = hashlib.sha256(src.read_bytes()).hexdigest()
            if src.name in seen and seen[src.name][1] != digest:
                raise ValueError(f'{src} differs from {seen[src.name][0]}: cannot share one simulation')
            seen.setdefault(src.name, (src, digest))
        tops.append(des.sources[-1])
    return [p for p, _ in seen.values()] + tops


def _vhdl_replay(d: int, des: Design) -> list[str]:
    """The process feeding design ``d`` and writing its outputs."""
    L = des.latency
    return [
        f'    replay{d}: process (clk)',
        f'        file stim : text open read_mode is "stim_{d}.hex";',
        f'        file outs : text open write_mode is "out_{d}.hex";',
        '        variable lin, lout : line;',
        f'        variable word : std_logic_vector({des.in_bus.width - 1} downto 0);',
        '        variable cycle, n : natural := 0;',
        '        variable ended : boolean := false;',
        '    begin',
        f'        if rising_edge(clk) and not fin{d} then',
        f'            if cycle > {L} and (not ended or cycle <= n + {L}) then',
        f'                hwrite(lout, out{d});',
        '                writeline(outs, lout);',
        '            end if;',
        '            if not ended then',
        '                if endfile(stim) then',
        '                    ended := true;',
        '                    n := cycle;',
        '                else',
        '                    readline(stim, lin);',
        '                    hread(lin, word);',
        f'                    inp{d} <= word;',
        '                end if;',
        '            end if;',
        f'            if ended and cycle = n + {L} then',
        '                file_close(outs);',
        f'                fin{d} <= true;',
        '            end if;',
        '            cycle := cycle + 1;',
        '        end if;',
        f'    end process replay{d};',
    ]


def vhdl_wrapper_text(designs: list[Design]) -> str:
    """The VHDL ``replay_vhdl_tb(clk, done)`` entity: every design replayed from its own files with
    ``std.textio`` (VHDL has no ``$readmemh``), read to the end, so no vector count is needed."""
    decl, inst, body = [], [], []
    for d, des in enumerate(designs):
        decl += [f'    signal inp{d} : std_logic_vector({des.in_bus.width - 1} downto 0) := (others => \'0\');',
                 f'    signal out{d} : std_logic_vector({des.out_bus.width - 1} downto 0);',
                 f'    signal fin{d} : boolean := false;']
        clk = 'clk => clk, ' if des.clocked else ''
        inst.append(f'    u{d}: entity work.{des.name} port map ({clk}inp => inp{d}, {OUT_PORT} => out{d});')
        body += _vhdl_replay(d, des)
    fins = ' and '.join(f'fin{d}' for d in range(len(designs)))
    return '\n'.join([
        f'-- generated by verif.hdl.replay_wrapper: {len(designs)} designs replayed from hex files, one vector per clock',
        'library ieee;',
        'use ieee.std_logic_1164.all;',
        'use std.textio.all;',
        '',
        f'entity {VHDL_REPLAY_TOP} is',
        '    port (clk : in std_logic; done : out std_logic);',
        f'end entity {VHDL_REPLAY_TOP};',
        '',
        f'architecture sim of {VHDL_REPLAY_TOP} is',
        *decl,
        '    signal cycle_count : natural := 0;  -- = index of the vector being applied (for waveforms)',
        'begin',
        *inst,
        '',
        *body,
        '',
        '    count: process (clk)',
        '    begin',
        '        if rising_edge(clk) then',
        '            cycle_count <= cycle_count + 1;',
        '        end if;',
        '    end process count;',
        f"    done <= '1' when {fins} else '0';",
        'end architecture sim;',
        '',
    ])
