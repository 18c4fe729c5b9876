"""write_verilog's ``interface`` option without a simulator: the bare output is the one from before
the option existed, byte for byte; the wrappers' files, metadata and errors.

The bare digests below were taken from the emitter as it was before ``interface`` was added
(main's tree, same program and arguments), over the files the emitter writes itself (top
module, metadata, project scripts; the primitives are checked as byte copies of rtl_templates).
They change only when the bare output changes; if that is intended, regenerate them and say
why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import rtl_templates
from support.programs import every_opcode_program

from da4ml_core.emit import INTERFACES, write_verilog, write_vhdl
from da4ml_core.emit.interface import WRAPPER_NAMES

BARE_DIGESTS = {  # latency_cutoff -> sha256 over (file name, bytes) of the files the emitter writes itself
    None: 'a5bf70f86a700311e63097f78ef74be370c37480abf6ad45579a107db0211fd6',
    0: 'ccc4ea722d327cd317982822bda61beae3cf5f7ff1d545e104154d71de6c9040',
    1: '9c68866ccee44b76b168620c4e6a04283e9d6cb348fb1c3631037dba504b667d',
    2: '53853435b6ce65ede82c7afb16ff9a9fed493f898a60b01f917352aa7fb5e7b0',
}
OWN_FILES = ['every_op.sdc', 'every_op.v', 'every_op.xdc', 'every_op_quartus.tcl', 'every_op_vivado.tcl',
             'metadata.json']


def _digest(paths) -> str:
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda p: p.name):
        h.update(p.name.encode() + b'\0' + p.read_bytes() + b'\0')
    return h.hexdigest()


def _own(paths):
    """The written files that are not copies of rtl_templates primitives (those are checked as copies)."""
    return [p for p in paths if p.stem not in rtl_templates.PRIMITIVES]


@pytest.mark.parametrize('cutoff', sorted(BARE_DIGESTS, key=str))
def test_bare_is_byte_identical_to_before(tmp_path, cutoff):
    prog = every_opcode_program()
    default = write_verilog(prog, tmp_path / 'default', name='every_op', latency_cutoff=cutoff)
    bare = write_verilog(prog, tmp_path / 'bare', name='every_op', latency_cutoff=cutoff, interface='bare')
    assert sorted(p.name for p in _own(bare)) == OWN_FILES
    assert _digest(_own(default)) == _digest(_own(bare)) == BARE_DIGESTS[cutoff]
    assert _digest(default) == _digest(bare)
    for p in set(bare) - set(_own(bare)):
        assert p.read_bytes() == rtl_templates.template_path(p.name).read_bytes(), p.name
    # the digest sees a change: the same design with a wrapper does not match it
    valid = write_verilog(prog, tmp_path / 'valid', name='every_op', latency_cutoff=cutoff, interface='valid')
    assert _digest([p for p in _own(valid) if p.name in OWN_FILES]) != BARE_DIGESTS[cutoff]


@pytest.mark.parametrize('interface', ['valid', 'axis'])
@pytest.mark.parametrize('cutoff', [None, 0, 2, 100])
def test_wrapper_files_and_metadata(tmp_path, interface, cutoff):
    prog = every_opcode_program()
    paths = write_verilog(prog, tmp_path, name='every_op', latency_cutoff=cutoff, interface=interface)
    assert [p.name for p in paths[:2]] == ['every_op.v', 'every_op_core.v']
    meta = json.loads((tmp_path / 'metadata.json').read_text())
    itf = meta['interface']
    assert meta['top'] == 'every_op' and meta['sources'][-2:] == ['every_op_core.v', 'every_op.v']
    assert meta['clocked'] is True and itf['kind'] == interface and itf['core'] == 'every_op_core'
    write_verilog(prog, tmp_path / 'bare', name='every_op', latency_cutoff=cutoff)
    plain = json.loads((tmp_path / 'bare' / 'metadata.json').read_text())
    # the core's own numbers are those of the bare design
    assert meta['register_bits'] == plain['register_bits'] and meta['inputs'] == plain['inputs']
    core = (tmp_path / 'every_op_core.v').read_text()
    wrapper = (tmp_path / 'every_op.v').read_text()
    staged = plain['latency_cycles'] > 0 and 'always @(posedge clk)' in (tmp_path / 'bare' / 'every_op.v').read_text()
    assert itf['core_latency_cycles'] == (plain['latency_cycles'] if staged else 0)
    assert ('input  wire ce,' in core) == staged and ('if (ce)' in core) == staged
    extra = 1 if interface == 'axis' else 0
    assert meta['latency_cycles'] == itf['latency_cycles'] == max(itf['core_latency_cycles'], 1 - extra) + extra
    assert 'module every_op (' in wrapper and 'every_op_core core (' in wrapper
    declared = set(re.findall(r'\b(?:wire|reg)\s+(?:\[[^\]]+\]\s+)?(\w+)', wrapper)) | {'core'}
    assert declared <= WRAPPER_NAMES, declared - WRAPPER_NAMES  # what a top module name must not be
    if interface == 'axis':
        t = itf['tdata']
        assert t['s_axis_tdata_width'] % 8 == 0 and 0 <= t['s_axis_tdata_width'] - meta['inp_width'] < 8
        assert t['m_axis_tdata_width'] % 8 == 0 and 0 <= t['m_axis_tdata_width'] - meta['out_width'] < 8
        assert f"input  wire [{t['s_axis_tdata_width'] - 1}:0] s_axis_tdata," in wrapper
        assert itf['reset'] == {'port': 'aresetn', 'active': 'low', 'synchronous': True,
                                'clears': ['valid chain', 'skid buffer', 's_axis_tready']}
        assert 's_axis_*[*]' in (tmp_path / 'every_op_quartus.tcl').read_text()
    else:
        assert itf['reset']['port'] == 'rst' and itf['reset']['active'] == 'high'
        assert {'clk', 'rst', 'ce', 'in_valid', 'inp', 'out_valid', 'out'} == set(itf['ports'])
    assert 'create_clock -name clk' in (tmp_path / 'every_op.xdc').read_text()


def test_wrappers_are_reproducible(tmp_path):
    prog = every_opcode_program()
    for itf in ('valid', 'axis'):
        a = write_verilog(prog, tmp_path / f'{itf}a', latency_cutoff=2, interface=itf)
        b = write_verilog(prog, tmp_path / f'{itf}b', latency_cutoff=2, interface=itf)
        assert _digest(a) == _digest(b)


@pytest.mark.parametrize('value, exc, words', [
    ('axi', ValueError, "interface='axi' is not one of bare, valid, axis"),
    ('', ValueError, "interface='' is not one of"),
    (1, TypeError, 'interface must be a str, got int: 1'),
    (None, TypeError, 'interface must be a str, got NoneType'),
])
def test_bad_interface(tmp_path, value, exc, words):
    with pytest.raises(exc, match=words.replace('(', r'\(')):
        write_verilog(every_opcode_program(), tmp_path / 'x', interface=value)
    assert not (tmp_path / 'x').exists()
    assert INTERFACES == ('bare', 'valid', 'axis')


@pytest.mark.parametrize('interface, name', [('valid', 'ce'), ('axis', 'head'), ('axis', 'core'), ('valid', 'out')])
def test_name_of_a_wrapper_signal_is_refused(tmp_path, interface, name):
    with pytest.raises(ValueError, match=f"name='{name}' is a port or signal name of the '{interface}' wrapper"):
        write_verilog(every_opcode_program(), tmp_path / 'x', name=name, interface=interface)
    assert not (tmp_path / 'x').exists()
    write_verilog(every_opcode_program(), tmp_path / 'bare', name='head')  # bare has no such signals


BARE_VHDL_DIGESTS = {  # as BARE_DIGESTS, for write_vhdl (main's tree before the interfaces)
    None: 'a6535d2171b79f508b19541c3d2734b7378325826cb597ad027085252283ce0d',
    0: 'f3ee83566466f2a764cdcab1ae8e7faf740428589deefb268a618b271919f9ee',
    2: '0f430c47e09a16fab993112b40911cafe5f1f912381c6d0b9f9ff733e4f24a33',
}


@pytest.mark.parametrize('cutoff', sorted(BARE_VHDL_DIGESTS, key=str))
def test_bare_vhdl_is_byte_identical_to_before(tmp_path, cutoff):
    prog = every_opcode_program()
    bare = write_vhdl(prog, tmp_path / 'bare', name='every_op', latency_cutoff=cutoff, interface='bare')
    assert _digest(_own(bare)) == BARE_VHDL_DIGESTS[cutoff]
    assert _digest(write_vhdl(prog, tmp_path / 'default', name='every_op', latency_cutoff=cutoff)) == _digest(bare)


@pytest.mark.parametrize('interface', ['valid', 'axis'])
def test_vhdl_wrappers(tmp_path, interface):
    """The same wrapper in VHDL: same metadata but for the sources and the language."""
    prog = every_opcode_program()
    paths = write_vhdl(prog, tmp_path / 'vhdl', name='every_op', latency_cutoff=2, interface=interface)
    write_verilog(prog, tmp_path / 'v', name='every_op', latency_cutoff=2, interface=interface)
    assert [p.name for p in paths[:2]] == ['every_op.vhd', 'every_op_core.vhd']
    vhdl_meta = json.loads((tmp_path / 'vhdl' / 'metadata.json').read_text())
    verilog_meta = json.loads((tmp_path / 'v' / 'metadata.json').read_text())
    assert vhdl_meta.pop('language') == 'vhdl'
    assert vhdl_meta.pop('sources') == [s.replace('.v', '.vhd') for s in verilog_meta.pop('sources')]
    assert vhdl_meta == verilog_meta
    core = (tmp_path / 'vhdl' / 'every_op_core.vhd').read_text()
    assert 'ce : in  std_logic;' in core and "rising_edge(clk) and ce = '1'" in core
    with pytest.raises(ValueError, match="name='CE' is a port or signal name"):
        write_vhdl(prog, tmp_path / 'x', name='CE', interface=interface)  # VHDL names ignore case


def test_release_gate_refuses_a_wrapped_design(tmp_path):
    """The gate's bulk and per-cycle paths drive flat buses: a wrapped design is refused by name,
    before anything is simulated or written."""
    import numpy as np

    from verif.flows import release

    prog = every_opcode_program()
    write_verilog(prog, tmp_path / 'd', name='every_op', latency_cutoff=2, interface='axis')
    (tmp_path / 'd' / 'program.json').write_text(prog.to_json())
    np.savez(tmp_path / 'd' / 'reference.npz', inputs=np.zeros((1, 2)), expected=np.zeros((1, 8)))
    result = release.release(tmp_path / 'd', tmp_path / 'bundle')
    assert not result.released and not (tmp_path / 'bundle').exists()
    assert result.reasons == [f'{tmp_path / "d"}: written with a valid / axis wrapper; the gate releases bare '
                              'designs (flat inp / out buses) only (a wrapper is checked by da4ml-core verify)']
