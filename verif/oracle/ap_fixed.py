"""An oracle nobody here wrote: Xilinx's own ap_fixed C++ types, compiled with g++.

The ap_fixed headers ship inside the hls4ml wheel. For each target type ``(W, I, signed)`` a
generated C++ program converts every bit pattern of a wider source ``ap_fixed<WS, IS>`` (two
more integer bits and two or more fractional bits than the target, so every value overflows or
rounds in every way) to the target under all rounding x overflow modes, and writes the raw
target bit patterns as int64. The binary is cached by a hash of its source.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROUND_MODES = ('TRN', 'TRN_ZERO', 'RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF', 'RND_CONV')
OVERFLOW_MODES = ('WRAP', 'SAT', 'SAT_SYM')
MIN_SOURCE_WIDTH = 10
N_UNITS = 4  # translation units compiled in parallel


@dataclass(frozen=True)
class Target:
    """An ap_fixed / ap_ufixed target type and the source grid converted into it."""

    width: int  # W
    int_bits: int  # I (counts the sign bit when signed, as ap_fixed does)
    signed: bool

    @property
    def source_width(self) -> int:
        return max(self.width + 4 + (not self.signed), MIN_SOURCE_WIDTH)

    @property
    def source_int_bits(self) -> int:
        return self.int_bits + 2 + (not self.signed)

    @property
    def kif(self) -> tuple[int, int, int]:
        """(k, i, f) of the target in this project's convention (i excludes the sign)."""
        k = int(self.signed)
        return k, self.int_bits - k, self.width - self.int_bits

    def source_values(self) -> np.ndarray:
        """Every source value, in the order the harness converts them (float64, exact)."""
        ws, fs = self.source_width, self.source_width - self.source_int_bits
        patterns = np.arange(1 << ws, dtype=np.int64)
        signed = np.where(patterns >= 1 << (ws - 1), patterns - (1 << ws), patterns)
        return np.ldexp(signed.astype(np.float64), -fs)

    def decode(self, patterns: np.ndarray) -> np.ndarray:
        """Target bit patterns to raw integers (value = raw * 2**-f)."""
        if not self.signed:
            return patterns
        w = self.width
        return np.where(patterns >= 1 << (w - 1), patterns - (1 << w), patterns)


def default_targets() -> list[Target]:
    """Targets covering W = 1, I < 0, I = 0, I > W, signed and unsigned."""
    targets = []
    for w in (1, 2, 3, 4, 5, 6, 7, 8, 10):
        for i in sorted({-4, -1, 0, 1, w // 2, w, w + 3}):
            for signed in (True, False):
                targets.append(Target(w, i, signed))
    return targets


def header_dir() -> Path:
    """The ap_types folder inside the installed hls4ml wheel (found without importing hls4ml)."""
    spec = importlib.util.find_spec('hls4ml')
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError('hls4ml is not installed; it carries the ap_fixed headers: pip install hls4ml')
    path = Path(list(spec.submodule_search_locations)[0]) / 'templates' / 'vivado' / 'ap_types'
    if not (path / 'ap_fixed.h').exists():
        raise RuntimeError(f'ap_fixed.h not found under {path}')
    return path


_PRELUDE = """\
#include <ap_fixed.h>
#include <cstdio>
#include <cstdint>
#include <vector>
#include <type_traits>

template <int WS, int IS, int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
static void convert_all(FILE *out) {
    typedef typename std::conditional<S, ap_fixed<W, I, Q, O>, ap_ufixed<W, I, Q, O> >::type target_t;
    const int64_t n = int64_t(1) << WS;
    std::vector<int64_t> buf(n);
    for (int64_t r = 0; r < n; ++r) {
        ap_fixed<WS, IS> x;
        x.range(WS - 1, 0) = (uint64_t)r;
        target_t y = x;
        buf[r] = (int64_t)y.range(W - 1, 0).to_uint64();
    }
    fwrite(buf.data(), sizeof(int64_t), n, out);
}
"""


def _unit_source(targets: list[Target], unit: int) -> str:
    lines = [_PRELUDE, f'void run_unit_{unit}(FILE *out) {{']
    for t in targets:
        for q in ROUND_MODES:
            for o in OVERFLOW_MODES:
                lines.append(
                    f'    convert_all<{t.source_width}, {t.source_int_bits}, {t.width}, {t.int_bits}, '
                    f'{"true" if t.signed else "false"}, AP_{q}, AP_{o}>(out);'
                )
    lines.append('}')
    return '\n'.join(lines) + '\n'


def _main_source(n_units: int) -> str:
    decls = ''.join(f'void run_unit_{u}(FILE *out);\n' for u in range(n_units))
    calls = ''.join(f'    run_unit_{u}(out);\n' for u in range(n_units))
    return (
        '#include <cstdio>\n' + decls + 'int main(int argc, char **argv) {\n'
        '    FILE *out = fopen(argv[1], "wb");\n    if (!out) return 2;\n'
        + calls + '    fclose(out);\n    return 0;\n}\n'
    )


def build_harness(targets: list[Target], cache_dir: Path | None = None) -> Path:
    """Compile (or reuse) the harness for ``targets``; returns the executable's path."""
    chunks = _chunks(targets)
    sources = {f'unit{u}.cpp': _unit_source(c, u) for u, c in enumerate(chunks)}
    sources['main.cpp'] = _main_source(N_UNITS)
    headers = header_dir()
    key = hashlib.sha256(repr(sorted(sources.items())).encode() + str(headers).encode()).hexdigest()[:16]
    root = Path(cache_dir or os.environ.get('DA4ML_CACHE', Path.home() / '.cache' / 'da4ml_core')) / 'ap_fixed'
    exe = root / key / 'convert'
    if exe.exists():
        return exe
    with open(_ensure(root) / f'{key}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers wait for one build
        if not exe.exists():
            _compile(sources, headers, root / key)
    return exe


def _compile(sources: dict[str, str], headers: Path, final: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f'{final.name}-', dir=final.parent))
    for name, text in sources.items():
        (work / name).write_text(text)

    def compile_one(name: str) -> Path:
        obj = work / (name + '.o')
        cmd = ['g++', '-std=c++14', '-O1', '-w', '-I', str(headers), '-c', str(work / name), '-o', str(obj)]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        return obj

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        objs = list(pool.map(compile_one, sorted(sources)))
    subprocess.run(['g++', '-o', str(work / 'convert'), *map(str, objs)], check=True, capture_output=True, text=True)
    os.replace(work, final)


def _chunks(targets: list[Target]) -> list[list[Target]]:
    return [targets[u::N_UNITS] for u in range(N_UNITS)]


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_harness(targets: list[Target], cache_dir: Path | None = None) -> dict[tuple[Target, str, str], np.ndarray]:
    """Convert every source value of every target under every mode with ap_fixed.

    Returns ``{(target, round_mode, overflow_mode): raw target integers}``.
    """
    exe = build_harness(targets, cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / 'out.bin'
        subprocess.run([str(exe), str(out_path)], check=True)
        data = np.fromfile(out_path, dtype=np.int64)
    results = {}
    pos = 0
    for chunk in _chunks(targets):
        for t in chunk:
            n = 1 << t.source_width
            for q in ROUND_MODES:
                for o in OVERFLOW_MODES:
                    results[(t, q, o)] = t.decode(data[pos : pos + n])
                    pos += n
    if pos != data.size:
        raise RuntimeError(f'harness wrote {data.size} values, expected {pos}')
    return results
