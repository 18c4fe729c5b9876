"""Fixed-point precisions, intervals and exact quantization.

Conventions (shared with HGQ2 and da4ml): a precision is ``(k, i, f)`` with ``k`` the sign bit
(0 or 1), ``i`` the integer bits excluding the sign and ``f`` the fractional bits; ``i`` and ``f``
may be negative as long as the width ``k + i + f`` is not. The representable values are
``[-k * 2**i, 2**i - 2**-f]`` in steps of ``2**-f``.

Quantization rounds first, then handles overflow, as Xilinx ``ap_fixed`` does. It works on the
exact integer mantissa of each float64 input, so no float rounding ever enters the result.
"""

from __future__ import annotations

import re
from enum import Enum
from fractions import Fraction
from typing import NamedTuple

import numpy as np

__all__ = [
    'RoundMode',
    'OverflowMode',
    'Precision',
    'Interval',
    'FixedType',
    'minimal_kif',
    'parse_type',
    'quantize',
    'quantize_raw',
    'INT64_SAFE_WIDTH',
    'MAX_BITS',
    'check_bit_range',
]

# Widths up to this many bits are handled on int64 lanes; wider ones take the Python-int path.
INT64_SAFE_WIDTH = 62

# |i| and |f| of any precision (and |shift| / 2 in the IR). float64 spans 2**-1074 .. 2**1024,
# so every value a float can name fits; the bound keeps exact integer arithmetic small (a corrupt
# f of 10**9 would otherwise ask for gigabyte-sized integers).
MAX_BITS = 2048


class RoundMode(str, Enum):
    """How bits below the target step are dropped (names as in ap_fixed, without ``AP_``)."""

    TRN = 'TRN'  # toward -inf (floor)
    TRN_ZERO = 'TRN_ZERO'  # toward zero
    RND = 'RND'  # nearest, ties toward +inf
    RND_ZERO = 'RND_ZERO'  # nearest, ties toward zero
    RND_MIN_INF = 'RND_MIN_INF'  # nearest, ties toward -inf
    RND_INF = 'RND_INF'  # nearest, ties away from zero
    RND_CONV = 'RND_CONV'  # nearest, ties to even


class OverflowMode(str, Enum):
    """What happens to values outside the representable range."""

    WRAP = 'WRAP'  # two's complement wrap-around
    SAT = 'SAT'  # clamp to [min, max]
    SAT_SYM = 'SAT_SYM'  # clamp to [-max, max] when signed (and wider than 1 bit, as in ap_fixed)


def _mode(value, enum_cls, arg_name: str):
    if isinstance(value, enum_cls):
        return value
    if not isinstance(value, str):
        raise TypeError(f'{arg_name} must be a string naming a {enum_cls.__name__}, got {value!r}')
    name = value.strip().upper()
    if name.startswith('AP_'):
        name = name[3:]
    try:
        return enum_cls(name)
    except ValueError:
        valid = ', '.join(m.value for m in enum_cls)
        raise ValueError(f'{arg_name}={value!r} is not a known {enum_cls.__name__}; choose one of {valid}') from None


def round_mode(value) -> RoundMode:
    """Parse a rounding-mode name ('RND', 'AP_RND', RoundMode.RND ...)."""
    return _mode(value, RoundMode, 'round_mode')


def overflow_mode(value) -> OverflowMode:
    """Parse an overflow-mode name ('SAT', 'AP_SAT', OverflowMode.SAT ...)."""
    return _mode(value, OverflowMode, 'overflow_mode')


def check_bit_range(**arrays) -> None:
    """Refuse integer bit counts (``i=``, ``f=``, ...) beyond ``±MAX_BITS``: ValueError naming
    the argument and the first bad value."""
    for name, value in arrays.items():
        a = np.asarray(value)
        bad = (a > MAX_BITS) | (a < -MAX_BITS)
        if np.any(bad):
            raise ValueError(f'{name}={int(a[bad].flat[0])} is out of range: |{name}| is at most {MAX_BITS} bits')


def _as_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise TypeError(f'{name} must be an integer, got {value!r}')


