"""The VHDL-2008 text of the ``valid`` and ``axis`` wrappers: the same circuits as interface.py's
Verilog (same ports, but ``\\out\\`` for ``out``; same registers and reset), one entity each."""

from __future__ import annotations

from .vhdl import OUT_PORT

__all__ = ['axis_text', 'valid_text']

_LIBS = ['library ieee;', 'use ieee.std_logic_1164.all;', 'use ieee.numeric_std.all;', '']


def _slv(width: int) -> str:
    return f'std_logic_vector({width - 1} downto 0)'


def _core_instance(core: str, clocked: bool, has_ce: bool, inp: str, out: str) -> list[str]:
    conns = (['clk => clk'] if clocked else []) + (['ce => ce'] if has_ce else [])
    conns += [f'inp => {inp}', f'{OUT_PORT} => {out}']
    return [f'    core: entity work.{core} port map ({", ".join(conns)});']


def _shift(reg: str, n: int, new: str) -> str:
    return f'(0 => {new})' if n == 1 else f'{reg}({n - 2} downto 0) & {new}'


def _chain(label: str, reg: str, n: int, new: str, reset: str | None) -> list[str]:
    """A clocked process shifting ``new`` into the ``n``-bit delay line ``reg`` when ce is high
    (cleared when ``reset`` holds, if given)."""
    body = ['        if rising_edge(clk) then']
    if reset is not None:
        body += [f'            if {reset} then', f"                {reg} <= (others => '0');",
                 "            elsif ce = '1' then"]
    else:
        body.append("            if ce = '1' then")
    body += [f'                {reg} <= {_shift(reg, n, new)};', '            end if;', '        end if;']
    return [f'    {label}: process (clk)', '    begin', *body, f'    end process {label};']


def valid_text(name: str, core: str, in_w: int, out_w: int, core_latency: int, clocked: bool) -> str:
    n = max(core_latency, 1)
    lines = [
        f'-- {name}: valid-interface wrapper of {core} (latency {n} cycles; see metadata.json)',
        '-- rst: synchronous, active high, clears the valid chain only (datapath registers are not reset)',
        "-- ce: clock enable, low stalls every stage; tie to '1' if unused",
        *_LIBS,
        f'entity {name} is',
        '    port (',
        '        clk : in  std_logic;',
        '        rst : in  std_logic;',
        '        ce : in  std_logic;',
        '        in_valid : in  std_logic;',
        f'        inp : in  {_slv(in_w)};',
        '        out_valid : out std_logic;',
        f'        {OUT_PORT} : out {_slv(out_w)}',
        '    );',
        f'end entity {name};',
        '',
        f'architecture rtl of {name} is',
        f'    signal core_out : {_slv(out_w)};',
        f'    signal valid_chain : {_slv(n)};',
        *([f'    signal out_r : {_slv(out_w)};'] if core_latency == 0 else []),
        'begin',
        *_core_instance(core, clocked, core_latency > 0, 'inp', 'core_out'),
        f'    -- in_valid delayed as long as the datapath: {n} stages',
        *_chain('chain', 'valid_chain', n, 'in_valid', "rst = '1'"),
        f'    out_valid <= valid_chain({n - 1});',
    ]
    if core_latency == 0:
        lines += ['    -- combinational core: one output register',
                  '    output: process (clk)', '    begin', '        if rising_edge(clk) then',
                  "            if ce = '1' then", '                out_r <= core_out;', '            end if;',
                  '        end if;', '    end process output;', f'    {OUT_PORT} <= out_r;']
    else:
        lines.append(f'    {OUT_PORT} <= core_out;')
    return '\n'.join([*lines, 'end architecture rtl;', ''])


