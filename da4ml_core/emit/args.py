"""Checks of write_verilog's / write_vhdl's arguments: a bad one is named, with its value, before
anything is written."""

from __future__ import annotations

import math
import numbers
import os
import re

from ..ir import Opcode, Program
from ..ir.ops import SUPPORTED_OPCODES

__all__ = ['RESERVED_NAMES', 'VHDL_RESERVED_NAMES', 'check_args']

_IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
# Verilog-2005 and SystemVerilog keywords (Verilator reads .v files as SystemVerilog too)
_KEYWORDS = frozenset((
    'alias', 'always', 'always_comb', 'always_ff', 'always_latch', 'and', 'assert', 'assign', 'assume',
    'automatic', 'before', 'begin', 'bind', 'bins', 'binsof', 'bit', 'break', 'buf', 'bufif0', 'bufif1',
    'byte', 'case', 'casex', 'casez', 'cell', 'chandle', 'checker', 'class', 'clocking', 'cmos', 'config',
    'const', 'constraint', 'context', 'continue', 'cover', 'covergroup', 'coverpoint', 'cross', 'deassign',
    'default', 'defparam', 'design', 'disable', 'dist', 'do', 'edge', 'else', 'end', 'endcase',
    'endchecker', 'endclass', 'endclocking', 'endconfig', 'endfunction', 'endgenerate', 'endgroup',
    'endinterface', 'endmodule', 'endpackage', 'endprimitive', 'endprogram', 'endproperty', 'endspecify',
    'endsequence', 'endtable', 'endtask', 'enum', 'event', 'eventually', 'expect', 'export', 'extends',
    'extern', 'final', 'first_match', 'for', 'force', 'foreach', 'forever', 'fork', 'forkjoin', 'function',
    'generate', 'genvar', 'global', 'highz0', 'highz1', 'if', 'iff', 'ifnone', 'ignore_bins',
    'illegal_bins', 'implements', 'implies', 'import', 'incdir', 'include', 'initial', 'inout', 'input',
    'inside', 'instance', 'int', 'integer', 'interconnect', 'interface', 'intersect', 'join', 'join_any',
    'join_none', 'large', 'let', 'liblist', 'library', 'local', 'localparam', 'logic', 'longint',
    'macromodule', 'matches', 'medium', 'modport', 'module', 'nand', 'negedge', 'nettype', 'new',
    'nexttime', 'nmos', 'nor', 'noshowcancelled', 'not', 'notif0', 'notif1', 'null', 'or', 'output',
    'package', 'packed', 'parameter', 'pmos', 'posedge', 'primitive', 'priority', 'program', 'property',
    'protected', 'pull0', 'pull1', 'pulldown', 'pullup', 'pulsestyle_ondetect', 'pulsestyle_onevent',
    'pure', 'rand', 'randc', 'randcase', 'randsequence', 'rcmos', 'real', 'realtime', 'ref', 'reg',
    'reject_on', 'release', 'repeat', 'restrict', 'return', 'rnmos', 'rpmos', 'rtran', 'rtranif0',
    'rtranif1', 's_always', 's_eventually', 's_nexttime', 's_until', 's_until_with', 'scalared',
    'sequence', 'shortint', 'shortreal', 'showcancelled', 'signed', 'small', 'soft', 'solve', 'specify',
    'specparam', 'static', 'string', 'strong', 'strong0', 'strong1', 'struct', 'super', 'supply0',
    'supply1', 'sync_accept_on', 'sync_reject_on', 'table', 'tagged', 'task', 'this', 'throughout', 'time',
    'timeprecision', 'timeunit', 'tran', 'tranif0', 'tranif1', 'tri', 'tri0', 'tri1', 'triand', 'trior',
    'trireg', 'type', 'typedef', 'union', 'unique', 'unique0', 'unsigned', 'until', 'until_with',
    'untyped', 'use', 'uwire', 'var', 'vectored', 'virtual', 'void', 'wait', 'wait_order', 'wand', 'weak',
    'weak0', 'weak1', 'while', 'wildcard', 'wire', 'with', 'within', 'wor', 'xnor', 'xor',
))
# module names of the primitives and of the harness's bulk wrapper
RESERVED_NAMES = frozenset({'shift_add', 'negate', 'quantize', 'mux', 'mul', 'bulk_tb'})

