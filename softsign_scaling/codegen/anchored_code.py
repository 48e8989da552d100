"""Generate softsign_scaling/numeric/generated/anchored.py from A-1 .. A-4 (the anchored closed form), and its table
softsign_scaling/numeric/generated/anchored_table.py (the fast route).

The module imports only numpy and scipy.special and holds expressions and coefficients only (the runtime that
evaluates them is the ordinary module numeric/anchored_closed.py).  Each function's body is printed by SymPy's
NumPyPrinter from the derived expressions, each series' coefficients from A-4's; the only rewriting is exp(u) K_nu(u) -> kve(nu, u) and
exp(x^2) erfc(x) -> erfcx(x) (scaled functions, no overflow), each checked to be an exact factorisation.
The constants the template needs (B_SWITCH, the series variable W) are the ones the ``anchored`` family
registers (:data:`softsign_scaling.sections.FAMILIES`).

The fast route (``moments_anchored``, what the ``anchored`` model calls).  The moments depend on b only through
three functions of one variable, each O(1) on the whole half-line (r = b^2 + pi/2):

    Kr = 1/(k0^2 r)   (1 at b = 0 and as b -> oo),   S = s0 r   (pi/2 -> 1),   C = c_gap   (pi/2 -> 2.429),

so that K = 1/k0^2 = Kr r, the mean is a/sqrt(a^2 + K) and the variance (C a^2 + S K)/((a^2 + K)(a^2 + r)).
They are tabulated as piecewise polynomials of degree TABLE_DEGREE in y = log b on segments of width 1/INV_H
centred at Y_LO + i/INV_H, y in [Y_LO, Y_HI] = [-40, 20]; outside, the end segments' centre values, which equal
the functions to O(b) <= 5e-18 (below) and O(1/b^2) <= 5e-18 (above; b >= 1e50 is the model's far form).

* Fit: per segment, Chebyshev interpolation at TABLE_DEGREE + 1 first-kind nodes of the closed forms A-1 and A-2
  (the printed expressions, evaluated by mpmath at 40 + 1.8 max(y, 0) digits: the large-b cancellations in
  K1 - K0, 1 - s0 and C cost about 1.74 y digits), converted to monomials in the local variable t in [-1/2, 1/2],
  all in mpmath, then rounded to integers times 2^-TABLE_QUANTUM_BITS (exact in float64: every integer is below
  2^53).  No float64 arithmetic precedes the rounding, so the integers do not depend on the machine's libm.
* Certificate: the runtime evaluation (this module's printed ``table_values``, in float64) on TABLE_CHECK_POINTS
  seeded points per segment (never a node) and on points beyond both ends, against mpmath; the maxima per
  band of b are printed in the table's header (rounded up to one digit; a refit keeps the committed rows while
  they still bound the errors measured, as moments_code does), and generation fails above TABLE_BOUND.
* Not refitted while the fingerprint (layout, this generator's fit and runtime text, A-1 and A-2's printed
  expressions) is unchanged, unless forced: the table under the root is kept, or the committed one copied.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import textwrap
from pathlib import Path

import mpmath as mp
import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..files import write_text
from ..numeric import anchored_fast
from ..sections import family
from ..steps import Derivation
from ..symbols import a, b

GENERATED = Path("softsign_scaling") / "numeric" / "generated" / family("anchored").module_file
kve, erfcx = sp.Function("kve"), sp.Function("erfcx")


def _print(expr: sp.Expr) -> str:
    printer = NumPyPrinter({"fully_qualified_modules": True,
                            "user_functions": {"kve": "scipy.special.kve", "erfcx": "scipy.special.erfcx"}})
    return printer.doprint(expr)


def _factor_out(expr: sp.Expr, core: sp.Expr, name: str) -> sp.Expr:
    prefactor = sp.simplify(expr / core)
    if prefactor.has(sp.besselk) or prefactor.has(sp.erfc):
        raise ArithmeticError(f"{name}: {core} does not factor out of {expr}")
    return prefactor


def coefficients_text(name: str, coefficients: list[sp.Expr], comment: str) -> list[str]:
    """A module-level tuple of float literals (the coefficients of a series, ascending), wrapped."""
    body = textwrap.wrap(", ".join(repr(float(c)) for c in coefficients) + ",", 112, break_on_hyphens=False)
    return [f"# {comment}", f"{name} = ("] + [f"    {line}" for line in body] + [")"]


def source(derivation: Derivation) -> str:
    """The text of numeric/generated/anchored.py: A-1 .. A-4's expressions and series coefficients, nothing else
    (numeric/anchored_closed.py evaluates them)."""
    anchored = family("anchored")
    B_SWITCH, W = anchored.constant("B_SWITCH"), anchored.constant("W")
    a1, a2, a4 = derivation["A-1"], derivation["A-2"], derivation["A-4"]
    u = b**2 / 4
    k0_core = sp.exp(u) * (sp.besselk(1, u) - sp.besselk(0, u))
    k0_closed = _factor_out(a1.printed, k0_core, "k0") * (kve(1, u) - kve(0, u))
    x = b / sp.sqrt(2)
    oms0_closed = _factor_out(1 - a2.printed, sp.exp(x**2) * sp.erfc(x), "1 - s0") * erfcx(x)
    c_closed = 1 / sp.Symbol("k0_") ** 2 - sp.Symbol("oms0_low") * (sp.Symbol("low") ** 2 + sp.pi / 2)
    bk0, oms0, c_series = (sp.Poly(e.subs(W**2, sp.Symbol("w2")), sp.Symbol("w2")) for e in
                           (a4.extra("b k0"), a4.extra("1 - s0"), a4.extra("C")))
    s0_series = sp.Poly(1 - oms0.as_expr(), sp.Symbol("w2"))  # the 1 cancels exactly, symbolically

    def coeffs(p: sp.Poly) -> list[sp.Expr]:
        return list(reversed(p.all_coeffs()))

    if coeffs(s0_series)[0] != 0:
        raise ArithmeticError("s0's series has a constant term: s0 = w2 * S0_SERIES(w2) would be wrong")
    k0s = sp.Symbol("k0_")
    m_expr = a * k0s / sp.sqrt(a**2 * k0s**2 + 1)  # A-3's mean, times k0/k0
    variance = a4.extra("variance").subs({sp.Symbol("k_0", positive=True): k0s,
                                          sp.Symbol("s_0", positive=True): sp.Symbol("s0_")})
    lines = [
        '"""Generated by `softsign-scaling derive` from steps A-1 .. A-4; do not edit.',
        "",
        "The anchored closed form's expressions and coefficients: A-1's slope k0(b) and A-2's 1 - s0(b) at a = 0",
        "(closed forms through scipy's scaled kve and erfcx), A-4's large-b series (ascending coefficients in",
        "w2 = 1/b^2, taken for b >= B_SWITCH, where the closed forms lose digits to cancellation) and A-3/A-4's shapes.",
        "numeric/anchored_closed.py evaluates them (the closed route); numeric/anchored_fast.py is the models' route.",
        '"""',
        "",
        "import numpy",
        "import scipy.special",
        "",
        f"B_SWITCH = {B_SWITCH}",
        "",
        *coefficients_text("BK0_SERIES", coeffs(bk0), "A-4: b k0(b), a series in w2"),
        "",
        *coefficients_text("ONE_MINUS_S0_SERIES", coeffs(oms0), "A-4: 1 - s0(b), a series in w2"),
        "",
        *coefficients_text("S0_SERIES", coeffs(s0_series)[1:], "A-4: s0(b)/w2 = b^2 s0(b) (no leading 1 to cancel)"),
        "",
        *coefficients_text("C_SERIES", coeffs(c_series), "A-4: C(b), a series in w2"),
        "",
        "",
        "def k0_closed(small):",
        '    """A-1: the slope of the exact SoftSign mean at a = 0, b = small > 0."""',
        f"    return {_print(k0_closed.subs(b, sp.Symbol('small')))}",
        "",
        "",
        "def one_minus_s0_closed(b):",
        '    """1 - A-2: one minus the exact SoftSign second moment at a = 0."""',
        f"    return {_print(oms0_closed)}",
        "",
        "",
        "def c_closed(low, k0_, oms0_low):",
        '    """A-4: C = 1/k0^2 - (1 - s0)(b^2 + pi/2) at b = low, from k0 and 1 - s0 there."""',
        f"    return {_print(c_closed)}",
        "",
        "",
        "def mean_shape(a, k0_):",
        '    """A-3: a/sqrt(a^2 + 1/k0^2), written as a k0/sqrt(a^2 k0^2 + 1)."""',
        f"    return {_print(m_expr)}",
        "",
        "",
        "def variance_shape(a, b, k0_, s0_, C):",
        '    """A-3/A-4: s - m^2 as [a^2 C + s0 (b^2 + pi/2)/k0^2] / ((a^2 + b^2 + pi/2)(a^2 + 1/k0^2)): no cancellation."""',
        f"    return {_print(variance)}",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The fast route's table.