def axis_text(name: str, core: str, in_w: int, out_w: int, core_latency: int, clocked: bool) -> str:
    from .interface import tdata_width

    s_w, m_w, n = tdata_width(in_w), tdata_width(out_w), core_latency
    lines = [
        f'-- {name}: AXI4-Stream wrapper of {core} (latency {n + 1} cycles; see metadata.json)',
        '-- aresetn: synchronous, active low; clears the valid chain, the skid buffer and s_axis_tready',
        f'-- s_axis_tdata({in_w - 1} downto 0) = inp, m_axis_tdata({out_w - 1} downto 0) = out, bits above: '
        'ignored / 0',
        *_LIBS,
        f'entity {name} is',
        '    port (',
        '        clk : in  std_logic;',
        '        aresetn : in  std_logic;',
        f'        s_axis_tdata : in  {_slv(s_w)};',
        '        s_axis_tvalid : in  std_logic;',
        '        s_axis_tready : out std_logic;',
        '        s_axis_tlast : in  std_logic;',
        f'        m_axis_tdata : out {_slv(m_w)};',
        '        m_axis_tvalid : out std_logic;',
        '        m_axis_tready : in  std_logic;',
        '        m_axis_tlast : out std_logic',
        '    );',
        f'end entity {name};',
        '',
        f'architecture rtl of {name} is',
        "    signal ce : std_logic;  -- registered: high only if the skid buffer can take the next beat",
        f'    signal core_out : {_slv(out_w)};',
        *([f'    signal valid_chain : {_slv(n)};', f'    signal last_chain : {_slv(n)};'] if n else []),
        '    signal pipe_valid, pipe_last, push, pop, m_valid : std_logic;',
        f'    signal beat, head, skid : {_slv(out_w + 1)};',
        '    signal count, count_next : unsigned(1 downto 0);  -- beats held by the skid buffer',
        'begin',
        '    s_axis_tready <= ce;',
        *_core_instance(core, clocked, n > 0, f's_axis_tdata({in_w - 1} downto 0)', 'core_out'),
    ]
    if n:
        lines += [f'    -- tvalid and tlast delayed as long as the datapath: {n} stages',
                  *_chain('valid_line', 'valid_chain', n, 's_axis_tvalid', "aresetn = '0'"),
                  *_chain('last_line', 'last_chain', n, 's_axis_tlast', None),
                  f'    pipe_valid <= valid_chain({n - 1});', f'    pipe_last <= last_chain({n - 1});']
    else:
        lines += ['    pipe_valid <= s_axis_tvalid;', '    pipe_last <= s_axis_tlast;']
    pad = f'{m_w - out_w}x"0" & ' if m_w > out_w else ''
    lines += [
        '    -- skid buffer: head drives m_axis, skid holds a second beat',
        '    beat <= pipe_last & core_out;',
        "    m_valid <= '1' when count /= 0 else '0';",
        '    push <= ce and pipe_valid;',
        '    pop <= m_valid and m_axis_tready;',
        "    count_next <= count + unsigned'('0' & push) - unsigned'('0' & pop);",
        '    control: process (clk)',
        '    begin',
        '        if rising_edge(clk) then',
        "            if aresetn = '0' then",
        '                count <= "00";',
        "                ce <= '0';",
        '            else',
        '                count <= count_next;',
        '                ce <= not count_next(1);  -- a free entry left even if the next cycle pushes and does not pop',
        '            end if;',
        '        end if;',
        '    end process control;',
        '    buffer_regs: process (clk)',
        '    begin',
        '        if rising_edge(clk) then',
        '            if count = 2 then',
        "                if pop = '1' then",
        '                    head <= skid;',
        '                end if;',
        "            elsif push = '1' and (count = 0 or pop = '1') then",
        '                head <= beat;',
        '            end if;',
        "            if push = '1' and pop = '0' and count = 1 then",
        '                skid <= beat;',
        '            end if;',
        '        end if;',
        '    end process buffer_regs;',
        '    m_axis_tvalid <= m_valid;',
        f'    m_axis_tlast <= head({out_w});',
        f'    m_axis_tdata <= {pad}head({out_w - 1} downto 0);',
        'end architecture rtl;', '',
    ]
    return '\n'.join(lines)
