"""Design specs: what a regression or release verifies, as plain JSON, with build and golden.

Why: a failing design must be rebuilt and re-simulated from one small file, and its expected
outputs must come from the *spec* (matrix, precisions, modes, function), never from the
compiler's own interpreter. ``build`` runs the compiler (solve / trace -> write_verilog);
``golden`` is exact integer / Fraction arithmetic with ``verif.oracle.golden`` doing every rounding
and overflow; ``stimulus`` gives seeded input vectors (``verif.hdl.stimulus``) with the
rounding ties of the spec's outputs.

Raw integers everywhere: input j of a spec is an integer ``r`` meaning ``r * 2**-f_j`` at its
spec precision (k, i, f); outputs are raw integers on the grids ``output_fs(spec)``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..hdl.bus import Field
from ..hdl.stimulus import Tie, stimulus as draw_stimulus
from ..oracle import golden as G

__all__ = ['FUNCTIONS', 'LUT_FUNCTIONS', 'SPEC_FILE', 'Spec', 'build', 'compile_program', 'golden',
           'input_range', 'linear_map', 'output_fs', 'stimulus', 'w_integer']

SPEC_FILE = 'spec.json'
KINDS = ('cmvm', 'traced')
LUT_FUNCTIONS = {
    'tanh': np.tanh,
    'sigmoid': lambda v: 1.0 / (1.0 + np.exp(-np.asarray(v, dtype=np.float64))),
    'sin': np.sin,
}
EINSUMS = ('ij,jk->ik', 'ij,jk->ki', 'ij,ij->i', 'ij,j->i')
FUNCTIONS = ('relu', 'max_stack', 'lut', 'einsum')
MAX_W_FRAC_BITS = 24
N_STRUCTURED_MAX = 400  # extremes + ties + sweeps; the rest of the vectors are uniform random


@dataclass(frozen=True)
class Spec:
    """One design. ``in_kifs``: one (k, i, f) per input element (C order for traced shapes);
    ``out_kif``: the output quantization (None = exact ``x @ W``, cmvm only) with
    ``overflow`` / ``round`` modes; ``W`` (cmvm) exact binary fractions; ``function`` and
    ``params`` (traced) name a FUNCTIONS entry; ``seed`` / ``n_vectors`` fix the stimulus."""

    name: str
    kind: str
    in_kifs: tuple
    out_kif: tuple | None = None
    overflow: str = 'WRAP'
    round: str = 'TRN'
    latency_cutoff: float | None = None
    hard_dc: int | None = None
    W: tuple | None = None
    function: str | None = None
    params: dict = field(default_factory=dict)
    seed: int = 0
    n_vectors: int = 1000

    def __post_init__(self):
        object.__setattr__(self, 'in_kifs', tuple(tuple(int(v) for v in kif) for kif in self.in_kifs))
        if self.out_kif is not None:
            object.__setattr__(self, 'out_kif', tuple(int(v) for v in self.out_kif))
        if self.W is not None:
            object.__setattr__(self, 'W', tuple(tuple(_number(v) for v in row) for row in self.W))
        self.check()

    def check(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        if self.kind not in KINDS:
            raise ValueError(f'kind={self.kind!r}: expected one of {KINDS}')
        if self.overflow not in G.OVERFLOW_MODES or self.round not in G.ROUND_MODES:
            raise ValueError(f'modes ({self.overflow!r}, {self.round!r}) unknown')
        for j, (k, i, f) in enumerate(self.in_kifs):
            if k not in (0, 1) or k + i + f < 1:
                raise ValueError(f'in_kifs[{j}] = {(k, i, f)}: need k in (0, 1) and width >= 1')
        if self.n_vectors < 1:
            raise ValueError(f'n_vectors={self.n_vectors} must be >= 1')
        if self.kind == 'cmvm':
            W = self.W
            if W is None or len(W) != len(self.in_kifs) or not W[0] or any(len(r) != len(W[0]) for r in W):
                raise ValueError(f'W must be (n_in = {len(self.in_kifs)}, n_out) for a cmvm spec')
            if w_integer(W)[1] > MAX_W_FRAC_BITS:
                raise ValueError(f'W has entries with more than {MAX_W_FRAC_BITS} fractional bits')
        else:
            if self.function not in FUNCTIONS:
                raise ValueError(f'function={self.function!r}: expected one of {FUNCTIONS}')
            if self.out_kif is None:
                raise ValueError('a traced spec needs out_kif')
            if int(np.prod(self.params['shape'])) != len(self.in_kifs):
                raise ValueError(f'params.shape {self.params["shape"]} does not hold {len(self.in_kifs)} inputs')

    # --------------------------------------------------------------- JSON
    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True) + '\n'

    @classmethod
    def from_json(cls, text: str) -> Spec:
        return cls(**json.loads(text))

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: Path | str) -> Spec:
        path = Path(path)
        return cls.from_json((path / SPEC_FILE if path.is_dir() else path).read_text())

    def with_(self, **changes) -> Spec:
        return replace(self, **changes)

    def describe(self) -> str:
        modes = 'exact' if self.out_kif is None else f'{self.out_kif} {self.overflow}/{self.round}'
        what = (f'cmvm {len(self.W)}x{len(self.W[0])}' if self.kind == 'cmvm'
                else f'{self.function} {tuple(self.params["shape"])}')
        return f'{self.name}: {what}, out {modes}, latency_cutoff {self.latency_cutoff}, hard_dc {self.hard_dc}'


def _number(v):
    """A JSON-friendly exact number: int when integral, else the float (binary fractions are exact)."""
    fv = float(v)
    if Fraction(fv) != Fraction(v):
        raise ValueError(f'{v!r} is not exactly representable as a binary fraction')
    return int(fv) if fv.is_integer() and abs(fv) < 2**53 else fv


# ------------------------------------------------------------------- precisions and grids


def input_range(kif) -> tuple[int, int]:
    """Smallest and largest raw integer of (k, i, f)."""
    k, i, f = kif
    return (-(2 ** (i + f)) if k else 0), 2 ** (i + f) - 1


def _value(raw: int, f: int) -> Fraction:
    return Fraction(int(raw)) / Fraction(2) ** f


def w_integer(W) -> tuple[list[list[int]], int]:
    """W = M * 2**-s with integer M and the smallest s >= 0."""
    fr = [[Fraction(v) for v in row] for row in W]
    s = max((x.denominator.bit_length() - 1 for row in fr for x in row), default=0)
    return [[int(x * 2**s) for x in row] for row in fr], s


def output_fs(spec: Spec) -> list[int]:
    """Grid (fractional bits) of every output's raw integer."""
    if spec.out_kif is not None:
        return [spec.out_kif[2]] * n_outputs(spec)
    M, s = w_integer(spec.W)
    fs = []
    for c in range(len(M[0])):
        used = [kif[2] + s for kif, row in zip(spec.in_kifs, M) if row[c]]
        fs.append(max(used) if used else 0)
    return fs


