"""Generate softsign_scaling/numeric/generated/exact_tables.py: the tables of the fast exact moments (numeric/_fast.py).

What is fitted: the ratios Tm = m/M0 and Tv = v/V0 of the exact SoftSign mean and variance to their
skeletons (``numeric._fast``), as functions of (X, Y) = (asinh|a|, log b) on the rectangle
X_EDGES x Y_EDGES.  The fit inputs are the float64 quadratures of ``numeric/_quadrature.py`` (verified to
1e-12 relative against mpmath by tests/test_numeric_accuracy.py).

How: every base-grid cell is fitted by tensor Chebyshev interpolation (12 x 12 first-kind nodes), truncated
to total degree 11 (78 terms); where the truncated polynomial misses FIT_TOLERANCE on 20 seeded probe points
(12 inside, 8 on the edges) it is halved, across X or Y by whichever direction's two highest coefficient
rows are larger, up to MAX_DEPTH halvings.

Certificate: after quantisation, each rectangle is evaluated by the runtime code (``_fast.evaluate``) on
CHECK_POINTS further seeded points (a stream distinct from the probes, never a fit node) against the
quadrature; the maxima are printed per region in the module header, and generation fails if one exceeds
CERTIFIED_BOUND.

Reproducible text: coefficients are printed as integers times 2^-QUANTUM_BITS (7.1e-15: the 78 terms'
rounding adds at most 2.8e-13 to a ratio of order one, so no printed digit lies below ~1/40 of the fitted
accuracy).  Rounding alone cannot make last-bit noise harmless (a value can sit next to a rounding
boundary), so regeneration is anchored on the committed module: its rectangles are reused, and when the
fresh integers differ from the committed ones by at most STICKY quanta (noise: float64 libm differences move
a coefficient by ~1e-16, well under one quantum) the committed integers and certificate are kept, after
re-measuring that they still meet the bound on this machine.  Only a real change (a new layout, a fit that
moves by more than STICKY quanta, or a failed certificate) rewrites them.  Like generated/closed_forms.py, the module is
not regenerated at all while its fingerprint (this generator's version and layout, the quadrature's and the
skeletons' source) is unchanged, unless forced.

The same method makes softsign_scaling/numeric/generated/outside_tables.py, the tables of eps outside the root (u = x/(|x| + b),
family "outside"): the ratios to ``_fast.outside_mean_skeleton`` / ``outside_variance_skeleton``, fitted to the
float64 quadrature of ``numeric/_outside.py``, with its own fingerprint, tolerances and certificate.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..files import write_text
from ..numeric import _fast, _outside, _quadrature

GENERATOR_VERSION = "1"
TABLES_PATH = Path("softsign_scaling") / "numeric" / "generated" / "exact_tables.py"
OUTSIDE_TABLES_PATH = Path("softsign_scaling") / "numeric" / "generated" / "outside_tables.py"
FAMILIES = ("inside", "outside")
NODES = _fast.DEGREE + 1
# Relative, per kind: the fit's target on the probe points, and the certified bound on the check points that
# generation must meet (1e-10 is the promised accuracy).  The mean is held 100x tighter: near m = 1 (b small)
# second_moment_exact = m^2 + v must stay consistent with m and v to ~1e-12, and the mean table is cheap.
FIT_TOLERANCE = {"mean": 1e-13, "variance": 1e-11}
CERTIFIED_BOUND = {"mean": 1e-12, "variance": 3e-11}
# eps outside the root: the quadrature of _outside.py is the reference (verified to 1e-12 against mpmath), so the
# mean is held to the variance's bounds there.
OUTSIDE_FIT_TOLERANCE = {"mean": 1e-12, "variance": 1e-11}
OUTSIDE_CERTIFIED_BOUND = {"mean": 3e-11, "variance": 3e-11}


def tolerances(family: str) -> tuple[dict, dict]:
    return (FIT_TOLERANCE, CERTIFIED_BOUND) if family == "inside" else (OUTSIDE_FIT_TOLERANCE, OUTSIDE_CERTIFIED_BOUND)
MAX_DEPTH = 10
QUANTUM_BITS = 47
STICKY = 4
CHECK_POINTS = 24
RD_TERMS = 24
KINDS = ("mean", "variance")

_NODES = np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES)[::-1]  # ascending first-kind nodes
_TRIANGLE = _fast.triangle()
_CHEB_AT_NODES = np.cos(np.outer(np.arange(NODES), np.pi * (np.arange(NODES) + 0.5) / NODES))[:, ::-1]


def rd_coefficients(terms: int = RD_TERMS) -> list[float]:
    """rd(u) = (1 + u)^3 [S4(u) - S2(u)^2]/(4u), S_n(u) = a^n E[x^-n] = sum_k (n)_2k/(2^k k!) u^k for
    x ~ N(a, 1), u = 1/a^2 (the asymptotic series; exact rationals, then the nearest doubles)."""

    def s(n: int, k: int) -> Fraction:
        rising = math.prod(range(n, n + 2 * k))
        return Fraction(rising, 2**k * math.factorial(k))

    size = terms + 1
    s4 = [s(4, k) for k in range(size + 1)]
    s2 = [s(2, k) for k in range(size + 1)]
    square = [sum(s2[i] * s2[k - i] for i in range(k + 1)) for k in range(size + 1)]
    t = [s4[k + 1] - square[k + 1] for k in range(size)]
    out = [Fraction(0)] * (size + 3)
    for k, value in enumerate(t):
        for j, binomial in enumerate((1, 3, 3, 1)):
            out[k + j] += binomial * value / 4
    return [float(x) for x in out[:terms]]


def outside_rd_coefficients(terms: int = RD_TERMS) -> list[float]:
    """rd(u) = [S2(u) - S1(u)^2]/u = A^4 [E x^-2 - (E x^-1)^2], S_n(u) = a^n E[x^-n] = sum_k (n)_2k/(2^k k!) u^k
    (the asymptotic series; exact rationals, then the nearest doubles): eps outside the root."""

    def s(n: int, k: int) -> Fraction:
        return Fraction(math.prod(range(n, n + 2 * k)), 2**k * math.factorial(k))

    size = terms + 1
    s1 = [s(1, k) for k in range(size)]
    square = [sum(s1[i] * s1[k - i] for i in range(k + 1)) for k in range(size)]
    return [float(s(2, k + 1) - square[k + 1]) for k in range(terms)]


def family_rd(family: str) -> np.ndarray:
    return np.array(rd_coefficients() if family == "inside" else outside_rd_coefficients())


def reference(kind: str, X: np.ndarray, Y: np.ndarray, rd: np.ndarray, family: str = "inside") -> np.ndarray:
    """The ratio to be tabulated at (X, Y), from the float64 quadrature."""
    A = np.sinh(X)
    A = np.where(A == 0.0, 1e-300, A)  # the ratios are even in a: their a -> 0 limit
    b = np.exp(Y) if family == "inside" else _fast.outside_b(Y)
    if family == "outside":
        if kind == "mean":
            return _outside.moment(A, b, "mean") / _fast.outside_mean_skeleton(A, b)
        return _outside.moment(A, b, "variance") / _fast.outside_variance_skeleton(A, b, rd)
    if kind == "mean":
        return _quadrature.mean_exact(A, b) / _fast.mean_skeleton(A, b)
    return _quadrature.variance_exact(A, b) / _fast.variance_skeleton(A, b, rd)


def _mapped(rect, u, v):
    x0, x1, y0, y1 = rect
    return x0 + (x1 - x0) * (u + 1) / 2, y0 + (y1 - y0) * (v + 1) / 2


def fit(kind: str, rect, rd, family: str = "inside") -> np.ndarray:
    """Chebyshev coefficients (TERMS, triangle order) interpolating the ratio at the rectangle's nodes."""
    U, V = np.meshgrid(_NODES, _NODES, indexing="ij")
    X, Y = _mapped(rect, U.ravel(), V.ravel())
    values = reference(kind, X, Y, rd, family).reshape(NODES, NODES)
    full = (2.0 / NODES) ** 2 * (_CHEB_AT_NODES @ values @ _CHEB_AT_NODES.T)
    full[0, :] /= 2
    full[:, 0] /= 2
    return np.array([full[k, l] for k, l in _TRIANGLE])


