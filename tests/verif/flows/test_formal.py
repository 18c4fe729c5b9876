"""Formal equivalence of mutants with real yosys (``verif.flows.formal``) inside mutation testing:
a proof above the exhaustive limit, a counterexample the simulator confirms, agreement with
exhaustive simulation where both apply, and what happens without yosys or without time."""

import numpy as np
import pytest

from da4ml_core.emit import write_verilog
from da4ml_core.synth import YosysNotFoundError
from da4ml_core.trace import FixedArray, quantize, relu, trace
from support.mutants import twin_swap
from verif.flows import formal
from verif.flows import mutants as M
from verif.flows import mutation
from verif.hdl.design import buses, emitted_design, load_metadata
from verif.hdl.stimulus import stimulus

pytestmark = [pytest.mark.synth, pytest.mark.rtl]
SIM = 'verilator'


def _target(prog, outdir, name, rows_fn, latency_cutoff=None) -> mutation.Target:
    write_verilog(prog, outdir, name=name, latency_cutoff=latency_cutoff)
    meta = load_metadata(outdir)
    return mutation.Target(name, 'traced', outdir, meta, prog, rows_fn(meta))


def _clamped(n_in: int, kif) -> object:
    x = FixedArray.input((n_in,), *kif)
    W = np.array([[1.5, -2.0], [0.75, 1.0], [-1.0, 0.25], [0.5, 0.5]])[:n_in]
    y = x @ W
    a = quantize(relu(y), 1, 2, 1, round_mode='RND', overflow_mode='SAT')
    b = quantize(y, 1, 3, 0, round_mode='RND_CONV', overflow_mode='WRAP')
    return trace(x, np.concatenate([a, b]))


@pytest.fixture(scope='module')
def wide(tmp_path_factory):
    """24 used input bits (over the exhaustive limit), RND / RND_CONV quantizers, SAT clamps, a
    relu, two pipeline stages."""
    out = tmp_path_factory.mktemp('wide')
    t = _target(_clamped(4, (1, 3, 2)), out, 'wide', lambda meta: stimulus(buses(meta)[0].fields, 64, 1), 2)
    assert mutation.input_bits(t.meta) == 24 > mutation.EXHAUSTIVE_BITS
    return t


def test_an_equivalent_mutant_over_the_exhaustive_limit_is_proven_by_sat(wide, tmp_path):
    m = twin_swap(wide, 'wide_eq')
    [o] = mutation.judge_mutants(wide, mutation.entries_of(wide, [m], tmp_path), simulator=SIM, workdir=tmp_path,
                                 deep=0)
    assert (o.status, o.by, o.first) == ('equivalent', 'sat', None)
    assert 'yosys' in o.why
    p = formal.prove(emitted_design(wide.outdir, wide.meta), mutation.entries_of(wide, [m], tmp_path / 'again')[0][3],
                     tmp_path / 'again')
    assert p.verdict == 'equivalent' and p.rows is None and p.log.is_file()


def test_a_sat_counterexample_is_confirmed_by_the_simulator(tmp_path):
    """The final adder of a 16-input sum one bit narrower wraps only when |y| passes half its
    range: 50 uniform rows miss it, the 96 input bits cannot be enumerated, and without deep
    rows it used to stay undecided. SAT gives an input word that overflows the narrowed adder,
    and the simulator, judged against the exact reference, shows the wrong output on it."""
    x = FixedArray.input((16,), 1, 5, 0)
    prog = trace(x, x @ np.ones((16, 1)))
    t = _target(prog, tmp_path / 'sum16', 'sum16', lambda meta: np.random.default_rng(5).integers(-32, 32, (50, 16)))
    top = mutation.top_module(t)
    widest = max((s for s in M.enumerate_sites(top) if s.operator == 'narrow'),
                 key=lambda s: top.instances[s.line].params['WO'])
    m = M.mutate(top, widest, 'sum16_n', np.random.default_rng(0))
    entries = mutation.entries_of(t, [m], tmp_path / 'w')
    p = formal.prove(emitted_design(t.outdir, t.meta), entries[0][3], tmp_path / 'f')
    assert p.verdict == 'differs' and p.rows.shape == (1, 16)
    total = int(p.rows.sum())
    assert not -256 <= total <= 255  # the sum leaves what 9 bits hold: the narrowed adder wraps
    [o] = mutation.judge_mutants(t, entries, simulator=SIM, workdir=tmp_path / 'w', deep=0)
    assert (o.status, o.by, o.first, o.failing) == ('killed', 'sat', 0, 1)
    assert 'missed by the stimulus' in o.why and 'confirmed by simulation' in o.why
    s = mutation.summary([o])
    assert (s['killed'], s['missed'], s['kill_rate'], s['stimulus_kill_rate']) == (1, 1, 1.0, 0.0)