def n_outputs(spec: Spec) -> int:
    if spec.kind == 'cmvm':
        return len(spec.W[0])
    probe = np.zeros((1, len(spec.in_kifs)), dtype=np.int64)
    return _traced_values(spec, probe).shape[1]


# ------------------------------------------------------------------- golden models


def golden(spec: Spec, X) -> np.ndarray:
    """Raw output integers (n, n_out) for raw inputs ``X`` (n, n_in), from the spec alone."""
    X = np.asarray(X, dtype=np.int64).reshape(-1, len(spec.in_kifs))
    fs = output_fs(spec)
    if spec.kind == 'cmvm':
        Y, F = _cmvm_exact(spec, X)
        if spec.out_kif is None:
            exact = np.empty(Y.shape, dtype=object)
            for (n, c), y in np.ndenumerate(Y):
                exact[n, c] = _regrid(int(y), F, fs[c])
            return _as_int(exact)
        vals = np.vectorize(lambda y: _value(y, F), otypes=[object])(Y)
    else:
        vals = _traced_values(spec, X)
        if spec.function == 'lut':  # the table already holds quantized values
            return _as_int(np.vectorize(lambda v: _regrid_value(v, spec.out_kif[2]), otypes=[object])(vals))
    k, i, f = spec.out_kif
    out = np.empty(vals.shape, dtype=object)
    for idx in np.ndindex(vals.shape):
        out[idx] = G.quantize_value(vals[idx], k, i, f, spec.round, spec.overflow)
    assert fs == [f] * vals.shape[1]
    return _as_int(out)


