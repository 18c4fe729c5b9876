"""The VHDL emitter without a simulation: GHDL analysis, determinism, the Verilog twin's ports
and metadata, registers, names. Simulation on GHDL lives in tests/rtl/test_vhdl_ghdl.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.programs import every_opcode_program
from support.strategies import programs

import rtl_templates
from da4ml_core.emit import write_verilog, write_vhdl
from da4ml_core.emit.vhdl import OUT_PORT
from da4ml_core.ir import Op, Opcode, Program, QInt
from verif.flows.regress import ghdl_analysis
from verif.hdl import replay_wrapper
from verif.hdl.design import load_metadata

CUTOFFS = st.sampled_from([None, 0, 1, 2, 3, 5])


def _tree(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


# ------------------------------------------------------------------------------ GHDL analysis


@settings(max_examples=15)  # ~0.5 s of GHDL per example
@given(prog=programs(), cutoff=CUTOFFS)
def test_ghdl_analyses_and_elaborates_clean(tmp_path_factory, prog, cutoff):
    for cut in (None, cutoff):
        out = tmp_path_factory.mktemp('ghdl')
        write_vhdl(prog, out, latency_cutoff=cut)
        assert ghdl_analysis(out) == '', (cut, prog)


@pytest.mark.parametrize('cutoff', [None, 2])
def test_fixed_designs_analyse_clean(tmp_path, cutoff):
    """Every opcode, a program without inputs, a design whose outputs are all constant."""
    const = Op(Opcode.CONST, -1, -1, 5, QInt(5, 5, 1))
    no_inputs = Program(0, 2, [const], out_idxs=[0, -1], out_negs=[True, False])
    all_const = Program(1, 1, [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 0))], out_idxs=[-1])
    for n, prog in enumerate((every_opcode_program(), no_inputs, all_const)):
        out = tmp_path / f'd{n}'
        write_vhdl(prog, out, name='dut', latency_cutoff=cutoff)
        assert ghdl_analysis(out) == ''


def test_analysis_reports_a_broken_file(tmp_path):
    write_vhdl(every_opcode_program(), tmp_path, latency_cutoff=1)
    top = tmp_path / 'top.vhd'
    top.write_text(top.read_text().replace('SUB => 0', 'SUB => 0 0', 1))
    found = ghdl_analysis(tmp_path)
    assert 'top.vhd' in found and 'exit status' in found


# ------------------------------------------------------------------------------ determinism


@given(prog=programs(), cutoff=CUTOFFS)
def test_same_program_same_bytes(tmp_path_factory, prog, cutoff):
    a, b = tmp_path_factory.mktemp('a'), tmp_path_factory.mktemp('b')
    pa = write_vhdl(prog, a, latency_cutoff=cutoff)
    pb = write_vhdl(Program.from_json(prog.to_json()), b, latency_cutoff=cutoff)
    assert [p.name for p in pa] == [p.name for p in pb]
    assert _tree(a) == _tree(b)


def test_same_bytes_across_processes(tmp_path):
    prog_file = tmp_path / 'prog.json'
    prog_file.write_text(every_opcode_program().to_json())
    code = ('import sys; from da4ml_core.ir import Program; from da4ml_core.emit import write_vhdl; '
            'write_vhdl(Program.from_json(open(sys.argv[1]).read()), sys.argv[2], latency_cutoff=3)')
    trees = []
    for seed in ('1', '2'):
        out = tmp_path / f'seed{seed}'
        subprocess.run([sys.executable, '-c', code, str(prog_file), str(out)], check=True, timeout=300,
                       env={**os.environ, 'PYTHONHASHSEED': seed})
        trees.append(_tree(out))
    assert trees[0] == trees[1]
    assert str(tmp_path) not in trees[0]['top.vhd'].decode()


# ------------------------------------------------------------------------------ the Verilog twin


@given(prog=programs(), cutoff=CUTOFFS)
def test_same_design_as_the_verilog(tmp_path_factory, prog, cutoff):
    """metadata.json equal but for sources and language; the same ports, widths, registers
    and primitive instances (kind and parameters, in order)."""
    v, h = tmp_path_factory.mktemp('v'), tmp_path_factory.mktemp('h')
    vtext = write_verilog(prog, v, latency_cutoff=cutoff)[0].read_text()
    htext = write_vhdl(prog, h, latency_cutoff=cutoff)[0].read_text()
    mv, mh = load_metadata(v), load_metadata(h)
    assert mh.pop('language') == 'vhdl' and 'language' not in mv
    assert [s.replace('.vhd', '.v') for s in mh.pop('sources')] == mv.pop('sources')
    assert mv == mh
    assert f'inp : in  std_logic_vector({mh["inp_width"] - 1} downto 0)' in htext
    assert f'{OUT_PORT} : out std_logic_vector({mh["out_width"] - 1} downto 0)' in htext
    assert ('clk : in  std_logic' in htext) == mh['clocked']
    regs = re.findall(r'^    signal \w+_s\d+ : std_logic_vector\((\d+) downto 0\);', htext, flags=re.MULTILINE)
    assert sum(int(hi) + 1 for hi in regs) == mh['register_bits']
    v_inst = re.findall(r'^    (\w+) #\((.*?)\) (\w+) \(', vtext, flags=re.MULTILINE)
    h_inst = re.findall(r'^    (\w+): entity work\.(\w+) generic map \((.*?)\) port map', htext, flags=re.MULTILINE)
    assert [(k, inst, p.replace('.', '').replace('(', ' => ').replace(')', '')) for k, p, inst in v_inst] == \
        [(k, inst, p) for inst, k, p in h_inst]


def test_verilog_and_vhdl_primitives_have_the_same_parameters():
    for name in rtl_templates.PRIMITIVES:
        v = rtl_templates.template_path(name).read_text()
        h = rtl_templates.template_path(f'{name}.vhd').read_text()
        vp = re.findall(r'parameter integer (\w+)\s*=\s*(-?\d+)', v)
        hp = re.findall(r'^\s+(\w+)\s*:\s*(?:positive|natural|integer)\s*:=\s*(-?\d+)', h, flags=re.MULTILINE)
        assert vp == hp, name
    assert [p.name for p in rtl_templates.all_templates('.vhd')] == [f'{n}.vhd' for n in rtl_templates.PRIMITIVES]


def test_the_harness_knows_the_output_port():
    assert replay_wrapper.OUT_PORT == OUT_PORT == '\\out\\'


@pytest.mark.parametrize('cutoff', [None, 2])
def test_project_scripts_read_vhdl_2008(tmp_path, cutoff):
    write_vhdl(every_opcode_program(), tmp_path, name='net', latency_cutoff=cutoff)
    vivado, quartus = (tmp_path / 'net_vivado.tcl').read_text(), (tmp_path / 'net_quartus.tcl').read_text()
    for src in load_metadata(tmp_path)['sources']:
        assert src.endswith('.vhd')
        assert f'read_vhdl -vhdl2008 [file join $here {src}]' in vivado
        assert f'VHDL_FILE [file join $here {src}] -hdl_version VHDL_2008' in quartus
    assert 'read_verilog' not in vivado and 'VERILOG_FILE' not in quartus
    assert ('[get_ports clk]' in (tmp_path / 'net.xdc').read_text()) == (cutoff is not None)


def test_metadata_language_and_sources(tmp_path):
    paths = write_vhdl(every_opcode_program(), tmp_path, name='net', latency_cutoff=1)
    doc = json.loads((tmp_path / 'metadata.json').read_text())
    assert doc['language'] == 'vhdl' and doc['sources'][-1] == 'net.vhd' and paths[0].name == 'net.vhd'
    assert all((tmp_path / s).is_file() for s in doc['sources'])
    assert not list(tmp_path.glob('*.v'))


# ------------------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize('name, why', [
    ('_top', 'not a VHDL identifier'),
    ('top_', 'not a VHDL identifier'),
    ('a__b', 'not a VHDL identifier'),
    ('1top', 'not a VHDL identifier'),
    ('entity', 'reserved word'),
    ('Signal', 'reserved word'),
    ('out', 'reserved word'),
    ('SHIFT_ADD', 'uses itself'),
    ('bulk_vhdl_tb', 'uses itself'),
    ('ieee', 'uses itself'),
    ('rtl', 'uses itself'),
    ('V3', 'uses itself'),
    ('rom0', 'uses itself'),
    ('u_o2', 'uses itself'),
])
def test_bad_vhdl_names(tmp_path, name, why):
    prog = every_opcode_program()
    with pytest.raises(ValueError) as err:
        write_vhdl(prog, tmp_path / 'o', name=name)
    assert f'name={name!r}' in str(err.value) and why in str(err.value)
    assert not (tmp_path / 'o').exists()


def test_other_bad_arguments_as_in_verilog(tmp_path):
    with pytest.raises(TypeError, match='prog'):
        write_vhdl('not a program', tmp_path)
    with pytest.raises(ValueError, match='latency_cutoff=-1'):
        write_vhdl(every_opcode_program(), tmp_path, latency_cutoff=-1)
    bad = Program(1, 1, [Op(Opcode.INPUT, 0, -1, 0, QInt.of_kif(1, 3, 0)), Op(9, 0, 0, 0, QInt.of_kif(1, 3, 0))],
                  out_idxs=[1], validate=False)
    with pytest.raises(ValueError, match='write_vhdl cannot emit'):
        write_vhdl(bad, tmp_path)
    write_vhdl(every_opcode_program(), tmp_path / 'ok', name='top_2')  # valid in both languages