def test_sat_agrees_with_exhaustive_simulation(tmp_path):
    """On a 15-bit pipelined design both proofs apply: SAT calls every mutant (killed by the
    stimulus or not) equivalent exactly when all 2**15 words agree, and its counterexamples are
    rows the simulator fails on. (A miter that skipped output bits where the gold one is 0 once
    proved two faults of a larger design equivalent.)"""
    t = _target(_clamped(3, (1, 2, 2)), tmp_path / 'fifteen', 'fifteen',
                lambda meta: np.random.default_rng(2).integers(-16, 16, (20, 3)), 2)
    assert mutation.input_bits(t.meta) == 15
    ms = M.sample(mutation.top_module(t), 40, seed=4) + [twin_swap(t, 'fifteen_eq')]
    entries = mutation.entries_of(t, ms, tmp_path / 'x')
    by_sim = mutation.judge_mutants(t, entries, simulator=SIM, workdir=tmp_path / 'x')
    assert {o.status for o in by_sim} == {'killed', 'equivalent'}
    base = emitted_design(t.outdir, t.meta)
    proofs = [formal.prove(base, e[3], tmp_path / 'f') for e in entries]
    assert [p.verdict == 'equivalent' for p in proofs] == [o.status == 'equivalent' for o in by_sim]
    survivors = [k for k, o in enumerate(by_sim) if o.by != 'stimulus']
    assert {by_sim[k].status for k in survivors} == {'killed', 'equivalent'}
    by_sat = mutation.judge_mutants(t, [entries[k] for k in survivors], simulator=SIM, workdir=tmp_path / 's',
                                    exhaustive_bits=0, deep=0)
    assert [(o.status, o.by) for o in by_sat] == [(by_sim[k].status, 'sat') for k in survivors]


def test_without_yosys_a_proof_is_a_typed_error(wide, tmp_path, monkeypatch):
    monkeypatch.setenv('DA4ML_YOSYS', str(tmp_path / 'no-yosys'))
    entries = mutation.entries_of(wide, [twin_swap(wide, 'wide_ny')], tmp_path)
    with pytest.raises(YosysNotFoundError, match='DA4ML_YOSYS='):
        mutation.judge_mutants(wide, entries, simulator=SIM, workdir=tmp_path, deep=0)
    [o] = mutation.judge_mutants(wide, entries, simulator=SIM, workdir=tmp_path, deep=0, formal=False)
    assert (o.status, o.by) == ('undecided', 'stimulus') and 'no formal check' in o.why


def test_no_verdict_in_time_is_undecided(wide, tmp_path):
    entries = mutation.entries_of(wide, [twin_swap(wide, 'wide_to')], tmp_path)
    p = formal.prove(emitted_design(wide.outdir, wide.meta), entries[0][3], tmp_path / 'f', timeout=0.01)
    assert (p.verdict, p.rows) == ('timeout', None)
    [o] = mutation.judge_mutants(wide, entries, simulator=SIM, workdir=tmp_path, deep=0, sat_timeout=0.01)
    assert (o.status, o.by) == ('undecided', 'sat') and 'no verdict within 0.01 s' in o.why


def test_bad_arguments_are_named(wide, tmp_path):
    base = emitted_design(wide.outdir, wide.meta)
    with pytest.raises(formal.FormalError, match='timeout=0'):
        formal.prove(base, base, tmp_path, timeout=0)
    with pytest.raises(formal.FormalError, match="gate='wide'"):
        formal.prove(base, base, tmp_path)
    other = _target(_clamped(3, (1, 3, 2)), tmp_path / 'three', 'three', lambda meta: None)
    with pytest.raises(formal.FormalError, match="gate='three'.*ports"):
        formal.prove(base, emitted_design(other.outdir, other.meta), tmp_path)


def test_cli_refuses_a_timeout_that_is_not_positive(capsys):
    with pytest.raises(SystemExit) as exc:
        mutation.main(['--specs', 'none.json', '--sat-timeout', '0'])
    assert exc.value.code == 2 and '--sat-timeout 0: must be > 0' in capsys.readouterr().err