def _regrid(raw: int, f_from: int, f_to: int) -> int:
    """The same value on grid 2**-f_to (which must hold it)."""
    if f_to >= f_from:
        return raw * 2 ** (f_to - f_from)
    d = 2 ** (f_from - f_to)
    if raw % d:
        raise AssertionError(f'{raw} * 2**-{f_from} is not on the grid 2**-{f_to}')
    return raw // d


def _regrid_value(v: Fraction, f: int) -> int:
    raw = v * Fraction(2) ** f
    if raw.denominator != 1:
        raise AssertionError(f'{v} is not on the grid 2**-{f}')
    return int(raw)


def _as_int(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=object)
    if all(-(2**62) <= int(v) < 2**62 for v in a.flat):
        return a.astype(np.int64)
    return a


def _cmvm_exact(spec: Spec, X: np.ndarray) -> tuple[np.ndarray, int]:
    """Integers Y with ``X-values @ W == Y * 2**-F`` exactly, and F."""
    M, s = w_integer(spec.W)
    fmax = max(kif[2] for kif in spec.in_kifs)
    scale = [2 ** (fmax - kif[2]) for kif in spec.in_kifs]
    A = X.astype(object) * np.array(scale, dtype=object)[None, :]
    Y = A.dot(np.array(M, dtype=object)) if len(X) else np.zeros((0, len(M[0])), dtype=object)
    return Y, fmax + s


def _inputs_as_values(spec: Spec, X: np.ndarray) -> np.ndarray:
    """(n, *shape) object array of exact input values."""
    fs = [kif[2] for kif in spec.in_kifs]
    vals = np.empty(X.shape, dtype=object)
    for (n, j), r in np.ndenumerate(X):
        vals[n, j] = _value(r, fs[j])
    return vals.reshape((len(X), *spec.params['shape']))


def _traced_values(spec: Spec, X: np.ndarray) -> np.ndarray:
    """Exact outputs (n, n_out) of a traced function before its final quantization; for 'lut'
    after it (the table is ``quantize(fn(x))`` with fn evaluated in float64 at the exact x)."""
    p, fn = spec.params, spec.function
    xs = _inputs_as_values(spec, X)
    if not len(xs):
        return np.zeros((0, 0), dtype=object)
    if fn == 'lut':
        k, i, f = spec.out_kif
        fx = np.asarray(LUT_FUNCTIONS[p['fn']](np.array([float(v) for v in xs.flat])), dtype=np.float64)
        vals = [_value(G.quantize_value(Fraction(float(v)), k, i, f, spec.round, spec.overflow), f) for v in fx]
        return np.array(vals, dtype=object).reshape(len(xs), -1)
    rows = []
    for x in xs:
        if fn == 'relu':
            y = [v if v > 0 else Fraction(0) for v in x.flat]
        elif fn == 'max_stack':  # max over axis 0 of a stack of vectors
            y = [max(x[:, c]) for c in range(x.shape[1])]
        else:  # einsum with a constant operand
            C = np.vectorize(Fraction, otypes=[object])(np.array(p['C'], dtype=np.float64))
            y = list(np.asarray(np.einsum(p['subscripts'], x, C, optimize=False), dtype=object).ravel())
        rows.append(y)
    return np.array(rows, dtype=object).reshape(len(xs), -1)


# ------------------------------------------------------------------- compiler side


