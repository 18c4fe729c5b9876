"""Running designs in simulators: toolchain discovery and fix-ups (``toolchain``), the build
cache (``cache``), builds and cocotb runs (``build``), the two ways to drive a flat-bus design,
:func:`replay` (bulk) and :func:`per_cycle` (cocotb driver / monitor / checker) (``replay``), and
:func:`stream` for a design behind a ``valid`` / ``axis`` wrapper (``stream``).

``from verif import sim`` then ``sim.replay(...)``, ``sim.find_simulator('verilator')``.
"""

from .build import (
    DEFAULT_TIMESCALE,
    Build,
    BuildFailed,
    RunResult,
    SimError,
    SimulationFailed,
    build,
    build_and_run,
    build_key,
    new_run_dir,
    run,
)
from .cache import cache_max_bytes, default_cache_root, prune_cache, prune_cache_if_due
from .replay import Replay, per_cycle, replay
from .stream import StreamResult, stream
from .toolchain import (
    ALL_SIMULATORS,
    FIX_HINT,
    MIN_GHDL,
    MIN_VERILATOR,
    SIMULATORS,
    VHDL_SIMULATORS,
    check_ghdl_version,
    Simulator,
    check_verilator_version,
    find_simulator,
    parse_version,
    simulator_environment,
)

__all__ = [
    'ALL_SIMULATORS', 'DEFAULT_TIMESCALE', 'FIX_HINT', 'MIN_GHDL', 'MIN_VERILATOR', 'SIMULATORS', 'VHDL_SIMULATORS',
    'check_ghdl_version', 'Build', 'BuildFailed', 'Replay', 'RunResult',
    'SimError', 'SimulationFailed', 'Simulator', 'build', 'build_and_run', 'build_key', 'cache_max_bytes',
    'check_verilator_version', 'default_cache_root', 'find_simulator', 'new_run_dir', 'parse_version', 'per_cycle',
    'prune_cache', 'prune_cache_if_due', 'replay', 'run', 'simulator_environment', 'stream', 'StreamResult',
]
