"""The RTL regression: random CMVM and traced designs, and fixed corner cases, compiled to
Verilog, linted, and simulated in Icarus and Verilator against the spec's golden model.

Each Hypothesis example is a batch of BATCH designs simulated in one run per simulator
(verif.sim.replay) and judged one by one; a failing design's spec, Verilog, report and waveform
are kept and the assertion prints the command that reruns it. Designs per simulator come from
the Hypothesis profile (DESIGNS) or ``DA4ML_REGRESS_DESIGNS=<cmvm>,<traced>``. The examples
are derandomized so both simulators see the same designs (set ``DA4ML_REGRESS_SEED`` to explore
other ones); lint runs once per design, in the Verilator parametrization.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from support.strategies import cmvm_matrices

from verif import sim
from verif.flows import regress, specs
from verif.flows.corners import corner_specs
from verif.flows.specs import Spec
from verif.oracle import golden

ROOT = Path(__file__).resolve().parents[3]
PROFILE = settings.get_current_profile_name()
NIGHTLY = PROFILE == 'nightly'
DESIGNS = {'dev': (60, 20), 'ci': (100, 30), 'nightly': (1000, 250)}
N_CMVM, N_TRACED = (
    tuple(int(v) for v in os.environ['DA4ML_REGRESS_DESIGNS'].split(','))
    if os.environ.get('DA4ML_REGRESS_DESIGNS') else DESIGNS.get(PROFILE, DESIGNS['dev'])
)
BATCH = 10
MAX_DIM = 64 if NIGHTLY else 16
N_VECTORS = 1000
OVERFLOWS, ROUNDS = ('WRAP', 'SAT', 'SAT_SYM'), ('TRN', 'RND', 'RND_CONV')
CUTOFFS = (None, 1, 2, 4)


def _regress_settings(n_designs: int):
    chosen = os.environ.get('DA4ML_REGRESS_SEED')
    opts = settings(max_examples=max(1, math.ceil(n_designs / BATCH)), deadline=None, derandomize=not chosen,
                    database=None, phases=(Phase.explicit, Phase.generate),  # no shrinking: failing designs are named
                    suppress_health_check=list(HealthCheck))

    def apply(fn):
        return seed(int(chosen))(opts(fn)) if chosen else opts(fn)

    return apply


# ------------------------------------------------------------------------- spec strategies


@st.composite
def kif_lists(draw, n: int, k=(0, 1), i=(-2, 10), f=(-2, 10), max_width: int = 64):
    """n input precisions: one shared, a palette of three spread by a seed, or one each."""
    def one():
        kk, ii = draw(st.integers(*k)), draw(st.integers(*i))
        lo = max(f[0], 1 - kk - ii)
        ff = draw(st.integers(lo, max(lo, min(f[1], max_width - kk - ii))))
        return (kk, ii, ff)

    how = draw(st.sampled_from(('shared', 'palette', 'each')))
    if how == 'shared':
        return [one()] * n
    if how == 'palette' or n > 8:
        palette = [one() for _ in range(3)]
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        return [palette[j] for j in rng.integers(0, 3, n)]
    return [one() for _ in range(n)]


def _out_kif(draw, W, in_kifs):
    """An output precision near the exact result's, so rounding, wrap and saturation all happen."""
    M, s = specs.w_integer(W)
    fmax = max(kif[2] for kif in in_kifs)
    peak = max(sum(abs(M[j][c]) << (kif[1] + fmax + 4) for j, kif in enumerate(in_kifs))
               for c in range(len(M[0])))  # largest |output| * 2**(f_exact + 4)
    f_exact = fmax + s
    i_exact = max(peak, 1).bit_length() - 4 - f_exact
    k = draw(st.integers(0, 1))
    i = draw(st.integers(i_exact - 4, i_exact + 1))
    f = draw(st.integers(max(-2, 1 - k - i), max(-2, 1 - k - i, min(10, f_exact))))
    return (k, i, f)