class Precision(NamedTuple):
    """A fixed-point precision ``(k, i, f)``."""

    k: int
    i: int
    f: int

    @classmethod
    def of(cls, k, i, f) -> Precision:
        """Validated constructor: k in {0, 1}, integer i and f, width k + i + f >= 0."""
        k, i, f = _as_int(k, 'k'), _as_int(i, 'i'), _as_int(f, 'f')
        if k not in (0, 1):
            raise ValueError(f'k must be 0 or 1 (keep_negative), got k={k}')
        if k + i + f < 0:
            raise ValueError(f'width k + i + f must be >= 0, got k={k}, i={i}, f={f} (width {k + i + f})')
        check_bit_range(i=i, f=f)
        return cls(k, i, f)

    @property
    def width(self) -> int:
        return self.k + self.i + self.f

    @property
    def step(self) -> Fraction:
        return Fraction(2) ** -self.f

    @property
    def raw_min(self) -> int:
        """Smallest raw integer (value = raw * 2**-f)."""
        if self.width == 0:
            return 0
        return -(1 << (self.i + self.f)) if self.k else 0

    @property
    def raw_max(self) -> int:
        if self.width == 0:
            return 0
        return (1 << (self.i + self.f)) - 1

    @property
    def min(self) -> Fraction:
        return self.raw_min * self.step

    @property
    def max(self) -> Fraction:
        return self.raw_max * self.step

    @property
    def interval(self) -> Interval:
        return Interval(self.min, self.max, self.step)

    def __str__(self) -> str:
        return f'fixed<{self.k},{self.i},{self.f}>'

    def to_ap(self) -> str:
        """The Xilinx HLS type name: ap_fixed<W, I> (I counts the sign) or ap_ufixed<W, I>."""
        if self.k:
            return f'ap_fixed<{self.width},{self.i + 1}>'
        return f'ap_ufixed<{self.width},{self.i}>'


def _pow2_exponent(step: Fraction) -> int:
    """-log2(step) for a positive power of two, else ValueError."""
    step = Fraction(step)
    if step <= 0:
        raise ValueError(f'step must be a positive power of two, got step={step}')
    num, den = step.numerator, step.denominator
    if num == 1 and den & (den - 1) == 0:
        return den.bit_length() - 1
    if den == 1 and num & (num - 1) == 0:
        return -(num.bit_length() - 1)
    raise ValueError(f'step must be a power of two, got step={step}')


class Interval(NamedTuple):
    """The exact set of values a fixed-point quantity can take: ``lo..hi`` in steps of ``step``.

    Kept as exact ``Fraction``s so that widths derived from it are never off by a float ulp.
    """

    lo: Fraction
    hi: Fraction
    step: Fraction

    @classmethod
    def of(cls, lo, hi, step) -> Interval:
        lo, hi, step = Fraction(lo), Fraction(hi), Fraction(step)
        _pow2_exponent(step)
        if lo > hi:
            raise ValueError(f'interval lo={lo} is greater than hi={hi}')
        if lo % step or hi % step:
            raise ValueError(f'interval bounds lo={lo}, hi={hi} are not multiples of step={step}')
        return cls(lo, hi, step)

    def kif(self) -> Precision:
        """The minimal precision that holds every value of this interval."""
        return minimal_kif(self.lo, self.hi, self.step)


def minimal_kif(lo, hi, step) -> Precision:
    """Smallest ``(k, i, f)`` whose range contains [lo, hi] on the grid ``step``.

    ``f`` is fixed by the step; ``k`` by the sign of ``lo``; ``i`` is the least integer with
    ``hi <= 2**i - step`` and ``lo >= -2**i``. An all-zero interval gives width 0.
    """
    lo, hi, step = Fraction(lo), Fraction(hi), Fraction(step)
    f = _pow2_exponent(step)
    if lo > hi:
        raise ValueError(f'interval lo={lo} is greater than hi={hi}')
    if lo % step or hi % step:
        raise ValueError(f'interval bounds lo={lo}, hi={hi} are not multiples of step={step}')
    k = int(lo < 0)
    raw_hi = int(hi / step)  # exact: hi is a multiple of step
    raw_lo = int(lo / step)
    # bits b (= i + f) needed so that raw_hi <= 2**b - 1 and raw_lo >= -2**b
    bits = max(raw_hi.bit_length() if raw_hi > 0 else 0, (-raw_lo - 1).bit_length() if raw_lo < 0 else 0)
    if k == 0 and raw_hi == 0:
        return Precision(0, -f, f)
    return Precision(k, bits - f, f)


class FixedType(NamedTuple):
    """A precision plus the quantization modes used to reach it (an ap_fixed type, fully)."""

    precision: Precision
    round_mode: RoundMode = RoundMode.TRN
    overflow_mode: OverflowMode = OverflowMode.WRAP

    def __str__(self) -> str:
        p = self.precision
        return f'fixed<{p.k},{p.i},{p.f},{self.round_mode.value},{self.overflow_mode.value}>'