TABLE_PATH = Path("softsign_scaling") / "numeric" / "generated" / "anchored_table.py"
TABLE_VERSION = "1"
# y = log b: the layout is the runtime's (numeric/anchored_fast.py says why these widths and degree)
Y_LO, Y_HI, INV_H, SEGMENTS = anchored_fast.Y_LO, anchored_fast.Y_HI, anchored_fast.INV_H, anchored_fast.SEGMENTS
TABLE_DEGREE = anchored_fast.DEGREE
TABLE_QUANTUM_BITS = 51  # coefficients below 2.5 in size: integers below 2^53, exact in float64
TABLE_CHECK_POINTS = 8
TABLE_BOUND = 3e-14  # relative, each of Kr, S, C: generation fails above
FUNCTIONS = ("Kr", "S", "C")
# Points beyond the table's ends (certified in their own row): the clamped values' O(b) and O(1/b^2) errors.
OUTSIDE = (1e-300, 1e-100, 1e-30, 3e-18, 6e8, 1e12, 1e30, 9.9e49)

def runtime_source() -> str:
    """The fast route's source (an ordinary module, numeric/anchored_fast.py): part of the table's fingerprint."""
    return inspect.getsource(anchored_fast)


def _runtime_namespace() -> dict:
    """The fast route as it ships (the certificate evaluates exactly that code)."""
    return vars(anchored_fast)


