"""Emitted designs simulated in Icarus and Verilator equal the IR, bit for bit, at the stated latency.

Random programs (verif.strategies) are written combinational and pipelined, driven with every
combination of input extremes (min, max, 0, -1) plus random bus words on the bulk path, and
the output integers are compared with the exact Fraction reference (verif.ir_reference, which
shares no code with the interpreter) and with the interpreter. The latency is measured, not
trusted: the design is replayed as if it were slower, and the shift between output and input
streams gives the real pipeline depth.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from da4ml_core.emit import write_verilog
from verif import emitted
from verif.drive import run_bulk, run_per_cycle
from verif.strategies import programs

pytestmark = pytest.mark.rtl

N_RANDOM = 300


def rtl_max_examples() -> int:
    """A fifth of the active profile's examples (at least 5): every example is a new build."""
    return max(5, settings().max_examples // 5)


rtl_settings = settings(
    max_examples=rtl_max_examples(), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _check(prog, outdir, simulator, seed, n_random=N_RANDOM):
    """Bulk-run the design in ``outdir``; assert it equals the reference and the interpreter."""
    meta = emitted.load_metadata(outdir)
    design = emitted.emitted_design(outdir)
    rows = emitted.stimulus(meta, n_random, seed)
    X = emitted.bus_to_floats(meta, rows)
    reference = emitted.expected_reference(prog, meta, X)
    interp = emitted.expected_interp(prog, meta, X)
    outcome = run_bulk(design, rows, simulator)
    bad = np.nonzero(np.any(outcome.outputs != reference, axis=1))[0]
    assert bad.size == 0, (
        f'{bad.size} of {len(rows)} vectors differ from the reference; first: inputs {rows[bad[0]].tolist()} '
        f'got {outcome.outputs[bad[0]].tolist()} expected {reference[bad[0]].tolist()} ({outdir})'
    )
    assert np.array_equal(outcome.outputs, interp)
    return design, rows, reference


@rtl_settings
@given(prog=programs(), cutoff=st.sampled_from([None, 0, 1, 2, 4]), seed=st.integers(0, 2**32 - 1))
def test_random_programs_match_reference(simulator, tmp_path_factory, prog, cutoff, seed):
    out = tmp_path_factory.mktemp('emit')
    write_verilog(prog, out, latency_cutoff=cutoff)
    _check(prog, out, simulator, seed)


def _measured_latency(design, rows, expected, simulator, slack: int = 3) -> int:
    """Replay ``design`` claiming ``slack`` extra cycles of latency: output word m then belongs
    to input ``m + (claimed - real)`` (the last input is held), which reveals the real latency."""
    claimed = design.latency + slack
    outs = run_bulk(dataclasses.replace(design, latency=claimed), rows, simulator).outputs
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
    meta = emitted.load_metadata(out)
    design = emitted.emitted_design(out)
    rows = emitted.stimulus(meta, 200, seed)
    expected = emitted.expected_reference(prog, meta, emitted.bus_to_floats(meta, rows))
    assume(len({tuple(r) for r in expected.tolist()}) >= 3)  # else several shifts fit
    assert _measured_latency(design, rows, expected, simulator) == meta['latency_cycles'] == design.latency


@pytest.mark.parametrize('cutoff', [None, 2])
def test_every_opcode_both_paths(simulator, tmp_path, cutoff):
    """The fixed every-opcode program: bulk path vs the reference, per-cycle path via the scoreboard."""
    prog = emitted.every_opcode_program()
    write_verilog(prog, tmp_path, name='every_op', latency_cutoff=cutoff)
    design, rows, expected = _check(prog, tmp_path, simulator, seed=7, n_random=2000)
    assert design.clocked == (cutoff is not None) and (design.latency == 0) == (cutoff is None)
    outcome = run_per_cycle(design, rows[:300], expected[:300], simulator, check=False)
    assert outcome.mismatches == 0
    if cutoff is not None:
        assert design.latency > 1
        assert _measured_latency(design, rows[:400], expected[:400], simulator) == design.latency