def _chebyshev_value(coefficients: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    Tu = np.polynomial.chebyshev.chebvander(u, _fast.DEGREE)
    Tv = np.polynomial.chebyshev.chebvander(v, _fast.DEGREE)
    return sum(c * Tu[:, k] * Tv[:, l] for c, (k, l) in zip(coefficients, _TRIANGLE))


def _seed(rect, stream: int) -> np.random.Generator:
    """A generator seeded by the rectangle itself (dyadic bounds, exact), so order never matters."""
    return np.random.default_rng([stream] + [int(round((e + 64.0) * 2**20)) for e in rect])


def _probe_points(rect, stream: int, count: int):
    rng = _seed(rect, stream)
    u, v = rng.uniform(-1, 1, count), rng.uniform(-1, 1, count)
    u = np.concatenate([u, [-1.0, 1.0, -1.0, 1.0, 0.0, 0.0, -1.0, 1.0]])
    v = np.concatenate([v, [-1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 0.0, 0.0]])
    return u, v


def _refine(kind: str, rect, rd, depth: int = 0, family: str = "inside") -> list[tuple[float, float, float, float]]:
    coefficients = fit(kind, rect, rd, family)
    u, v = _probe_points(rect, 1, 12)
    X, Y = _mapped(rect, u, v)
    error = np.max(np.abs(_chebyshev_value(coefficients, u, v) / reference(kind, X, Y, rd, family) - 1.0))
    if error <= tolerances(family)[0][kind] or depth >= MAX_DEPTH:
        return [tuple(rect)]
    high = [j for j, (k, l) in enumerate(_TRIANGLE) if k >= _fast.DEGREE - 1]
    high_y = [j for j, (k, l) in enumerate(_TRIANGLE) if l >= _fast.DEGREE - 1]
    x0, x1, y0, y1 = rect
    if np.abs(coefficients[high]).sum() >= np.abs(coefficients[high_y]).sum():
        middle = (x0 + x1) / 2
        return (_refine(kind, (x0, middle, y0, y1), rd, depth + 1, family)
                + _refine(kind, (middle, x1, y0, y1), rd, depth + 1, family))
    middle = (y0 + y1) / 2
    return (_refine(kind, (x0, x1, y0, middle), rd, depth + 1, family)
            + _refine(kind, (x0, x1, middle, y1), rd, depth + 1, family))


def adaptive_cells(kind: str, rd, family: str = "inside") -> np.ndarray:
    cells = []
    for i in range(len(_fast.X_EDGES) - 1):
        for j in range(len(_fast.Y_EDGES) - 1):
            cells += _refine(kind, (_fast.X_EDGES[i], _fast.X_EDGES[i + 1], _fast.Y_EDGES[j], _fast.Y_EDGES[j + 1]), rd,
                             family=family)
    return np.array(cells, dtype=float)


def layout(kind: str, rd, family: str, old_cells: np.ndarray | None) -> np.ndarray:
    """The rectangles: the previous layout's in every base cell that it tiles, the adaptive fit in the others (a new
    base-grid edge refits only the new base cells), in base-cell order as adaptive_cells makes them."""
    if old_cells is None:
        return adaptive_cells(kind, rd, family)
    owner = _fast.base_index(old_cells[:, 0], old_cells[:, 2])
    area = (old_cells[:, 1] - old_cells[:, 0]) * (old_cells[:, 3] - old_cells[:, 2])
    cells = []
    for i in range(len(_fast.X_EDGES) - 1):
        for j in range(len(_fast.Y_EDGES) - 1):
            rect = (_fast.X_EDGES[i], _fast.X_EDGES[i + 1], _fast.Y_EDGES[j], _fast.Y_EDGES[j + 1])
            mine = (owner == i * (len(_fast.Y_EDGES) - 1) + j) & (old_cells[:, 0] >= rect[0]) & (old_cells[:, 1] <= rect[1]) \
                & (old_cells[:, 2] >= rect[2]) & (old_cells[:, 3] <= rect[3])
            if mine.any() and area[mine].sum() == (rect[1] - rect[0]) * (rect[3] - rect[2]):  # dyadic: exact
                cells += [tuple(c) for c in old_cells[mine]]
            else:
                cells += _refine(kind, rect, rd, family=family)
    return np.array(cells, dtype=float)


def _sticky(cells: np.ndarray, fresh: np.ndarray, old) -> tuple[np.ndarray, bool]:
    """Per rectangle, the committed integers where the fresh fit is within STICKY quanta of them; and whether every
    rectangle kept its committed integers (then the committed certificate may be kept too)."""
    if old is None:
        return fresh, False
    committed = {tuple(c): row for c, row in zip(old[0].tolist(), old[1])}
    integers, kept = fresh.copy(), len(cells) == len(old[0])
    for k, c in enumerate(cells.tolist()):
        row = committed.get(tuple(c))
        if row is not None and np.abs(row - fresh[k]).max() <= STICKY:
            integers[k] = row
        else:
            kept = False
    return integers, kept


def quantize(coefficients: np.ndarray) -> np.ndarray:
    return np.rint(np.ldexp(coefficients, QUANTUM_BITS)).astype(np.int64)


def check_errors(kind: str, table: _fast.Table, rd, family: str = "inside") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, Y, relative error) of the runtime evaluation of ``table`` on every rectangle's check points."""
    compiled = _fast.compile_table(table)
    points = [_mapped(rect, *_probe_points(rect, 2, CHECK_POINTS)) for rect in table.cells]
    X = np.concatenate([p[0] for p in points])
    Y = np.concatenate([p[1] for p in points])
    error = np.abs(_fast.evaluate(compiled, X, Y) / reference(kind, X, Y, rd, family) - 1.0)
    return X, Y, error


