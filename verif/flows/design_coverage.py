"""Coverage of the vectors a design directory is verified with (``verify``, the release gate).

Why a module of its own: ``verif.flows.coverage`` measures a program against any rows; this
one knows which rows each flow runs (a converted model's stored vectors, plus the gate's fresh
ones; a regression design's spec stimulus) and which program they run through, and turns a
floor into a refusal. It also runs the simulator's side (``verif.sim.toggle``): Verilator's
toggle coverage of the same rows through the shipped files, on request (it needs a build of
its own).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..hdl.design import buses, emitted_design, load_metadata
from ..hdl.stimulus import stimulus
from ..sim.toggle import ToggleCoverage, toggle_coverage
from .coverage import Coverage, measure
from .ports import bus_inputs, bus_to_floats

__all__ = ['gate', 'of_model_dir', 'of_spec', 'toggle_of_dir', 'toggle_section']


def _model_dir_rows(outdir: Path, meta: dict, n_fresh: int, seed: int) -> np.ndarray:
    """A converted model's stored bus rows, then the ``n_fresh`` fresh ones the release gate adds."""
    from .model_dir import N_CORNER_MIXES, load_reference

    rows = np.asarray(load_reference(outdir)['inputs'], dtype=np.int64)
    if n_fresh:
        rows = np.concatenate([rows, stimulus(buses(meta)[0].fields, n_fresh, seed, n_mixes=N_CORNER_MIXES)])
    return rows


def of_model_dir(outdir: Path | str, *, n_fresh: int = 0, seed: int = 1) -> Coverage:
    """Coverage of a converted model's stored vectors (and of the ``n_fresh`` fresh rows the
    release gate adds to them) over its ``program.json``."""
    from da4ml_core.ir import Program

    from .model_dir import PROGRAM

    outdir = Path(outdir)
    meta = load_metadata(outdir)
    prog = Program.from_json((outdir / PROGRAM).read_text())
    return measure(prog, bus_to_floats(meta, _model_dir_rows(outdir, meta, n_fresh, seed)))


def toggle_of_dir(design_dir: Path | str, workdir: Path | str, *, spec=None, n_fresh: int = 0, seed: int = 1,
                  annotate_dir: Path | str | None = None) -> ToggleCoverage:
    """Verilator's toggle coverage of the files in ``design_dir`` on the rows its flow runs: a
    regression ``spec``'s (``verif.flows.regress.stimulus``), else a converted model's stored (and ``n_fresh`` fresh) rows.
    verilator_coverage's annotated sources go to ``annotate_dir`` (default under ``workdir``)."""
    from .regress import stimulus as regress_stimulus

    design_dir = Path(design_dir)
    meta = load_metadata(design_dir)
    if spec is not None:
        rows = bus_inputs(meta, spec.in_kifs, regress_stimulus(spec, meta)[0], np.random.default_rng([spec.seed, 1]))
    else:
        rows = _model_dir_rows(design_dir, meta, n_fresh, seed)
    return toggle_coverage(emitted_design(design_dir, meta), rows, workdir, annotate_dir=annotate_dir)


def toggle_section(design_dir: Path | str, workdir: Path | str, *, spec=None, n_fresh: int = 0, seed: int = 1,
                   asked: bool = True, annotate_dir: Path | str | None = None) -> dict:
    """The ``toggle_coverage`` section of a report: the counts and their one-line summary, or
    why there are none (not asked for)."""
    if not asked:
        return {'not_run': 'toggle coverage needs its own Verilator build: ask for it (--toggle-coverage)'}
    cov = toggle_of_dir(design_dir, workdir, spec=spec, n_fresh=n_fresh, seed=seed, annotate_dir=annotate_dir)
    return {**cov.as_dict(), 'line': cov.line()}


def of_spec(spec, meta: dict | None = None) -> Coverage:
    """Coverage of a regression spec's stimulus over the program the compiler makes of it; with
    the design's ``meta``, of the regression's (``verif.flows.regress.stimulus``: directed rows too)."""
    from .regress import stimulus as regress_stimulus
    from .specs import compile_program, stimulus as spec_stimulus

    X = (spec_stimulus(spec) if meta is None else regress_stimulus(spec, meta)[0]).astype(np.float64)
    fs = np.array([kif[2] for kif in spec.in_kifs], dtype=np.float64)
    return measure(compile_program(spec), X * np.exp2(-fs)[None, :])


def gate(design_dir: Path | str, spec, n_fresh: int, seed: int, floor: float | None, reasons: list[str]) -> dict:
    """The coverage section of a release report; a reason appended when it is below ``floor``."""
    if floor is not None and not 0.0 <= floor <= 1.0:
        raise ValueError(f'min_coverage={floor}: expected a fraction in [0, 1]')
    cov = of_spec(spec, load_metadata(design_dir)) if spec is not None else \
        of_model_dir(design_dir, n_fresh=n_fresh, seed=seed)
    if floor is not None and cov.fraction < floor:
        reasons.append(f'coverage {cov.fraction:.4f} is below the floor {floor}: {cov.line()}')
    return {**cov.as_dict(), 'floor': floor}
