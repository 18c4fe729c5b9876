"""yosys counts of emitted designs: real runs on small CMVMs, the stat parser, errors, the CLI.

Runs stay small (4x4 and 8x4 matrices, a few seconds each in yosys 0.23).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from da4ml_core import cli
from da4ml_core.cmvm import solve
from da4ml_core.emit import write_verilog, write_vhdl
from da4ml_core.synth import (
    INSTALL_HINT, StatError, SynthInputError, YosysNotFoundError, find_yosys, parse_stat, synthesize,
)

pytestmark = pytest.mark.synth
DATA = Path(__file__).parent / 'data'


def _matrix(n_in: int, n_out: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n_in, n_out)).astype(float)


@pytest.fixture(scope='module')
def designs(tmp_path_factory):
    """A 4x4 CMVM (combinational and pipelined) and an 8x4 CMVM whose first rows are the 4x4's."""
    root = tmp_path_factory.mktemp('synth-designs')
    w8 = _matrix(8, 4, 0)
    small = solve(w8[:4], input_kifs=(1, 7, 0))
    large = solve(w8, input_kifs=(1, 7, 0))
    write_verilog(small, root / 'c4', name='c4')
    write_verilog(small, root / 'c4p', name='c4p', latency_cutoff=1)
    write_verilog(large, root / 'c8', name='c8')
    return root, small, large


def _meta(d: Path) -> dict:
    return json.loads((d / 'metadata.json').read_text())


def test_counts_are_consistent(designs):
    root, small, large = designs
    r4, r8 = synthesize(root / 'c4'), synthesize(root / 'c8')
    for r in (r4, r8):
        assert r['luts'] == sum(r['luts_by_size'].values())
        lut_cells = sum(n for c, n in r['cells'].items() if c.startswith('LUT') or c == 'INV')
        assert r['luts'] == lut_cells
        assert r['ffs'] == 0 and r['dsps'] == 0 and r['brams'] == 0  # combinational, adders only
        assert r['carry'] > 0 and r['carry'] == r['cells']['CARRY4']
        assert r['family'] == 'xilinx' and r['yosys'] == find_yosys().version
    assert small.n_adders < large.n_adders
    assert r4['carry'] < r8['carry'] and r4['luts'] < r8['luts']
    # one LUT per adder bit is what a CARRY4 chain costs: the estimate is in the right range
    for d, r in ((root / 'c4', r4), (root / 'c8', r8)):
        est = _meta(d)['resources']['luts']
        assert 0.5 * est <= r['luts'] <= 1.5 * est


def test_pipelined_design_has_its_registers(designs):
    """Registers hold at most metadata's register_bits FFs: yosys merges FFs whose D inputs are the
    same net (a low bit of ``a + (b << s)`` is a bit of ``a``; both registered in one stage are one
    FF), so fewer is expected; the logic is the combinational design's."""
    root, _, _ = designs
    comb, pipe = synthesize(root / 'c4'), synthesize(root / 'c4p')
    reg_bits = _meta(root / 'c4p')['register_bits']
    assert _meta(root / 'c4p')['latency_cycles'] >= 2
    assert 0.8 * reg_bits <= pipe['ffs'] <= reg_bits
    assert pipe['ffs'] == sum(n for c, n in pipe['cells'].items() if c.startswith('FD'))
    assert pipe['carry'] == comb['carry']


def test_results_are_cached_by_content(designs, tmp_path):
    root, _, _ = designs
    d = tmp_path / 'c4'
    shutil.copytree(root / 'c4', d)
    v = d / 'c4.v'
    v.write_text(v.read_text() + f'\n// {tmp_path.name}\n')  # bytes no other test synthesized
    first = synthesize(d)
    again = synthesize(d)
    assert again.pop('cached') and not first.pop('cached')
    assert again == first
    v.write_text(v.read_text() + '\n// changed\n')
    assert synthesize(d)['cached'] is False


def test_ecp5_counts(designs):
    root, _, _ = designs
    r = synthesize(root / 'c4', 'ecp5')
    assert r['carry'] == r['cells']['CCU2C'] > 0
    assert r['luts'] == r['cells'].get('LUT4', 0) + 2 * r['carry']
    assert r['ffs'] == 0