def compile_program(spec: Spec):
    """The DAIS program of ``spec``, made by the compiler (solve / trace)."""
    if spec.kind == 'cmvm' and spec.out_kif is None:
        from da4ml_core.cmvm import solve

        return solve(np.array(spec.W, dtype=np.float64), [list(k) for k in spec.in_kifs], spec.hard_dc)
    from da4ml_core.trace import FixedArray, cmvm_options, lut, quantize, relu, trace

    shape = (len(spec.in_kifs),) if spec.kind == 'cmvm' else tuple(spec.params['shape'])
    k, i, f = (np.array([kif[j] for kif in spec.in_kifs]).reshape(shape) for j in range(3))
    x = FixedArray.input(shape, k, i, f)
    ok, oi, of = spec.out_kif
    with cmvm_options(method='solve', hard_dc=spec.hard_dc):
        if spec.kind == 'cmvm':
            y = x @ np.array(spec.W, dtype=np.float64)
        elif spec.function == 'relu':
            y = relu(x)
        elif spec.function == 'max_stack':
            y = np.max(x, axis=0)
        elif spec.function == 'einsum':
            y = np.einsum(spec.params['subscripts'], x, np.array(spec.params['C'], dtype=np.float64))
        else:
            y = lut(x, LUT_FUNCTIONS[spec.params['fn']], ok, oi, of, overflow_mode=spec.overflow, round_mode=spec.round)
        if spec.function != 'lut':
            y = quantize(y, ok, oi, of, overflow_mode=spec.overflow, round_mode=spec.round)
    return trace(x, y)


def build(spec: Spec, outdir: Path | str, language: str = 'verilog', prog=None) -> Path:
    """Compile ``spec`` (unless its program ``prog`` is given) and write its Verilog (or VHDL),
    metadata and ``spec.json`` into ``outdir``."""
    from da4ml_core.emit import write_verilog, write_vhdl

    writers = {'verilog': write_verilog, 'vhdl': write_vhdl}
    if language not in writers:
        raise ValueError(f'language={language!r}: expected one of {sorted(writers)}')
    outdir = Path(outdir)
    writers[language](compile_program(spec) if prog is None else prog, outdir, name=spec.name,
                      latency_cutoff=spec.latency_cutoff)
    spec.save(outdir / SPEC_FILE)
    return outdir


# ------------------------------------------------------------------- stimulus


def linear_map(spec: Spec) -> tuple[list[list[int]], int] | None:
    """(M, s) with outputs = inputs @ (M * 2**-s) before quantization, for linear specs."""
    if spec.kind == 'cmvm':
        return w_integer(spec.W)
    if spec.function != 'einsum':
        return None
    n = len(spec.in_kifs)
    eye = np.eye(n, dtype=np.int64)
    cols = [_traced_values(spec.with_(in_kifs=[(1, 1, 0)] * n), eye[j:j + 1])[0] for j in range(n)]
    return w_integer([[float(v) for v in row] for row in cols])


def stimulus(spec: Spec) -> np.ndarray:
    """``spec.n_vectors`` raw input rows seeded by ``spec.seed``: the one stimulus generator
    (extremes, corner mixes, every table entry for lookup tables, uniform random) with the
    rounding ties of this spec's outputs."""
    fields = [Field(k + i + f, bool(k)) for k, i, f in spec.in_kifs]
    sweep = spec.kind == 'traced' and spec.function == 'lut'
    X = draw_stimulus(fields, spec.n_vectors, spec.seed, ties=tie_targets(spec), sweep=sweep,
                      max_structured=N_STRUCTURED_MAX)
    return X[: spec.n_vectors]


def tie_targets(spec: Spec) -> list[Tie]:
    """Where the spec's outputs are exactly half way between two output grid points (when the
    output grid is coarser than the exact result), so RND / RND_CONV tie rules are exercised:
    per output its linear form for linear specs, every element at once for relu / max."""
    if spec.out_kif is None or (spec.kind == 'traced' and spec.function == 'lut'):
        return []
    f_out = spec.out_kif[2]
    n_in = len(spec.in_kifs)
    lin = linear_map(spec)
    if lin is None:  # relu / max_stack: every element itself on a tie of the output grid
        forms = [(tuple(int(j == m) for m in range(n_in)), f - f_out)
                 for j, (_, _, f) in enumerate(spec.in_kifs) if f - f_out >= 1]
        return [Tie(tuple(forms))] * 2 if forms else []
    M, s = lin
    fmax = max(kif[2] for kif in spec.in_kifs)
    D = fmax + s - f_out
    if D < 1:
        return []
    weights = [tuple(M[j][c] * 2 ** (fmax - spec.in_kifs[j][2]) for j in range(n_in)) for c in range(len(M[0]))]
    return [Tie(((w, D),)) for w in weights[:64] if any(w)]
