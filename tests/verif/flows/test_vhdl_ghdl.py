"""Emitted VHDL simulated on GHDL (cocotb) against the same golden models as the Verilog.

Random programs (every opcode, support.strategies) are checked against the exact reference and
the interpreter, at a latency that is measured, not trusted; the regression's corner designs and
a derandomized sample of its random CMVM and traced specs are compiled with write_vhdl and
replayed in one GHDL run each (verif.sim.replay with the VHDL replay wrapper); the
bundled jet tagger's VHDL is checked against the interpreter; a few designs also go through
the per-cycle cocotb testbench; an adder flipped to a subtractor in the VHDL must be caught,
with a report, a waveform and a rerun command. Every test id names ghdl.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support.programs import every_opcode_program
from support.strategies import programs
from test_regression import cmvm_specs, traced_specs  # the regression's own spec strategies

from da4ml_core.emit import write_vhdl
from verif import sim
from verif.flows import judge, regress
from verif.flows.corners import corner_specs
from verif.flows.ports import bus_to_floats
from verif.flows.program_oracle import expected_interp, expected_reference
from verif.flows.specs import Spec
from verif.hdl.design import emitted_design, load_metadata
from verif.hdl.stimulus import stimulus
from verif.sim import toolchain

pytestmark = pytest.mark.rtl
GHDL = pytest.mark.parametrize('simulator', ['ghdl'])
ROOT = Path(__file__).resolve().parents[3]
N_CMVM, N_TRACED = 6, 6


def _check(specs: list[Spec], workdir: Path, simulator: str) -> list[regress.Prepared]:
    specs = [s.with_(name=f'{s.name}{j:03d}') for j, s in enumerate(specs)]
    preps = [regress.prepare(s, workdir / 'designs' / s.name, language='vhdl') for s in specs]
    results = regress.lint_all(preps) + regress.simulate(preps, simulator, workdir, batch_size=len(preps))
    bad = [r for r in results if not r.passed]
    assert not bad, f'{len(bad)} failing VHDL designs (of {len(specs)}):\n\n' + '\n\n'.join(r.report for r in bad)
    bulk = [r for r in results if r.path == 'bulk']
    assert len(bulk) == len(specs) and all(r.n_vectors == s.n_vectors + p.n_directed for r, s, p in zip(bulk, specs, preps))
    return preps


def _expected(prog, outdir: Path, seed: int, n_random: int):
    """Bus rows (extremes + random words) and the reference's outputs, which the interpreter's equal."""
    meta = load_metadata(outdir)
    rows = stimulus(emitted_design(outdir, meta).in_bus.fields, n_random, seed, n_mixes=512)
    X = bus_to_floats(meta, rows)
    reference = expected_reference(prog, meta, X)
    assert np.array_equal(reference, expected_interp(prog, meta, X))
    return rows, reference


def _assert_equal(outputs, unknown, expected, what: str) -> None:
    bad = judge.compare(outputs, unknown, expected).vectors
    assert bad.size == 0, (f'{what}: {bad.size} of {len(expected)} vectors differ; first {bad[0]}: got '
                           f'{outputs[bad[0]].tolist()} expected {expected[bad[0]].tolist()}')


@GHDL
@settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(progs=st.lists(programs(), min_size=8, max_size=8), cutoffs=st.lists(st.sampled_from([None, 0, 1, 2, 4]),
       min_size=8, max_size=8), seed=st.integers(0, 2**32 - 1))
def test_random_programs_match_reference(simulator, tmp_path_factory, progs, cutoffs, seed):
    """Eight random programs per GHDL run, each against the exact reference."""
    work = tmp_path_factory.mktemp('progs')
    des, rows, refs = [], [], []
    for n, (prog, cut) in enumerate(zip(progs, cutoffs)):
        write_vhdl(prog, work / f'p{n}', name=f'prog{n}', latency_cutoff=cut)
        r, ref = _expected(prog, work / f'p{n}', seed + n, 100)
        des.append(emitted_design(work / f'p{n}'))
        rows.append(r)
        refs.append(ref)
    run = sim.replay(des, rows, simulator, work / 'run')
    for d, out, unk, ref in zip(des, run.outputs, run.unknown, refs):
        _assert_equal(out, unk, ref, f'{d.name} ({work})')


@GHDL
@pytest.mark.parametrize('cutoff', [None, 2])
def test_every_opcode_both_paths(simulator, tmp_path, cutoff):
    """The fixed every-opcode program (wide values, negated outputs, tables, MUL, RELU): bulk
    path vs the reference, per cycle through the cocotb checker, and, pipelined, its latency
    measured by replaying it as if it were 3 cycles slower."""
    prog = every_opcode_program()
    write_vhdl(prog, tmp_path / 'd', name='every_op', latency_cutoff=cutoff)
    design = emitted_design(tmp_path / 'd')
    rows, expected = _expected(prog, tmp_path / 'd', 7, 1000)
    run = sim.replay([design], [rows], simulator, tmp_path / 'run')
    _assert_equal(run.outputs[0], run.unknown[0], expected, 'bulk')
    seen = sim.per_cycle(design, rows[:200], expected[:200], simulator)
    _assert_equal(seen.outputs[0], seen.unknown[0], expected[:200], 'per cycle')
    if cutoff is not None:
        claimed = design.latency + 3
        slow = dataclasses.replace(design, latency=claimed)
        outs = sim.replay([slow], [rows[:300]], simulator, tmp_path / 'slow').outputs[0]
        n = len(outs)
        fits = [claimed - d for d in range(claimed + 1)
                if np.array_equal(outs, expected[:n][np.minimum(np.arange(n) + d, n - 1)])]
        assert design.latency > 1 and fits == [design.latency]


@GHDL
def test_corner_designs_vhdl(simulator, tmp_path):
    """Every corner design in one GHDL run; three of them also per cycle (combinational,
    pipelined, a lookup table), through the unchanged per-cycle cocotb testbench."""
    preps = _check(corner_specs(), tmp_path, simulator)
    chosen = [p for p in preps if p.spec.name.startswith(('one_bit', 'wide_quant', 'tanh8'))]
    assert len(chosen) == 3 and {p.design.clocked for p in chosen} == {True}  # cutoffs 1, 2, 2
    chosen.append(next(p for p in preps if not p.design.clocked))
    for p in chosen:
        res = regress.check_per_cycle(p, simulator, 200, tmp_path)
        assert res.passed and res.n_vectors == 200, res.report


@GHDL
@settings(max_examples=1, deadline=None, derandomize=True, database=None, phases=(Phase.generate,),
          suppress_health_check=list(HealthCheck))
@given(cmvm=st.lists(cmvm_specs(max_dim=8), min_size=N_CMVM, max_size=N_CMVM, unique_by=Spec.to_json),
       traced=st.lists(traced_specs(), min_size=N_TRACED, max_size=N_TRACED, unique_by=Spec.to_json))
def test_random_designs_vhdl(simulator, tmp_path_factory, cmvm, traced):
    _check(cmvm + traced, tmp_path_factory.mktemp('random'), simulator)


@GHDL
def test_jet_tagger_vhdl_equals_the_interpreter(simulator, tmp_path):
    """The bundled HGQ2 jet tagger, converted and written as pipelined VHDL, on GHDL: port
    extremes and random port words, every output equal to the interpreter's."""
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    from da4ml_core.convert import convert_model, load_model
    from da4ml_core.convert.examples import example_files

    with example_files() as (model_path, _):
        prog = convert_model(load_model(model_path), on_inexact='error').program
    write_vhdl(prog, tmp_path / 'jet', name='jet_tagger', latency_cutoff=2)
    meta = load_metadata(tmp_path / 'jet')
    assert meta['latency_cycles'] >= 2 and meta['n_live_ops'] > 1000
    design = emitted_design(tmp_path / 'jet', meta)
    rows = stimulus(design.in_bus.fields, 400, seed=7, n_mixes=512)
    expected = expected_interp(prog, meta, bus_to_floats(meta, rows))
    run = sim.replay([design], [rows], simulator, tmp_path / 'run')
    wrong = judge.compare(run.outputs[0], run.unknown[0], expected)
    assert len(rows) > 900 and not wrong.count, f'{wrong.count} of {len(rows)} vectors differ'


