"""The Verilog text of one program: a flat-bus top module instantiating the rtl_templates primitives.

Each live op ``i`` becomes a wire ``v<i>`` holding its raw integer (two's complement when the op
can be negative) at its minimal width; zero-width values are the literal ``1'b0``. The pipeline
schedule only renames operands (``v3_s2`` = v3 registered into stage 2) and adds the register
block, so the combinational and pipelined texts share everything else. Output is a pure
function of its inputs: same program and schedule, same bytes.
"""

from __future__ import annotations

from ..ir import Op, Opcode, Program
from .layout import Layout, const_raw_width
from .pipeline import Schedule

__all__ = ['literal', 'render']


def literal(raw: int, width: int) -> str:
    """A sized hex literal of the two's-complement pattern of ``raw`` in ``width`` bits."""
    return f"{width}'h{raw & ((1 << width) - 1):x}"


def _decl(width: int) -> str:
    return f'[{width - 1}:0]'


def _params(params: dict) -> str:
    return ', '.join(f'.{k}({v})' for k, v in params.items())


class _Writer:
    """Builds the module body op by op; remembers which primitives and tables it used."""

    def __init__(self, prog: Program, lay: Layout, sched: Schedule):
        self.prog, self.lay, self.sched = prog, lay, sched
        self.qints = [op.qint for op in prog.ops]
        self.lines: list[str] = []
        self.primitives: set[str] = set()
        self.functions: dict[tuple, str] = {}  # ROM signature -> function name
        self.function_text: list[str] = []

    # ------------------------------------------------------------ operands

    def operand(self, j: int, t: int) -> tuple[str, int, int]:
        """(expression, width, signed) of op j read in stage t."""
        q = self.qints[j]
        if q.width == 0:
            return "1'b0", 1, 0
        return self.sched.read(f'v{j}', t), q.width, int(q.lo < 0)

    def instance(self, kind: str, inst: str, params: dict, ports: dict) -> None:
        self.primitives.add(kind)
        plist = ', '.join(f'.{k}({v})' for k, v in ports.items())
        self.lines.append(f'    {kind} #({_params(params)}) {inst} ({plist});')

    # ------------------------------------------------------------ ops

    def op(self, i: int, op: Op) -> None:
        q, name = op.qint, f'v{i}'
        w, so = q.width, int(q.lo < 0)
        st = self.sched.stage_of(name)
        t = 0 if st is None else st
        where = '' if st is None or not self.sched.clocked else f', stage {st}'
        self.lines.append(f'    // op {i}: {_describe(op)} -> {q}{where}')
        code = op.opcode
        if code == Opcode.INPUT:
            lsb, width = self.lay.input_slices[i]
            sel = f'inp[{lsb}]' if width == 1 else f'inp[{lsb + width - 1}:{lsb}]'
            self.lines.append(f'    wire {_decl(w)} {name} = {sel};')
            return
        if code == Opcode.CONST:
            self.lines.append(f'    wire {_decl(w)} {name} = {literal(op.data, w)};')
            return
        self.lines.append(f'    wire {_decl(w)} {name};')
        if code in (Opcode.ADD, Opcode.SUB):
            (a, wa, sa), (b, wb, sb) = self.operand(op.id0, t), self.operand(op.id1, t)
            shift = self.qints[op.id0].f - self.qints[op.id1].f + op.data
            params = {'WA': wa, 'SA': sa, 'WB': wb, 'SB': sb, 'S': shift, 'SUB': int(code == Opcode.SUB),
                      'WO': w, 'SO': so}
            self.instance('shift_add', f'u{i}', params, {'a': a, 'b': b, 'out': name})
        elif code == Opcode.CONST_ADD:
            a, wa, sa = self.operand(op.id0, t)
            wb, sb = const_raw_width(op.data)
            b = literal(op.data, wb) if wb else "1'b0"
            params = {'WA': wa, 'SA': sa, 'WB': max(wb, 1), 'SB': int(sb), 'S': self.qints[op.id0].f - q.f,
                      'SUB': 0, 'WO': w, 'SO': so}
            self.instance('shift_add', f'u{i}', params, {'a': a, 'b': b, 'out': name})
        elif abs(code) in (Opcode.QUANTIZE, Opcode.RELU):
            a, wa, sa = self.operand(op.id0, t)
            params = {'WA': wa, 'SA': sa, 'D': self.qints[op.id0].f - q.f, 'NEG': int(code < 0),
                      'RELU': int(abs(code) == Opcode.RELU), 'WO': w, 'SO': so}
            self.instance('quantize', f'u{i}', params, {'a': a, 'out': name})
        elif abs(code) == Opcode.MUX:
            k, wk, _ = self.operand(op.key, t)
            (a, wa, sa), (b, wb, sb) = self.operand(op.id0, t), self.operand(op.id1, t)
            params = {'WK': wk, 'WA': wa, 'SA': sa, 'SHA': q.f - self.qints[op.id0].f, 'WB': wb, 'SB': sb,
                      'SHB': q.f - self.qints[op.id1].f + op.shift, 'NEG': int(code < 0), 'WO': w, 'SO': so}
            self.instance('mux', f'u{i}', params, {'key': k, 'a': a, 'b': b, 'out': name})
        elif code == Opcode.MUL:
            (a, wa, sa), (b, wb, sb) = self.operand(op.id0, t), self.operand(op.id1, t)
            self.instance('mul', f'u{i}', {'WA': wa, 'SA': sa, 'WB': wb, 'SB': sb, 'WO': w, 'SO': so},
                          {'a': a, 'b': b, 'out': name})
        elif code == Opcode.LOOKUP:
            key, wk, _ = self.operand(op.id0, t)
            fn = self.rom(op, wk, w)
            self.lines.append(f'    assign {name} = {fn}({key});')
        else:  # write_verilog refuses these before rendering
            raise ValueError(f'op {i}: opcode {int(code)} cannot be emitted')

    def rom(self, op: Op, wk: int, w: int) -> str:
        """A function holding the table entries the key can reach (shared by equal uses)."""
        key = self.qints[op.id0]
        table = self.prog.tables[op.table]
        sig = (op.table, key.lo, key.hi, wk, op.base, w)
        if sig in self.functions:
            return self.functions[sig]
        fn = f'rom{len(self.functions)}'
        self.functions[sig] = fn
        body = [
            f'    // {fn}: table {op.table}, key raw {key.lo} .. {key.hi}, entry = table[key - ({op.base})]',
            f'    function {_decl(w)} {fn};',
            f'        input {_decl(wk)} key;',
            '        begin',
            '            case (key)',
        ]
        for r in range(key.lo, key.hi + 1):
            body.append(f'                {literal(r, wk)}: {fn} = {literal(table[r - op.base], w)};')
        body += [f"                default: {fn} = {{{w}{{1'b0}}}};", '            endcase', '        end',
                 '    endfunction', '']
        self.function_text += body
        return fn

    def negated_output(self, j: int, idx: int) -> None:
        name = f'o{j}'
        el = self.lay.outputs[j]
        st = self.sched.stage_of(name)
        where = '' if st is None or not self.sched.clocked else f', stage {st}'
        self.lines.append(f'    // output {j}: -v{idx}{where}')
        op = self.prog.ops[idx]
        if op.opcode == Opcode.CONST:
            self.lines.append(f'    wire {_decl(el.width)} {name} = {literal(-op.data, el.width)};')
            return
        a, wa, sa = self.operand(idx, 0 if st is None else st)
        self.lines.append(f'    wire {_decl(el.width)} {name};')
        self.instance('negate', f'u_o{j}', {'WA': wa, 'SA': sa, 'WO': el.width, 'SO': int(el.signed)},
                      {'a': a, 'out': name})