_TYPE_RE = re.compile(r'^\s*(ap_fixed|ap_ufixed|ap_int|ap_uint|fixed|ufixed)\s*<([^<>]*)>\s*$', re.IGNORECASE)


def parse_type(text: str) -> FixedType:
    """Parse ``ap_fixed<W,I[,Q[,O]]>``, ``ap_ufixed<W,I,...>``, ``ap_int<W>``, ``ap_uint<W>``,
    ``fixed<k,i,f[,Q[,O]]>`` or ``ufixed<i,f,...>`` into a :class:`FixedType`."""
    if not isinstance(text, str):
        raise TypeError(f'type must be a string, got {text!r}')
    m = _TYPE_RE.match(text)
    if m is None:
        raise ValueError(f'type={text!r} is not ap_fixed<W,I>, ap_ufixed<W,I>, ap_int<W>, ap_uint<W> or fixed<k,i,f>')
    kind = m.group(1).lower()
    args = [a.strip() for a in m.group(2).split(',')]
    n_num = {'ap_fixed': 2, 'ap_ufixed': 2, 'ap_int': 1, 'ap_uint': 1, 'fixed': 3, 'ufixed': 2}[kind]
    if len(args) < n_num or len(args) > n_num + 3:
        raise ValueError(f'type={text!r}: {kind} takes {n_num} numbers then optional rounding and overflow modes')
    try:
        nums = [int(a) for a in args[:n_num]]
    except ValueError:
        raise ValueError(f'type={text!r}: the first {n_num} parameters must be integers') from None
    modes = args[n_num:]
    rnd = round_mode(modes[0]) if len(modes) > 0 else RoundMode.TRN
    ovf = overflow_mode(modes[1]) if len(modes) > 1 else OverflowMode.WRAP
    # a third mode argument is ap_fixed's saturation-bit count N; only its default 0 is supported
    if len(modes) > 2 and modes[2] not in ('0',):
        raise ValueError(f'type={text!r}: saturation bits N={modes[2]!r} is not supported (only 0)')
    if kind == 'ap_fixed':
        w, ii = nums
        prec = Precision.of(1, ii - 1, w - ii)
    elif kind == 'ap_ufixed':
        w, ii = nums
        prec = Precision.of(0, ii, w - ii)
    elif kind == 'ap_int':
        prec = Precision.of(1, nums[0] - 1, 0)
    elif kind == 'ap_uint':
        prec = Precision.of(0, nums[0], 0)
    elif kind == 'fixed':
        prec = Precision.of(*nums)
    else:  # ufixed<i,f>
        prec = Precision.of(0, *nums)
    if prec.width < 1 and kind.startswith('ap_'):
        raise ValueError(f'type={text!r}: ap types need a width of at least 1')
    return FixedType(prec, rnd, ovf)


# --------------------------------------------------------------------------------------------
# quantization
# --------------------------------------------------------------------------------------------


def _check_kif_arrays(k, i, f, x_shape=()):
    try:
        k, i, f = np.asarray(k), np.asarray(i), np.asarray(f)
    except ValueError as err:  # ragged nested lists
        raise TypeError(f'k, i, f must be integers or arrays of integers ({err})') from None
    try:
        np.broadcast_shapes(x_shape, k.shape, i.shape, f.shape)
    except ValueError:
        raise ValueError(
            f'k, i, f of shapes {k.shape}, {i.shape}, {f.shape} do not broadcast against x of shape {x_shape}'
        ) from None
    for name, arr in (('k', k), ('i', i), ('f', f)):
        if arr.dtype.kind not in 'biuf':
            raise TypeError(f'{name} must be integer-valued, got dtype {arr.dtype}')
        if arr.dtype.kind == 'f' and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))].flat[0]
            raise TypeError(f'{name} must be integer-valued, got {name}={bad!r}')
    check_bit_range(i=i, f=f)  # before int64 casts, which would wrap larger values
    k = k.astype(np.int64)
    i = i.astype(np.int64)
    f = f.astype(np.int64)
    if np.any((k != 0) & (k != 1)):
        bad = k[(k != 0) & (k != 1)].flat[0]
        raise ValueError(f'k must be 0 or 1 (keep_negative), got k={int(bad)}')
    width = k + i + f
    if np.any(width < 0):
        idx = np.argwhere(np.broadcast_to(width, np.broadcast_shapes(k.shape, i.shape, f.shape)) < 0)[0]
        kk, ii, ff = (int(np.broadcast_to(a, width.shape)[tuple(idx)]) for a in (k, i, f))
        raise ValueError(f'width k + i + f must be >= 0, got k={kk}, i={ii}, f={ff}')
    return k, i, f