# Regions of the certificate: X bands (|a|) x Y bands (b).
_X_BANDS = ((0.0, 1.0, "abs(a) < 1.18"), (1.0, 3.0, "1.18 <= abs(a) < 10"), (3.0, _fast.X_MAX + 1, "10 <= abs(a)"))
_Y_BANDS = ((-np.inf, -6.0, "b < 2.5e-3"), (-6.0, 2.0, "2.5e-3 <= b < 7.4"), (2.0, np.inf, "7.4 <= b"))


def ceil_one_digit(value: float) -> str:
    """``value`` rounded up to one significant digit (printed bounds move only when an error crosses a digit)."""
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value))
    mantissa = math.ceil(value / 10.0**exponent * (1 - 1e-12))
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    return f"{mantissa}e{exponent:+03d}"


def certificate(X, Y, error, cells: np.ndarray, family: str = "inside") -> tuple[tuple[str, str, int, str], ...]:
    rows = []
    centre_x, centre_y = (cells[:, 0] + cells[:, 1]) / 2, (cells[:, 2] + cells[:, 3]) / 2
    if family == "outside":  # the bands are in log b
        Y = (Y - _fast.OUTSIDE_Y_SHIFT) / _fast.OUTSIDE_Y_SCALE
        centre_y = (centre_y - _fast.OUTSIDE_Y_SHIFT) / _fast.OUTSIDE_Y_SCALE
    for y_lo, y_hi, y_name in _Y_BANDS:
        for x_lo, x_hi, x_name in _X_BANDS:
            at = (X >= x_lo) & (X < x_hi) & (Y >= y_lo) & (Y < y_hi)
            count = int(((centre_x >= x_lo) & (centre_x < x_hi) & (centre_y >= y_lo) & (centre_y < y_hi)).sum())
            rows.append((x_name, y_name, count, ceil_one_digit(float(error[at].max())) if at.any() else "-"))
    return tuple(rows)


