"""The VHDL ``valid`` and ``axis`` wrappers on GHDL: clean analysis, and the same stream checks as
the Verilog ones (verif.tb.stream: random stalls, resets mid-stream, every beat against the
exact reference), with ``s_axis_tready`` tied high caught. Every test id names ghdl."""

from __future__ import annotations

import pytest
from support.programs import every_opcode_program
from test_interface_rtl import INTERFACES, _cmvm, _mutate, _stream_ok, _vectors, check_cmvm_stream

from da4ml_core.emit import write_vhdl
from verif import sim
from verif.flows import regress

pytestmark = pytest.mark.rtl
GHDL = pytest.mark.parametrize('simulator', ['ghdl'])


@pytest.mark.parametrize('interface', INTERFACES)
@pytest.mark.parametrize('cutoff', [None, 0, 2, 100])
def test_vhdl_wrappers_analyse_clean(tmp_path, interface, cutoff):
    write_vhdl(every_opcode_program(), tmp_path, name='every_op', latency_cutoff=cutoff, interface=interface)
    assert regress.lint(tmp_path, 'every_op') == ''  # ghdl -a / -e, VHDL-2008, the regression's warnings


@GHDL
@pytest.mark.parametrize('interface', INTERFACES)
@pytest.mark.parametrize('cutoff', [None, 1])
def test_vhdl_cmvm_streams(simulator, tmp_path, interface, cutoff):
    check_cmvm_stream(write_vhdl, simulator, tmp_path, interface, cutoff)


@GHDL
@pytest.mark.parametrize('interface', INTERFACES)
def test_vhdl_every_opcode_streams(simulator, tmp_path, interface):
    prog = every_opcode_program()
    write_vhdl(prog, tmp_path, name='every_op', latency_cutoff=2, interface=interface)
    design, rows, expected = _vectors(prog, tmp_path, 120, seed=9)
    _stream_ok(design, interface, rows, expected, simulator, resets=1)


@GHDL
def test_vhdl_tready_tied_high_is_caught(simulator, tmp_path):
    prog = _cmvm()
    write_vhdl(prog, tmp_path, name='cmvm', latency_cutoff=1, interface='axis')
    design, rows, expected = _vectors(prog, tmp_path, 150, seed=2)
    _mutate(tmp_path / 'cmvm.vhd', 's_axis_tready <= ce;', "s_axis_tready <= '1';")
    res = sim.stream(design, 'axis', rows, expected, simulator, resets=1, check=False)
    assert not res.passed and res.summary['problems'], res.summary