def _flip_first_adder(path: Path) -> None:
    text = path.read_text()
    at = text.index('entity work.shift_add generic map (')
    sub = text.index('SUB => ', at) + len('SUB => ')
    path.write_text(text[:sub] + ('1' if text[sub] == '0' else '0') + text[sub + 1:])


@GHDL
def test_flipped_adder_is_caught(simulator, tmp_path):
    """An adder turned into a subtractor in the VHDL fails on GHDL with a report naming the
    vectors, a waveform and rerun commands; the rerun from the spec passes again."""
    W = np.random.default_rng(5).integers(-99, 100, (6, 5)).tolist()
    spec = Spec('flip', 'cmvm', [(1, 3, 2)] * 6, None, latency_cutoff=1, W=W, seed=3, n_vectors=400)
    p = regress.prepare(spec, tmp_path / 'flip', language='vhdl')
    (ok,) = regress.simulate([p], simulator, tmp_path / 'ok')
    assert ok.passed, ok.report
    _flip_first_adder(p.outdir / 'flip.vhd')
    bad = regress.prepare(spec, p.outdir, build=False)
    (res,) = regress.simulate([bad], simulator, tmp_path / 'bug')
    assert not res.passed and res.mismatches > 100, res.summary()
    for words in ('vector', 'expected', 'got', 'port(1, 3, 2)', 'waveform:', 'verif.flows.regress rerun'):
        assert words in res.report, words
    assert (res.failure_dir / 'waves.ghw').stat().st_size > 0
    cmd = [sys.executable, '-m', 'verif.flows.regress']
    opts = ['--simulator', simulator, '--per-cycle', '50']
    checked = subprocess.run([*cmd, 'check', str(res.failure_dir / 'design'), *opts, '--workdir', str(tmp_path / 'c1')],
                             capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert checked.returncode == 1 and 'FAIL' in checked.stdout, checked.stdout + checked.stderr
    rerun = subprocess.run([*cmd, 'rerun', str(res.failure_dir / 'spec.json'), *opts, '--workdir', str(tmp_path / 'c2')],
                           capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert rerun.returncode == 0 and 'FAIL' not in rerun.stdout, rerun.stdout + rerun.stderr


@GHDL
def test_ghdl_found_and_checked(simulator, monkeypatch):
    """Found with its version and back end; too old or missing is an error naming the fix; the
    default simulator pair stays the Verilog one."""
    found = sim.find_simulator(simulator, refresh=True)
    assert found.name == 'ghdl' and found.version.split()[1] in ('mcode', 'llvm', 'gcc') and 'back end' in found.origin
    assert sim.SIMULATORS == ('icarus', 'verilator') and sim.ALL_SIMULATORS == ('icarus', 'verilator', 'ghdl')
    sim.check_ghdl_version('2.0.0')
    with pytest.raises(RuntimeError, match=r'GHDL 1\.0\.0 .* too old.*apt-get install ghdl'):
        sim.check_ghdl_version('1.0.0')
    with pytest.raises(ValueError, match='icarus, verilator, ghdl'):
        sim.find_simulator('nvc')
    monkeypatch.setattr(toolchain.shutil, 'which', lambda name: None)
    with pytest.raises(RuntimeError, match='GHDL .* not found.*apt-get install ghdl'):
        sim.find_simulator('ghdl', refresh=True)
