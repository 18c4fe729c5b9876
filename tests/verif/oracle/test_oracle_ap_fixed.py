"""quantize vs Xilinx's ap_fixed (headers from the hls4ml wheel, compiled with g++), bit for bit.

Every value of each target's source grid, all 7 roundings x 3 overflows, on targets with
W = 1, I < 0, I = 0 and I > W, signed and unsigned.
"""

import numpy as np
import pytest

from da4ml_core.fixed import quantize_raw
from verif.oracle import golden
from verif.oracle.ap_fixed import OVERFLOW_MODES, ROUND_MODES, default_targets, run_harness

TARGETS = default_targets()


@pytest.fixture(scope='module')
def ap_results():
    return run_harness(TARGETS)


def test_target_coverage():
    assert len(TARGETS) >= 80
    assert any(t.width == 1 for t in TARGETS)
    assert any(t.int_bits < 0 for t in TARGETS)
    assert any(t.int_bits > t.width for t in TARGETS)
    assert {t.signed for t in TARGETS} == {True, False}
    assert min(t.source_width for t in TARGETS) >= 10


def _mismatch_report(target, rnd, ovf, x, ours, theirs):
    bad = np.flatnonzero(ours != theirs)
    rows = [f'x={x[j]!r}: ours={ours[j]} ap_fixed={theirs[j]}' for j in bad[:5]]
    ap = f'ap_{"" if target.signed else "u"}fixed<{target.width},{target.int_bits},AP_{rnd},AP_{ovf}>'
    return f'{ap}: {bad.size} of {x.size} differ; ' + '; '.join(rows)


@pytest.mark.slow
@pytest.mark.parametrize('ovf', OVERFLOW_MODES)
@pytest.mark.parametrize('rnd', ROUND_MODES)
def test_quantize_equals_ap_fixed(ap_results, rnd, ovf):
    failures = []
    n_values = 0
    for t in TARGETS:
        x = t.source_values()
        ours = quantize_raw(x, *t.kif, round_mode=rnd, overflow_mode=ovf)
        theirs = ap_results[(t, rnd, ovf)]
        n_values += x.size
        if not np.array_equal(ours, theirs):
            failures.append(_mismatch_report(t, rnd, ovf, x, ours, theirs))
    assert not failures, f'{len(failures)} of {len(TARGETS)} targets differ:\n' + '\n'.join(failures[:10])
    assert n_values > 500_000


@pytest.mark.slow
def test_every_mode_pair_is_distinguished(ap_results):
    """The grid is rich enough that a quantizer using the wrong mode would be caught."""
    configs = [(q, o) for q in ROUND_MODES for o in OVERFLOW_MODES]
    for q_wrong, o_wrong in configs:
        for q, o in configs:
            if (q, o) == (q_wrong, o_wrong):
                continue
            caught = any(
                not np.array_equal(quantize_raw(t.source_values(), *t.kif, round_mode=q_wrong, overflow_mode=o_wrong), ap_results[(t, q, o)])
                for t in TARGETS
            )
            assert caught, f'using {q_wrong}/{o_wrong} in place of {q}/{o} would go unnoticed'


@pytest.mark.slow
def test_golden_equals_ap_fixed_on_small_targets(ap_results):
    small = [t for t in TARGETS if t.source_width == 10][:12]
    assert small
    for t in small:
        x = t.source_values()
        for rnd in ROUND_MODES:
            for ovf in OVERFLOW_MODES:
                ours = golden.quantize(x, *t.kif, rnd, ovf).astype(np.int64)
                theirs = ap_results[(t, rnd, ovf)]
                assert np.array_equal(ours, theirs), _mismatch_report(t, rnd, ovf, x, ours, theirs)