def test_parser_on_captured_stat():
    x = parse_stat((DATA / 'stat_xilinx_cmvm4x4.json').read_text(), 'xilinx')
    assert x['cells'] == {'CARRY4': 90, 'INV': 13, 'LUT2': 271}
    assert x['luts'] == 284 and x['luts_by_size']['1'] == 13 and x['luts_by_size']['2'] == 271
    assert x['carry'] == 90 and x['ffs'] == 0 and x['muxf'] == 0
    assert x['yosys'].startswith('Yosys 0.23')
    e = parse_stat((DATA / 'stat_ecp5_cmvm4x4_pipelined.json').read_text(), 'ecp5')
    assert e['ffs'] == 416 and e['carry'] == 162 and e['luts'] == 324


def test_parser_sums_modules_without_a_design_section():
    doc = json.loads((DATA / 'stat_xilinx_cmvm4x4.json').read_text())
    mod = next(iter(doc['modules'].values()))
    doc = {'creator': doc['creator'], 'modules': {'\\a': mod, '\\b': mod}}
    assert parse_stat(json.dumps(doc), 'xilinx')['luts'] == 2 * 284


@pytest.mark.parametrize('text, what', [('Number of cells: 3', 'not yosys stat -json'),
                                        ('{"x": 1}', 'no "modules"'),
                                        ('{"modules": {"m": {"num_cells_by_type": {"$add": 2}}}}', r'\$add')])
def test_parser_refuses_other_text(text, what):
    with pytest.raises(StatError, match=what):
        parse_stat(text, 'xilinx')


def test_bad_arguments(designs, tmp_path):
    root, small, _ = designs
    with pytest.raises(SynthInputError, match="family='vivado'"):
        synthesize(root / 'c4', 'vivado')
    with pytest.raises(SynthInputError, match='no metadata.json'):
        synthesize(tmp_path)
    write_vhdl(small, tmp_path / 'vhd', name='c4')
    with pytest.raises(SynthInputError, match='VHDL'):
        synthesize(tmp_path / 'vhd')


def test_missing_yosys_is_a_typed_error_with_the_install_hint(designs, monkeypatch, capsys):
    root, _, _ = designs
    monkeypatch.setenv('DA4ML_YOSYS', '/nonexistent/yosys')
    with pytest.raises(YosysNotFoundError, match='apt-get install yosys'):
        synthesize(root / 'c4')
    monkeypatch.delenv('DA4ML_YOSYS')
    monkeypatch.setenv('PATH', str(root))  # no yosys there
    with pytest.raises(YosysNotFoundError, match='not found on PATH'):
        find_yosys()
    status = cli.main(['report', str(root / 'c4'), '--synth'], out=io.StringIO())
    err = capsys.readouterr().err.strip().splitlines()
    assert status == cli.EXIT_ENV  # a missing tool is the environment's fault, as for simulators
    assert len(err) == 1 and INSTALL_HINT in err[0]


def test_cli_report_synth(designs, tmp_path, capsys):
    root, _, _ = designs
    d = tmp_path / 'c4'
    shutil.copytree(root / 'c4', d)
    (d / 'report.json').write_text(json.dumps({'top': 'c4', 'luts': 1, 'n_in': 4, 'n_out': 4}))
    status = cli.main(['report', str(d), str(root / 'c8'), '--synth', '-o', str(tmp_path / 'r.json')],
                      out=io.StringIO())
    assert status == cli.EXIT_OK
    rows = json.loads((tmp_path / 'r.json').read_text())
    for row, dd in zip(rows, (d, root / 'c8')):
        r = synthesize(dd)
        assert row['synth_luts'] == r['luts'] and row['carry'] == r['carry'] and row['synth_ffs'] == r['ffs']
        assert [row[f'lut{n}'] for n in range(1, 7)] == [r['luts_by_size'][str(n)] for n in range(1, 7)]
    stored = json.loads((d / 'report.json').read_text())['synthesis']['xilinx']
    assert stored['luts'] == rows[0]['synth_luts'] and stored['luts_by_size'] == synthesize(d)['luts_by_size']
    out = io.StringIO()
    assert cli.main(['report', str(d), '--synth'], out=out) == cli.EXIT_OK
    head, line = out.getvalue().splitlines()[:2]
    assert 'synth_luts' in head and 'lut6' in head and str(rows[0]['synth_luts']) in line.split()
    with pytest.raises(SystemExit) as exc:  # argparse refuses the choice: usage error
        cli.main(['report', str(d), '--synth', '--family', 'vivado'], out=io.StringIO())
    assert exc.value.code == cli.EXIT_USAGE
    assert "--family: invalid choice: 'vivado'" in capsys.readouterr().err


