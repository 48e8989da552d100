"""Fast exact SoftSign moments: piecewise polynomial tables around closed-form skeletons.

For x = a + z, z ~ N(0, 1) and f(x) = x/sqrt(x^2 + b^2), the mean m(a, b) = E[f] (odd in a) and the
variance v(a, b) = E[(f - m)^2] (even in a) are evaluated, for |a| = A, as

    m = sign(a) M0(A, b) Tm(X, Y),     v = V0(A, b) Tv(X, Y),     X = asinh(A),  Y = log(b),

where the skeletons M0, V0 are closed forms that carry every magnitude and limit (so the ratios Tm, Tv
are smooth, of order one, and tend to constants at the domain's edges), and Tm, Tv are piecewise
polynomials of total degree <= 11 on rectangles of (X, Y) (a kd-split of a base grid, refined until a
rectangle meets the tolerance; ``codegen/moments_code.py`` fits them, ``generated/exact_tables.py`` holds them):

* M0 = E-9 x g(A)^(1/(1 + b^2)), E-9 = A/sqrt(A^2 + b^2 + pi/2), g = erf(A/sqrt2) sqrt(A^2 + pi/2)/A: the sign
  update's erf(A/sqrt2) at b -> 0 (the ratio is 1 + O(b^2 log b) there, so its fit error is tiny), E-9 at b >> 1;
  exact limits at A -> 0 (slope, up to k0(b) sqrt(b^2 + pi/2)),
  A -> oo and b -> oo; Tm lies in [0.90, 1.02] (sampled).
* V0 = K + D rd(A): K = v_sign(A) exp(-pi b phi(A)/v_sign(A))/(1 + b^2), the variance of the sign update
  v_sign = erfc(A/sqrt2)(2 - erfc(A/sqrt2)) with its O(A b) first correction; D = b^4/(A^2 + b^2 + 1)^3, the
  delta method's f'(a)^2; rd(A) the b -> 0 limit of Var(b^2/(2x^2))/D, the asymptotic series
  (1 + u)^3 [E x^-4 - (E x^-2)^2] a^6/(4u), u = 1/a^2 (exact rational coefficients, 24 terms; evaluated at
  u = 1/(A^2 + 144 exp(-A^2/12)), which equals 1/A^2 to 1e-12 where D matters).  Near m = +-1 the variance
  is K (kink-dominated, tiny b) or D (smooth, |a| >> 1) or a blend of both; V0 follows each, so Tv stays
  in [0.57, 7.4] (sampled) while v runs over hundreds of decades.

Outside the tables' rectangle X in [0, X_MAX], Y in [Y_MIN, Y_MAX] (a <= 1.2e7, 9.4e-14 <= b <= 8.9e6):

* b < exp(Y_MIN) = 9.4e-14: m = erf(A/sqrt2) and v = v_sign(A) + D rd(A) (relative corrections
  O(A b) <= 4e-12 while v_sign is above float64's range, O(b^2 log b) for the mean);
* X > X_MAX or Y > Y_MAX: the ratios are evaluated at the clamped edge; there they are 1 + O(1/R^2),
  R = hypot(a, b) >= 8.9e6, i.e. constant to 1e-13.

Accuracy: each rectangle's error is measured at generation time on points distinct from its fit nodes
(against the float64 quadrature of ``_quadrature.py``, itself verified to 1e-12 against mpmath) and
printed in ``generated/exact_tables.py``'s header; tests/test_fast_moments.py checks against 30-digit mpmath on
an independent seeded random grid.

Every operation is elementwise (cell lookup, Horner sums in a fixed order), so a point gives the same bits
alone and inside an array.  The second moment is m^2 + v (at most 1): consistent with the pair to rounding.

eps outside the root (u = x/(|x| + b), ``outside_moments``, tables in ``generated/outside_tables.py``, read by the exact
model for Problem(placement="outside")): the same tables around their own skeletons (see the section at the end),
fitted to the quadrature of ``_outside.py`` with Y affine in log b on [-50, 16]; 289 + 933 rectangles, certified
at 2e-12 (mean) and 1.5e-11 (variance) on the check points; 190-300x faster than that quadrature for the pair.

Why tables, and these ones (the alternatives measured, and old against new per function, from
benchmarks/bench_moments.py): docs/exact-moments.md.
"""