def _reference(derivation: Derivation):
    """b (mpf) -> (Kr, S, C) as mpf, from A-1's and A-2's printed closed forms by mpmath."""
    k0_of = sp.lambdify(b, derivation["A-1"].printed, "mpmath")
    s0_of = sp.lambdify(b, derivation["A-2"].printed, "mpmath")

    def values(bv):
        y = float(mp.log(bv))
        with mp.workdps(40 + int(1.8 * max(y, 0.0))):
            k0, s0 = k0_of(bv), s0_of(bv)
            r = bv * bv + mp.pi / 2
            return 1 / (k0 * k0 * r), s0 * r, 1 / (k0 * k0) - (1 - s0) * r

    return values


def _segment_integers(values, segment: int) -> list[list[int]]:
    """[function][power] integer monomial coefficients (units 2^-TABLE_QUANTUM_BITS) of one segment, all in mpmath."""
    size = TABLE_DEGREE + 1
    with mp.workdps(50):
        nodes = [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / size) for j in range(size)]  # u in [-1, 1], t = u/2
        centre = mp.mpf(Y_LO) + mp.mpf(segment) / INV_H
        samples = [values(mp.exp(centre + u / (2 * INV_H))) for u in nodes]
        power = [[int(c) for c in np.polynomial.chebyshev.cheb2poly(np.eye(size)[k])] for k in range(size)]
        out = []
        for f in range(len(FUNCTIONS)):
            chebyshev = [2 * mp.fsum(samples[j][f] * mp.cos(k * mp.pi * (j + mp.mpf(1) / 2) / size) for j in range(size))
                         / size for k in range(size)]
            chebyshev[0] /= 2
            monomial_u = [mp.fsum(chebyshev[k] * power[k][m] for k in range(m, size) if m < len(power[k]))
                          for m in range(size)]
            out.append([int(mp.nint(monomial_u[m] * 2**m * mp.mpf(2) ** TABLE_QUANTUM_BITS)) for m in range(size)])
    return out