def _float_mantissas(x: np.ndarray):
    """Split finite floats into exact ``m * 2**e`` with integer |m| < 2**53."""
    mant, exp = np.frexp(x)
    m = np.ldexp(mant, 53).astype(np.int64)
    e = exp.astype(np.int64) - 53
    return m, e


def _round_shift_right(m, s, rnd: RoundMode):
    """Exact ``round(m / 2**s)`` for int64 m with |m| < 2**53 and s >= 1 (elementwise)."""
    # beyond 55 the decision no longer depends on s: clamp so 1 << s stays inside int64
    s = np.minimum(s, 55)
    q = np.right_shift(m, s)  # floor
    rem = m - np.left_shift(q, s)
    half = np.left_shift(np.int64(1), s - 1)
    nonzero = rem != 0
    above = rem > half
    tie = rem == half
    if rnd is RoundMode.TRN:
        up = np.zeros_like(nonzero)
    elif rnd is RoundMode.TRN_ZERO:
        up = nonzero & (m < 0)
    elif rnd is RoundMode.RND:
        up = above | tie
    elif rnd is RoundMode.RND_ZERO:
        up = above | (tie & (m < 0))
    elif rnd is RoundMode.RND_MIN_INF:
        up = above
    elif rnd is RoundMode.RND_INF:
        up = above | (tie & (m > 0))
    else:  # RND_CONV
        up = above | (tie & ((q & 1) == 1))
    return q + up.astype(np.int64)


def _quantize_int64(x, k, i, f, rnd: RoundMode, ovf: OverflowMode) -> np.ndarray:
    """Vectorised path: every target width <= INT64_SAFE_WIDTH bits."""
    x, k, i, f = np.broadcast_arrays(x, k, i, f)
    width = k + i + f
    m, e = _float_mantissas(x)
    sh = e + f  # raw = m * 2**sh before rounding
    # right shifts: round away the dropped bits
    right = sh < 0
    q = np.where(right, _round_shift_right(m, np.where(right, -sh, 1), rnd), 0)
    # left shifts: values may be too big for int64 -> track overflow separately
    left = ~right
    lsh = np.where(left, sh, 0)
    bl = _bit_length_abs(m)
    fits = left & (bl + lsh <= 62)
    q = np.where(fits, np.left_shift(m, np.where(fits, lsh, 0)), q)
    huge = left & ~fits & (m != 0)

    bits = width - k  # = i + f: magnitude bits
    if ovf is OverflowMode.WRAP:
        # low `width` bits of m * 2**lsh; zero if the shift passes the whole word
        wrap_huge_base = np.where(huge & (lsh < width), m, 0)
        low = np.where(huge, np.left_shift(_mod_pow2(wrap_huge_base, np.maximum(width - lsh, 0)),
                                           np.where(huge & (lsh < width), lsh, 0)), q)
        u = _mod_pow2(low, width)
        signed = (k == 1) & (width > 0)
        top = np.left_shift(np.int64(1), np.maximum(width - 1, 0))
        out = np.where(signed & (u >= top), u - np.left_shift(top, 1), u)
    else:
        raw_max = np.where(width > 0, np.left_shift(np.int64(1), np.maximum(bits, 0)) - 1, 0)
        if ovf is OverflowMode.SAT:
            raw_min = np.where((k == 1) & (width > 0), -raw_max - 1, 0)
        else:  # SAT_SYM; a 1-bit signed type keeps its -1 (as ap_fixed does), else it could hold only 0
            raw_min = np.where(k == 1, np.where(width == 1, -1, -raw_max), 0)
        q = np.where(huge, np.where(m > 0, raw_max, raw_min), q)
        out = np.clip(q, raw_min, raw_max)
    return out.astype(np.int64)


def _bit_length_abs(m):
    """Bit length of |m| for |m| < 2**53 (exact: such integers are floats, frexp gives it)."""
    _, bl = np.frexp(np.abs(m).astype(np.float64))
    return bl.astype(np.int64)


def _mod_pow2(v, n):
    """v mod 2**n for int64 v and 0 <= n <= 62 (non-negative result)."""
    return np.bitwise_and(v, np.left_shift(np.int64(1), n) - 1)


