"""Handshake wrappers around the flat-bus core: ``valid`` (valid chain, reset, clock enable) and
``axis`` (AXI4-Stream slave in, master out, with backpressure).

Why a wrapper and not a new core: the datapath stays the one the harness verifies bit for bit;
only the control that a trigger firmware expects around it is added. With an interface the
core is written as ``<name>_core`` with a ``ce`` port (every pipeline register loads only when
``ce`` is high: the whole pipeline stalls together) and the wrapper is the top module ``<name>``.

``valid``: ports ``clk, rst, ce, in_valid, inp, out_valid, out``. ``in_valid`` travels through a
delay line as long as the pipeline; ``rst`` (synchronous, active high) clears that line only:
the datapath registers have no reset (a reset net to every datapath flip-flop costs routing and
timing, and ``out`` is meaningless while ``out_valid`` is low anyway). A beat enters on a rising
edge with ``ce && in_valid && !rst`` and is on ``out`` with ``out_valid`` high ``latency`` edges
later; while ``ce`` is low nothing moves and the outputs hold.

``axis``: ports ``clk, aresetn`` (AXI4-Stream's ARESETn: synchronous, active low), slave
``s_axis_tdata/tvalid/tready/tlast``, master ``m_axis_tdata/tvalid/tready/tlast``. ``tdata`` is
``inp`` / ``out`` zero-extended to whole bytes (bits above the bus are ignored on the slave,
0 on the master); ``tlast`` rides a delay line beside its beat. The pipeline's ``ce`` is a
register, and ``s_axis_tready`` is that register: a two-entry skid buffer behind the pipeline
holds what the pipeline delivers while ``m_axis_tready`` is low, and ``ce`` for the next cycle
is high only if the buffer will still have a free entry. So no beat is lost or repeated, the
``m_axis_tready -> ce`` path is one register deep, and with the sink always ready the wrapper
accepts a beat every cycle (II = 1); latency is the core's plus one (the skid buffer's head).

A combinational core gets the same wrappers with one register stage (the output register of
``valid``, the skid buffer's head of ``axis``): latency 1. The VHDL-2008 text of the same
wrappers is in interface_vhdl.py (``\\out\\`` for ``out``, as in the VHDL core).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['INTERFACES', 'WRAPPER_NAMES', 'Wrapper', 'check_interface', 'core_name', 'wrapper']

INTERFACES = ('bare', 'valid', 'axis')


# ports, signals and the instance of the wrappers: a module of the same name would clash with them
WRAPPER_NAMES = frozenset({
    'clk', 'rst', 'ce', 'in_valid', 'inp', 'out_valid', 'out', 'aresetn', 's_axis_tdata', 's_axis_tvalid',
    's_axis_tready', 's_axis_tlast', 'm_axis_tdata', 'm_axis_tvalid', 'm_axis_tready', 'm_axis_tlast', 'core',
    'core_out', 'valid_chain', 'last_chain', 'pipe_valid', 'pipe_last', 'beat', 'head', 'skid', 'count', 'push',
    'pop', 'count_next', 'unused_tdata', 'out_r', 'm_valid', 'chain', 'valid_line', 'last_line', 'control',
    'buffer_regs', 'output',  # the last line: VHDL only (a signal and the process labels)
})


def check_interface(interface, name: str = 'top', language: str = 'verilog') -> None:
    """TypeError / ValueError naming ``interface`` and its value unless it is one of INTERFACES,
    or naming ``name`` if a wrapper uses it for a port or signal of its own (in VHDL, whatever
    the case)."""
    if not isinstance(interface, str):
        raise TypeError(f'interface must be a str, got {type(interface).__name__}: {interface!r:.80}')
    if interface not in INTERFACES:
        raise ValueError(f'interface={interface!r} is not one of {", ".join(INTERFACES)}')
    if interface != 'bare' and (name.lower() if language == 'vhdl' else name) in WRAPPER_NAMES:
        raise ValueError(f'name={name!r} is a port or signal name of the {interface!r} wrapper; choose another')


def core_name(name: str) -> str:
    """Module name of the flat-bus core inside a wrapper called ``name``."""
    return f'{name}_core'


def tdata_width(bits: int) -> int:
    """AXI4-Stream ``tdata`` is a whole number of bytes."""
    return 8 * -(-bits // 8)


@dataclass(frozen=True)
class Wrapper:
    """The wrapper's Verilog text and what metadata.json says about it."""

    text: str
    latency: int  # cycles from an accepted input beat to its output beat, no stalls
    register_bits: int  # flip-flops the wrapper adds to the core's
    ports: dict

    def describe(self, kind: str, core: str, core_latency: int) -> dict:
        return {'kind': kind, 'core': core, 'core_latency_cycles': core_latency, 'latency_cycles': self.latency,
                'register_bits': self.register_bits, **self.ports}


def _decl(width: int) -> str:
    return f'[{width - 1}:0]'