def _check_points() -> np.ndarray:
    """TABLE_CHECK_POINTS seeded b per segment (float64, none a node), then the OUTSIDE points."""
    points = []
    for segment in range(SEGMENTS):
        t = np.random.default_rng([20261129, segment]).uniform(-0.5, 0.5, TABLE_CHECK_POINTS)
        points += [float(mp.exp(mp.mpf(Y_LO) + (segment + mp.mpf(float(x))) / INV_H)) for x in t]
    return np.array(points + list(OUTSIDE))


_BANDS = ((0.0, 1e-17, "b < 1e-17 (clamped)"), (1e-17, 1e-3, "1e-17 <= b < 1e-3"), (1e-3, 10.0, "1e-3 <= b < 10"),
          (10.0, 4.8e8, "10 <= b < 4.8e8"), (4.8e8, math.inf, "4.8e8 <= b (clamped)"))


def certify(integers: np.ndarray, values) -> tuple[tuple, float]:
    """(certificate rows (function, band, max relative error rounded up), the largest error) of the runtime code."""
    from .moments_code import ceil_one_digit

    table = np.ldexp(integers.astype(float), -TABLE_QUANTUM_BITS).reshape(3, TABLE_DEGREE + 1, SEGMENTS)
    points = _check_points()
    fast = _runtime_namespace()["table_values"](points, 3, table)
    with mp.workdps(30):
        exact = np.array([[float(v) for v in values(mp.mpf(float(x)))] for x in points]).T
    error = np.abs(np.array(fast) / exact - 1.0)
    rows = []
    for f, name in enumerate(FUNCTIONS):
        for low, high, band in _BANDS:
            at = (points >= low) & (points < high)
            rows.append((name, band, int(at.sum()), ceil_one_digit(float(error[f][at].max()))))
    return tuple(rows), float(error.max())


def table_fingerprint(derivation: Derivation) -> str:
    digest = hashlib.sha256(f"anchored table {TABLE_VERSION}\n".encode())
    layout = (Y_LO, Y_HI, INV_H, TABLE_DEGREE, TABLE_QUANTUM_BITS, TABLE_CHECK_POINTS, TABLE_BOUND, OUTSIDE)
    digest.update(repr(layout).encode())
    digest.update(runtime_source().encode())
    for function in (_reference, _segment_integers, _check_points, certify):
        digest.update(inspect.getsource(function).encode())
    for label in ("A-1", "A-2"):
        digest.update(sp.srepr(derivation[label].printed).encode())
    return digest.hexdigest()


TABLE_HEADER = """\"\"\"Generated by ``softsign-scaling derive`` (softsign_scaling/codegen/anchored_code.py); do not edit.

The anchored model's fast route (numeric/generated/anchored.py, ``moments_anchored``): Kr = 1/(k0^2 (b^2 + pi/2)),
S = s0 (b^2 + pi/2) and C (A-1, A-2, A-4) as piecewise polynomials of degree {degree} in t, the position inside a
segment of y = log b ({segments} segments of width 1/{inv_h} centred at {y_lo} + i/{inv_h}), fitted by Chebyshev
interpolation to A-1 and A-2 evaluated by mpmath.  Coefficients: monomial, integers times 2^-{bits}, rows
(function, power), zigzag-varint, base64.

Certificate: the largest relative error of the runtime evaluation (float64) against mpmath on {checks} seeded
points per segment (none a fit node) and {outside} points beyond the table's ends; generation fails above {bound:g}.
{table}
Inputs fingerprint: {fingerprint}
\"\"\"

"""