@st.composite
def cmvm_specs(draw, max_dim: int = MAX_DIM):
    W = draw(cmvm_matrices(max_in=max_dim, max_out=max_dim, max_bits=12))
    in_kifs = draw(kif_lists(W.shape[0]))
    out = _out_kif(draw, W.tolist(), in_kifs) if draw(st.integers(0, 7)) else None
    return Spec('c', 'cmvm', in_kifs, out, draw(st.sampled_from(OVERFLOWS)), draw(st.sampled_from(ROUNDS)),
                latency_cutoff=draw(st.sampled_from(CUTOFFS)), hard_dc=draw(st.sampled_from((None, None, 0, 2))),
                W=W.tolist(), seed=draw(st.integers(0, 2**32 - 1)), n_vectors=N_VECTORS)


def _const(draw, shape):
    bits = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    C = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) + 1, shape) * 2.0 ** -draw(st.integers(0, 3))
    return C.tolist()


@st.composite
def traced_specs(draw):
    fn = draw(st.sampled_from(specs.FUNCTIONS))
    params: dict = {}
    if fn == 'relu':
        params['shape'] = [draw(st.integers(1, 8))]
    elif fn == 'max_stack':
        params['shape'] = [draw(st.integers(2, 4)), draw(st.integers(1, 4))]
    elif fn == 'lut':
        params = {'shape': [draw(st.integers(1, 4))], 'fn': draw(st.sampled_from(sorted(specs.LUT_FUNCTIONS)))}
    else:
        sub = draw(st.sampled_from(specs.EINSUMS))
        a, b, c = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
        cshape = {'ij,jk->ik': (b, c), 'ij,jk->ki': (b, c), 'ij,ij->i': (a, b), 'ij,j->i': (b,)}[sub]
        params = {'shape': [a, b], 'subscripts': sub, 'C': _const(draw, cshape)}
    n = int(np.prod(params['shape']))
    in_kifs = draw(kif_lists(n, i=(-2, 4), max_width=8) if fn == 'lut' else kif_lists(n, i=(-2, 8), f=(-2, 8)))
    if fn == 'lut':
        out = (1, draw(st.integers(-1, 2)), draw(st.integers(1, 10)))
    else:
        k, i = draw(st.integers(0, 1)), draw(st.integers(-2, 10))
        out = (k, i, draw(st.integers(max(-2, 1 - k - i), 10)))
    return Spec('t', 'traced', in_kifs, out, draw(st.sampled_from(OVERFLOWS)), draw(st.sampled_from(ROUNDS)),
                latency_cutoff=draw(st.sampled_from(CUTOFFS)), function=fn, params=params,
                seed=draw(st.integers(0, 2**32 - 1)), n_vectors=N_VECTORS)


# ------------------------------------------------------------------------- the regression


def run_regression(specs: list[Spec], simulator: str, workdir) -> list[regress.Prepared]:
    """Build, lint (Verilator run only), simulate; fail with every failing design's report."""
    specs = [s.with_(name=f'{s.name}{j:03d}') for j, s in enumerate(specs)]
    preps, results = regress.prepare_all(specs, workdir)
    if simulator == 'verilator':
        results += regress.lint_all(preps)
    results += regress.simulate(preps, simulator, workdir, batch_size=BATCH)
    bad = [r for r in results if not r.passed]
    assert not bad, f'{len(bad)} failing designs (of {len(specs)}):\n\n' + '\n\n'.join(r.report for r in bad)
    assert sum(r.path == 'bulk' and r.n_vectors >= N_VECTORS for r in results) == len(specs)
    return preps


@pytest.mark.rtl
@_regress_settings(N_CMVM)
@given(specs=st.lists(cmvm_specs(), min_size=BATCH, max_size=BATCH, unique_by=Spec.to_json))
def test_random_cmvm_designs(simulator, tmp_path_factory, specs):
    run_regression(specs, simulator, tmp_path_factory.mktemp('cmvm'))


