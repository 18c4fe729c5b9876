"""Mutation testing of the harness on small designs, on Verilator: every operator builds and
changes the design, a subtle fault random vectors miss is killed by the directed vectors, an
equivalent mutant is proven so by exhaustive simulation, and survivors of a large input space
are undecided, never killed."""

import numpy as np
import pytest

from da4ml_core.emit import write_verilog
from da4ml_core.trace import FixedArray, lut, quantize, relu, trace
from support.mutants import twin_swap
from verif.flows import mutants as M
from verif.flows import mutation
from verif.flows.directed import directed_rows
from verif.flows.program_mutants import PROGRAM_OPERATORS, sample_program
from verif.hdl.design import buses, load_metadata
from verif.hdl.stimulus import stimulus

SIM = 'verilator'


def _target(prog, outdir, name, rows_fn, latency_cutoff=None) -> mutation.Target:
    write_verilog(prog, outdir, name=name, latency_cutoff=latency_cutoff)
    meta = load_metadata(outdir)
    return mutation.Target(name, 'traced', outdir, meta, prog, rows_fn(meta))


@pytest.fixture(scope='module')
def mixed(tmp_path_factory):
    """Adders, RND and RND_CONV quantizers, SAT clamps, a relu, a lookup table, pipeline
    registers: a site for every operator; 15 input bits (exhaustive proofs are cheap)."""
    x = FixedArray.input((3,), 1, 2, 2)
    y = x @ np.array([[1.5, -2.0], [0.75, 1.0], [-1.0, 0.25]])
    a = quantize(relu(y), 1, 2, 1, round_mode='RND', overflow_mode='SAT')
    b = quantize(y, 1, 3, 0, round_mode='RND_CONV', overflow_mode='WRAP')
    c = lut(x[:1], np.tanh, 1, 0, 3)
    prog = trace(x, np.concatenate([a, b, c]))
    out = tmp_path_factory.mktemp('mixed')
    return _target(prog, out, 'mixed', lambda meta: stimulus(buses(meta)[0].fields, 64, 1), latency_cutoff=2)


def test_every_operator_makes_a_mutant_that_differs_and_builds(mixed, tmp_path):
    top = mutation.top_module(mixed)
    original = top_text = (mixed.outdir / 'mixed.v').read_text()
    ms = M.sample(top, len(M.OPERATORS), seed=3)
    assert sorted(m.site.operator for m in ms) == sorted(M.OPERATORS)
    for m in ms:
        renamed = m.text.replace(f'module {m.name} (', 'module mixed (', 1)
        assert renamed != original, m.site
    assert M.sample(top, len(M.OPERATORS), seed=3) == ms  # seeded: the same mutants again
    pm, _ = sample_program(mixed.prog, mixed.meta, len(PROGRAM_OPERATORS), 3, tmp_path / 'pm')
    assert sorted(m.operator for m in pm) == sorted(PROGRAM_OPERATORS)
    entries = mutation.entries_of(mixed, ms, tmp_path) + [(m.name, m.operator, m.what, m.design) for m in pm]
    out = mutation.judge_mutants(mixed, entries, simulator=SIM, workdir=tmp_path)
    assert [o.status for o in out if o.status not in ('killed', 'equivalent')] == []
    assert top_text == (mixed.outdir / 'mixed.v').read_text()  # the design itself is untouched


def test_an_equivalent_mutant_is_proven_by_exhaustive_simulation(mixed, tmp_path):
    """An operand swapped for another constant wire holding the same bits (two clamps of the
    same raw value on different grids) changes nothing: no stimulus row kills it and all 2**15
    input words agree."""
    m = twin_swap(mixed, 'mixed_eq')
    assert m.text != (mixed.outdir / 'mixed.v').read_text().replace('module mixed (', 'module mixed_eq (')
    [o] = mutation.judge_mutants(mixed, mutation.entries_of(mixed, [m], tmp_path), simulator=SIM, workdir=tmp_path)
    assert (o.status, o.by, o.first) == ('equivalent', 'exhaustive', None)
    assert mutation.input_bits(mixed.meta) == 15 and len(mutation.all_words(mixed.meta)) == 2**15


