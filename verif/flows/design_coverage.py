"""Coverage of the vectors a design directory is verified with (``verify``, the release gate).

Why a module of its own: ``verif.flows.coverage`` measures a program against any rows; this
one knows which rows each flow runs (a converted model's stored vectors, plus the gate's fresh
ones; a regression design's spec stimulus) and which program they run through, and turns a
floor into a refusal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..hdl.design import buses, load_metadata
from ..hdl.stimulus import stimulus
from .coverage import Coverage, measure
from .ports import bus_to_floats

__all__ = ['gate', 'of_model_dir', 'of_spec']


def of_model_dir(outdir: Path | str, *, n_fresh: int = 0, seed: int = 1) -> Coverage:
    """Coverage of a converted model's stored vectors (and of the ``n_fresh`` fresh rows the
    release gate adds to them) over its ``program.json``."""
    from da4ml_core.ir import Program

    from .model_dir import N_CORNER_MIXES, PROGRAM, load_reference

    outdir = Path(outdir)
    meta = load_metadata(outdir)
    prog = Program.from_json((outdir / PROGRAM).read_text())
    rows = np.asarray(load_reference(outdir)['inputs'], dtype=np.int64)
    if n_fresh:
        rows = np.concatenate([rows, stimulus(buses(meta)[0].fields, n_fresh, seed, n_mixes=N_CORNER_MIXES)])
    return measure(prog, bus_to_floats(meta, rows))


def of_spec(spec) -> Coverage:
    """Coverage of a regression spec's stimulus over the program the compiler makes of it."""
    from .specs import compile_program, stimulus as spec_stimulus

    X = spec_stimulus(spec).astype(np.float64)
    fs = np.array([kif[2] for kif in spec.in_kifs], dtype=np.float64)
    return measure(compile_program(spec), X * np.exp2(-fs)[None, :])


def gate(design_dir: Path | str, spec, n_fresh: int, seed: int, floor: float | None, reasons: list[str]) -> dict:
    """The coverage section of a release report; a reason appended when it is below ``floor``."""
    if floor is not None and not 0.0 <= floor <= 1.0:
        raise ValueError(f'min_coverage={floor}: expected a fraction in [0, 1]')
    cov = of_spec(spec) if spec is not None else of_model_dir(design_dir, n_fresh=n_fresh, seed=seed)
    if floor is not None and cov.fraction < floor:
        reasons.append(f'coverage {cov.fraction:.4f} is below the floor {floor}: {cov.line()}')
    return {**cov.as_dict(), 'floor': floor}