def fingerprint(family: str = "inside") -> str:
    digest = hashlib.sha256(f"generator {GENERATOR_VERSION}\n".encode())
    fit_tolerance, bound = tolerances(family)
    layout = (_fast.X_EDGES, _fast.Y_EDGES, _fast.DEGREE, NODES, sorted(fit_tolerance.items()),
              sorted(bound.items()), MAX_DEPTH,
              QUANTUM_BITS, STICKY, CHECK_POINTS, RD_TERMS)
    if family == "outside":
        digest.update(b"outside\n")
    digest.update(repr(layout).encode())
    if family == "inside":
        digest.update(inspect.getsource(_quadrature).encode())
        functions = (_fast.rd_series, _fast.mean_skeleton, _fast.sign_variance, _fast.delta_part,
                     _fast.variance_skeleton, _fast.evaluate, _fast.compile_table, _fast._chebyshev_to_monomial)
    else:
        digest.update(inspect.getsource(_outside).encode())
        digest.update(repr(_fast.OUTSIDE_LOG_B).encode())
        functions = (_fast.rd_series, _fast._erf_over_a, _fast.outside_mean_skeleton, _fast.outside_variance_skeleton,
                     _fast.outside_b, _fast.evaluate, _fast.compile_table, _fast._chebyshev_to_monomial,
                     outside_rd_coefficients)
    for function in functions:
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()