def test_a_narrower_adder_survives_random_rows_and_dies_on_directed_ones(tmp_path):
    """y = sum of 16 six-bit inputs: the final adder one bit narrower wraps only when |y| passes
    half its range, which uniform rows almost never reach; 96 input bits is too many to
    enumerate, so the survivor is killed only by a yosys counterexample (``by='sat'``: missed by
    the stimulus), or undecided without the formal check (and without the deep rows, which would
    try 2**16 more). The directed rows drive it to its extremes."""
    x = FixedArray.input((16,), 1, 5, 0)
    prog = trace(x, x @ np.ones((16, 1)))
    rng_rows = lambda meta: np.random.default_rng(5).integers(-32, 32, (50, 16))  # noqa: E731
    t = _target(prog, tmp_path / 'sum16', 'sum16', rng_rows)
    top = mutation.top_module(t)
    narrow = [s for s in M.enumerate_sites(top) if s.operator == 'narrow']
    widest = max(narrow, key=lambda s: top.instances[s.line].params['WO'])
    ms = [M.mutate(top, s, f'sum16_n{k}', np.random.default_rng(0)) for k, s in enumerate(narrow)]
    k_widest = narrow.index(widest)
    random_only = mutation.judge_mutants(t, mutation.entries_of(t, ms, tmp_path / 'r'), simulator=SIM,
                                         workdir=tmp_path / 'r', deep=0, formal=False)
    assert random_only[k_widest].status == 'undecided'
    assert {o.status for o in random_only} <= {'killed', 'undecided'}
    formal = mutation.judge_mutants(t, mutation.entries_of(t, ms, tmp_path / 'f'), simulator=SIM,
                                    workdir=tmp_path / 'f', deep=0)
    assert (formal[k_widest].status, formal[k_widest].by) == ('killed', 'sat')
    assert [(o.status, o.by) for o in formal if o.by != 'sat'] == [(o.status, o.by) for o in random_only
                                                                   if o.status == 'killed']
    extra = directed_rows(prog, t.meta, t.rows)
    t.rows = np.concatenate([t.rows, extra])
    directed = mutation.judge_mutants(t, mutation.entries_of(t, ms, tmp_path / 'd'), simulator=SIM,
                                      workdir=tmp_path / 'd')
    assert all(o.status == 'killed' and o.by == 'stimulus' for o in directed)
    assert directed[k_widest].first >= 50  # killed by a directed row, not by one of the random ones


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='operators='):
        M.sample(M.TopModule('module m (\n);\nendmodule\n', 'm'), 1, 0, operators=('nope',))
    with pytest.raises(ValueError, match='n=-1'):
        M.sample(M.TopModule('module m (\n);\nendmodule\n', 'm'), -1, 0)


def test_a_primitive_comparison_mutant_carries_its_own_primitive(mixed, tmp_path):
    """prim_cmp: the relu's and the muxes' own comparisons moved by one step, each in a renamed
    copy of the shipped primitive that exactly one instance uses; both simulators build the
    file set (outputs differ from the design's only where the comparison moved), and every
    one is killed or proven equivalent."""
    import rtl_templates

    top = mutation.top_module(mixed)
    sites = [s for s in M.enumerate_sites(top) if s.operator == 'prim_cmp']
    assert {top.instances[s.line].kind for s in sites} == {'quantize', 'mux'}
    ms = [M.mutate(top, s, f'mixed_pc{k}', np.random.default_rng(0)) for k, s in enumerate(sites)]
    for m in ms:
        [(fname, text)] = m.extra
        kind = top.instances[m.site.line].kind
        module = fname[:-2]
        assert module == f'{kind}_{m.name}' and f'module {module} #(' in text
        assert sum(line.strip().startswith(f'{module} #(') for line in m.text.splitlines()) == 1
        shipped = rtl_templates.template_path(f'{kind}.v').read_text().splitlines()
        changed = [line for line in text.splitlines() if line not in shipped and 'lint_off' not in line]
        assert len(changed) == 2 and '$signed' in changed[1] or '>=' in changed[1], changed  # name + comparison
    entries = mutation.entries_of(mixed, ms, tmp_path)
    assert all(len(d.sources) == len(mutation.emitted_design(mixed.outdir, mixed.meta).sources) + 1
               for *_, d in entries)
    words = mutation.all_words(mixed.meta)[::97]
    base = mutation.emitted_design(mixed.outdir, mixed.meta)
    on_icarus = mutation.sim.replay([base, *[d for *_, d in entries]], [words] * (len(entries) + 1), 'icarus',
                                    tmp_path / 'icarus')
    assert all(o.shape == on_icarus.outputs[0].shape for o in on_icarus.outputs)
    out = mutation.judge_mutants(mixed, entries, simulator=SIM, workdir=tmp_path)
    assert {o.status for o in out} <= {'killed', 'equivalent'}
    assert any(o.status == 'killed' and o.by == 'stimulus' for o in out)


def test_program_mutants_of_an_unquantized_output_keep_its_port(tmp_path):
    """y = x0 + 2 x1 - x2 straight to the port (no quantizer): a fault upstream widens y's
    interval, so the mutant reads y through a wrapping quantizer to the old precision and keeps
    the design's ports; judged on the same buses, every mutant is killed or proven equal."""
    x = FixedArray.input((3,), 1, 3, 0)
    prog = trace(x, x @ np.array([[1.0], [2.0], [-1.0]]))
    t = _target(prog, tmp_path / 'lin3', 'lin3', lambda meta: stimulus(buses(meta)[0].fields, 64, 2))
    from da4ml_core.ir import Opcode
    from verif.flows.program_mutants import _mutated

    last = t.prog.out_idxs[0]
    site = ('prog_shift', last, (-1,))  # the second operand halved onto a finer grid: y's interval changes
    mutant, _ = _mutated(t.prog, site, np.random.default_rng(0))
    wrap = mutant.ops[mutant.out_idxs[0]]
    assert (wrap.opcode, wrap.id0, wrap.qint.kif) == (Opcode.QUANTIZE, last, t.prog.ops[last].qint.kif)
    pm, _ = sample_program(t.prog, t.meta, 4, 1, tmp_path / 'pm', operators=('prog_add_sub', 'prog_shift'))
    assert len(pm) == 4  # before the wrap, every fault that widened y changed the port and was skipped
    for m in pm:
        assert m.design.out_bus == buses(t.meta)[1]
    out = mutation.judge_mutants(t, [(m.name, m.operator, m.what, m.design) for m in pm], simulator=SIM,
                                 workdir=tmp_path)
    assert [o.status for o in out if o.status not in ('killed', 'equivalent')] == []
    assert any(o.status == 'killed' for o in out)