def table_source(integers: np.ndarray, rows: tuple, fingerprint: str) -> str:
    from ..numeric._fast import encode

    lines = ["| function | b | points | max relative error |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {band} | {count} | {bound} |" for name, band, count, bound in rows]
    text = TABLE_HEADER.format(degree=TABLE_DEGREE, segments=SEGMENTS, inv_h=INV_H, y_lo=Y_LO, bits=TABLE_QUANTUM_BITS,
                               checks=TABLE_CHECK_POINTS, outside=len(OUTSIDE), bound=TABLE_BOUND,
                               table="\n".join(lines), fingerprint=fingerprint)
    return (text + f"QUANTUM_BITS = {TABLE_QUANTUM_BITS}\nCERTIFICATE = {rows!r}\n"
            f"COEFFICIENTS = {encode(integers)!r}\n")


def fit_table(derivation: Derivation, log=None) -> np.ndarray:
    """The integer coefficients, shape (3 (TABLE_DEGREE + 1), SEGMENTS): rows (function, power), one column a segment."""
    values = _reference(derivation)
    columns = []
    for segment in range(SEGMENTS):
        columns.append(np.array(_segment_integers(values, segment), dtype=np.int64).reshape(-1))
        if log and segment % 100 == 0:
            log(f"anchored table: segment {segment}/{SEGMENTS}")
    return np.array(columns).T.copy()


def _previous_certificate(path: Path):
    if not path.is_file():
        return None
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # our own generated file: data only
    return namespace.get("CERTIFICATE")


COMMITTED_TABLE = Path(__file__).resolve().parents[1] / "numeric" / "generated" / "anchored_table.py"


def write_anchored_table(derivation: Derivation, root: Path, force: bool = False, log=None) -> list[Path]:
    """Write numeric/generated/anchored_table.py under ``root`` (the paths written; empty when unchanged).  Not refitted while
    its fingerprint is current (unless ``force``): the file under ``root`` is kept, or the committed one copied."""
    path = Path(root) / TABLE_PATH
    fingerprint = table_fingerprint(derivation)
    current = f"Inputs fingerprint: {fingerprint}\n"
    if not force and path.is_file() and current in path.read_text():
        return []
    if not force and COMMITTED_TABLE.is_file() and current in COMMITTED_TABLE.read_text():
        return [path] if write_text(path, COMMITTED_TABLE.read_text()) else []
    integers = fit_table(derivation, log)
    rows, worst = certify(integers, _reference(derivation))
    if not worst <= TABLE_BOUND:
        raise ArithmeticError(f"anchored table: relative error {worst:.3g} exceeds the bound {TABLE_BOUND:g}")
    old = _previous_certificate(path) or _previous_certificate(COMMITTED_TABLE)
    if old is not None and _bounds_hold(old, rows):
        rows = old  # last-digit noise of float64 libm does not rewrite the file
    return [path] if write_text(path, table_source(integers, rows, fingerprint)) else []


def _bounds_hold(old_rows, new_rows) -> bool:
    if len(old_rows) != len(new_rows):
        return False
    return all(old[:3] == new[:3] and float(new[3]) <= float(old[3]) for old, new in zip(old_rows, new_rows))


def write_anchored_module(derivation: Derivation, root: Path, force: bool = False) -> list[Path]:
    """Write softsign_scaling/numeric/generated/anchored.py under ``root`` (a second to print: always from scratch) and its
    table generated/anchored_table.py (refitted only when its fingerprint changes, or with ``force``); the paths written
    (empty when unchanged)."""
    path = Path(root) / GENERATED
    written = [path] if write_text(path, source(derivation)) else []
    return written + write_anchored_table(derivation, root, force)
