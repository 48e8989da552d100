"""The fast exact moments (``_fast.py``) compiled by numba: the optional extra ``fast``.

The same tables, skeletons and operations as ``_fast._block`` and ``_fast._outside_block``, as compiled loops
over a block of points: one pass for the coordinates (X, Y and the base cell), one per table (lookup and Horner
sums; a per-point call would pay numba's reference counting of 13 arrays, 4x slower), one for rd(A) and one for
each skeleton.
The special functions are scipy's own (``scipy.special.cython_special``'s erf, erfc and erfcx, registered as
external symbols so that the compiled code can be cached on disk), and every other operation is the numpy
path's, in the same order and without fused multiply-adds (numba's default: no fastmath), so the two paths agree
to the last bit wherever numpy's exp/log/log1p are the C library's (CPUs without AVX512F, as this project's
machines; tests/test_kernel.py checks equal bits there, 4 ulp where numpy has its own AVX512 exp/log).  NaN in
a or b (which the public functions refuse before this point) gives NaN, as on the numpy path.

This module imports nothing of the package.  Only ``_fast`` imports it, and only when numba is importable and
``SOFTSIGN_SCALING_KERNEL`` is not ``numpy`` (see ``_fast.kernel``; a kernel that fails to load falls back to
numpy with a warning).  The first use after an install compiles for ~3 s and caches the machine code beside this
file (or in numba's per-user cache, or NUMBA_CACHE_DIR, when that directory is read-only); later processes load
it in well under a second.  The kernels release the GIL (``nogil``), so ``_fast``'s threads over blocks run in
parallel.
"""

from __future__ import annotations

import math

import llvmlite.binding as _llvm
import numba
import numpy as np
from numba import types
from numba.extending import get_cython_function_address

_SPECIAL = "scipy.special.cython_special"
for _name, _symbol in (("erf", "__pyx_fuse_1erf"), ("erfc", "__pyx_fuse_1erfc"), ("erfcx", "__pyx_fuse_1erfcx")):
    _llvm.add_symbol(f"softsign_scaling_{_name}", get_cython_function_address(_SPECIAL, _symbol))
_erf = types.ExternalFunction("softsign_scaling_erf", types.float64(types.float64))
_erfc = types.ExternalFunction("softsign_scaling_erfc", types.float64(types.float64))
_erfcx = types.ExternalFunction("softsign_scaling_erfcx", types.float64(types.float64))

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")  # x/0 is inf or NaN, as in numpy: no exceptions

# Mathematical constants, formed as _fast forms them (numba freezes module globals into the machine code; the
# tables' rectangle, which a regeneration could move, is an argument instead: see _fast.GEOMETRY).
SQRT_HALF = math.sqrt(0.5)
HALF_PI = math.pi / 2
PHI0 = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
MINUS_PI_PHI0 = -math.pi * PHI0  # the numpy path's (-pi PHI0), formed in the same order
TWO_PHI0 = 2.0 * PHI0
MINUS_FOUR_PHI0 = -4.0 * PHI0
DEGREE = 11  # the tables' total degree, a constant so that the Horner loops unroll (1.8x faster than a
TERMS = (DEGREE + 1) * (DEGREE + 2) // 2  # run-time degree); _fast.kernel refuses a module of another degree


@_jit
def _coordinates(a, b, outside, X, Y, k, base_x, base_y, geometry):
    """X = asinh|a| and Y (log b, or the outside tables' affine image of it), both clamped into the rectangle,
    and their base cell k (``_fast.base_cells``), for every point."""
    X_MAX, Y_MIN, Y_MAX, B_LOW, OUTSIDE_Y_SCALE, OUTSIDE_Y_SHIFT = geometry[:6]
    for i in range(a.size):
        A = abs(a[i])
        x = min(math.log(A + math.sqrt(A * A + 1.0)), X_MAX)
        if outside:
            y = min(max(math.log(b[i]) * OUTSIDE_Y_SCALE + OUTSIDE_Y_SHIFT, Y_MIN), Y_MAX)
        else:
            y = min(max(math.log(max(b[i], B_LOW)), Y_MIN), Y_MAX)
        if not (x == x and y == y):  # NaN in a or b (never from the public functions, which check first): NaN out,
            X[i] = Y[i] = math.nan   # and no table index from int(NaN)
            k[i] = -1
            continue
        ix = int(x)
        if ix > base_x.size - 1:
            ix = base_x.size - 1
        iy = int((y - Y_MIN) * 0.5)
        if iy > base_y.size - 1:
            iy = base_y.size - 1
        X[i] = x
        Y[i] = y
        k[i] = base_x[ix] + base_y[iy]