@pytest.mark.rtl
@_regress_settings(N_TRACED)
@given(specs=st.lists(traced_specs(), min_size=BATCH, max_size=BATCH, unique_by=Spec.to_json))
def test_random_traced_designs(simulator, tmp_path_factory, specs):
    run_regression(specs, simulator, tmp_path_factory.mktemp('traced'))


# ------------------------------------------------------------------------- corner cases


@pytest.mark.rtl
def test_corner_designs(simulator, tmp_path):
    """Fixed corner cases on the bulk path; a few of them (combinational, pipelined, traced)
    also through the per-cycle cocotb driver, whose Verilator builds cost ~10 s each."""
    preps = run_regression(corner_specs(), simulator, tmp_path)
    chosen = [p for p in preps if p.spec.name.startswith(('one_bit', 'wide_quant', 'one_by_one0', 'tanh8'))]
    assert len(chosen) == 4
    per_cycle = [regress.check_per_cycle(p, simulator, 300, tmp_path) for p in chosen]
    assert all(r.passed for r in per_cycle), '\n'.join(r.report for r in per_cycle if not r.passed)


def test_regression_stimulus_ends_with_directed_rows(tmp_path):
    """The regression runs the spec's stimulus, then directed rows (at most DIRECTED_BUDGET) for
    the corners it misses: on the 8-input 10-bit CMVM uniform rows never drive the inner adders
    to their ends, and the directed ones raise the coverage; the same spec gives the same rows."""
    from verif.flows import design_coverage

    spec = next(s for s in corner_specs() if s.name == 'wide_exact')
    p = regress.prepare(spec, tmp_path / 'w')
    assert 0 < p.n_directed <= regress.DIRECTED_BUDGET and len(p.X) == spec.n_vectors + p.n_directed
    assert (p.X[:spec.n_vectors] == specs.stimulus(spec)).all()
    for j, kif in enumerate(spec.in_kifs):  # on the spec's grid, in its range
        lo, hi = specs.input_range(kif)
        assert lo <= p.X[:, j].min() and p.X[:, j].max() <= hi
    assert design_coverage.of_spec(spec, p.meta).hit > design_coverage.of_spec(spec).hit
    again, n = regress.stimulus(spec, p.meta)
    assert n == p.n_directed and (again == p.X).all()


def test_corner_stimulus_has_extremes_and_ties():
    """Every input's min, max and 0 are driven; outputs land exactly on rounding ties."""
    for spec in corner_specs():
        X = specs.stimulus(spec)
        assert len(X) == spec.n_vectors
        for j, kif in enumerate(spec.in_kifs):
            lo, hi = specs.input_range(kif)
            assert {lo, hi, 0} <= set(X[:, j].tolist()), (spec.name, j)
        lin = specs.linear_map(spec)
        if spec.kind == 'cmvm' and spec.out_kif is not None and spec.name != 'zero_quant' and \
                max(k[2] for k in spec.in_kifs) + lin[1] > spec.out_kif[2]:  # a finer result than output
            vals = golden.matmul_exact(X / 2.0 ** np.array([k[2] for k in spec.in_kifs]), spec.W,
                                       tuple(np.array(spec.in_kifs).T))
            ties = sum((v * Fraction(2) ** spec.out_kif[2]).denominator == 2 for v in vals.flat)
            assert ties >= 2, spec.name


def test_cmvm_golden_equals_fraction_golden():
    """specs.golden (integer matmul) agrees with verif.oracle.golden.cmvm (Fractions) on every mode."""
    for spec in [s for s in corner_specs() if s.kind == 'cmvm']:
        X = specs.stimulus(spec.with_(n_vectors=300))
        xv = X / 2.0 ** np.array([k[2] for k in spec.in_kifs])
        kifs = tuple(np.array(spec.in_kifs).T)
        if spec.out_kif is None:
            ref = golden.matmul_exact(xv, spec.W, kifs)
            fs = specs.output_fs(spec)
            ref = np.array([[int(v * Fraction(2) ** fs[c]) for c, v in enumerate(r)] for r in ref])
        else:
            ref = golden.cmvm(xv, spec.W, kifs, spec.out_kif, out_modes=(spec.round, spec.overflow))
        assert np.array_equal(np.asarray(ref, dtype=np.int64), specs.golden(spec, X)), spec.name