def read_previous(path: Path) -> dict | None:
    """The committed module's tables (cells, integer coefficients, certificate), or None."""
    if not path.is_file():
        return None
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # our own generated file: data only
    previous = {}
    for kind in KINDS:
        prefix = kind.upper()
        previous[kind] = (np.array(namespace[f"{prefix}_CELLS"], dtype=float).reshape(-1, 4),
                          _fast.decode(namespace[f"{prefix}_COEFFICIENTS"], _fast.TERMS),
                          namespace["CERTIFICATE"][kind])
    return previous


def build(previous: dict | None = None, log=None, family: str = "inside") -> dict:
    """kind -> (cells, integer coefficients, certificate rows, seconds); reuses ``previous`` where it holds."""
    rd = family_rd(family)
    bounds = tolerances(family)[1]
    out = {}
    for kind in KINDS:
        start = time.perf_counter()
        old = previous.get(kind) if previous else None
        cells = layout(kind, rd, family, old[0] if old is not None else None)
        fresh = np.array([quantize(fit(kind, rect, rd, family)) for rect in cells])
        integers, kept = _sticky(cells, fresh, old)
        table = _fast.Table(cells=cells, chebyshev=integers, quantum_bits=QUANTUM_BITS)
        X, Y, error = check_errors(kind, table, rd, family)
        if error.max() > bounds[kind] and old is not None:  # the committed layout no longer holds: refit
            return _rebuild(previous, kind, log, family)
        if not error.max() <= bounds[kind]:
            worst = int(np.argmax(error))
            raise ArithmeticError(f"{family} {kind} table: relative error {error.max():.3g} at (asinh a, log b) = "
                                  f"({X[worst]:.6g}, {Y[worst]:.6g}) exceeds the certified bound "
                                  f"{bounds[kind]:g}")
        rows = certificate(X, Y, error, cells, family)
        if kept and _bounds_hold(old[2], rows):
            rows = old[2]
        out[kind] = (cells, integers, rows, time.perf_counter() - start, X.size)
        if log:
            log(f"{family} {kind}: {len(cells)} rectangles, max error {error.max():.3g} on {X.size} check points, "
                f"{out[kind][3]:.1f} s")
    return out


def _rebuild(previous: dict, kind: str, log, family: str = "inside") -> dict:
    trimmed = dict(previous)
    trimmed.pop(kind)
    return build(trimmed or None, log, family) if trimmed else build(None, log, family)


def _bounds_hold(old_rows, new_rows) -> bool:
    """The committed certificate's printed bounds still bound the errors measured now."""
    if len(old_rows) != len(new_rows):
        return False
    for old, new in zip(old_rows, new_rows):
        if old[:3] != new[:3]:
            return False
        if new[3] != "-" and (old[3] == "-" or float(new[3]) > float(old[3])):
            return False
    return True


HEADER = '''"""Generated by ``softsign-scaling derive`` (softsign_scaling/codegen/moments_code.py); do not edit.

The tables of the fast exact moments (numeric/_fast.py): the ratios of the SoftSign mean and variance to
their skeletons, piecewise polynomials of total degree {degree} in (asinh|a|, log b), fitted to the float64
quadrature of numeric/_quadrature.py.  Coefficients: integers times 2^-{bits}, zigzag-varint, base64.

Certificate: the largest relative error of the runtime evaluation on {checks} seeded check points per
rectangle (none of them a fit node), against the quadrature; generation fails above {bound}.
{table}
Inputs fingerprint: {fingerprint}
"""

'''

