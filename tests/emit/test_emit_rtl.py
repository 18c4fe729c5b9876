"""Emitted designs simulated in Icarus and Verilator equal the IR, bit for bit, at the stated latency.

Random programs (support.strategies) are written combinational and pipelined, driven with every
combination of input extremes (min, max, 0, -1) plus random bus words on the bulk path, and
the output integers are compared with the exact reference (verif.oracle.reference, which
shares no code with the interpreter) and with the interpreter. The latency is measured, not
trusted: the design is replayed as if it were slower, and the shift between output and input
streams gives the real pipeline depth.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from support.programs import every_opcode_program
from support.strategies import programs, rtl_settings

from da4ml_core.emit import write_verilog
from verif import sim
from verif.flows import judge
from verif.flows.ports import bus_to_floats
from verif.flows.program_oracle import expected_interp, expected_reference
from verif.hdl.design import emitted_design, load_metadata
from verif.hdl.stimulus import stimulus

pytestmark = pytest.mark.rtl

N_RANDOM = 300


def _check(prog, outdir, simulator, seed, n_random=N_RANDOM):
    """Bulk-run the design in ``outdir``; assert it equals the reference and the interpreter."""
    meta = load_metadata(outdir)
    design = emitted_design(outdir, meta)
    rows = stimulus(design.in_bus.fields, n_random, seed, n_mixes=512)
    X = bus_to_floats(meta, rows)
    reference = expected_reference(prog, meta, X)
    interp = expected_interp(prog, meta, X)
    outcome = sim.replay([design], [rows], simulator, outdir / f'run-{simulator}')
    got = outcome.outputs[0]
    found = judge.compare(got, outcome.unknown[0], reference)
    assert found.count == 0, judge.report(f'{outdir} on {simulator}', meta, rows, got, outcome.unknown[0],
                                          reference, found, oracle='the exact reference')
    assert np.array_equal(got, interp)
    return design, rows, reference


@rtl_settings
@given(prog=programs(), cutoff=st.sampled_from([None, 0, 1, 2, 4]), seed=st.integers(0, 2**32 - 1))
def test_random_programs_match_reference(simulator, tmp_path_factory, prog, cutoff, seed):
    out = tmp_path_factory.mktemp('emit')
    write_verilog(prog, out, latency_cutoff=cutoff)
    _check(prog, out, simulator, seed)


def _measured_latency(design, rows, expected, simulator, workdir, slack: int = 3) -> int:
    """Replay ``design`` claiming ``slack`` extra cycles of latency: output word m then belongs
    to input ``m + (claimed - real)`` (the last input is held), which reveals the real latency."""
    claimed = design.latency + slack
    outs = sim.replay([dataclasses.replace(design, latency=claimed)], [rows], simulator, workdir).outputs[0]
    n = len(rows)
    fits = []
    for delta in range(claimed + 1):
        idx = np.minimum(np.arange(n) + delta, n - 1)
        if np.array_equal(outs, expected[idx]):
            fits.append(claimed - delta)
    assert len(fits) == 1, f'latency not identifiable from this stimulus: candidates {fits}'
    return fits[0]


@rtl_settings
@given(prog=programs(n_ops=(4, 24), n_in=(2, 4)), cutoff=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_metadata_latency_is_the_measured_latency(simulator, tmp_path_factory, prog, cutoff, seed):
    out = tmp_path_factory.mktemp('lat')
    write_verilog(prog, out, latency_cutoff=cutoff)
    meta = load_metadata(out)
    design = emitted_design(out, meta)
    rows = stimulus(design.in_bus.fields, 200, seed, n_mixes=512)
    expected = expected_reference(prog, meta, bus_to_floats(meta, rows))
    assume(len({tuple(r) for r in expected.tolist()}) >= 3)  # else several shifts fit
    assert _measured_latency(design, rows, expected, simulator, out / 'run') == meta['latency_cycles'] == design.latency


@pytest.mark.parametrize('cutoff', [None, 2])
def test_every_opcode_both_paths(simulator, tmp_path, cutoff):
    """The fixed every-opcode program: bulk path vs the reference, per-cycle path via the checker."""
    prog = every_opcode_program()
    write_verilog(prog, tmp_path, name='every_op', latency_cutoff=cutoff)
    design, rows, expected = _check(prog, tmp_path, simulator, seed=7, n_random=2000)
    assert design.clocked == (cutoff is not None) and (design.latency == 0) == (cutoff is None)
    outcome = sim.per_cycle(design, rows[:300], expected[:300], simulator)
    assert judge.compare(outcome.outputs[0], outcome.unknown[0], expected[:300]).count == 0
    if cutoff is not None:
        assert design.latency > 1
        assert _measured_latency(design, rows[:400], expected[:400], simulator, tmp_path / 'lat') == design.latency
