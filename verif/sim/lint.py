"""Static checks of a design's sources by the simulators' own front ends, before any simulation.

``verilator_lint`` is the strict check the regression and the release gate require (``-Wall``);
``icarus_elaboration`` is the quick one a ``verify`` runs first, so that a truncated or broken
file is named as such instead of failing inside a testbench build; ``ghdl_analysis`` is both for
VHDL. Each returns the tool's findings, '' when clean.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .toolchain import GHDL_BUILD_ARGS, find_simulator, simulator_environment

__all__ = ['GHDL_WARNINGS', 'ghdl_analysis', 'icarus_elaboration', 'verilator_lint']

GHDL_WARNINGS = ('-Wbinding', '-Wspecs', '-Wunused')  # on top of GHDL's default ones
TIMEOUT_S = 600


def _findings(res: subprocess.CompletedProcess, keep) -> list[str]:
    found = [line for line in (res.stdout + res.stderr).splitlines() if keep(line)]
    if res.returncode:
        found.append(f'exit status {res.returncode}')
    return found


def verilator_lint(sources: Sequence[Path | str], top: str) -> str:
    """Verilator ``--lint-only -Wall``: every warning and error line."""
    s = find_simulator('verilator')
    with simulator_environment(s):
        res = subprocess.run([str(s.executable), '--lint-only', '-Wall', '--top-module', top, *map(str, sources)],
                             capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return '\n'.join(_findings(res, lambda line: line.startswith('%')))


def icarus_elaboration(sources: Sequence[Path | str], top: str) -> str:
    """Icarus parses and elaborates the sources with ``top`` as the root (no simulation)."""
    s = find_simulator('icarus')
    with tempfile.TemporaryDirectory(prefix='icarus-elab-') as tmp, simulator_environment(s):
        res = subprocess.run([str(s.executable), '-g2005', '-t', 'null', '-s', top, '-o', str(Path(tmp) / 'null'),
                              *map(str, sources)], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return '\n'.join(_findings(res, lambda line: bool(line.strip())))


def ghdl_analysis(sources: Sequence[Path | str], top: str) -> str:
    """``ghdl -a`` of the sources (in order) and ``ghdl -e`` of ``top``, VHDL-2008, in a scratch library."""
    s = find_simulator('ghdl')
    found = []
    with tempfile.TemporaryDirectory(prefix='ghdl-analyze-') as lib, simulator_environment(s):
        std = [*GHDL_BUILD_ARGS, f'--workdir={lib}']
        for cmd in (['-a', *std, *GHDL_WARNINGS, *map(str, sources)], ['-e', *std, top]):
            res = subprocess.run([str(s.executable), *cmd], capture_output=True, text=True, timeout=TIMEOUT_S,
                                 check=False, cwd=lib)
            found += [line for line in (res.stdout + res.stderr).splitlines() if line.strip()]
            if res.returncode:
                found.append(f'ghdl {cmd[0]}: exit status {res.returncode}')
                break
    return '\n'.join(found)