OUTSIDE_HEADER = '''"""Generated by ``softsign-scaling derive`` (softsign_scaling/codegen/moments_code.py); do not edit.

The tables of the fast exact moments with eps outside the root, u = x/(|x| + b) (numeric/_fast.py,
``outside_moments``): the ratios of the mean and variance to their skeletons, piecewise polynomials of total
degree {degree} in (asinh|a|, Y), Y affine in log b (log b in [-50, 16] on the grid's Y range), fitted to the
float64 quadrature of numeric/_outside.py.  Coefficients: integers times 2^-{bits}, zigzag-varint, base64.

Certificate: the largest relative error of the runtime evaluation on {checks} seeded check points per
rectangle (none of them a fit node), against the quadrature; generation fails above {bound}.
{table}
Inputs fingerprint: {fingerprint}
"""

'''


def _certificate_table(tables: dict) -> str:
    lines = ["| table | abs(a) | b | rectangles | max relative error |", "| --- | --- | --- | --- | --- |"]
    for kind in KINDS:
        for x_name, y_name, count, bound in tables[kind][2]:
            lines.append(f"| {kind} | {x_name} | {y_name} | {count} | {bound} |")
    return "\n".join(lines)


def source(tables: dict, family: str = "inside") -> str:
    header = HEADER if family == "inside" else OUTSIDE_HEADER
    text = header.format(degree=_fast.DEGREE, bits=QUANTUM_BITS, checks=CHECK_POINTS + 8,
                         bound=", ".join(f"{value:g} ({kind})" for kind, value in tolerances(family)[1].items()),
                         table=_certificate_table(tables), fingerprint=fingerprint(family))
    lines = [text.rstrip("\n"), "", f"QUANTUM_BITS = {QUANTUM_BITS}",
             f"RD_COEFFICIENTS = {tuple(family_rd(family).tolist())!r}", "CERTIFICATE = {"]
    for kind in KINDS:
        lines.append(f"    {kind!r}: {tables[kind][2]!r},")
    lines.append("}")
    for kind in KINDS:
        cells, integers = tables[kind][0], tables[kind][1]
        flat = ", ".join(repr(float(x)) for x in cells.ravel())
        lines.append(f"{kind.upper()}_CELLS = ({flat})")
        lines.append(f"{kind.upper()}_COEFFICIENTS = {_fast.encode(integers)!r}")
    return "\n".join(lines) + "\n"


COMMITTED = Path(__file__).resolve().parents[1] / "numeric" / "generated" / "exact_tables.py"
COMMITTED_OUTSIDE = Path(__file__).resolve().parents[1] / "numeric" / "generated" / "outside_tables.py"


def write_moment_tables(root: Path, force: bool = False, log=None) -> list[Path]:
    """Write numeric/generated/exact_tables.py and numeric/generated/outside_tables.py under ``root``; the paths written (empty when
    unchanged).

    Not refitted while a fingerprint is current (unless ``force``): the file under ``root`` is kept, or else the
    package's committed tables are copied (the cache, as the tests copy generated/closed_forms.py).  A refit starts from the
    layout of the file under ``root`` or else the committed one (see the module docstring: STICKY); from scratch
    only when there is none, or when that layout no longer meets the certified bound."""
    written = []
    for family, relative, committed in (("inside", TABLES_PATH, COMMITTED),
                                        ("outside", OUTSIDE_TABLES_PATH, COMMITTED_OUTSIDE)):
        path = Path(root) / relative
        current = f"Inputs fingerprint: {fingerprint(family)}\n"
        if not force and path.is_file() and current in path.read_text():
            continue
        if not force and committed.is_file() and current in committed.read_text():
            written += [path] if write_text(path, committed.read_text()) else []
            continue
        tables = build(read_previous(path) or read_previous(committed), log, family)
        written += [path] if write_text(path, source(tables, family)) else []
    return written