def _quantize_one_python(x: float, k: int, i: int, f: int, rnd: RoundMode, ovf: OverflowMode) -> int:
    """Python-int path for a single element (any width)."""
    width = k + i + f
    num, den = Fraction(x).as_integer_ratio()
    if f >= 0:
        num <<= f
    else:
        den <<= -f
    q, rem = divmod(num, den)  # floor
    twice = 2 * rem
    if rem:
        if rnd is RoundMode.TRN:
            up = False
        elif rnd is RoundMode.TRN_ZERO:
            up = num < 0
        elif rnd is RoundMode.RND:
            up = twice >= den
        elif rnd is RoundMode.RND_ZERO:
            up = twice > den or (twice == den and num < 0)
        elif rnd is RoundMode.RND_MIN_INF:
            up = twice > den
        elif rnd is RoundMode.RND_INF:
            up = twice > den or (twice == den and num > 0)
        else:
            up = twice > den or (twice == den and q % 2 == 1)
        q += int(up)
    if width == 0:
        return 0
    raw_max = (1 << (i + f)) - 1
    if ovf is OverflowMode.WRAP:
        u = q % (1 << width)
        if k and u >= 1 << (width - 1):
            u -= 1 << width
        return u
    symmetric = ovf is OverflowMode.SAT_SYM and width > 1
    raw_min = (-raw_max - (not symmetric)) if k else 0
    return min(max(q, raw_min), raw_max)


def modes_keyword_only(fn: str, positional: tuple) -> None:
    """Refuse modes passed by position: ``fixed`` and the tracer once took them in opposite
    orders, so a positional call may mean either; the error says how to call ``fn``."""
    if positional:
        raise TypeError(f'{fn}() takes the modes as keywords only, got {len(positional)} more positional '
                        f'argument(s) {positional!r}: call {fn}(x, k, i, f, round_mode=..., overflow_mode=...)')


def quantize_raw(x, k, i, f, *positional, round_mode='TRN', overflow_mode='WRAP') -> np.ndarray:
    """Quantize ``x`` and return raw integers ``r`` with ``value = r * 2**-f``.

    int64 when every width fits in 62 bits, else an object array of Python ints. ``k``, ``i``,
    ``f`` broadcast against ``x`` (one precision per element is fine). Modes are keyword-only.
    """
    modes_keyword_only('quantize_raw', positional)
    rnd = globals()['round_mode'](round_mode)
    ovf = globals()['overflow_mode'](overflow_mode)
    x = _check_input(x)
    k, i, f = _check_kif_arrays(k, i, f, x.shape)
    if np.all(k + i + f <= INT64_SAFE_WIDTH):
        return _quantize_int64(x, k, i, f, rnd, ovf)
    xb, kb, ib, fb = np.broadcast_arrays(x, k, i, f)
    out = np.empty(xb.shape, dtype=object)
    for idx in np.ndindex(xb.shape):
        out[idx] = _quantize_one_python(float(xb[idx]), int(kb[idx]), int(ib[idx]), int(fb[idx]), rnd, ovf)
    return out


def _check_input(x) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise TypeError(f'x must be a real numeric array ({err})') from None
    if arr.dtype.kind not in 'biuf':
        raise TypeError(f'x must be a real numeric array, got dtype {arr.dtype}')
    if arr.dtype.kind in 'iu' and arr.size and np.max(np.abs(arr.astype(np.float64))) >= 2.0**53:
        raise ValueError('x holds integers of 2**53 or more, which float64 cannot hold exactly; pass floats')
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].flat[0]
        raise ValueError(f'x must be finite, got x={bad}')
    return arr


def quantize(x, k, i, f, *positional, round_mode='TRN', overflow_mode='WRAP') -> np.ndarray:
    """Quantize ``x`` to ``(k, i, f)``: round first (``round_mode``), then handle overflow
    (``overflow_mode``); both keyword-only.

    Returns float64. The quantized value is exact whenever it fits in float64's 53-bit
    mantissa (always true for widths <= 53); use :func:`quantize_raw` for the raw integers.
    """
    modes_keyword_only('quantize', positional)
    raw = quantize_raw(x, k, i, f, round_mode=round_mode, overflow_mode=overflow_mode)
    f_arr = np.broadcast_to(np.asarray(f, dtype=np.int64), raw.shape)
    if raw.dtype == object:
        flat = [float(Fraction(int(r)) / Fraction(2) ** int(ff)) for r, ff in zip(raw.flat, f_arr.flat)]
        return np.array(flat, dtype=np.float64).reshape(raw.shape)
    return np.ldexp(raw.astype(np.float64), -f_arr)