@_jit
def _table(X, Y, k, base_x0, base_y0, res_x, res_y, count_x, count_y, offset, local, centre_x, centre_y,
           scale_x, scale_y, rows, out):
    """_fast.evaluate for every point (in base cell k[i]): the same lookup and Horner sums (u inner, v outer);
    ``rows`` is the table's monomial coefficients (cells, TERMS), a cell's 78 terms contiguous.  One pass over
    the points per table (a per-point call would pay numba's reference counting of 13 arrays: 4x slower)."""
    for i in range(X.size):
        x = X[i]
        y = Y[i]
        kk = k[i]
        if kk < 0:  # a NaN coordinate
            out[i] = math.nan
            continue
        ix = int((x - base_x0[kk]) * res_x[kk])
        if ix > count_x[kk] - 1:
            ix = count_x[kk] - 1
        iy = int((y - base_y0[kk]) * res_y[kk])
        if iy > count_y[kk] - 1:
            iy = count_y[kk] - 1
        c = local[offset[kk] + ix * count_y[kk] + iy]
        u = (x - centre_x[c]) * scale_x[c]
        v = (y - centre_y[c]) * scale_y[c]
        total = 0.0
        start = TERMS
        for l in range(DEGREE, -1, -1):  # row l: u^0 .. u^(DEGREE - l) times v^l (stored l outer, k inner)
            length = DEGREE + 1 - l
            start -= length
            inner = rows[c, start + length - 1]
            for j in range(start + length - 2, start - 1, -1):
                inner = inner * u + rows[c, j]
            total = total * v + inner  # exactly inner for the first row (0 v + inner, v finite)
        out[i] = total


@_jit
def _rd(a, rd, out):
    """_fast.rd_series at every |a|: the b -> 0 limit of the variance's smooth part over D (Horner in u)."""
    for i in range(a.size):
        A = abs(a[i])
        u = 1.0 / (A * A + 144.0 * math.exp(-A * A / 12.0))
        value = rd[rd.size - 1]
        for j in range(rd.size - 2, -1, -1):
            value = value * u + rd[j]
        out[i] = value


@_jit
def _inside_mean(a, b, ratio, b_low, out):
    """_fast._block's mean: the skeleton (_fast.mean_skeleton) times the table's ratio; erf below b_low."""
    for i in range(a.size):
        A = abs(a[i])
        bi = b[i]
        if bi < b_low:  # the b -> 0 form
            out[i] = math.copysign(_erf(A * SQRT_HALF), a[i])
            continue
        safe = max(A, 1e-300)
        g = 1.0 if A < 1e-8 else _erf(safe * SQRT_HALF) * math.sqrt(A * A + HALF_PI) / safe
        skeleton = A / math.sqrt(A * A + bi * bi + HALF_PI) * math.exp(math.log(g) / (1.0 + bi * bi))
        out[i] = math.copysign(min(skeleton * ratio[i], 1.0), a[i])


@_jit
def _inside_variance(a, b, ratio, rd_values, b_low, out):
    """_fast._block's variance: the skeleton (_fast.variance_skeleton) times the ratio; the b -> 0 form below b_low."""
    for i in range(a.size):
        A = abs(a[i])
        bi = b[i]
        s = A * A + bi * bi + 1.0
        share = (bi * bi) / s
        delta = share * share / s * rd_values[i]  # _fast.delta_part
        if bi < b_low:
            tail = _erfc(A * SQRT_HALF)
            out[i] = tail * (2.0 - tail) + delta
            continue
        x = A * SQRT_HALF
        scaled = _erfcx(x)
        gauss = math.exp(-x * x)
        weight = scaled * (2.0 - scaled * gauss)
        decay = math.exp(MINUS_PI_PHI0 * bi / weight)
        out[i] = (weight * gauss * decay / (1.0 + bi * bi) + delta) * ratio[i]


