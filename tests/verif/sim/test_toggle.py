"""Verilator's toggle coverage (verif.sim.toggle) on a small design: the points are read back
per bit, a top-module wire per bit of every signal the emitter declared, and an input held
constant shows as untoggled bits of that input and of the wire reading it."""

import numpy as np
import pytest

from da4ml_core.emit import write_verilog
from da4ml_core.trace import FixedArray, relu, trace
from verif import sim
from verif.flows.top_module import TopModule
from verif.hdl.design import buses, emitted_design, load_metadata
from verif.hdl.stimulus import stimulus
from verif.sim import toggle

pytestmark = pytest.mark.rtl


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Three 5-bit inputs, five adders, two relus: 103 bits declared in the top module."""
    x = FixedArray.input((3,), 1, 2, 2)
    prog = trace(x, relu(x @ np.array([[1.5, -2.0], [0.75, 1.0], [-1.0, 0.25]])))
    out = tmp_path_factory.mktemp('tiny')
    write_verilog(prog, out, name='tiny')
    meta = load_metadata(out)
    return emitted_design(out, meta), meta, TopModule((out / 'tiny.v').read_text(), 'tiny')


def test_points_per_bit_and_an_input_held_constant(tiny, tmp_path):
    design, meta, top = tiny
    rows = stimulus(buses(meta)[0].fields, 200, 3)
    full = toggle.toggle_coverage(design, rows, tmp_path / 'full')
    declared = top.in_width + design.out_bus.width + sum(top.width.values())
    assert full.wires == 2 * declared  # one point per bit and direction of every top-module signal
    assert full.wires_hit == full.wires and full.untoggled_bits == ()
    assert 0 < full.primitives_hit <= full.primitives and full.n_vectors == len(rows)
    assert 0 < full.lines_hit <= full.lines
    assert (tmp_path / 'full' / 'toggle-annotated' / 'tiny.v').is_file()

    held = rows.copy()
    held[:, 1] = 0  # x1 (inp[9:5], wire v1) never moves
    part = toggle.toggle_coverage(design, held, tmp_path / 'held')
    lo, hi = top.inputs['v1'][1], top.inputs['v1'][0]
    assert set(part.untoggled_bits) >= {f'v1[{b}]' for b in range(5)} | {f'inp[{b}]' for b in range(lo, hi + 1)}
    assert part.least[0] == ('v1', 0, 10)
    assert part.wires == full.wires and part.wires_hit < full.wires_hit
    assert part.as_dict()['points'] == part.total and 'v1 0/10' in part.line()


def test_coverage_file_errors_are_named(tmp_path):
    bad = tmp_path / 'coverage.dat'
    bad.write_text('not coverage\n')
    with pytest.raises(ValueError, match='not a Verilator coverage file'):
        toggle.read_points(bad)
    bad.write_text("# SystemC::Coverage-3\nC '\x01t\x02toggle\x01o\x02weird' 3\n")
    with pytest.raises(ValueError, match='coverage.dat:2: toggle point without'):
        toggle.read_points(bad)
    with pytest.raises(ValueError, match="no toggle points under 'replay_tb.u0'"):
        toggle.summarize([toggle.Point('replay_tb', 'clk', None, '0->1', 1)], 'replay_tb.u0')


def test_only_verilator_counts_toggles(tiny, tmp_path):
    design, meta, _ = tiny
    with pytest.raises(ValueError, match="coverage=True needs simulator='verilator', not 'icarus'"):
        sim.replay([design], [np.zeros((1, 3), np.int64)], 'icarus', tmp_path, coverage=True)


def test_missing_reader_names_the_fix(monkeypatch):
    monkeypatch.setattr(toggle.shutil, 'which', lambda name: None)
    with pytest.raises(RuntimeError, match='verilator_coverage not found.*apt-get install verilator'):
        toggle.find_coverage_tool()


def test_a_cached_build_of_moved_files_is_annotated(tiny, tmp_path):
    """The build cache keys builds by the bytes of the sources, not where they are: the same
    design moved elsewhere reuses the build, whose points name the old paths; the annotation
    reads the files where they are now."""
    import shutil

    design, meta, _ = tiny
    first = tmp_path / 'first'
    shutil.copytree(design.sources[-1].parent, first)
    rows = stimulus(buses(meta)[0].fields, 50, 4)
    toggle.toggle_coverage(emitted_design(first, meta), rows, tmp_path / 'w1')
    moved = tmp_path / 'moved'
    first.rename(moved)
    again = toggle.toggle_coverage(emitted_design(moved, meta), rows, tmp_path / 'w2')
    assert again.lines is not None and (tmp_path / 'w2' / 'toggle-annotated' / 'tiny.v').is_file()
    assert str(moved) in (tmp_path / 'w2' / 'tiny-toggle.dat').read_text()