from __future__ import annotations

import base64
import importlib.util
import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.special as sc

from .generated import closed_forms as _g
from . import _threads

PHI0 = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_HALF = math.sqrt(0.5)
HALF_PI = math.pi / 2

# The tables' rectangle in (X, Y) = (asinh|a|, log b): base grid edges; the generator refines inside it.
X_EDGES = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 17.0)
Y_EDGES = (-30.0, -26.0, -22.0, -18.0, -14.0, -10.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0)
X_MAX, Y_MIN, Y_MAX = X_EDGES[-1], Y_EDGES[0], Y_EDGES[-1]
B_LOW = math.exp(Y_MIN)  # below: the b -> 0 forms
DEGREE = 11  # total degree of each rectangle's polynomial in its local (u, v) in [-1, 1]^2
TERMS = (DEGREE + 1) * (DEGREE + 2) // 2
BLOCK = 1 << 14  # points per block (temporaries stay in cache)


def triangle() -> list[tuple[int, int]]:
    """The monomials u^k v^l with k + l <= DEGREE, in storage order (l outer, k inner)."""
    return [(k, l) for l in range(DEGREE + 1) for k in range(DEGREE + 1 - l)]


# --------------------------------------------------------------------------------------------
# Skeletons.


def rd_series(A: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """rd(A): the b -> 0 limit of (the variance's smooth part)/D, a polynomial in u ~ 1/A^2 (Horner)."""
    u = 1.0 / (A * A + 144.0 * np.exp(-A * A / 12.0))
    out = np.full(A.shape, coefficients[-1])
    for c in coefficients[-2::-1]:
        out = out * u + c
    return out


def mean_skeleton(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """E-9's a/sqrt(a^2 + b^2 + pi/2) times g(A)^(1/(1 + b^2)), g = erf(A/sqrt2) sqrt(A^2 + pi/2)/A: the sign
    update's mean erf(A/sqrt2) at b -> 0 (so that the ratio is 1 + O(b^2 log b) there), E-9 for b >> 1."""
    safe = np.maximum(A, 1e-300)
    g = np.where(A < 1e-8, 1.0, sc.erf(safe * SQRT_HALF) * np.sqrt(A * A + HALF_PI) / safe)
    return A / np.sqrt(A * A + b * b + HALF_PI) * np.exp(np.log(g) / (1.0 + b * b))


def sign_variance(A: np.ndarray) -> np.ndarray:
    """erfc(A/sqrt2) (2 - erfc(A/sqrt2)), the sign update's variance (E-11 - E-8^2 at b = 0)."""
    tail = sc.erfc(A * SQRT_HALF)
    return tail * (2.0 - tail)


def delta_part(A: np.ndarray, b: np.ndarray, rd_coefficients: np.ndarray) -> np.ndarray:
    """D rd(A), D = b^4/(A^2 + b^2 + 1)^3 (b^4 formed as a square of squares: no overflow for b < 1e50)."""
    s = A * A + b * b + 1.0
    share = (b * b) / s
    return share * share / s * rd_series(A, rd_coefficients)


def variance_skeleton(A: np.ndarray, b: np.ndarray, rd_coefficients: np.ndarray) -> np.ndarray:
    x = A * SQRT_HALF
    scaled = sc.erfcx(x)  # erfc(x) = erfcx(x) e^(-x^2): one special function (the relative rounding of e^(-x^2),
    gauss = np.exp(-x * x)  # <= x^2 ulp, is below 2e-14 where K carries the variance in the tables' domain, A < 16)
    weight = scaled * (2.0 - scaled * gauss)  # v_sign e^(x^2) = erfcx (2 - erfc)
    # v_sign = erfc (2 - erfc); pi b phi(A)/v_sign without underflow: phi(A)/erfc(A/sqrt2) = PHI0/erfcx(A/sqrt2)
    decay = np.exp(-math.pi * PHI0 * b / weight)
    return weight * gauss * decay / (1.0 + b * b) + delta_part(A, b, rd_coefficients)


# --------------------------------------------------------------------------------------------
# Tables.


@dataclass(frozen=True)
class Table:
    """One piecewise polynomial on the (X, Y) rectangle.

    ``cells``: float64 (n, 4) rectangles [x0, x1) x [y0, y1), each inside one cell of the base grid
    (X_EDGES x Y_EDGES), made by halvings (dyadic, exact in binary); ``chebyshev``: int64 (n, TERMS)
    coefficients of T_k(u) T_l(v) (u, v the local coordinates in [-1, 1]) in units of 2^-quantum_bits, in
    ``triangle()`` order."""

    cells: np.ndarray
    chebyshev: np.ndarray
    quantum_bits: int


class Compiled:
    """A Table ready to evaluate: per base-grid cell a uniform local lookup grid (fine enough for its
    smallest rectangle), each rectangle's centre and inverse half-widths, and the monomial coefficients
    ``terms`` (TERMS, n), one contiguous row per term, so that a term's gather is one ``take``.  A plain class
    (no dataclass machinery at import)."""

    FIELDS = ("x_inner", "y_inner", "base_x0", "base_y0", "res_x", "res_y", "count_x", "count_y", "offset", "local",
              "centre_x", "centre_y", "scale_x", "scale_y", "terms")

    def __init__(self, **fields):
        if set(fields) != set(self.FIELDS):
            raise TypeError(f"Compiled takes exactly {self.FIELDS}")
        self.__dict__.update(fields)

    def replace(self, **changes) -> "Compiled":
        return Compiled(**{**{name: getattr(self, name) for name in self.FIELDS}, **changes})


def _chebyshev_to_monomial(coefficients: np.ndarray) -> np.ndarray:
    """(n, TERMS) Chebyshev coefficients -> (n, TERMS) monomial ones, in the same triangle order."""
    order = triangle()
    position = {kl: j for j, kl in enumerate(order)}
    power = [np.polynomial.chebyshev.cheb2poly(np.eye(DEGREE + 1)[k]) for k in range(DEGREE + 1)]
    out = np.zeros(coefficients.shape)
    for j, (k, l) in enumerate(order):
        for i in range(k + 1):
            if power[k][i] == 0:
                continue
            for m in range(l + 1):
                if power[l][m] == 0:
                    continue
                out[:, position[(i, m)]] += coefficients[:, j] * (power[k][i] * power[l][m])
    return out


def base_index(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The base-grid cell (row-major, X outer) holding each point of the rectangle."""
    bx = np.searchsorted(np.array(X_EDGES[1:-1]), x, side="right")
    by = np.searchsorted(np.array(Y_EDGES[1:-1]), y, side="right")
    return bx * (len(Y_EDGES) - 1) + by


def compile_table(table: Table) -> Compiled:
    cells = np.asarray(table.cells, dtype=float)
    x0, x1, y0, y1 = cells.T
    nbx, nby = len(X_EDGES) - 1, len(Y_EDGES) - 1
    base = base_index(x0, y0)
    edges_x, edges_y = np.array(X_EDGES), np.array(Y_EDGES)
    base_x0 = np.repeat(edges_x[:-1], nby)
    base_y0 = np.tile(edges_y[:-1], nbx)
    width_x = np.repeat(np.diff(edges_x), nby)
    width_y = np.tile(np.diff(edges_y), nbx)
    count_x = np.ones(nbx * nby, dtype=np.intp)
    count_y = np.ones(nbx * nby, dtype=np.intp)
    for k in range(nbx * nby):
        mine = base == k
        if not mine.any():
            raise ValueError(f"base cell {k} has no rectangle")
        count_x[k] = int(round(width_x[k] / (x1[mine] - x0[mine]).min()))
        count_y[k] = int(round(width_y[k] / (y1[mine] - y0[mine]).min()))
    offset = np.concatenate([[0], np.cumsum(count_x * count_y)[:-1]]).astype(np.intp)
    local = np.full(int((count_x * count_y).sum()), -1, dtype=np.intp)
    res_x, res_y = count_x / width_x, count_y / width_y
    for index, (k, a0, a1, c0, c1) in enumerate(zip(base, x0, x1, y0, y1)):
        i0, i1 = (int(round((e - base_x0[k]) * res_x[k])) for e in (a0, a1))
        j0, j1 = (int(round((e - base_y0[k]) * res_y[k])) for e in (c0, c1))
        block = offset[k] + (np.arange(i0, i1)[:, None] * count_y[k] + np.arange(j0, j1)[None, :]).ravel()
        if (local[block] >= 0).any():
            raise ValueError("the table's rectangles overlap")
        local[block] = index
    if (local < 0).any():
        raise ValueError("the table's rectangles do not cover the base grid")
    chebyshev = table.chebyshev.astype(float) * 2.0 ** -table.quantum_bits
    return Compiled(x_inner=edges_x[1:-1].copy(), y_inner=edges_y[1:-1].copy(), base_x0=base_x0, base_y0=base_y0,
                    res_x=res_x, res_y=res_y, count_x=count_x, count_y=count_y, offset=offset, local=local,
                    centre_x=(x0 + x1) / 2, centre_y=(y0 + y1) / 2, scale_x=2.0 / (x1 - x0), scale_y=2.0 / (y1 - y0),
                    terms=np.ascontiguousarray(_chebyshev_to_monomial(chebyshev).T))


# Base-grid cell of a point from int(X) and int((Y - Y_MIN)/2) (every base edge is an integer in X, an even
# integer in Y): two small lookup tables instead of searches; the last entries take X = X_MAX, Y = Y_MAX.
_BASE_X = (np.searchsorted(np.array(X_EDGES[1:-1]), np.arange(int(X_MAX) + 1), side="right")
           * (len(Y_EDGES) - 1)).astype(np.intp)
_BASE_Y = np.searchsorted(np.array(Y_EDGES[1:-1]), Y_MIN + 2.0 * np.arange(int((Y_MAX - Y_MIN) / 2) + 1),
                          side="right").astype(np.intp)
_ORDER = triangle()
_ROWS = [[j for j, (k, l) in enumerate(_ORDER) if l == row] for row in range(DEGREE + 1)]  # ascending k


def base_cells(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The base-grid cell of each (X, Y) (clamped into the rectangle) by index arithmetic: shared by every table."""
    return (_BASE_X.take(X.astype(np.intp), mode="clip")
            + _BASE_Y.take(((Y - Y_MIN) * 0.5).astype(np.intp), mode="clip"))


def evaluate(table: Compiled, X: np.ndarray, Y: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    """The table at (X, Y), both already clamped into the rectangle: sum of c_kl u^k v^l by Horner
    (u inner, v outer), a fixed sequence of elementwise operations.  ``base``: base_cells(X, Y), if known (the
    mean and variance tables share it).  Every index is in range by construction, so the gathers use mode="clip"
    (half the cost of numpy's default bounds-checking "raise").  One term's coefficients are gathered at a time
    into a reused buffer: measured 5-15% faster (loaded machine) than gathering all 78 rows of a point at once,
    whose (78, block) temporary leaves the cache."""
    if base is None:
        base = base_cells(X, Y)
    ix = np.minimum(((X - table.base_x0.take(base, mode="clip")) * table.res_x.take(base, mode="clip")).astype(np.intp),
                    table.count_x.take(base, mode="clip") - 1)
    iy = np.minimum(((Y - table.base_y0.take(base, mode="clip")) * table.res_y.take(base, mode="clip")).astype(np.intp),
                    table.count_y.take(base, mode="clip") - 1)
    cell = table.local.take(table.offset.take(base, mode="clip") + ix * table.count_y.take(base, mode="clip") + iy,
                            mode="clip")
    u = (X - table.centre_x.take(cell, mode="clip")) * table.scale_x.take(cell, mode="clip")
    v = (Y - table.centre_y.take(cell, mode="clip")) * table.scale_y.take(cell, mode="clip")
    terms = table.terms
    total = None
    gathered = np.empty(cell.shape)
    for row in reversed(_ROWS):
        inner = terms[row[-1]].take(cell, mode="clip")
        for j in reversed(row[:-1]):
            inner *= u
            inner += terms[j].take(cell, out=gathered, mode="clip")
        if total is None:
            total = inner
        else:
            total *= v
            total += inner
    return total


# --------------------------------------------------------------------------------------------
# The committed tables (generated module, loaded on first use).


def encode(values: np.ndarray) -> str:
    """Signed integers as zigzag LEB128 varints, base64 (small high-order coefficients take one or two bytes)."""
    out = bytearray()
    for value in np.asarray(values, dtype=np.int64).ravel().tolist():
        z = (value << 1) ^ (value >> 63)
        while z >= 0x80:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        out.append(z)
    return base64.b64encode(bytes(out)).decode("ascii")


def decode(text: str, columns: int) -> np.ndarray:
    """The inverse of :func:`encode`, vectorised, reshaped to (-1, columns)."""
    data = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    last = data < 0x80
    starts = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    group = np.cumsum(np.concatenate([[0], last[:-1]])).astype(np.intp)
    shift = (7 * (np.arange(data.size) - starts[group])).astype(np.uint64)
    z = np.add.reduceat((data & 0x7F).astype(np.uint64) << shift, starts)
    values = (z >> np.uint64(1)).astype(np.int64) ^ -(z & np.uint64(1)).astype(np.int64)
    return values.reshape(-1, columns)


def _load(t) -> tuple[Compiled, Compiled, np.ndarray]:
    """(mean table, variance table, rd coefficients) from a generated table module."""
    def load(prefix: str) -> Compiled:
        return compile_table(Table(cells=np.array(getattr(t, f"{prefix}_CELLS"), dtype=float).reshape(-1, 4),
                                   chebyshev=decode(getattr(t, f"{prefix}_COEFFICIENTS"), TERMS),
                                   quantum_bits=t.QUANTUM_BITS))

    return load("MEAN"), load("VARIANCE"), np.array(t.RD_COEFFICIENTS, dtype=float)


@lru_cache(maxsize=1)
def committed() -> tuple[Compiled, Compiled, np.ndarray]:
    """(mean table, variance table, rd coefficients) from ``generated/exact_tables.py``."""
    from .generated import exact_tables as _exact_tables

    return _load(_exact_tables)


def _block(a: np.ndarray, b: np.ndarray, tables, want_mean: bool, want_variance: bool):
    mean_table, variance_table, rd = tables
    A = np.abs(a)
    low = b < B_LOW
    mean = variance = None
    if low.all():
        if want_mean:
            mean = np.copysign(_g.mean_clip_b0(A), a)
        if want_variance:
            variance = sign_variance(A) + delta_part(A, b, rd)
        return mean, variance
    X = np.minimum(np.log(A + np.sqrt(A * A + 1.0)), X_MAX)  # asinh(A) to ~1e-16 absolute (a coordinate)
    Y = np.minimum(np.maximum(np.log(np.maximum(b, B_LOW)), Y_MIN), Y_MAX)
    base = base_cells(X, Y)
    if want_mean:
        mean = mean_skeleton(A, b) * evaluate(mean_table, X, Y, base)
        if low.any():
            mean[low] = _g.mean_clip_b0(A[low])
        mean = np.copysign(np.minimum(mean, 1.0), a)
    if want_variance:
        variance = variance_skeleton(A, b, rd) * evaluate(variance_table, X, Y, base)
        if low.any():
            variance[low] = sign_variance(A[low]) + delta_part(A[low], b[low], rd)
    return mean, variance


KERNEL_ENV = "SOFTSIGN_SCALING_KERNEL"
KERNEL_BLOCK = 1 << 14  # points per block for the compiled kernel (its four temporaries stay in cache)


@lru_cache(maxsize=1)
def kernel():
    """The compiled kernels (module ``_kernel``), or None for the numpy path.  SOFTSIGN_SCALING_KERNEL chooses:
    ``auto`` (the default) uses numba when it is installed (the extra ``fast``) and works, and otherwise, with
    a one-line warning if numba is there but fails, the numpy path; ``numba`` insists (a one-line error if it
    cannot); ``numpy`` never loads numba."""
    choice = os.environ.get(KERNEL_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "numba", "numpy"):
        raise ValueError(f"{KERNEL_ENV}={choice!r}: expected auto, numba or numpy")
    if choice == "numpy":
        return None
    if importlib.util.find_spec("numba") is None:
        if choice == "auto":
            return None
        raise ImportError(f"{KERNEL_ENV}=numba but numba is not installed: pip install 'softsign_scaling[fast]', "
                          f"or set {KERNEL_ENV}=auto")
    try:
        from . import _kernel
        if _kernel.DEGREE != DEGREE:
            raise RuntimeError(f"numeric/_kernel.py evaluates degree {_kernel.DEGREE}, the tables have degree {DEGREE}")
    except Exception as error:  # a broken numba/llvmlite, no writable cache directory, a renamed scipy symbol, ...
        cause = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        message = (f"the compiled moments could not be loaded ({cause}); set {KERNEL_ENV}=numpy to use the numpy "
                   f"path, or NUMBA_CACHE_DIR to a writable directory if the cache is the cause")
        if choice == "numba":
            raise RuntimeError(message) from None
        import warnings

        warnings.warn(message + "; using the numpy path", RuntimeWarning, stacklevel=2)
        return None
    return _kernel


def _kernel_arrays(table: Compiled) -> tuple:
    """A table's arrays in the kernel's argument order (its coefficients as one (cells, TERMS) row per cell),
    built once per table."""
    arrays = table.__dict__.get("_kernel_arrays")
    if arrays is None:
        arrays = (table.base_x0, table.base_y0, table.res_x, table.res_y, table.count_x, table.count_y,
                  table.offset, table.local, table.centre_x, table.centre_y, table.scale_x, table.scale_y,
                  np.ascontiguousarray(table.terms.T))
        table.__dict__["_kernel_arrays"] = arrays
    return arrays


def _blocks(a, b, want_mean: bool, want_variance: bool, tables=None, block=_block):
    """``block`` (:func:`_block`, or :func:`_outside_block` with the outside tables) over slices of the points,
    on threads (``_threads.in_order``) when there are several; or, when :func:`kernel` gives it, the compiled
    ``_kernel.moments`` (``outside`` a flag) over the same slices: the same operations (see ``_kernel``)."""
    tables = tables if tables is not None else committed()
    a = np.ascontiguousarray(a, dtype=float)
    b = np.ascontiguousarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one shape, got {a.shape} and {b.shape}")
    compiled = kernel()
    if compiled is None and a.size <= BLOCK:
        return block(a, b, tables, want_mean, want_variance)
    mean = np.empty(a.shape) if want_mean else None
    variance = np.empty(a.shape) if want_variance else None
    if compiled is not None:
        mean_table, variance_table, rd = tables
        arguments = (_kernel_arrays(mean_table) + _kernel_arrays(variance_table))
        flat = [x.reshape(-1) if x is not None else np.empty(0) for x in (a, b, mean, variance)]

        def run(part: slice) -> None:
            compiled.moments(flat[0][part], flat[1][part], rd, GEOMETRY, block is _outside_block, want_mean,
                             want_variance, flat[2][part], flat[3][part], _BASE_X, _BASE_Y, *arguments)

        spans = [slice(start, start + KERNEL_BLOCK) for start in range(0, a.size, KERNEL_BLOCK)]
        for _ in _threads.in_order(run, spans):
            pass
        return mean, variance
    spans = [slice(start, start + BLOCK) for start in range(0, a.size, BLOCK)]
    for part, (m, v) in zip(spans, _threads.in_order(lambda part: block(a[part], b[part], tables, want_mean,
                                                                             want_variance), spans)):
        if want_mean:
            mean[part] = m
        if want_variance:
            variance[part] = v
    return mean, variance


def moments(a: np.ndarray, b: np.ndarray, tables=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of the SoftSign update for 1-D float64 arrays a (real, |a| < 1e50) and b
    (1e-150 <= b < 1e50) of one shape: the regular domain of ``numeric._reduced``."""
    return _blocks(a, b, True, True, tables)


def mean_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _blocks(a, b, True, False)[0]


def variance_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _blocks(a, b, False, True)[1]


def second_moment_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """m^2 + v (<= 1: the clamp only removes rounding above the true bound)."""
    mean, variance = moments(a, b)
    return np.minimum(mean * mean + variance, 1.0)


# --------------------------------------------------------------------------------------------
# eps outside the root: u = x/(|x| + b) (steps X-1 ..; PyTorch's Adam).  The same tables, around these skeletons
# (for A = |a|, with erf = erf(A/sqrt2), phi = phi(A), x ~ N(A, 1)):
#
# * mean: M0 = A/(W + b) G^(1/(1 + b^2)), W = E[x|x|]/A = (A^2 + 1) erf/A + 2 phi, G = erf W/A.  Exact at b -> 0
#   (erf), at b -> oo to second order (A/b - E[x|x|]/b^2: the ratio is 1 + O(1/b^2)), at A -> oo
#   (A/(A + b), ratio 1 + O(1/(A + b)^2)); the slope at A = 0 tends to sqrt(2/pi) (b -> 0) and 1/b (b -> oo).
# * variance: V0 = K + D rd(A), K = v_sign exp(-4 phi b log(1 + 1/b)/v_sign)/(1 + b^2)^2 (the sign update's
#   variance with X-10's kink term 4 phi b log(1/b)), D = (b/(b + Q)^2)^2, Q = Cov(x, x|x|)/2 = A erf + 2 phi:
#   D is the delta method's f'(A)^2 = b^2/(A + b)^4 up to exponentially small terms, and at b -> oo it
#   gives Var(u) = [1 - 2 Cov(x, x|x|)/b]/b^2 + O(b^-4), so that the ratio is 1 + O(1/b^2) there too;
#   rd(A) = A^4 [E x^-2 - (E x^-1)^2] (the asymptotic series in u = 1/A^2, regularised as rd_series),
#   the b -> 0 limit of Var(b/x)/D.
# So beyond the tables' rectangle (b > 8.9e6 or |a| > 1.2e7) the clamped ratios are constant to 1e-13; below
# b = OUTSIDE_B_LOW = e^-50 = 1.9e-22 the skeletons alone hold (see _outside_block).  The tables' Y axis is
# the affine image of log b in [-50, 16] on the shared grid's [Y_MIN, Y_MAX] (the inside tables' lower edge
# e^-30 is too high here: the smooth part's cross terms near |a| = 11 are ~1e-8 (b/1e-13)^2 of the variance).

OUTSIDE_LOG_B = (-50.0, 16.0)
OUTSIDE_Y_SCALE = (Y_MAX - Y_MIN) / (OUTSIDE_LOG_B[1] - OUTSIDE_LOG_B[0])
OUTSIDE_Y_SHIFT = Y_MIN - OUTSIDE_LOG_B[0] * OUTSIDE_Y_SCALE
OUTSIDE_B_LOW = math.exp(OUTSIDE_LOG_B[0])

GEOMETRY = np.array([X_MAX, Y_MIN, Y_MAX, B_LOW, OUTSIDE_Y_SCALE, OUTSIDE_Y_SHIFT, OUTSIDE_B_LOW], dtype=float)
"""The tables' geometry as the compiled kernels take it (an argument, never frozen into cached machine code)."""


def outside_y(b: np.ndarray) -> np.ndarray:
    """The outside tables' Y coordinate of b, clamped into [Y_MIN, Y_MAX]."""
    return np.minimum(np.maximum(np.log(b) * OUTSIDE_Y_SCALE + OUTSIDE_Y_SHIFT, Y_MIN), Y_MAX)


def outside_b(Y: np.ndarray) -> np.ndarray:
    """The inverse of outside_y inside the rectangle."""
    return np.exp((Y - OUTSIDE_Y_SHIFT) / OUTSIDE_Y_SCALE)

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _erf_over_a(A: np.ndarray, erf: np.ndarray) -> np.ndarray:
    """erf(A/sqrt2)/A, with its A -> 0 limit sqrt(2/pi) (to 1e-17 below A = 1e-8)."""
    return np.where(A < 1e-8, SQRT_2_OVER_PI, erf / np.maximum(A, 1e-300))


def outside_mean_skeleton(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    ratio = _erf_over_a(A, sc.erf(A * SQRT_HALF))
    W = (A * A + 1.0) * ratio + 2.0 * PHI0 * np.exp(-0.5 * A * A)
    return A / (W + b) * np.exp(np.log(ratio * W) / (1.0 + b * b))


def kink_term(b: np.ndarray) -> np.ndarray:
    """b log(1 + 1/b): log1p(b) - log(b) below b = 1 (1/b would overflow), log1p(1/b) above (the difference cancels
    there: above b ~ 1e16 it is 0 or a multiple of b ulp(log b), never ~1)."""
    with np.errstate(divide="ignore"):
        return np.where(b > 1.0, b * np.log1p(1.0 / np.maximum(b, 1.0)), b * (np.log1p(b) - np.log(b)))


def outside_variance_skeleton(A: np.ndarray, b: np.ndarray, rd_coefficients: np.ndarray) -> np.ndarray:
    x = A * SQRT_HALF
    scaled = sc.erfcx(x)
    gauss = np.exp(-x * x)
    weight = scaled * (2.0 - scaled * gauss)  # v_sign e^(x^2); 4 phi/v_sign = 4 PHI0/weight
    square = 1.0 + b * b
    K = weight * gauss * np.exp(-4.0 * PHI0 * kink_term(b) / weight) / (square * square)
    Q = A * (1.0 - scaled * gauss) + 2.0 * PHI0 * gauss
    share = b / ((b + Q) * (b + Q))
    return K + share * share * rd_series(A, rd_coefficients)


@lru_cache(maxsize=1)
def committed_outside() -> tuple[Compiled, Compiled, np.ndarray]:
    """(mean table, variance table, rd coefficients) from ``generated/outside_tables.py``."""
    from .generated import outside_tables as _outside_tables

    return _load(_outside_tables)


def _outside_block(a: np.ndarray, b: np.ndarray, tables, want_mean: bool, want_variance: bool):
    """Below OUTSIDE_B_LOW the skeletons alone (ratio 1: the mean's relative correction is O(b), the variance's
    O(A b) from the kink and ~1e-8 (b/1e-13)^2 from the smooth part's cross terms near |a| = 11)."""
    mean_table, variance_table, rd = tables
    A = np.abs(a)
    X = np.minimum(np.log(A + np.sqrt(A * A + 1.0)), X_MAX)
    Y = outside_y(b)
    base = base_cells(X, Y)
    low = b < OUTSIDE_B_LOW
    mean = variance = None
    if want_mean:
        ratio = evaluate(mean_table, X, Y, base)
        ratio[low] = 1.0
        mean = np.copysign(np.minimum(outside_mean_skeleton(A, b) * ratio, 1.0), a)
    if want_variance:
        ratio = evaluate(variance_table, X, Y, base)
        ratio[low] = 1.0
        variance = outside_variance_skeleton(A, b, rd) * ratio
    return mean, variance


def outside_moments(a: np.ndarray, b: np.ndarray, tables=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of u = x/(|x| + b) for 1-D float64 arrays a (|a| < 1e50) and b (1e-150 <= b < 1e50)."""
    return _blocks(a, b, True, True, tables if tables is not None else committed_outside(), _outside_block)


def outside_mean(a: np.ndarray, b: np.ndarray, tables=None) -> np.ndarray:
    """The mean alone of :func:`outside_moments` (the same bits; the variance's table is not evaluated: about half
    the cost)."""
    return _blocks(a, b, True, False, tables if tables is not None else committed_outside(), _outside_block)[0]