def test_spec_json_round_trip():
    for spec in corner_specs():
        assert Spec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError, match='binary fraction'):
        Spec('x', 'cmvm', [(1, 3, 0)], W=[[Fraction(1, 3)]])
    with pytest.raises(ValueError, match='fractional bits'):
        Spec('x', 'cmvm', [(1, 3, 0)], W=[[0.1]])
    with pytest.raises(ValueError, match='in_kifs'):
        Spec('x', 'cmvm', [(1, -2, 0)], W=[[1]])


# ------------------------------------------------------------------------- the checks can fail


def _flip_first_adder(path) -> None:
    """Turn one adder of the emitted Verilog into a subtractor (or back)."""
    text = path.read_text()
    at = text.index('shift_add #(')
    sub = text.index('.SUB(', at)
    bit = text[sub + 5]
    path.write_text(text[:sub + 5] + ('1' if bit == '0' else '0') + text[sub + 6:])


@pytest.mark.rtl
def test_wrong_latency_and_injected_bug_are_caught(simulator, tmp_path):
    """A design claiming one cycle more or less than it has fails on both paths with a
    latency diagnosis; an adder flipped to a subtractor fails with a full report, a waveform
    and a rerun command that passes again (the compiler's Verilog is right)."""
    W = np.random.default_rng(5).integers(-99, 100, (6, 5)).tolist()
    spec = Spec('lat', 'cmvm', [(1, 3, 2)] * 6, None, latency_cutoff=1, W=W, seed=3, n_vectors=400)
    p = regress.prepare(spec, tmp_path / 'lat')
    L = p.meta['latency_cycles']
    assert L >= 2 and p.design.clocked
    for claimed in (L - 1, L + 1):
        q = dataclasses.replace(p, meta={**p.meta, 'latency_cycles': claimed},
                                design=dataclasses.replace(p.design, latency=claimed))
        (bulk,) = regress.simulate([q], simulator, tmp_path / f'claim{claimed}', waves=False)
        assert bulk.mismatches > 300, bulk.summary()
        assert f'latency is {L} cycles, metadata says {claimed}' in bulk.report
        cyc = regress.check_per_cycle(q, simulator, 200, tmp_path)
        assert cyc.mismatches > 150, cyc.summary()
    _flip_first_adder(p.outdir / 'lat.v')
    bad = regress.prepare(spec, p.outdir, build=False)
    (res,) = regress.simulate([bad], simulator, tmp_path / 'bug')
    assert not res.passed and res.failure_dir is not None
    for words in ('vector', 'expected', 'got', 'bits', 'port(1, 3, 2)', 'waveform:', 'verif.flows.regress rerun'):
        assert words in res.report, words
    assert any(f.name.startswith('waves.') and f.stat().st_size > 0 for f in res.failure_dir.iterdir())
    cmd = [sys.executable, '-m', 'verif.flows.regress']
    opts = ['--simulator', simulator, '--per-cycle', '100', '--workdir', str(tmp_path / 'cli')]
    checked = subprocess.run([*cmd, 'check', str(res.failure_dir / 'design'), *opts], capture_output=True,
                             text=True, timeout=900, cwd=ROOT, check=False)
    assert checked.returncode == 1 and 'FAIL' in checked.stdout, checked.stdout + checked.stderr
    rerun = subprocess.run([*cmd, 'rerun', str(res.failure_dir / 'spec.json'), *opts], capture_output=True,
                           text=True, timeout=900, cwd=ROOT, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert 'per-cycle' in rerun.stdout and 'FAIL' not in rerun.stdout


def test_replay_rejects_clashing_names(tmp_path):
    spec = corner_specs()[0]
    p = regress.prepare(spec, tmp_path / 'a')
    with pytest.raises(ValueError, match='distinct'):
        sim.replay([p.design, p.design], [p.rows, p.rows], 'icarus', tmp_path / 'b')