def _describe(op: Op) -> str:
    code = op.opcode
    if code == Opcode.INPUT:
        return f'INPUT x{op.id0}'
    if code in (Opcode.ADD, Opcode.SUB):
        sign = '+' if code == Opcode.ADD else '-'
        return f'v{op.id0} {sign} (v{op.id1} << {op.data})'
    if code == Opcode.CONST_ADD:
        return f'v{op.id0} + {op.data} steps'
    if code == Opcode.CONST:
        return f'CONST {op.data} steps'
    if abs(code) == Opcode.MUX:
        neg = '-' if code < 0 else ''
        return f'msb(v{op.key}) ? v{op.id0} : {neg}(v{op.id1} << {op.shift})'
    if code == Opcode.MUL:
        return f'v{op.id0} * v{op.id1}'
    if code == Opcode.LOOKUP:
        return f'table {op.table}[v{op.id0} - ({op.base})]'
    return f'{Opcode(code).name} v{op.id0}'


def _ranges(mask_bits: list[bool]) -> list[tuple[int, int]]:
    """Runs of True in ``mask_bits`` as (lsb, msb), ascending."""
    out, start = [], None
    for b, on in enumerate([*mask_bits, False]):
        if on and start is None:
            start = b
        elif not on and start is not None:
            out.append((start, b - 1))
            start = None
    return out


