"""Synthesized resource counts of emitted designs (yosys), next to the emitter's estimate.

    from da4ml_core.synth import synthesize
    synthesize('out/')  # {'luts': ..., 'luts_by_size': {'1': ..., '6': ...}, 'carry': ..., 'muxf': ..., 'ffs': ...}

It reads the files the emitter wrote (``metadata.json`` and the sources it names), never the
program: the counts are of the shipped files. Families: ``xilinx`` (7-series cells, the default)
and ``ecp5``.
"""

from .flow import CACHE_ENV, FAMILIES, SynthInputError, cache_root, script, synthesize, synthesize_files
from .stats import StatError, parse_stat, resources_from_cells
from .tool import INSTALL_HINT, YOSYS_ENV, SynthError, Yosys, YosysNotFoundError, YosysTimeout, find_yosys

__all__ = ['CACHE_ENV', 'FAMILIES', 'INSTALL_HINT', 'YOSYS_ENV', 'StatError', 'SynthError', 'SynthInputError', 'Yosys',
           'YosysNotFoundError', 'YosysTimeout', 'cache_root', 'find_yosys', 'parse_stat', 'resources_from_cells', 'script', 'synthesize',
           'synthesize_files']