# VHDL: letter first, no double or trailing underscore; compared without case
_VHDL_IDENT = re.compile(r'[A-Za-z](_?[A-Za-z0-9])*\Z')
_VHDL_KEYWORDS = frozenset((  # VHDL-2008 reserved words, PSL's included
    'abs', 'access', 'after', 'alias', 'all', 'and', 'architecture', 'array', 'assert', 'assume',
    'assume_guarantee', 'attribute', 'begin', 'block', 'body', 'buffer', 'bus', 'case', 'component',
    'configuration', 'constant', 'context', 'cover', 'default', 'disconnect', 'downto', 'else', 'elsif', 'end',
    'entity', 'exit', 'fairness', 'file', 'for', 'force', 'function', 'generate', 'generic', 'group', 'guarded',
    'if', 'impure', 'in', 'inertial', 'inout', 'is', 'label', 'library', 'linkage', 'literal', 'loop', 'map',
    'mod', 'nand', 'new', 'next', 'nor', 'not', 'null', 'of', 'on', 'open', 'or', 'others', 'out', 'package',
    'parameter', 'port', 'postponed', 'procedure', 'process', 'property', 'protected', 'pure', 'range', 'record',
    'register', 'reject', 'release', 'rem', 'report', 'restrict', 'restrict_guarantee', 'return', 'rol', 'ror',
    'select', 'sequence', 'severity', 'shared', 'signal', 'sla', 'sll', 'sra', 'srl', 'strong', 'subtype',
    'then', 'to', 'transport', 'type', 'unaffected', 'units', 'until', 'use', 'variable', 'vmode', 'vprop',
    'vunit', 'wait', 'when', 'while', 'with', 'xnor', 'xor',
))
# entity names of the VHDL primitives and harness wrappers, libraries, and the names the
# architecture declares (an entity of the same name would be hidden by them)
VHDL_RESERVED_NAMES = RESERVED_NAMES | {'bulk_vhdl_tb', 'std', 'ieee', 'work', 'rtl', 'inp', 'clk', 'key'}
_VHDL_INTERNAL = re.compile(r'(v|o|u|u_o|rom|stage)[0-9]+(_s[0-9]+)?\Z')


def _check_vhdl_name(name: str) -> None:
    low = name.lower()
    if not _VHDL_IDENT.match(name):
        why = 'not a VHDL identifier (a letter, then letters, digits and single underscores, no trailing _)'
    elif low in _VHDL_KEYWORDS:
        why = 'a VHDL reserved word'
    elif low in VHDL_RESERVED_NAMES or _VHDL_INTERNAL.match(low):
        why = 'a name the VHDL design uses itself (primitive, library, port or signal)'
    else:
        return
    raise ValueError(f'name={name!r} is {why}')


def check_args(prog, outdir, name, latency_cutoff, clock_period_ns, language: str = 'verilog') -> None:
    """Raise TypeError / ValueError naming the first bad argument and its value (names are
    checked against the rules of ``language``, 'verilog' or 'vhdl')."""
    if not isinstance(prog, Program):
        raise TypeError(f'prog must be a da4ml_core.ir.Program, got {type(prog).__name__}: {prog!r:.80}')
    for i, op in enumerate(prog.ops):
        code = op.opcode
        if not isinstance(code, Opcode) or code not in SUPPORTED_OPCODES:
            label = code.name if isinstance(code, Opcode) else 'unknown'
            raise ValueError(
                f'prog: op {i} has opcode {int(code)} ({label}), which write_{language} cannot emit; '
                f'supported opcodes: {sorted(int(c) for c in SUPPORTED_OPCODES)}'
            )
    if not isinstance(outdir, (str, os.PathLike)):
        raise TypeError(f'outdir must be a path (str or os.PathLike), got {type(outdir).__name__}: '
                        f'{outdir!r:.80}')
    if not isinstance(name, str):
        raise TypeError(f'name must be a str, got {type(name).__name__}: {name!r:.80}')
    if language == 'vhdl':
        _check_vhdl_name(name)
    elif not _IDENT.match(name) or name in _KEYWORDS or name in RESERVED_NAMES:
        why = ('a Verilog keyword' if name in _KEYWORDS else 'the name of a primitive module'
               if name in RESERVED_NAMES else 'not a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*)')
        raise ValueError(f'name={name!r} is {why}')
    for arg, value, allow_none, allow_zero in (('latency_cutoff', latency_cutoff, True, True),
                                               ('clock_period_ns', clock_period_ns, False, False)):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f'{arg} must be a real number{" or None" if allow_none else ""}, '
                            f'got {type(value).__name__}: {value!r:.80}')
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            bound = '>= 0' if allow_zero else '> 0'
            raise ValueError(f'{arg}={value!r} must be a finite number {bound}')