def render(prog: Program, lay: Layout, sched: Schedule, name: str) -> tuple[str, list[str]]:
    """Module text and the sorted primitive names it instantiates."""
    wr = _Writer(prog, lay, sched)
    for i, op in enumerate(prog.ops):
        if lay.live[i]:
            wr.op(i, op)
    for j, (idx, neg) in enumerate(zip(prog.out_idxs, prog.out_negs)):
        if lay.outputs[j].used and neg:
            wr.negated_output(j, idx)

    body = list(wr.lines)
    regs = sched.registers()
    if regs:
        body += ['', f'    // pipeline registers: {sched.out_stage} stages, outputs registered']
        body += [f'    reg {_decl(w)} {r};' for _, r, _, w in regs]
        for t in sorted({r[0] for r in regs}):
            body.append(f'    always @(posedge clk) begin  // into stage {t}')
            body += [f'        {r} <= {src};' for s, r, src, _ in regs if s == t]
            body.append('    end')

    fields = []
    for j, el in enumerate(lay.outputs):
        if not el.used:
            fields.append("1'b0")
        else:
            val = f'o{j}' if prog.out_negs[j] else f'v{prog.out_idxs[j]}'
            fields.append(sched.read(val, sched.out_stage))
    packed = ', '.join(reversed(fields)) if fields else "1'b0"  # element 0 at the LSB: last in {...}
    body += ['', f'    assign out = {{{packed}}};']

    used = [False] * lay.in_width
    for lsb, width in lay.input_slices.values():
        for b in range(lsb, lsb + width):
            used[b] = True
    spare = [f'inp[{lo}]' if lo == hi else f'inp[{hi}:{lo}]' for lo, hi in _ranges([not u for u in used])]
    if sched.clocked and not regs:
        spare.insert(0, 'clk')
    if spare:
        body += ['', '    // input bits no live op reads (pads, unused precision)',
                 f"    wire unused_inputs = &{{1'b0, {', '.join(spare)}, 1'b0}};"]

    ports = ['    input  wire clk,'] if sched.clocked else []
    ports += [f'    input  wire {_decl(lay.in_width)} inp,', f'    output wire {_decl(lay.out_width)} out']
    head = [
        f'// {name}: generated by da4ml_core.emit from a DAIS program',
        f'// {len(prog.ops)} ops, {prog.n_in} inputs, {prog.n_out} outputs; cost {prog.cost:g}, '
        f'{prog.latency:g} adder levels; '
        + (f'{sched.out_stage}-cycle pipeline, II = 1' if sched.clocked else 'combinational'),
        '// inp / out: element j at bits [offset_j +: width_j], element 0 at the LSB (see metadata.json)',
        '`default_nettype none',
        '',
        f'module {name} (',
        *ports,
        ');',
    ]
    text = '\n'.join([*head, *wr.function_text, *body, 'endmodule', '', '`default_nettype wire', ''])
    return text, sorted(wr.primitives)
