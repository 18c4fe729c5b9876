"""Emitted VHDL simulated on GHDL (cocotb) against the same golden models as the Verilog.

Random programs (every opcode, verif.strategies) are checked against the exact Fraction
reference and the interpreter, at a latency that is measured, not trusted; the regression's corner designs and a derandomized sample of its random CMVM and traced specs
are compiled with write_vhdl and replayed in one GHDL run each (verif.vhdl_wrapper); the
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
from test_regression import cmvm_specs, corner_specs, traced_specs  # the regression's own specs

from da4ml_core.emit import write_vhdl
from verif import emitted, regress
from verif.designs import Spec
from verif.drive import run_per_cycle
from verif.strategies import programs
from verif.vhdl_wrapper import prepare_vhdl, run_vhdl, simulate_vhdl

pytestmark = pytest.mark.rtl
GHDL = pytest.mark.parametrize('simulator', ['ghdl'])
ROOT = Path(__file__).resolve().parents[2]
N_CMVM, N_TRACED = 6, 6


def _check(specs: list[Spec], workdir: Path, simulator: str) -> list[regress.Prepared]:
    specs = [s.with_(name=f'{s.name}{j:03d}') for j, s in enumerate(specs)]
    preps = [prepare_vhdl(s, workdir / 'designs' / s.name) for s in specs]
    results = simulate_vhdl(preps, workdir, simulator=simulator)
    bad = [r for r in results if not r.passed]
    assert not bad, f'{len(bad)} failing VHDL designs (of {len(specs)}):\n\n' + '\n\n'.join(r.report for r in bad)
    assert len(results) == len(specs) and all(r.n_vectors == s.n_vectors for r, s in zip(results, specs))
    return preps


def _expected(prog, outdir: Path, seed: int, n_random: int):
    """Bus rows (extremes + random words) and the reference's outputs, which the interpreter's equal."""
    meta = emitted.load_metadata(outdir)
    rows = emitted.stimulus(meta, n_random, seed)
    X = emitted.bus_to_floats(meta, rows)
    reference = emitted.expected_reference(prog, meta, X)
    assert np.array_equal(reference, emitted.expected_interp(prog, meta, X))
    return rows, reference


def _assert_equal(outputs, unknown, expected, what: str) -> None:
    bad = np.nonzero(np.any(outputs != expected, axis=1) | unknown)[0]
    assert bad.size == 0, (f'{what}: {bad.size} of {len(expected)} vectors differ; first {bad[0]}: got '
                           f'{outputs[bad[0]].tolist()} expected {expected[bad[0]].tolist()}')


@GHDL
@settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(progs=st.lists(programs(), min_size=8, max_size=8), cutoffs=st.lists(st.sampled_from([None, 0, 1, 2, 4]),
       min_size=8, max_size=8), seed=st.integers(0, 2**32 - 1))
def test_random_programs_match_reference(simulator, tmp_path_factory, progs, cutoffs, seed):
    """Eight random programs per GHDL run, each against the Fraction reference."""
    work = tmp_path_factory.mktemp('progs')
    des, rows, refs = [], [], []
    for n, (prog, cut) in enumerate(zip(progs, cutoffs)):
        write_vhdl(prog, work / f'p{n}', name=f'prog{n}', latency_cutoff=cut)
        r, ref = _expected(prog, work / f'p{n}', seed + n, 100)
        des.append(emitted.emitted_design(work / f'p{n}'))
        rows.append(r)
        refs.append(ref)
    run = run_vhdl(des, rows, work / 'run', simulator=simulator)
    for d, out, unk, ref in zip(des, run.outputs, run.unknown, refs):
        _assert_equal(out, unk, ref, f'{d.name} ({work})')


@GHDL
@pytest.mark.parametrize('cutoff', [None, 2])
def test_every_opcode_both_paths(simulator, tmp_path, cutoff):
    """The fixed every-opcode program (wide values, negated outputs, tables, MUL, RELU): bulk
    path vs the reference, per cycle through the scoreboard, and, pipelined, its latency
    measured by replaying it as if it were 3 cycles slower."""
    prog = emitted.every_opcode_program()
    write_vhdl(prog, tmp_path / 'd', name='every_op', latency_cutoff=cutoff)
    design = emitted.emitted_design(tmp_path / 'd')
    rows, expected = _expected(prog, tmp_path / 'd', 7, 1000)
    run = run_vhdl([design], [rows], tmp_path / 'run', simulator=simulator)
    _assert_equal(run.outputs[0], run.unknown[0], expected, 'bulk')
    assert run_per_cycle(design, rows[:200], expected[:200], simulator, check=False).mismatches == 0
    if cutoff is not None:
        claimed = design.latency + 3
        slow = dataclasses.replace(design, latency=claimed)
        outs = run_vhdl([slow], [rows[:300]], tmp_path / 'slow', simulator=simulator).outputs[0]
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
        n = 200
        expected = np.vectorize(lambda e: 0 if e is None else e, otypes=[object])(p.expected[:n])
        out = run_per_cycle(p.design, p.rows[:n], expected.astype(np.int64), simulator, check=False)
        assert out.mismatches == 0 and out.n_vectors == n, out.summary()


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
    from da4ml_core.convert.demo import example_files
    from da4ml_core.convert.keras_env import load_model
    from da4ml_core.convert.model import convert_model

    with example_files() as (model_path, _):
        prog = convert_model(load_model(model_path), on_inexact='error').program
    write_vhdl(prog, tmp_path / 'jet', name='jet_tagger', latency_cutoff=2)
    meta = emitted.load_metadata(tmp_path / 'jet')
    assert meta['latency_cycles'] >= 2 and meta['n_live_ops'] > 1000
    rows = emitted.stimulus(meta, 400, seed=7)
    expected = emitted.expected_interp(prog, meta, emitted.bus_to_floats(meta, rows))
    run = run_vhdl([emitted.emitted_design(tmp_path / 'jet')], [rows], tmp_path / 'run', simulator=simulator)
    wrong = np.any(run.outputs[0] != expected, axis=1) | run.unknown[0]
    assert len(rows) > 900 and not wrong.any(), f'{int(wrong.sum())} of {len(rows)} vectors differ'


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
    p = prepare_vhdl(spec, tmp_path / 'flip')
    (ok,) = simulate_vhdl([p], tmp_path / 'ok', simulator=simulator)
    assert ok.passed, ok.report
    _flip_first_adder(p.outdir / 'flip.vhd')
    bad = regress.prepare(spec, p.outdir, build=False)
    (res,) = simulate_vhdl([bad], tmp_path / 'bug', simulator=simulator)
    assert not res.passed and res.mismatches > 100, res.summary()
    for words in ('vector', 'expected', 'got', 'port(1, 3, 2)', 'waveform:', 'verif.vhdl_wrapper'):
        assert words in res.report, words
    assert (res.failure_dir / 'waves.ghw').stat().st_size > 0
    cmd = [sys.executable, '-m', 'verif.vhdl_wrapper', '--workdir']
    checked = subprocess.run([*cmd, str(tmp_path / 'cli1'), '--check', str(res.failure_dir / 'design')],
                             capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert checked.returncode == 1 and 'FAIL' in checked.stdout, checked.stdout + checked.stderr
    rerun = subprocess.run([*cmd, str(tmp_path / 'cli2'), str(res.failure_dir / 'spec.json')],
                           capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert rerun.returncode == 0 and 'pass' in rerun.stdout, rerun.stdout + rerun.stderr


@GHDL
def test_ghdl_found_and_checked(simulator, monkeypatch):
    """Found with its version and back end; too old or missing is an error naming the fix; the
    default simulator pair stays the Verilog one."""
    from verif import sim

    found = sim.find_simulator(simulator, refresh=True)
    assert found.name == 'ghdl' and found.version.split()[1] in ('mcode', 'llvm', 'gcc') and 'back end' in found.origin
    assert sim.SIMULATORS == ('icarus', 'verilator') and sim.ALL_SIMULATORS == ('icarus', 'verilator', 'ghdl')
    sim.check_ghdl_version('2.0.0')
    with pytest.raises(RuntimeError, match=r'GHDL 1\.0\.0 .* too old.*apt-get install ghdl'):
        sim.check_ghdl_version('1.0.0')
    with pytest.raises(ValueError, match='icarus, verilator, ghdl'):
        sim.find_simulator('nvc')
    monkeypatch.setattr(sim.shutil, 'which', lambda name: None)
    with pytest.raises(RuntimeError, match='GHDL .* not found.*apt-get install ghdl'):
        sim.find_simulator('ghdl', refresh=True)