def _core_instance(core: str, clocked: bool, has_ce: bool, inp: str, out: str) -> list[str]:
    conns = (['.clk(clk)'] if clocked else []) + (['.ce(ce)'] if has_ce else [])
    conns += [f'.inp({inp})', f'.out({out})']
    return [f'    {core} core ({", ".join(conns)});']


def _shift(reg: str, n: int, new: str) -> str:
    """The next value of an ``n``-bit delay line ``reg`` taking ``new`` at bit 0."""
    return new if n == 1 else f'{{{reg}[{n - 2}:0], {new}}}'


def _valid_verilog(name: str, core: str, in_w: int, out_w: int, core_latency: int, clocked: bool) -> str:
    n = max(core_latency, 1)
    lines = [
        f'// {name}: valid-interface wrapper of {core} (latency {n} cycles; see metadata.json)',
        '// rst: synchronous, active high, clears the valid chain only (datapath registers are not reset)',
        '// ce: clock enable, low stalls every stage; tie to 1\'b1 if unused',
        '`default_nettype none', '',
        f'module {name} (',
        '    input  wire clk,',
        '    input  wire rst,',
        '    input  wire ce,',
        '    input  wire in_valid,',
        f'    input  wire {_decl(in_w)} inp,',
        '    output wire out_valid,',
        f'    output wire {_decl(out_w)} out',
        ');',
        f'    wire {_decl(out_w)} core_out;',
        *_core_instance(core, clocked, core_latency > 0, 'inp', 'core_out'),
        '',
        f'    // in_valid delayed as long as the datapath: {n} stages',
        f'    reg {_decl(n)} valid_chain;',
        '    always @(posedge clk) begin',
        f"        if (rst) valid_chain <= {n}'d0;",
        f"        else if (ce) valid_chain <= {_shift('valid_chain', n, 'in_valid')};",
        '    end',
        f'    assign out_valid = valid_chain[{n - 1}];',
    ]
    if core_latency == 0:
        lines += ['', '    // combinational core: one output register',
                  f'    reg {_decl(out_w)} out_r;',
                  '    always @(posedge clk) if (ce) out_r <= core_out;',
                  '    assign out = out_r;']
    else:
        lines.append('    assign out = core_out;')
    lines += ['endmodule', '', '`default_nettype wire', '']
    return '\n'.join(lines)


def _axis_verilog(name: str, core: str, in_w: int, out_w: int, core_latency: int, clocked: bool) -> str:
    s_w, m_w, n = tdata_width(in_w), tdata_width(out_w), core_latency
    lines = [
        f'// {name}: AXI4-Stream wrapper of {core} (latency {n + 1} cycles; see metadata.json)',
        '// aresetn: synchronous, active low; clears the valid chain, the skid buffer and s_axis_tready',
        f'// s_axis_tdata[{in_w - 1}:0] = inp, m_axis_tdata[{out_w - 1}:0] = out, bits above: ignored / 0',
        '`default_nettype none', '',
        f'module {name} (',
        '    input  wire clk,',
        '    input  wire aresetn,',
        f'    input  wire {_decl(s_w)} s_axis_tdata,',
        '    input  wire s_axis_tvalid,',
        '    output wire s_axis_tready,',
        '    input  wire s_axis_tlast,',
        f'    output wire {_decl(m_w)} m_axis_tdata,',
        '    output wire m_axis_tvalid,',
        '    input  wire m_axis_tready,',
        '    output wire m_axis_tlast',
        ');',
        '    // ce: registered; high only if the skid buffer can take what the pipeline delivers next',
        '    reg ce;',
        '    assign s_axis_tready = ce;',
        f'    wire {_decl(out_w)} core_out;',
        *_core_instance(core, clocked, n > 0, f's_axis_tdata[{in_w - 1}:0]', 'core_out'),
    ]
    if s_w > in_w:
        lines.append(f"    wire unused_tdata = &{{1'b0, s_axis_tdata[{s_w - 1}:{in_w}], 1'b0}};")
    if n > 0:
        lines += [
            '', f'    // tvalid and tlast delayed as long as the datapath: {n} stages',
            f'    reg {_decl(n)} valid_chain;',
            f'    reg {_decl(n)} last_chain;',
            '    always @(posedge clk) begin',
            f"        if (!aresetn) valid_chain <= {n}'d0;",
            f"        else if (ce) valid_chain <= {_shift('valid_chain', n, 's_axis_tvalid')};",
            '    end',
            f"    always @(posedge clk) if (ce) last_chain <= {_shift('last_chain', n, 's_axis_tlast')};",
            f'    wire pipe_valid = valid_chain[{n - 1}];',
            f'    wire pipe_last = last_chain[{n - 1}];',
        ]
    else:
        lines += ['    wire pipe_valid = s_axis_tvalid;', '    wire pipe_last = s_axis_tlast;']
    lines += [
        '',
        '    // skid buffer: head drives m_axis, skid holds a second beat; count = beats held',
        f'    wire {_decl(out_w + 1)} beat = {{pipe_last, core_out}};',
        f'    reg {_decl(out_w + 1)} head;',
        f'    reg {_decl(out_w + 1)} skid;',
        '    reg [1:0] count;',
        '    wire push = ce & pipe_valid;',
        '    wire pop = m_axis_tvalid & m_axis_tready;',
        "    wire [1:0] count_next = count + {1'b0, push} - {1'b0, pop};",
        '    always @(posedge clk) begin',
        '        if (!aresetn) begin',
        "            count <= 2'd0;",
        "            ce <= 1'b0;",
        '        end else begin',
        '            count <= count_next;',
        '            ce <= ~count_next[1];  // a free entry left even if the next cycle pushes and does not pop',
        '        end',
        '    end',
        '    always @(posedge clk) begin',
        "        if (count == 2'd2 ? pop : push & (count == 2'd0 | pop)) head <= count == 2'd2 ? skid : beat;",
        "        if (push & ~pop & count == 2'd1) skid <= beat;",
        '    end',
        "    assign m_axis_tvalid = count != 2'd0;",
        f'    assign m_axis_tlast = head[{out_w}];',
        f"    assign m_axis_tdata = {{{m_w - out_w}'d0, head[{out_w - 1}:0]}};" if m_w > out_w
        else f'    assign m_axis_tdata = head[{out_w - 1}:0];',
        'endmodule', '', '`default_nettype wire', '',
    ]
    return '\n'.join(lines)


