"""Resource counts from yosys's ``stat -json`` output, per FPGA family.

The cell library of each family names its LUTs, carry cells, wide-function muxes and flip-flops
differently; this turns the raw cell counts into the same few numbers for every family:
``luts`` (and ``luts_by_size``: cells of 1..6 inputs), ``carry`` (carry-chain cells), ``muxf``
(wide-function muxes), ``ffs``, ``dsps``, ``brams``, ``lutrams``, plus the raw ``cells``.
A Xilinx ``INV`` is a one-input LUT in the fabric and counts as a LUT1. An ECP5 ``CCU2C`` carry
cell holds two LUT4s (Lattice reports them as "ripple logic" LUT4s): they count as LUT4s too.
"""

from __future__ import annotations

import json
import re

__all__ = ['FAMILY_CELLS', 'StatError', 'parse_stat', 'resources_from_cells']


class StatError(ValueError):
    """Text that is not the output of yosys ``stat -json``."""


# family -> LUT cell -> inputs, carry cells (and LUTs inside them), wide muxes, FF / DSP / BRAM / LUTRAM name patterns
FAMILY_CELLS = {
    'xilinx': {
        'luts': {'INV': 1, 'LUT1': 1, 'LUT2': 2, 'LUT3': 3, 'LUT4': 4, 'LUT5': 5, 'LUT6': 6},
        'carry': ('CARRY4', 'CARRY8'),
        'carry_luts': {},
        'muxf': ('MUXF7', 'MUXF8', 'MUXF9'),
        'ffs': r'FD[A-Z]*|LD[A-Z]*',
        'dsps': r'DSP.*',
        'brams': r'RAMB.*',
        'lutrams': r'RAM\d+[MXS].*',
    },
    'ecp5': {
        'luts': {'LUT4': 4},
        'carry': ('CCU2C',),
        'carry_luts': {'CCU2C': (4, 2)},  # cell -> (LUT inputs, LUTs inside)
        'muxf': ('PFUMX', 'L6MUX21'),
        'ffs': r'TRELLIS_FF',
        'dsps': r'MULT18X18D|ALU54B',
        'brams': r'DP16KD|PDPW16KD',
        'lutrams': r'TRELLIS_DPR16X4',
    },
}


def resources_from_cells(cells: dict[str, int], family: str) -> dict:
    """The summary numbers (module docstring) of raw cell counts of ``family``."""
    if family not in FAMILY_CELLS:
        raise ValueError(f'family={family!r}: expected one of {", ".join(FAMILY_CELLS)}')
    lib = FAMILY_CELLS[family]
    by_size = {str(n): 0 for n in range(1, 7)}
    for cell, n_in in lib['luts'].items():
        by_size[str(n_in)] += cells.get(cell, 0)
    for cell, (n_in, per_cell) in lib['carry_luts'].items():
        by_size[str(n_in)] += per_cell * cells.get(cell, 0)

    def matching(pattern: str) -> int:
        return sum(n for c, n in cells.items() if re.fullmatch(pattern, c))

    muxf = {c: cells.get(c, 0) for c in lib['muxf']}
    return {
        'luts': sum(by_size.values()),
        'luts_by_size': by_size,
        'carry': sum(cells.get(c, 0) for c in lib['carry']),
        'muxf': sum(muxf.values()),
        'muxf_by_cell': muxf,
        'ffs': matching(lib['ffs']),
        'dsps': matching(lib['dsps']),
        'brams': matching(lib['brams']),
        'lutrams': matching(lib['lutrams']),
        'cells': dict(sorted(cells.items())),
    }


def parse_stat(text: str, family: str) -> dict:
    """Counts of the whole design in the text of ``stat -json`` (after a flattening synth)."""
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise StatError(f'not yosys stat -json output: {err}') from None
    if not isinstance(doc, dict) or not isinstance(doc.get('modules'), dict):
        raise StatError('not yosys stat -json output: no "modules" object')
    design = doc.get('design')
    if isinstance(design, dict) and 'num_cells_by_type' in design:
        cells = dict(design['num_cells_by_type'])
    else:  # one module, or the design summary missing: add the modules up
        cells: dict[str, int] = {}
        for mod in doc['modules'].values():
            for c, n in mod.get('num_cells_by_type', {}).items():
                cells[c] = cells.get(c, 0) + n
    unknown = [c for c in cells if c.startswith('$')]
    if unknown:
        raise StatError(f'cells left unmapped by synthesis: {", ".join(sorted(unknown))}')
    out = resources_from_cells({str(c).lstrip('\\'): int(n) for c, n in cells.items()}, family)
    out['yosys'] = str(doc.get('creator', ''))
    return out
