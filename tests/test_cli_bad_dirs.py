"""Output directories gone wrong, as a user's disk or hands leave them: every verb that reads a
``convert`` directory gets each of its files truncated or removed in turn and must answer with
one line naming the file (exit 2; the release gate: refused, exit 1, naming it), never a
traceback and never a pass on a broken design. ``convert`` itself writes all of a directory or
nothing: a bad ``--data`` or an unwritable OUTDIR leaves no half-written files behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

from support.cli import SMALL_MODEL_KIF as KIF
from support.cli import one_line_error, run, small_model

from da4ml_core import cli

READ_BY_VERIFY = ('metadata.json', 'program.json', 'reference.npz')


@pytest.fixture(scope='module')
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('m') / 'small.keras'
    small_model(path)
    return path


@pytest.fixture(scope='module')
def converted(model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('conv') / 'tiny'
    status = cli.main(['convert', str(model), str(out), *KIF, '-n', '20', '--latency-cutoff', '1'])
    assert status == 0
    return out


def damaged(converted: Path, tmp: Path, name: str, how: str) -> Path:
    """A copy of the converted directory with ``name`` cut in half or removed."""
    d = tmp / f'{how}-{name}'
    shutil.copytree(converted, d)
    path = d / name
    if how == 'remove':
        path.unlink()
    else:
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    return d


def cases(converted: Path):
    return [(f.name, how) for f in sorted(converted.iterdir()) for how in ('truncate', 'remove')]


def sources(converted: Path) -> set[str]:
    import json

    return set(json.loads((converted / 'metadata.json').read_text())['sources'])


def test_convert_wrote_the_files_the_sweeps_damage(converted):
    names = {f.name for f in converted.iterdir()}
    assert {*READ_BY_VERIFY, 'report.json', 'tiny_net.v', 'tiny_net_vivado.tcl'} <= names
    assert len(sources(converted)) >= 2  # the design and its primitives
    assert not [f for f in converted.parent.iterdir() if f.name.startswith('.')]  # no staging left behind


@pytest.mark.rtl
def test_verify_names_every_damaged_file(converted, tmp_path, capsys):
    needed = {*READ_BY_VERIFY, *sources(converted)}
    wrong = []
    for name, how in cases(converted):
        d = damaged(converted, tmp_path, name, how)
        status, out, err = run(['verify', d, '--simulators', 'icarus', '--scheduler', 'none'], capsys)
        if name in needed or (name == 'report.json' and how == 'truncate'):
            if status != cli.EXIT_USAGE or name not in one_line_error(err):
                wrong.append(f'{how} {name}: exit {status}: {err.strip()}')
        elif status != cli.EXIT_OK or err.strip():  # vendor scripts, a missing report: not verify's inputs
            wrong.append(f'{how} {name}: exit {status}: {err.strip()}')
    assert not wrong, '\n'.join(wrong)


def test_verify_names_a_design_cut_between_modules(converted, tmp_path, capsys):
    """Cut where a module ends, the file still parses: the missing module is found by elaboration."""
    d = tmp_path / 'cut'
    shutil.copytree(converted, d)
    top = d / 'tiny_net.v'
    text = top.read_text()
    top.write_text(text[:text.index('module tiny_net')])  # the file keeps only its header
    status, _, err = run(['verify', d, '--simulators', 'icarus', '--scheduler', 'none'], capsys)
    assert status == cli.EXIT_USAGE
    assert 'the design does not elaborate' in one_line_error(err) and 'tiny_net' in err


def test_report_names_a_damaged_report(converted, tmp_path, capsys):
    wrong = []
    for name, how in cases(converted):
        d = damaged(converted, tmp_path, name, how)
        status, out, err = run(['report', d], capsys)
        if name == 'report.json' and how == 'truncate':
            if status != cli.EXIT_USAGE or 'report.json: not a readable report.json' not in one_line_error(err):
                wrong.append(f'{how} {name}: exit {status}: {err.strip()}')
        elif status != cli.EXIT_OK or 'tiny_net' not in out:  # report.json (or metadata.json) still tells the row
            wrong.append(f'{how} {name}: exit {status}: {err.strip()} {out}')
    assert not wrong, '\n'.join(wrong)
    d = damaged(converted, tmp_path / 'both', 'metadata.json', 'truncate')
    (d / 'report.json').unlink()
    status, _, err = run(['report', d], capsys)
    assert status == cli.EXIT_USAGE and 'metadata.json: not a readable metadata.json' in one_line_error(err)


@pytest.mark.rtl
@pytest.mark.slow
def test_release_refuses_every_damaged_design_file(converted, tmp_path, capsys):
    needed = {*READ_BY_VERIFY, *sources(converted)}
    wrong = []
    for name, how in cases(converted):
        d = damaged(converted, tmp_path, name, how)
        bundle = tmp_path / f'bundle-{how}-{name}'
        status, out, err = run(['release', d, '--out', bundle, '--scheduler', 'none', '--vectors', '50',
                                '--per-cycle', '5'], capsys)
        assert 'Traceback' not in err
        if name in needed:
            if status != cli.EXIT_MISMATCH or 'REFUSED' not in out or name not in out or bundle.exists():
                wrong.append(f'{how} {name}: exit {status}: {out.strip()[-400:]}')
        elif status != cli.EXIT_OK or not (bundle / 'manifest.json').is_file():
            wrong.append(f'{how} {name}: exit {status}: {out.strip()[-400:]}')
    assert not wrong, '\n'.join(wrong)


def test_data_of_the_wrong_shape_writes_nothing(model, tmp_path, capsys):
    np.savez(tmp_path / 'wrong.npz', x_test=np.zeros((10, 7)))
    fresh, kept = tmp_path / 'fresh', tmp_path / 'kept'
    kept.mkdir()
    (kept / 'notes.txt').write_text('mine')
    for outdir in (fresh, kept):
        status, _, err = run(['convert', model, outdir, *KIF, '--data', tmp_path / 'wrong.npz'], capsys)
        assert status == cli.EXIT_USAGE
        assert 'wrong.npz: expected inputs of shape (n, 5), got (10, 7)' in one_line_error(err)
    assert not fresh.exists()
    assert [f.name for f in kept.iterdir()] == ['notes.txt']
    assert sorted(f.name for f in tmp_path.iterdir()) == ['kept', 'wrong.npz']  # no staging directory left


def test_convert_replaces_the_files_of_an_existing_directory(model, converted, tmp_path, capsys):
    d = tmp_path / 'again'
    shutil.copytree(converted, d)
    (d / 'tiny_net.v').write_text('stale')
    (d / 'notes.txt').write_text('mine')
    status, _, _ = run(['convert', model, d, *KIF, '-n', '20', '--latency-cutoff', '1'], capsys)
    assert status == cli.EXIT_OK
    assert (d / 'tiny_net.v').read_bytes() == (converted / 'tiny_net.v').read_bytes()
    assert (d / 'notes.txt').read_text() == 'mine'


@contextlib.contextmanager
def unwritable(path: Path):
    """``path`` made a directory nobody may create files in: immutable for root (whom permission
    bits do not stop), read-only otherwise."""
    path.mkdir(exist_ok=True)
    root = os.geteuid() == 0
    if root:
        subprocess.run(['chattr', '+i', str(path)], check=True)
    else:
        path.chmod(0o500)
    try:
        yield path
    finally:
        if root:
            subprocess.run(['chattr', '-i', str(path)], check=True)
        else:
            path.chmod(0o700)


def test_unwritable_outdir_is_refused_before_any_work(model, converted, tmp_path, capsys):
    with unwritable(tmp_path / 'locked') as locked:
        for outdir in (locked, locked / 'sub'):
            status, out, err = run(['convert', model, outdir, *KIF], capsys)
            assert status == cli.EXIT_USAGE and out == ''
            assert f'{outdir}: cannot write in {locked} (Operation not permitted' in one_line_error(err) \
                or f'{outdir}: cannot write in {locked} (Permission denied' in one_line_error(err)
        assert list(locked.iterdir()) == []
    copy = tmp_path / 'copy'
    shutil.copytree(converted, copy)
    with unwritable(copy):
        status, _, err = run(['verify', copy, '--simulators', 'icarus', '--scheduler', 'none'], capsys)
    assert status == cli.EXIT_USAGE and f'{copy}: cannot write in {copy}' in one_line_error(err)


def test_unwritable_report_and_bundle_destinations(converted, tmp_path, capsys):
    with unwritable(tmp_path / 'locked') as locked:
        status, _, err = run(['report', converted, '-o', locked / 'designs.md'], capsys)
        assert status == cli.EXIT_USAGE and f'-o {locked / "designs.md"}: cannot write' in one_line_error(err)
        status, out, err = run(['release', converted, '--out', locked / 'bundle', '--scheduler', 'none'], capsys)
        assert status == cli.EXIT_USAGE and out == ''
        assert f'{locked / "bundle"}: cannot write in {locked}' in one_line_error(err)