@_jit
def _outside_mean(a, b, ratio, b_low, out):
    """_fast._outside_block's mean: _fast.outside_mean_skeleton times the ratio (1 below b_low)."""
    for i in range(a.size):
        A = abs(a[i])
        bi = b[i]
        over_a = SQRT_2_OVER_PI if A < 1e-8 else _erf(A * SQRT_HALF) / max(A, 1e-300)
        W = (A * A + 1.0) * over_a + TWO_PHI0 * math.exp(-0.5 * A * A)
        skeleton = A / (W + bi) * math.exp(math.log(over_a * W) / (1.0 + bi * bi))
        r = 1.0 if bi < b_low else ratio[i]
        out[i] = math.copysign(min(skeleton * r, 1.0), a[i])


@_jit
def _outside_variance(a, b, ratio, rd_values, b_low, out):
    """_fast._outside_block's variance: _fast.outside_variance_skeleton times the ratio (1 below b_low)."""
    for i in range(a.size):
        A = abs(a[i])
        bi = b[i]
        x = A * SQRT_HALF
        scaled = _erfcx(x)
        gauss = math.exp(-x * x)
        weight = scaled * (2.0 - scaled * gauss)
        kink = bi * math.log1p(1.0 / bi) if bi > 1.0 else bi * (math.log1p(bi) - math.log(bi))
        square = 1.0 + bi * bi
        K = weight * gauss * math.exp(MINUS_FOUR_PHI0 * kink / weight) / (square * square)
        Q = A * (1.0 - scaled * gauss) + TWO_PHI0 * gauss
        share = bi / ((bi + Q) * (bi + Q))
        r = 1.0 if bi < b_low else ratio[i]
        out[i] = (K + share * share * rd_values[i]) * r


@_jit
def moments(a, b, rd, geometry, outside, want_mean, want_variance, mean_out, variance_out, base_x, base_y,
            m_base_x0, m_base_y0, m_res_x, m_res_y, m_count_x, m_count_y, m_offset, m_local, m_centre_x, m_centre_y,
            m_scale_x, m_scale_y, m_rows,
            v_base_x0, v_base_y0, v_res_x, v_res_y, v_count_x, v_count_y, v_offset, v_local, v_centre_x, v_centre_y,
            v_scale_x, v_scale_y, v_rows):
    """_fast._block (the SoftSign update), or _fast._outside_block if ``outside`` (u = x/(|x| + b)), for every
    point of 1-D a, b into mean_out / variance_out: one pass for the coordinates, then per wanted moment one
    for its table and one for its skeleton."""
    n = a.size
    X = np.empty(n)
    Y = np.empty(n)
    k = np.empty(n, np.intp)
    ratio = np.empty(n)
    b_low = geometry[6] if outside else geometry[3]
    _coordinates(a, b, outside, X, Y, k, base_x, base_y, geometry)
    if want_mean:
        _table(X, Y, k, m_base_x0, m_base_y0, m_res_x, m_res_y, m_count_x, m_count_y, m_offset, m_local,
               m_centre_x, m_centre_y, m_scale_x, m_scale_y, m_rows, ratio)
        if outside:
            _outside_mean(a, b, ratio, b_low, mean_out)
        else:
            _inside_mean(a, b, ratio, b_low, mean_out)
    if want_variance:
        _table(X, Y, k, v_base_x0, v_base_y0, v_res_x, v_res_y, v_count_x, v_count_y, v_offset, v_local,
               v_centre_x, v_centre_y, v_scale_x, v_scale_y, v_rows, ratio)
        rd_values = np.empty(n)
        _rd(a, rd, rd_values)
        if outside:
            _outside_variance(a, b, ratio, rd_values, b_low, variance_out)
        else:
            _inside_variance(a, b, ratio, rd_values, b_low, variance_out)
