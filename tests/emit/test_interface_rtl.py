"""The ``valid`` and ``axis`` wrappers in Icarus and Verilator: every beat, in order, none lost or
repeated, under random stalls on both sides and resets mid-stream (verif.tb.stream, with
cocotbext-axi's AxiStreamSource / AxiStreamSink on the axis wrapper).

Expected outputs come from the exact reference (a small CMVM, the every-opcode program) or the
interpreter (the converted jet tagger), never from the design. Mutated wrappers (tready tied
high, m_axis_tready ignored, a reset that clears nothing, a core ignoring ce) must fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.programs import every_opcode_program
from support.strategies import programs

from da4ml_core.cmvm import solve
from da4ml_core.emit import write_verilog
from verif import sim
from verif.flows import regress
from verif.flows.ports import bus_to_floats
from verif.flows.program_oracle import expected_interp, expected_reference
from verif.hdl.design import emitted_design, load_metadata
from verif.hdl.stimulus import stimulus

pytestmark = pytest.mark.rtl
INTERFACES = ['valid', 'axis']


def _cmvm():
    W = np.random.default_rng(3).integers(-20, 21, (4, 3)).astype(float)
    return solve(W, input_kifs=[(1, 3, 0)] * 4)


def _vectors(prog, outdir: Path, n_random: int, seed: int, oracle=expected_reference):
    meta = load_metadata(outdir)
    design = emitted_design(outdir, meta)
    rows = stimulus(design.in_bus.fields, n_random, seed, max_structured=24)
    return design, rows, oracle(prog, meta, bus_to_floats(meta, rows))


def _stream_ok(design, interface, rows, expected, simulator, resets: int = 2, seed: int = 1):
    res = sim.stream(design, interface, rows, expected, simulator, resets=resets, seed=seed)
    epochs = res.summary['epochs']
    assert res.passed and len(epochs) == resets + 1 and not res.summary['problems']
    assert all(e['dropped'] > 0 for e in epochs[:-1]), epochs  # each reset dropped beats in flight
    assert epochs[-1]['dropped'] == 0 and sum(e['in'] for e in epochs) == len(rows)
    assert res.summary['held_in_edges'] > 0 and res.summary['held_out_edges'] > 0  # both sides stalled
    return res


def check_cmvm_stream(write, simulator, outdir, interface, cutoff):
    """A 4x3 CMVM written by ``write`` (write_verilog / write_vhdl): 200+ beats, random stalls,
    two resets, against the exact reference (which the interpreter matches)."""
    prog = _cmvm()
    write(prog, outdir, name='cmvm', latency_cutoff=cutoff, interface=interface)
    design, rows, expected = _vectors(prog, outdir, 200, seed=5)
    meta = load_metadata(outdir)
    assert np.array_equal(expected, expected_interp(prog, meta, bus_to_floats(meta, rows)))
    assert design.latency == (1 if cutoff is None else meta['interface']['core_latency_cycles'] + (interface == 'axis'))
    _stream_ok(design, interface, rows, expected, simulator, seed=cutoff or 3)


@pytest.mark.parametrize('interface', INTERFACES)
@pytest.mark.parametrize('cutoff', [None, 1])
def test_cmvm_streams(simulator, tmp_path, interface, cutoff):
    check_cmvm_stream(write_verilog, simulator, tmp_path, interface, cutoff)


@pytest.mark.parametrize('interface', INTERFACES)
def test_every_opcode_streams(simulator, tmp_path, interface):
    """Wide (> 64-bit) output bus, tables, negated and padded outputs, behind each wrapper."""
    prog = every_opcode_program()
    write_verilog(prog, tmp_path, name='every_op', latency_cutoff=2, interface=interface)
    design, rows, expected = _vectors(prog, tmp_path, 120, seed=9)
    assert design.out_bus.width > 64
    _stream_ok(design, interface, rows, expected, simulator, resets=1)


@settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(prog=programs(), cutoff=st.sampled_from([None, 0, 1, 3]), interface=st.sampled_from(INTERFACES),
       seed=st.integers(0, 2**16))
def test_random_programs_stream(simulator, tmp_path_factory, prog, cutoff, interface, seed):
    """Random programs (every opcode, zero-width values, constant outputs) behind a wrapper."""
    out = tmp_path_factory.mktemp('prog')
    write_verilog(prog, out, name='prog', latency_cutoff=cutoff, interface=interface)
    design, rows, expected = _vectors(prog, out, 60, seed=seed)
    res = sim.stream(design, interface, rows, expected, simulator, resets=1, seed=seed)
    assert res.passed and sum(e['in'] for e in res.summary['epochs']) == len(rows), res.summary


@pytest.mark.parametrize('interface', INTERFACES)
@pytest.mark.parametrize('cutoff', [None, 0, 2, 100])
def test_wrappers_lint_clean(tmp_path, interface, cutoff):
    """Verilator --lint-only -Wall (as the regression lints) and iverilog -Wall say nothing."""
    out = tmp_path / 'd'
    write_verilog(every_opcode_program(), out, name='every_op', latency_cutoff=cutoff, interface=interface)
    assert regress.lint(out, 'every_op') == ''
    srcs = [str(out / s) for s in load_metadata(out)['sources']]
    res = subprocess.run(['iverilog', '-Wall', '-g2005', '-o', str(tmp_path / 'a.out'), '-s', 'every_op', *srcs],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0 and not (res.stdout + res.stderr).strip(), res.stdout + res.stderr


# ------------------------------------------------------------------ mutants


def _mutate(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new))


MUTANTS = {
    'tready tied high': ('axis', 'cmvm.v', 'assign s_axis_tready = ce;', "assign s_axis_tready = 1'b1;"),
    'm_axis_tready ignored': ('axis', 'cmvm.v', 'wire pop = m_axis_tvalid & m_axis_tready;',
                              'wire pop = m_axis_tvalid;'),
    'reset clears nothing': ('valid', 'cmvm.v', "if (rst) valid_chain <=", "if (1'b0) valid_chain <="),
    'core ignores ce': ('valid', 'cmvm_core.v', 'always @(posedge clk) if (ce) begin', 'always @(posedge clk) begin'),
    'tvalid withdrawn': ('axis', 'cmvm.v', "assign m_axis_tvalid = count != 2'd0;",
                         "assign m_axis_tvalid = count != 2'd0 & ce;"),
}


def _mutant_fails(tmp_path, simulator, name):
    interface, fname, old, new = MUTANTS[name]
    prog = _cmvm()
    write_verilog(prog, tmp_path, name='cmvm', latency_cutoff=1, interface=interface)
    design, rows, expected = _vectors(prog, tmp_path, 150, seed=2)
    _mutate(tmp_path / fname, old, new)
    res = sim.stream(design, interface, rows, expected, simulator, resets=1, check=False)
    assert not res.passed and res.summary['problems'], res.summary
    return res.summary['problems']


def test_tready_tied_high_is_caught(simulator, tmp_path):
    problems = _mutant_fails(tmp_path, simulator, 'tready tied high')
    assert any('never came out' in p or 'expected' in p for p in problems), problems


@pytest.mark.parametrize('simulator', ['icarus'])
@pytest.mark.parametrize('name', ['m_axis_tready ignored', 'reset clears nothing', 'core ignores ce'])
def test_other_mutants_are_caught(simulator, tmp_path, name):
    _mutant_fails(tmp_path, simulator, name)


@pytest.mark.parametrize('simulator', ['icarus'])
def test_withdrawn_tvalid_is_caught(simulator, tmp_path):
    """No beat is lost, but a waiting m_axis beat drops tvalid: an AXI4-Stream violation."""
    problems = _mutant_fails(tmp_path, simulator, 'tvalid withdrawn')
    assert any('not held' in p for p in problems), problems


# ------------------------------------------------------------------ the converted jet tagger


@pytest.fixture(scope='module')
def jet_program():
    """The bundled HGQ2 jet tagger, converted once for this module."""
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    from da4ml_core.convert import convert_model, load_model
    from da4ml_core.convert.examples import example_files

    with example_files() as (model_path, _):
        return convert_model(load_model(model_path), on_inexact='error').program


@pytest.mark.slow
@pytest.mark.parametrize('interface, cutoff', [('valid', 2), ('axis', None)])
def test_jet_tagger_streams(simulator, tmp_path, jet_program, interface, cutoff):
    """The converted jet tagger behind each wrapper (pipelined valid, combinational axis: the
    CMVM above covers every pairing; a Verilator build of the tagger costs ~20 s), against the
    interpreter: random stalls and one reset mid-stream."""
    write_verilog(jet_program, tmp_path, name='jet_tagger', latency_cutoff=cutoff, interface=interface)
    meta = load_metadata(tmp_path)
    assert meta['n_live_ops'] > 1000 and (cutoff is None) == (meta['interface']['core_latency_cycles'] == 0)
    design, rows, expected = _vectors(jet_program, tmp_path, 60, seed=11, oracle=expected_interp)
    _stream_ok(design, interface, rows, expected, simulator, resets=1, seed=7)