def test_estimate_equals_yosys_on_constant_adders_negations_and_tables(tmp_path):
    """The cost model's rules for these kinds are what synthesis builds of them in isolation:
    an inverter per 1 bit of a constant on the chain, per bit of a negated value, and one LUT6
    per distinct non-trivial bit function of a table with up to 6 key bits (wider tables are
    an approximation: bench/resources.py has the full sweep)."""
    from da4ml_core.trace import FixedArray, lut, quantize, trace

    rng = np.random.default_rng(5)
    consts = rng.integers(-512, 512, 6) / 4.0
    x = FixedArray.input((18,), 1, 7, 2)
    keys = quantize(x[12:], 1, 3, 2)  # 6-bit keys: wrapping is wires
    y = np.concatenate([x[:6] + consts, -x[6:12], lut(keys, np.tanh, 1, 0, 6)])
    prog = trace(x, y)
    write_verilog(prog, tmp_path / 'mix', name='mix')
    est = _meta(tmp_path / 'mix')['resources']
    assert est['luts_by_kind']['const_adders'] > 0 and est['luts_by_kind']['negations'] > 0
    assert est['luts_by_kind']['tables'] > 0
    assert synthesize(tmp_path / 'mix')['luts'] == est['luts']


def test_release_records_synthesis_or_why_not(designs, tmp_path, monkeypatch):
    """What the release gate writes into verification.json under 'synthesis'."""
    from verif.flows.release import synthesis_counts

    root, small, _ = designs
    got = synthesis_counts(root / 'c4')
    assert got['luts'] == synthesize(root / 'c4')['luts'] and 'not_run' not in got
    write_vhdl(small, tmp_path / 'vhd', name='c4')
    assert 'VHDL' in synthesis_counts(tmp_path / 'vhd')['not_run']
    monkeypatch.setenv('DA4ML_YOSYS', '/nonexistent/yosys')
    assert 'apt-get install yosys' in synthesis_counts(root / 'c4')['not_run']


def test_deferred_reading_of_a_rom_with_a_placeholder_default(tmp_path):
    """A ROM module whose default parameter names a file that does not exist elaborates only when
    read deferred (instantiated with the real file); the ROM is mapped to logic (memory_map)."""
    from da4ml_core.synth import SynthError, synthesize_files

    (tmp_path / 'rom.v').write_text(
        'module rom #(parameter MEM = "placeholder.mem") (input [3:0] a, output [3:0] y);\n'
        '  reg [3:0] m [0:15];\n  initial $readmemh(MEM, m);\n  assign y = m[a];\nendmodule\n')
    (tmp_path / 'top.v').write_text(
        'module top (input [3:0] a, output [3:0] y);\n  rom #(.MEM("t.mem")) u (.a(a), .y(y));\nendmodule\n')
    (tmp_path / 't.mem').write_text('\n'.join(f'{(7 * r + 3) % 16:x}' for r in range(16)) + '\n')
    files = [tmp_path / 'rom.v', tmp_path / 'top.v']
    with pytest.raises(SynthError, match='placeholder.mem'):
        synthesize_files(files, 'top', data_dir=tmp_path, data_files=[tmp_path / 't.mem'])
    res = synthesize_files(files, 'top', data_dir=tmp_path, data_files=[tmp_path / 't.mem'], defer=True)
    assert res['brams'] == res['lutrams'] == 0 and 0 < res['luts'] <= 4  # 4 output bits of 4 inputs: a LUT4 each
