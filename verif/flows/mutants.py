"""Seeded single-fault mutants of an emitted design, as edits of its top-level Verilog.

Why edits of the top module: a mutant must be a file set the simulators build exactly as
they build the design, and the fault must be one the emitter could make. The top module is the
emitter's whole decision (which primitive, which parameters, which wires, which registers); the
primitives in rtl_templates/ are shared and are not touched, so nothing here depends on how
they are written. Each operator edits one instance parameter, one connection, one literal, one
table entry, one bus slice or one register. The one exception, ``prim_cmp``, moves a comparison
that only exists inside a primitive: its mutant carries a renamed, mutated copy of that
primitive (``verif.flows.primitive_cmp``) which one instance of the top module uses.

============== ===========================================================================
add_sub        an adder's ``SUB`` flipped (a + b <-> a - b)
shift          an adder's ``S`` or a mux branch's ``SHA`` / ``SHB`` moved by +-1
operand_swap   an operand connected to another signal of the same width (declared earlier)
narrow         an adder's result one bit narrower (``WO - 1``, the top bit re-extended)
extension      an operand's sign / zero extension flipped (``SA`` / ``SB``), where it can reach out
quant_drop     a quantizer's dropped bits ``D`` moved by +-1
round_mode     a rounding offset: RND -> TRN (offset 0), RND -> ties down (offset - 1 step),
               RND_CONV -> RND (both offsets the half step)
sat_bound      a saturation clamp value (a constant mux branch) moved by +-1 step
cmp_off        a mux comparison off by one (the constant added to the key moved by +-1)
prim_cmp       a relu's or a mux's own comparison off by one, inside a mutated copy of the
               primitive (relu: v < -1 for v < 0; mux: key < +-1 for key < 0, or its unsigned twin)
mux_swap       a mux's branches swapped
lut_entry      one lookup-table entry changed (+1, wrapped)
const_bit      one bit of a constant flipped (a constant wire or an adder's literal)
input_slice    an input element read one bit off (``inp[hi:lo]`` moved by +-1)
output_slice   an output element placed one bit up on ``out``
reg_stuck      a pipeline register that never loads (``r <= r``)
reg_late       a pipeline register one stage longer (an extra register on that path)
============== ===========================================================================

A mutant is the mutated module text under a new module name (plus, for ``prim_cmp``, the files
of its mutated primitive: ``extra``); :func:`enumerate_sites` lists
every place an operator applies, :func:`sample` picks ``n`` of them with a seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from . import primitive_cmp
from .top_module import OUT_LINE, REG_LOAD, ROM_ENTRY, WIRE, Instance, TopModule, bits_for, literal_of, signed_of

__all__ = ['OPERATORS', 'Mutant', 'Site', 'TopModule', 'enumerate_sites', 'sample']

OPERATORS = ('add_sub', 'shift', 'operand_swap', 'narrow', 'extension', 'quant_drop', 'round_mode', 'sat_bound',
             'cmp_off', 'prim_cmp', 'mux_swap', 'lut_entry', 'const_bit', 'input_slice', 'output_slice', 'reg_stuck',
             'reg_late')

@dataclass(frozen=True)
class Site:
    """One place an operator applies: ``line`` of the module text and what to change there."""

    operator: str
    line: int
    what: str  # human-readable: 'u12 SUB 0 -> 1'
    edit: tuple  # operator-specific arguments of _apply


@dataclass(frozen=True)
class Mutant:
    """A mutated top module: ``text`` defines module ``name``; ``site`` says what was changed;
    ``extra``: (file name, text) of further sources it needs (a mutated primitive), before it."""

    name: str
    site: Site
    text: str
    extra: tuple[tuple[str, str], ...] = ()


# ------------------------------------------------------------------------------- sites


def _sites_instance(top: TopModule, n: int, c: Instance) -> list[Site]:
    p, ports, out = c.params, c.ports, []
    adder = c.kind == 'shift_add'
    lit_b = adder and top.is_literal(ports['b'])
    if adder and not lit_b:
        out.append(Site('add_sub', n, f'{c.inst} SUB {p["SUB"]} -> {1 - p["SUB"]}', ('param', 'SUB', 1 - p['SUB'])))
        for d in (1, -1):
            out.append(Site('shift', n, f'{c.inst} S {p["S"]} -> {p["S"] + d}', ('param', 'S', p['S'] + d)))
    if c.kind == 'mux':
        for key in ('SHA', 'SHB'):
            for d in (1, -1):
                if p[key] + d >= 0:
                    out.append(Site('shift', n, f'{c.inst} {key} {p[key]} -> {p[key] + d}', ('param', key, p[key] + d)))
        out.append(Site('mux_swap', n, f'{c.inst} branches a <-> b', ('mux_swap',)))
        out += _sat_sites(top, n, c)
        out += _cmp_sites(top, n, c)
    out += [Site('prim_cmp', n, f'{c.inst}: {what}', ('prim_cmp', kind, signed, d))
            for kind, signed, d, what in primitive_cmp.sites_of(top, c.kind, p, ports)]
    if adder and p['WO'] >= 2:
        out.append(Site('narrow', n, f'{c.inst} WO {p["WO"]} -> {p["WO"] - 1}', ('narrow',)))
    for port, key in (('a', 'SA'), ('b', 'SB')):
        if key in p and port in ports and ports[port] != "1'b0" and not top.is_literal(ports[port]) \
                and _extension_reaches_out(c, port):
            out.append(Site('extension', n, f'{c.inst} {key} {p[key]} -> {1 - p[key]}', ('param', key, 1 - p[key])))
    if c.kind == 'quantize':
        for d in (1, -1):
            if p['D'] + d >= 0:
                out.append(Site('quant_drop', n, f'{c.inst} D {p["D"]} -> {p["D"] + d}', ('param', 'D', p['D'] + d)))
        out += _round_sites(top, c)
    for port, operand in ports.items():
        if port == 'out' or operand == "1'b0" or top.is_literal(operand):
            continue
        w = top.width.get(operand)
        others = [s for s, ws in top.width.items() if ws == w and s not in (operand, ports['out']) and top.order[s] < n]
        if others:
            out.append(Site('operand_swap', n, f'{c.inst}.{port} {operand} -> one of {len(others)}', ('swap', port, tuple(others))))
    if lit_b:
        wb, raw = literal_of(ports['b'])
        for bit in range(wb):
            out.append(Site('const_bit', n, f'{c.inst}.b literal bit {bit} flipped', ('lit', 'b', wb, raw ^ (1 << bit), None)))
    return out


def _extension_reaches_out(c: Instance, port: str) -> bool:
    """Whether bits above an operand (its extension) can reach ``out`` at all, from the
    parameters' documented meaning (operand extended, shifted, combined, low WO bits kept): the
    extension starts at bit W (+ shift) of the operand's term; a product's change from it is a
    multiple of 2**W; a plain quantizer keeps bits D .. D+WO-1. Flipping an extension that
    cannot reach out is no fault, so it is not offered."""
    p, w = c.params, c.params['W' + port.upper()]
    if c.kind == 'shift_add':
        shift = max(-p['S'], 0) if port == 'a' else max(p['S'], 0)
        return w + shift < p['WO']
    if c.kind == 'mux':  # negating b moves its extension's change by a multiple of 2**(WB + SHB) too
        return w + p['SH' + port.upper()] < p['WO']
    if c.kind == 'mul':
        return w < p['WO']
    if c.kind == 'quantize':
        return p['RELU'] != 0 or p['D'] + p['WO'] > w  # relu reads the sign of the extended value
    return True  # negate: the extension feeds the negation


def _sat_sites(top: TopModule, n: int, c: Instance) -> list[Site]:
    out = []
    for port, (wk, sk) in (('a', ('WA', 'SA')), ('b', ('WB', 'SB'))):
        name = c.ports[port]
        if top.kind_of(name) != 'const':
            continue
        w, raw = top.consts[name]
        value = signed_of(raw, w) if c.params[sk] else raw
        for d in (1, -1):
            out.append(Site('sat_bound', n, f'{c.inst}.{port} clamp {value} -> {value + d} steps',
                            ('lit', port, w, value + d, (wk, sk))))
    return out


def _cmp_sites(top: TopModule, n: int, c: Instance) -> list[Site]:
    """The constant of a key ``v + c`` (how the tracer writes ``v >= -c``) moved by +-1."""
    key = c.ports['key']
    adder = top.instance_of(key)
    if adder is None or adder.kind != 'shift_add' or not top.is_literal(adder.ports['b']):
        return []
    line = top.driver[re.sub(r'_s\d+$', '', key)]
    wb, raw = literal_of(adder.ports['b'])
    value = signed_of(raw, wb) if adder.params['SB'] else raw
    return [Site('cmp_off', line, f'{adder.inst} (key of {c.inst}) constant {value} -> {value + d}',
                 ('lit', 'b', wb, value + d, ('WB', 'SB'))) for d in (1, -1)]


def _round_sites(top: TopModule, q: Instance) -> list[Site]:
    """A quantizer dropping D bits of ``x + offset``: RND (offset = half a step) -> TRN / ties
    down; RND_CONV (offset = a mux of two constants) -> RND."""
    D = q.params['D']
    adder = top.instance_of(q.ports['a'])
    if D < 1 or adder is None or adder.kind != 'shift_add':
        return []
    line = top.driver[re.sub(r'_s\d+$', '', q.ports['a'])]
    b = adder.ports['b']
    if top.is_literal(b) and adder.params['S'] == 0:
        wb, raw = literal_of(b)
        if raw == 1 << (D - 1):
            return [Site('round_mode', line, f'{adder.inst} RND -> TRN (offset 0)', ('lit', 'b', wb, 0, ('WB', 'SB'))),
                    Site('round_mode', line, f'{adder.inst} RND -> ties down (offset {raw - 1})',
                         ('lit', 'b', wb, raw - 1, ('WB', 'SB')))]
        return []
    mux = top.instance_of(b)
    if mux is not None and mux.kind == 'mux' and all(top.kind_of(mux.ports[p]) == 'const' for p in ('a', 'b')):
        mline = top.driver[re.sub(r'_s\d+$', '', b)]
        return [Site('round_mode', mline, f'{mux.inst} RND_CONV -> RND (both offsets {mux.ports["a"]})',
                     ('same_branch',))]
    return []


def _sites_other(top: TopModule) -> list[Site]:
    out = []
    for name, (w, raw) in top.consts.items():
        for bit in range(w):
            out.append(Site('const_bit', top.order[name], f'{name} bit {bit} flipped', ('const_wire', raw ^ (1 << bit))))
    for name, (hi, lo) in top.inputs.items():
        for d in (1, -1):
            if 0 <= lo + d and hi + d < top.in_width:
                out.append(Site('input_slice', top.order[name], f'{name} = inp[{hi + d}:{lo + d}]', ('slice', d)))
    for n in top.rom_entries:
        m = ROM_ENTRY.match(top.lines[n])
        out.append(Site('lut_entry', n, f'{m.group(3)}[{m.group(2)}] + 1', ('rom',)))
    if top.out_line >= 0:
        fields = OUT_LINE.match(top.lines[top.out_line]).group(2).split(', ')
        for j, f in enumerate(fields):
            if top.width.get(f, 0) >= 2:
                out.append(Site('output_slice', top.out_line, f'{f} placed one bit up on out', ('out_up', j)))
    for n in top.loads:
        m = REG_LOAD.match(top.lines[n])
        out.append(Site('reg_stuck', n, f'{m.group(2)} never loads', ('stuck',)))
        out.append(Site('reg_late', n, f'{m.group(2)} one stage later', ('late',)))
    return out


def enumerate_sites(top: TopModule) -> list[Site]:
    """Every site of every operator, in text order (deterministic)."""
    sites = [s for n, c in top.instances.items() for s in _sites_instance(top, n, c)]
    return sorted(sites + _sites_other(top), key=lambda s: (s.line, OPERATORS.index(s.operator), s.what))


# ------------------------------------------------------------------------------- edits


def _set_literal(c: Instance, port: str, width: int, value: int, keys) -> None:
    """Port ``port`` as the literal ``value``, its width / signedness parameters widened to hold it."""
    if keys is not None:
        wk, sk = keys
        signed = bool(c.params[sk]) or value < 0
        width = max(c.params[wk], bits_for(value, signed))
        c.params[wk], c.params[sk] = width, int(signed)
    c.ports[port] = f"{width}'h{value & ((1 << width) - 1):x}"


def _apply(top: TopModule, site: Site, rng: np.random.Generator) -> tuple[list[str], str]:
    """The mutated lines, and what exactly was done (the operand chosen, ...)."""
    lines = list(top.lines)
    n, e, what = site.line, site.edit, site.what
    c = top.instances.get(n)
    if c is not None:
        c = Instance(c.indent, c.kind, dict(c.params), c.inst, dict(c.ports))
    op = e[0]
    if op == 'param':
        c.params[e[1]] = e[2]
    elif op == 'swap':
        choice = e[2][int(rng.integers(len(e[2])))]
        c.ports[e[1]] = choice
        what = f'{c.inst}.{e[1]} {top.instances[n].ports[e[1]]} -> {choice}'
    elif op == 'narrow':
        w, name = c.params['WO'], c.ports['out']
        c.params['WO'] = w - 1
        c.ports['out'] = f'{name}[{w - 2}:0]'
        top_bit = f'{name}[{w - 2}]' if c.params['SO'] else "1'b0"
        lines[n] = c.render() + f'\n    assign {name}[{w - 1}] = {top_bit};'
        return lines, what
    elif op == 'lit':
        _set_literal(c, e[1], e[2], e[3], e[4])
    elif op == 'mux_swap':
        p = c.params
        p['WA'], p['WB'], p['SA'], p['SB'], p['SHA'], p['SHB'] = p['WB'], p['WA'], p['SB'], p['SA'], p['SHB'], p['SHA']
        c.ports['a'], c.ports['b'] = c.ports['b'], c.ports['a']
    elif op == 'same_branch':
        for k in ('W', 'S', 'SH'):
            c.params[k + 'B'] = c.params[k + 'A']
        c.ports['b'] = c.ports['a']
    elif op == 'const_wire':
        m = WIRE.match(lines[n])
        w = int(m.group(1)) + 1
        lines[n] = f"    wire [{w - 1}:0] {m.group(2)} = {w}'h{e[1]:x};"
        return lines, what
    elif op == 'slice':
        m = WIRE.match(lines[n])
        hi, lo = top.inputs[m.group(2)]
        sel = f'inp[{lo + e[1]}]' if hi == lo else f'inp[{hi + e[1]}:{lo + e[1]}]'
        lines[n] = f'    wire [{m.group(1)}:0] {m.group(2)} = {sel};'
        return lines, what
    elif op == 'rom':
        m = ROM_ENTRY.match(lines[n])
        w = int(m.group(4))
        value = (int(m.group(5), 16) + 1) % (1 << w)
        lines[n] = f"{m.group(1)}{m.group(2)}: {m.group(3)} = {w}'h{value:x};"
        return lines, what
    elif op == 'out_up':
        m = OUT_LINE.match(lines[n])
        fields = m.group(2).split(', ')
        j = e[1]
        w = top.width[fields[j]]
        fields[j] = f"{{{fields[j]}[{w - 2}:0], 1'b0}}"
        lines[n] = f'{m.group(1)}assign out = {{{", ".join(fields)}}};'
        return lines, what
    elif op == 'stuck':
        m = REG_LOAD.match(lines[n])
        lines[n] = f'{m.group(1)}{m.group(2)} <= {m.group(2)};'
        return lines, what
    elif op == 'late':
        m = REG_LOAD.match(lines[n])
        r, src = m.group(2), m.group(3)
        lines[n] = f'{m.group(1)}{r}_late <= {src};\n{m.group(1)}{r} <= {r}_late;'
        decl = top.order[r]
        lines[decl] = lines[decl] + f'\n    reg [{top.width[r] - 1}:0] {r}_late;'
        return lines, what
    else:
        raise ValueError(f'unknown edit {e!r}')
    lines[n] = c.render()
    return lines, what


def mutate(top: TopModule, site: Site, name: str, rng: np.random.Generator) -> Mutant:
    """The module text with ``site`` applied, renamed to ``name``."""
    extra: tuple[tuple[str, str], ...] = ()
    if site.edit[0] == 'prim_cmp':  # one instance switched to a mutated copy of its primitive
        _, kind, signed, step = site.edit
        module = f'{kind}_{name}'
        c = top.instances[site.line]
        lines, what = list(top.lines), site.what
        lines[site.line] = Instance(c.indent, module, dict(c.params), c.inst, dict(c.ports)).render()
        extra = ((f'{module}.v', primitive_cmp.mutated_primitive(kind, module, signed, step)),)
    else:
        lines, what = _apply(top, site, rng)
    text = '\n'.join(lines)
    text, count = re.subn(rf'^module {re.escape(top.name)} \(', f'module {name} (', text, count=1, flags=re.M)
    if count != 1:
        raise ValueError(f'no "module {top.name} (" line in the top module')
    return Mutant(name, Site(site.operator, site.line, what, site.edit), text, extra)


def sample(top: TopModule, n: int, seed: int, operators=OPERATORS) -> list[Mutant]:
    """``n`` mutants (at most one per site), operators taken in turn so each gets its share;
    the same text, ``n`` and ``seed`` give the same mutants."""
    unknown = sorted(set(operators) - set(OPERATORS))
    if unknown:
        raise ValueError(f'operators={unknown}: expected some of {OPERATORS}')
    if n < 0:
        raise ValueError(f'n={n} must be >= 0')
    rng = np.random.default_rng(seed)
    by_op: dict[str, list[Site]] = {o: [] for o in operators}
    for s in enumerate_sites(top):
        if s.operator in by_op:
            by_op[s.operator].append(s)
    for sites in by_op.values():
        order = rng.permutation(len(sites)).tolist()
        sites[:] = [sites[i] for i in order]
    picked: list[Site] = []
    while len(picked) < n and any(by_op.values()):
        for o in operators:
            if by_op[o] and len(picked) < n:
                picked.append(by_op[o].pop())
    return [mutate(top, s, f'{top.name}_m{k}', rng) for k, s in enumerate(picked)]
