"""Synthesize an emitted design with yosys and count what it became, cached.

Why: the LUT estimate of ``metadata.json`` is a model; users choose designs by what synthesis
builds. ``synthesize(design_dir)`` reads the files the emitter wrote (``metadata.json`` names
the top and its sources, primitives first), maps them with the family's yosys flow and returns
the counts of :mod:`.stats`. Memories are mapped to logic before synthesis (``memory_map``), so
ROMs count as LUTs on every flow. A run is cached under ``$DA4ML_SYNTH_CACHE`` (default
``~/.cache/da4ml_core/synth``), keyed by the sha256 of the source and data files, the script
and the yosys version: the same design is synthesized once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .stats import FAMILY_CELLS, parse_stat
from .tool import Yosys, find_yosys, run_script

__all__ = ['CACHE_ENV', 'FAMILIES', 'SynthInputError', 'cache_root', 'script', 'synthesize', 'synthesize_files']

CACHE_ENV = 'DA4ML_SYNTH_CACHE'
FAMILIES = {
    'xilinx': 'synth_xilinx -flatten -noiopad -top {top}',  # 7-series cells: LUT1..6, CARRY4, MUXF7/8, FDRE
    'ecp5': 'synth_ecp5 -top {top}',  # Lattice ECP5: LUT4, CCU2C, PFUMX, TRELLIS_FF
}
STAT = 'stat.json'


class SynthInputError(ValueError):
    """A design that cannot be synthesized here (argument named in the message)."""


def cache_root() -> Path:
    """``$DA4ML_SYNTH_CACHE`` or ``~/.cache/da4ml_core/synth``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / '.cache' / 'da4ml_core' / 'synth'


def script(sources: Sequence[str], top: str, family: str, stat: str = STAT, defer: bool = False) -> str:
    """The yosys script: read, elaborate, memories to logic, the family's synthesis, ``stat -json``
    into ``stat``. Paths go unquoted into the script: they must not contain whitespace.
    ``defer``: elaborate modules only as instantiated (``read_verilog -defer``), for sources whose
    default parameters do not elaborate (a ``$readmemh`` of a placeholder file name)."""
    if family not in FAMILIES:
        raise SynthInputError(f'family={family!r}: expected one of {", ".join(FAMILIES)}')
    bad = [p for p in [*sources, stat] if not p or any(c.isspace() for c in p)]
    if bad:
        raise SynthInputError(f'sources: {bad[0]!r} is empty or contains whitespace, which yosys scripts cannot hold')
    read = 'read_verilog -defer' if defer else 'read_verilog'
    reads = '\n'.join(f'{read} {s}' for s in sources)
    return (f'{reads}\nhierarchy -check -top {top}\nproc\nmemory -nomap\nmemory_map\n'
            f'{FAMILIES[family].format(top=top)}\ntee -q -o {stat} stat -json\n')


def _key(yosys: Yosys, text: str, files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    h.update(yosys.version.encode() + b'\0' + text.encode() + b'\0')
    for f in files:
        h.update(f.name.encode() + b'\0' + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:24]


def synthesize_files(sources: Sequence[Path | str], top: str, family: str = 'xilinx', *,
                     data_files: Sequence[Path | str] = (), data_dir: Path | str | None = None,
                     progress: bool = True, cache: bool = True, timeout: float | None = None,
                     defer: bool = False) -> dict:
    """Synthesize Verilog ``sources`` (in compile order) with top module ``top``; counts as in
    :mod:`.stats`, plus ``family``, ``top``, ``yosys``, ``seconds`` (of the run that produced
    them) and ``cached``. ``data_files`` (e.g. ``$readmemh`` files) are part of the cache key;
    ``data_dir`` is where yosys runs, so relative memory-file names resolve there; ``defer``: see
    :func:`script`."""
    srcs = [Path(s).resolve() for s in sources]
    missing = [str(s) for s in srcs if not s.is_file()]
    if missing:
        raise SynthInputError(f'sources: no such file {missing[0]}')
    if not srcs:
        raise SynthInputError('sources: empty')
    if not top or not top.replace('_', 'a').isalnum():
        raise SynthInputError(f'top={top!r}: not a Verilog module name')
    text = script([s.name for s in srcs], top, family, defer=defer)
    yosys = find_yosys()
    datas = [Path(d).resolve() for d in data_files]
    key = _key(yosys, text, [*srcs, *datas])
    entry = cache_root() / family / f'{top}-{key}'
    if cache and (entry / 'result.json').is_file():
        return {**json.loads((entry / 'result.json').read_text()), 'cached': True}
    with tempfile.TemporaryDirectory(prefix=f'synth-{top}-') as tmp:
        work = Path(tmp)
        for s in srcs:
            shutil.copyfile(s, work / s.name)
        (work / 'synth.ys').write_text(script([str(work / s.name) for s in srcs], top, family, str(work / STAT), defer))
        run_dir = Path(data_dir).resolve() if data_dir is not None else work
        seconds = run_script(yosys, work / 'synth.ys', work / 'yosys.log', run_dir, f'{top} ({family})',
                             progress, timeout)
        result = {**parse_stat((work / STAT).read_text(), family), 'family': family, 'top': top,
                  'yosys': yosys.version, 'seconds': round(seconds, 2)}
        if cache:
            _store(entry, result, work / 'yosys.log')
    return {**result, 'cached': False}


def _store(entry: Path, result: dict, log: Path) -> None:
    """Write the cache entry in a temporary sibling, then rename: readers see all or nothing."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{entry.name}.', dir=entry.parent))
    try:
        (tmp / 'result.json').write_text(json.dumps(result, indent=1, sort_keys=True) + '\n')
        shutil.copyfile(log, tmp / 'yosys.log')
        os.rename(tmp, entry)
    except OSError:  # another process stored the same entry first
        shutil.rmtree(tmp, ignore_errors=True)


def synthesize(design_dir: Path | str, family: str = 'xilinx', *, progress: bool = True, cache: bool = True,
               timeout: float | None = None) -> dict:
    """Counts of the design da4ml-core emitted into ``design_dir`` (see :func:`synthesize_files`)."""
    d = Path(design_dir)
    meta_path = d / 'metadata.json'
    if not meta_path.is_file():
        raise SynthInputError(f'design_dir={str(d)!r}: no metadata.json (not a directory written by the emitter)')
    try:
        meta = json.loads(meta_path.read_text())
        top, sources = meta['top'], list(meta['sources'])
    except (ValueError, KeyError, TypeError) as err:
        raise SynthInputError(f'{meta_path}: not a readable metadata.json ({err})') from None
    if meta.get('language', 'verilog') != 'verilog' or any(not s.endswith('.v') for s in sources):
        raise SynthInputError(f'design_dir={str(d)!r}: a VHDL design; yosys synthesizes the Verilog emission only')
    if family not in FAMILY_CELLS:
        raise SynthInputError(f'family={family!r}: expected one of {", ".join(FAMILIES)}')
    return synthesize_files([d / s for s in sources], top, family, progress=progress, cache=cache, timeout=timeout)
