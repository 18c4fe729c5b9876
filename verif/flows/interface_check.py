"""Verify a converted design written with ``--interface valid|axis``: its stored Keras vectors
streamed through the wrapper (``verif.sim.stream``) on each simulator.

Why separate from :mod:`verif.flows.converted`: the bulk replay and per-cycle paths drive the
flat ``inp`` / ``out`` ports, which a wrapper does not have. Keras stays the oracle
(``reference.npz``); the stream testbench adds random stalls and a reset mid-stream.
"""

from __future__ import annotations

from pathlib import Path

from .. import sim
from ..hdl.design import emitted_design, load_metadata
from .model_dir import REPORT, design_summary, load_reference, read_report, write_report

__all__ = ['interface_of', 'verify_interface_dir']


def interface_of(meta: dict) -> str:
    """'bare', 'valid' or 'axis' (metadata without an ``interface`` section is bare)."""
    return meta.get('interface', {}).get('kind', 'bare')


def verify_interface_dir(outdir: Path | str, simulators, seed: int = 1) -> dict:
    """Stream ``reference.npz`` through the wrapper on every simulator; update and return the
    directory's report (``verification``: per simulator the testbench's verdict and its first
    problems, wrong, lost or repeated beats; ``mismatches``: how many simulators failed)."""
    outdir = Path(outdir)
    meta = load_metadata(outdir)
    kind = interface_of(meta)
    if kind == 'bare':
        raise ValueError(f'{outdir}: a bare design; verify it with verif.flows.converted.verify_dir')
    ref = load_reference(outdir)
    design = emitted_design(outdir, meta)
    sims = {}
    for s in simulators:
        res = sim.stream(design, kind, ref['inputs'], ref['expected'], s, resets=1, seed=seed, check=False)
        problems = res.summary.get('problems', ['the testbench wrote no summary (crashed?)'])
        sims[s] = {'simulator': s, 'version': sim.find_simulator(s).version, 'path': f'stream-{kind}',
                   'vectors': int(len(ref['inputs'])), 'beats_out': res.beats_out, 'seed': seed,
                   'problems': problems[:8], 'passed': res.passed}
    report = read_report(outdir) if (outdir / REPORT).is_file() else {}
    report.update(design_summary(meta))
    report['verification'] = {'vectors': int(len(ref['inputs'])), 'interface': kind, 'simulators': sims}
    report['mismatches'] = int(sum(not r['passed'] for r in sims.values()))
    report['verified'] = sorted(sims)
    write_report(outdir, report)
    return report