def _valid_ports(in_w: int, out_w: int) -> dict:
    """What metadata.json says about the valid wrapper's ports and reset."""
    return {'ports': {'clk': 'clock, rising edge', 'rst': 'synchronous reset, active high (valid chain only)',
                       'ce': 'clock enable, active high', 'in_valid': 'inp carries a beat',
                       'inp': f'{in_w} bits, the inputs (see "inputs")', 'out_valid': 'out carries a beat',
                       'out': f'{out_w} bits, the outputs (see "outputs")'},
             'reset': {'port': 'rst', 'active': 'high', 'synchronous': True, 'clears': ['valid chain']}}


def _axis_ports(in_w: int, out_w: int) -> dict:
    """What metadata.json says about the axis wrapper's ports, reset and tdata layout."""
    s_w, m_w = tdata_width(in_w), tdata_width(out_w)
    return {
        'ports': {'clk': 'clock, rising edge', 'aresetn': 'synchronous reset, active low',
                  's_axis_tdata': f'{s_w} bits', 's_axis_tvalid': 'AXI4-Stream slave', 's_axis_tready': 'registered',
                  's_axis_tlast': 'carried with its beat', 'm_axis_tdata': f'{m_w} bits',
                  'm_axis_tvalid': 'AXI4-Stream master', 'm_axis_tready': 'backpressure',
                  'm_axis_tlast': 'tlast of the input beat'},
        'reset': {'port': 'aresetn', 'active': 'low', 'synchronous': True,
                  'clears': ['valid chain', 'skid buffer', 's_axis_tready']},
        'tdata': {'s_axis_tdata_width': s_w, 'm_axis_tdata_width': m_w,
                  's_axis': f'inp = s_axis_tdata[{in_w - 1}:0] (element j at "inputs"[j].offset); '
                            f'bits {s_w - 1}..{in_w} ignored' if s_w > in_w else f'inp = s_axis_tdata[{in_w - 1}:0]',
                  'm_axis': f'out = m_axis_tdata[{out_w - 1}:0] (element j at "outputs"[j].offset); '
                            f'bits {m_w - 1}..{out_w} are 0' if m_w > out_w else f'out = m_axis_tdata[{out_w - 1}:0]'},
        'throughput': 'one beat per cycle while m_axis_tready stays high (II = 1)',
    }


def wrapper(kind: str, name: str, in_width: int, out_width: int, core_latency: int, clocked: bool,
            language: str = 'verilog') -> Wrapper:
    """The ``kind`` ('valid' or 'axis') wrapper module ``name`` around ``core_name(name)``, a core
    of ``core_latency`` register stages (0: combinational; ``clocked``: it has a ``clk`` port),
    in ``language`` ('verilog' or 'vhdl')."""
    from . import interface_vhdl

    texts = {('verilog', 'valid'): _valid_verilog, ('verilog', 'axis'): _axis_verilog,
             ('vhdl', 'valid'): interface_vhdl.valid_text, ('vhdl', 'axis'): interface_vhdl.axis_text}
    text = texts[language, kind](name, core_name(name), in_width, out_width, core_latency, clocked)
    n = core_latency
    if kind == 'valid':
        latency, bits = max(n, 1), max(n, 1) + (out_width if n == 0 else 0)
        ports = _valid_ports(in_width, out_width)
    else:
        latency, bits = n + 1, 2 * n + 2 * (out_width + 1) + 3
        ports = _axis_ports(in_width, out_width)
    return Wrapper(text, latency, bits, ports)
