"""Numerically stable forms of the clipped moments (E-8, E-11) and of the closures (E-10, E-12, E-14, E-15).

The derived E-8 and E-11 are sums of erf and exp terms whose sizes can dwarf
their sum: at b = 1e-9 the terms of E-8 are ~ a/b while E-8 is ~ erf(a/sqrt2),
and a 50-digit evaluation is needed to see the answer.  This module derives, in
SymPy, equivalent forms that float64 can evaluate, and proves each equivalent
to the pipeline's expression:

* **Tail forms.**  A clipped moment is E[p_j(z)] over Gaussian pieces split at
  t_1 < t_2.  Written around the piece that holds the Gaussian's bulk, it is
  the bulk polynomial's plain moment plus corrections from the tails beyond the
  split points, each a partial moment psi_k(t) = E[((z - t)^+)^k] (psi_0 = Q,
  the upper tail probability).  psi_k(t) is small when t is far on the far
  side, and is computed from erfc and exp without cancellation (for t > 0 with
  a relative error ~ t^(2k) eps).  "upper" forms use the top piece as the bulk
  (a >= b: clip mostly at +1), "lower" forms the middle piece (a < b).
  Equivalence: the tail form, with psi_k written in erfc and exp, minus the
  derived E-8 (E-11) simplifies to 0.
* **Series.**  For small b (b <= B0 and a b <= P0) the b-series of E-8 and
  E-11 from ``sympy.series``; for small a (a <= A0) the a-series of E-8.
  Equivalence: the truncation error, measured against E-8 (E-11) at 50 digits
  on the edges of the region, is below 2^-60 relative.
* **Variance** s - m^2 of the clip: the tail forms' difference, expanded with
  the psi_k kept as opaque atoms, so the bulk terms cancel exactly (in the
  upper form s - m^2 becomes E[y^2] - E[y]^2 with y = 1 - clip).
* **Closures.**  E-12 - E-9^2 = (pi/2)/(a^2 + b^2 + pi/2); E-14 with
  q = pi kappa2/(2B) is G_nu sqrt(1 + q)/(S_nu + q T_H) (1 - beta^2 = q/(1 + q)
  without cancellation, q = 0 at B = oo).

Each region's form and its condition (on a >= 0; E-8 is odd in a, E-11 even)
are :class:`Region` records; :func:`regions` returns them for the code
generator, and :func:`proofs` returns one :class:`~softsign_scaling.steps.CheckResult`
per equivalence, for ``verify`` (in four groups that need different parts of the derivation:
:data:`PROOFS`).  :func:`closures_of` gives the closure forms that the code generator prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mpmath as mp
import sympy as sp

from .checks.base import symbolic_zero
from .checks.evaluate import mp_function
from .gaussian import clip_pieces, piece
from .steps import CheckResult, Derivation
from .symbols import TO_REDUCED, B, G_nu, S_nu, T_H, a, b, gHg, gg, kappa2, trSH, z

t = sp.Symbol("t", real=True)
q = sp.Symbol("q", nonnegative=True)  # pi kappa2 / (2B): the mean-field noise ratio, 0 at B = oo
noise = sp.Symbol("c_noise", positive=True)  # pi kappa2 / 2, so that q = c_noise / B

# Region thresholds (a >= 0).  Chosen so that each form's float64 evaluation keeps ~13 digits on its
# region (measured by tests/test_numeric_accuracy.py against 50-digit mpmath), and the series converge.
B0 = sp.Rational(1, 10)  # series in b below: the tail forms lose ~ |log10 b| digits as b -> 0
P0 = sp.Rational(3, 5)  # ... while a b <= P0: the b-series converges like (a b)^(2k)/(2k + 1)!
A_SAT = sp.Integer(40)  # a > 40 with b <= B0: E-8 = E-11 = 1 to float64 (psi_k(a - b) underflows)
A0 = sp.Rational(1, 20)  # series in a below: the lower form of E-8 loses digits as a -> 0
B_SAT = sp.Integer(40)  # b > 40 with a <= A0: E-8 = a/b to float64
C_LOWER = sp.Integer(2)  # lower (bulk in the linear piece) tail forms for a <= b - C_LOWER
SERIES_TOLERANCE = 2.0**-60  # truncation error of a series form, relative, on its region

GENEROUS_ORDER_B = 17  # the b-series is computed to O(b^17), then truncated (measured; degree 15 is used)
GENEROUS_ORDER_A = 14  # the a-series to O(a^14)


class NormalTail(sp.Function):
    """Q(t) = P(z > t) = erfc(t/sqrt2)/2, left unevaluated (SymPy would turn erfc(-x) into 2 - erfc(x))."""

    nargs = 1

    def _eval_rewrite_as_erfc(self, arg, **kwargs):
        return sp.erfc(arg / sp.sqrt(2)) / 2


class NormalDensity(sp.Function):
    """phi(t) = exp(-t^2/2)/sqrt(2 pi), left unevaluated."""

    nargs = 1

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return sp.exp(-arg**2 / 2) / sp.sqrt(2 * sp.pi)


class GaussTail(sp.Function):
    """psi_k(t) = E[((z - t)^+)^k] for z ~ N(0, 1): Gaussian partial moments (psi_0(t) = Q(t) = P(z > t)).

    Kept opaque while forms are built, so that cancellations between bulk terms
    happen symbolically; :func:`to_tails` writes it in Q(t) and phi(t).
    """

    nargs = 2

    def _sympystr(self, printer):
        return f"psi_{self.args[0]}({printer._print(self.args[1])})"

    def _latex(self, printer):
        return rf"\psi_{{{self.args[0]}}}\left({printer._print(self.args[1])}\right)"


def Q_of(arg: sp.Expr) -> sp.Expr:
    """Upper tail probability of N(0, 1): accurate for arg > 0 (erfc), no cancellation for arg < 0."""
    return NormalTail(arg)


def phi_of(arg: sp.Expr) -> sp.Expr:
    return NormalDensity(arg)


@lru_cache(maxsize=None)
def tail_definition(k: int) -> sp.Expr:
    """psi_k(t) in Q(t) and phi(t), derived by integrating (z - t)^k phi(z) over (t, oo)."""
    integral = piece(sp.expand((z - t) ** k), t, sp.oo)
    Qs, Ps = sp.symbols("Q_t phi_t")
    # The antiderivatives are erf and exp of t: name them Q = (1 - erf(t/sqrt2))/2 and phi.
    named = integral.subs(sp.erf(sp.sqrt(2) * t / 2), 1 - 2 * Qs).subs(sp.exp(-t**2 / 2), sp.sqrt(2 * sp.pi) * Ps)
    named = sp.expand(named)
    if named.free_symbols - {Qs, Ps, t}:  # pragma: no cover - guards the substitution above
        raise ValueError(f"psi_{k} did not reduce to Q and phi: {named}")
    poly = sp.Poly(named, Qs, Ps)
    return sum((sp.factor(c) * Qs**i * Ps**j for (i, j), c in sorted(poly.terms())), sp.Integer(0)).subs(
        {Qs: Q_of(t), Ps: phi_of(t)})


def to_tails(expr: sp.Expr) -> sp.Expr:
    """psi_k atoms written in Q and phi (the form that is printed)."""
    return expr.replace(lambda e: isinstance(e, GaussTail),
                        lambda e: tail_definition(int(e.args[0])).xreplace({t: e.args[1]}))


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """psi_k, Q and phi written in erfc and exp (for proofs and mpmath)."""
    expr = to_tails(expr)
    return expr.replace(lambda e: isinstance(e, NormalTail), lambda e: sp.erfc(e.args[0] / sp.sqrt(2)) / 2).replace(
        lambda e: isinstance(e, NormalDensity), lambda e: sp.exp(-e.args[0] ** 2 / 2) / sp.sqrt(2 * sp.pi))


def gaussian_moment(poly: sp.Expr) -> sp.Expr:
    """E[poly(z)] over the whole line."""
    return sp.expand(piece(poly, -sp.oo, sp.oo))


def _tail(poly: sp.Expr, at: sp.Expr, side: str) -> sp.Expr:
    """E[poly(z); z > at] (side "upper") or E[poly(z); z < at] ("lower") as a sum of psi_k."""
    w = sp.Dummy("w", nonnegative=True)
    shifted = sp.Poly(sp.expand(poly.subs(z, at + w if side == "upper" else at - w)), w)
    point = at if side == "upper" else -at
    return sp.Add(*[c * GaussTail(m, point) for (m,), c in shifted.terms()])


def tail_form(pieces: list[tuple[sp.Expr, sp.Expr, sp.Expr]], bulk: int) -> sp.Expr:
    """E[f(z)] for f = pieces[j][0] on (pieces[j][1], pieces[j][2]), written around piece ``bulk``.

    f = p_bulk + sum_{j > bulk} (p_j - p_{j-1}) 1{z > t_j} - sum_{j <= bulk} (p_j - p_{j-1}) 1{z < t_j}.
    """
    polys = [p for p, _, _ in pieces]
    result = gaussian_moment(polys[bulk])
    for j in range(1, len(pieces)):
        jump, at = sp.expand(polys[j] - polys[j - 1]), pieces[j][1]
        if j > bulk:
            result += _tail(jump, at, "upper")
        else:
            result -= _tail(jump, at, "lower")
    return canonical(result)


def tail_atoms(expr: sp.Expr) -> list[sp.Expr]:
    return sorted(expr.atoms(GaussTail), key=sp.default_sort_key)


def canonical(expr: sp.Expr) -> sp.Expr:
    """A polynomial in the psi_k atoms with factored coefficients: bulk terms cancel exactly."""
    atoms = tail_atoms(expr)
    if not atoms:
        return sp.factor(sp.expand(expr))
    poly = sp.Poly(sp.expand(expr), *atoms)
    terms = []
    for exponents, coefficient in poly.terms():
        monomial = sp.Mul(*[atom**e for atom, e in zip(atoms, exponents)])
        terms.append(sp.factor(coefficient) * monomial)
    return sp.Add(*terms)


@dataclass(frozen=True)
class Region:
    """One form of a function on a region of (a >= 0, b > 0), tried in order (first condition that holds)."""

    function: str  # "mean_clip", "second_moment_clip", "variance_clip"
    name: str  # "series_b", "upper", ...
    condition: sp.Basic  # a relational/boolean in a, b (sp.true for the last region)
    form: sp.Expr  # may contain GaussTail atoms
    label: str  # the step it is equivalent to
    how: str  # one line: why the form is accurate there


def _split_points(e7: sp.Basic) -> tuple[sp.Expr, sp.Expr]:
    """E-7's split points in reduced variables: z = -a - b and z = -a + b."""
    low, high = (sp.simplify(e.subs(TO_REDUCED)) for e in e7)
    return low, high


def _clip_pieces(derivation: Derivation, power: int):
    low, high = _split_points(derivation["E-7"].result)
    return clip_pieces(power, low, high)


def _series(expr: sp.Expr, var: sp.Symbol, order: int) -> sp.Expr:
    """sympy.series of ``expr`` in ``var`` at 0 to O(var^order).

    E-8 and E-11 carry removable poles 1/b, 1/b^2 in their terms; the series of var^p expr (no
    pole, term by term) divided by var^p is the same series, found ~3x faster."""
    expanded = sp.expand(expr)
    pole = max([0] + [-int(term.as_powers_dict().get(var, 0)) for term in sp.Add.make_args(expanded)])
    regular = sp.expand(expanded * var**pole)
    return sp.expand(sp.series(regular, var, 0, order + pole).removeO() / var**pole)


def _truncate(series: sp.Expr, var: sp.Symbol, degree: int) -> sp.Expr:
    return sp.Add(*[term for term in sp.Add.make_args(series) if sp.degree(term, var) <= degree])


def _relative_error_at(form: sp.Expr, exact: sp.Expr, points: list[tuple[str, str]], dps: int = 50,
                       cancels: bool = True, stop_above: float | None = None) -> float:
    """max |form - exact|/|exact| over ``points``, with ``dps`` digits to spare.

    ``cancels``: ``exact`` is a difference of terms near 1 (E-11 - E-8^2), so the working
    precision grows with the value's smallness (a variance of 1e-80 needs 80 more digits).
    ``stop_above``: return as soon as one point's error exceeds it (a rejected truncation needs no more)."""
    f = _mp_of(form)
    worst = mp.mpf(0)
    for av, bv in points:
        work, reference = _reference_at(exact, av, bv, dps, cancels)
        with mp.workdps(work):
            error = abs(f(mp.mpf(av), mp.mpf(bv)) - reference)
            worst = max(worst, error / abs(reference) if reference != 0 else error)
        if stop_above is not None and worst > stop_above:
            break
    return float(worst)


@lru_cache(maxsize=64)
def _mp_of(expr: sp.Expr):
    """An mpmath function of (a, b) for ``expr`` (psi_k written out), compiled once per expression."""
    return mp_function(to_elementary(expr), (a, b))


@lru_cache(maxsize=16384)
def _reference_at(exact: sp.Expr, av: str, bv: str, dps: int, cancels: bool) -> tuple[int, mp.mpf]:
    """(working digits, value) of ``exact`` at (av, bv) with ``dps`` digits to spare after cancellation.

    Cached: every truncation candidate, and the proofs after them, are measured against the same
    references at the same points.  (The derivation's cost is dominated by sympy.series, ~70%.)"""
    e = _mp_of(exact)
    work = dps + 30
    while True:
        with mp.workdps(work):
            reference = e(mp.mpf(av), mp.mpf(bv))
            lost = int(-mp.log10(abs(reference))) if (reference != 0 and cancels) else 0
            if lost + dps + 30 <= work:
                return work, reference
        work = lost + dps + 60


def series_b_points() -> list[tuple[str, str]]:
    """Edges of the series-in-b region {b <= B0, a b <= P0, a <= A_SAT}, where truncation is worst."""
    pts = []
    b0, p0 = float(B0), float(P0)
    for av in ("0", "1e-6", "0.1", "0.5", "1", "1.5", "2", "3", "4", "5", "6"):
        pts.append((av, repr(min(b0, p0 / float(av)) if float(av) > 0 else b0)))
    for av in ("6", "8", "10", "15", "20", "30", "40"):
        pts.append((av, repr(p0 / float(av))))
    for bv in ("1e-12", "1e-6", "1e-3", "0.03", "0.06"):
        for av in ("0.3", "1", "2.5"):
            pts.append((av, bv))
    return pts


def series_a_points() -> list[tuple[str, str]]:
    """Edges of the series-in-a region {a <= A0, B0 < b <= B_SAT}."""
    a0 = str(float(A0))
    pts = [(a0, bv) for bv in ("0.1", "0.2", "0.5", "0.8", "1", "1.5", "2", "3", "4", "6", "10", "20", "40")]
    pts += [("1e-3", bv) for bv in ("0.1", "1", "3", "10")]
    return pts


def _choose_truncation(full: sp.Expr, exact: sp.Expr, var: sp.Symbol, points, step: int) -> tuple[sp.Expr, int, float]:
    """The lowest truncation of ``full`` whose error on ``points`` is below SERIES_TOLERANCE."""
    top = sp.degree(full, var)
    for degree in range(0, top + 1, step):
        candidate = _truncate(full, var, degree)
        error = _relative_error_at(candidate, exact, points, stop_above=SERIES_TOLERANCE)
        if error <= SERIES_TOLERANCE:
            return candidate, degree, error
    raise ArithmeticError(f"series in {var} to degree {top} misses {SERIES_TOLERANCE} (error {error:.3g})")


def _erf_to_erfc(expr: sp.Expr) -> sp.Expr:
    return expr.replace(sp.erf, lambda arg: 1 - sp.erfc(arg))


def _tail_regions(tails: TailForms) -> dict[str, tuple[Region, ...]]:
    """Each function's tail-form regions, in the order they are tried (after its series regions)."""
    return {
        "mean_clip": (
            Region("mean_clip", "upper", a >= b, tails.mean_upper, "E-8",
                   "1 - [psi_1(a - b) - psi_1(a + b)]/b: clip mostly at +1, tails small"),
            Region("mean_clip", "lower", sp.true, tails.mean_lower, "E-8",
                   "a/b - [psi_1(b - a) - psi_1(a + b)]/b: clip mostly linear")),
        "second_moment_clip": (
            Region("second_moment_clip", "lower", a <= b - C_LOWER, tails.square_lower, "E-11",
                   "(a^2 + 1)/b^2 minus tails beyond b - a >= 2 and a + b"),
            Region("second_moment_clip", "upper", sp.true, tails.square_upper, "E-11",
                   "1 - D, D from the tails at a - b and a + b")),
        "variance_clip": (
            Region("variance_clip", "lower", a <= b - C_LOWER, tails.variance_lower, "E-11 - E-8^2",
                   "1/b^2 minus tail terms: the (a/b)^2 of s and m^2 cancelled symbolically"),
            Region("variance_clip", "upper", sp.true, tails.variance_upper, "E-11 - E-8^2",
                   "E[y^2] - E[y]^2 with y = 1 - clip: the 1's of s and m^2 cancelled symbolically")),
    }


def _approx_forms(e9: sp.Expr, e12: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """E-12 and E-12 - E-9^2 in the forms printed (factored; the variance without cancellation)."""
    return sp.factor(sp.cancel(e12)), sp.factor(sp.cancel(sp.together(e12 - e9**2)))


@dataclass(frozen=True)
class StableForms:
    """Every stable form, with what was measured while deriving them."""

    regions: tuple[Region, ...]
    series_degrees: tuple[tuple[str, int, float], ...]  # (name, degree kept, measured truncation error)
    mean_approx: sp.Expr
    second_moment_approx: sp.Expr
    variance_approx: sp.Expr
    mean_b0: sp.Expr  # b -> 0 limits (eps = 0: the sign update)
    second_moment_b0: sp.Expr
    variance_b0: sp.Expr

    def of(self, function: str) -> list[Region]:
        return [r for r in self.regions if r.function == function]


@dataclass(frozen=True)
class TailForms:
    """The tail forms of E-8 (mean), E-11 (square) and E-11 - E-8^2 (variance), around each bulk piece."""

    mean_upper: sp.Expr
    mean_lower: sp.Expr
    square_upper: sp.Expr
    square_lower: sp.Expr
    variance_upper: sp.Expr
    variance_lower: sp.Expr


@lru_cache(maxsize=4)
def _tail_forms(e7: sp.Basic) -> TailForms:
    low, high = _split_points(e7)
    mean_pieces, square_pieces = clip_pieces(1, low, high), clip_pieces(2, low, high)
    mean_upper, mean_lower = tail_form(mean_pieces, bulk=2), tail_form(mean_pieces, bulk=1)
    square_upper, square_lower = tail_form(square_pieces, bulk=2), tail_form(square_pieces, bulk=1)
    return TailForms(mean_upper, mean_lower, square_upper, square_lower,
                     canonical(square_upper - mean_upper**2), canonical(square_lower - mean_lower**2))


def derive_tail_forms(derivation: Derivation) -> TailForms:
    """The tail forms from the pipeline's E-7 (cached per expression; a few seconds)."""
    return _tail_forms(derivation["E-7"].result)


def derive_stable_forms(derivation: Derivation) -> StableForms:
    """All stable forms, derived from the pipeline's E-7, E-8, E-9, E-11 and E-12 (cached per expression set)."""
    return _derive(*(derivation[label].result for label in ("E-7", "E-8", "E-9", "E-11", "E-12")))


@lru_cache(maxsize=4)
def _derive(e7: sp.Basic, e8: sp.Expr, e9: sp.Expr, e11: sp.Expr, e12: sp.Expr) -> StableForms:
    tails = _tail_forms(e7)
    mean_upper, mean_lower = tails.mean_upper, tails.mean_lower
    square_upper, square_lower = tails.square_upper, tails.square_lower
    variance_upper, variance_lower = tails.variance_upper, tails.variance_lower

    # Series in b (b -> 0) and in a (a -> 0), truncated where the measured error is below tolerance.
    degrees = []
    mean_b_full = _series(e8, b, GENEROUS_ORDER_B)
    square_b_full = _series(e11, b, GENEROUS_ORDER_B)
    mean_series_b, deg, err = _choose_truncation(mean_b_full, e8, b, series_b_points(), 2)
    degrees.append(("mean_clip series_b", deg, err))
    square_series_b, deg, err = _choose_truncation(square_b_full, e11, b, series_b_points(), 1)
    degrees.append(("second_moment_clip series_b", deg, err))
    mean_a_full = _series(e8, a, GENEROUS_ORDER_A)
    mean_series_a, deg, err = _choose_truncation(mean_a_full, e8, a, series_a_points(), 2)
    degrees.append(("mean_clip series_a", deg, err))
    # Variance from the series: (1 - m)(1 + m) - (1 - s), with 1 - m in erfc (no cancellation near m = 1).
    # Its truncation is measured against E-11 - E-8^2 itself: 1 - m and 1 - s are small where m is near 1.
    start = max(d for name, d, _ in degrees if name.endswith("series_b"))
    for degree in range(start, GENEROUS_ORDER_B):
        mean_part, square_part = _truncate(mean_b_full, b, degree), _truncate(square_b_full, b, degree)
        complement = sp.expand(_erf_to_erfc(1 - mean_part))
        variance_series_b = complement * (1 + mean_part) - sp.expand(1 - square_part)
        # Reference: the upper tail form, proved equal to E-11 - E-8^2 (prove_tail_forms) and free of
        # cancellation near m = 1, so that 50 digits resolve even a variance of 1e-300.
        error = _relative_error_at(variance_series_b, variance_upper, series_b_points(), cancels=False,
                                   stop_above=SERIES_TOLERANCE)
        if error <= SERIES_TOLERANCE:
            break
    else:
        raise ArithmeticError(f"variance b-series misses {SERIES_TOLERANCE} (error {error:.3g})")
    degrees.append(("variance_clip series_b", degree, error))

    small_b = sp.And(b <= B0, a * b <= P0, a <= A_SAT)
    tail = _tail_regions(tails)
    regions = (
        Region("mean_clip", "series_b", small_b, mean_series_b, "E-8",
               "b-series of E-8 (sympy.series), truncated where the 50-digit error is below 2^-60"),
        Region("mean_clip", "series_a", sp.And(a <= A0, b <= B_SAT), mean_series_a, "E-8",
               "a-series of E-8: the lower form loses ~ -log10(a) digits as a -> 0"),
        *tail["mean_clip"],
        Region("second_moment_clip", "series_b", small_b, square_series_b, "E-11",
               "b-series of E-11, truncated where the 50-digit error is below 2^-60"),
        *tail["second_moment_clip"],
        Region("variance_clip", "series_b", small_b, variance_series_b, "E-11 - E-8^2",
               "(1 - m)(1 + m) - (1 - s) from the b-series, 1 - m in erfc"),
        *tail["variance_clip"],
    )
    return StableForms(
        regions=regions,
        series_degrees=tuple(degrees),
        mean_approx=e9,
        second_moment_approx=_approx_forms(e9, e12)[0],
        variance_approx=_approx_forms(e9, e12)[1],
        mean_b0=sp.limit(mean_series_b, b, 0),
        second_moment_b0=sp.limit(square_series_b, b, 0),
        variance_b0=variance_series_b.subs(b, 0),
    )


def closure_forms(derivation: Derivation, e14: sp.Expr, b_peak: sp.Expr, peak_condition: sp.Basic,
                  p10: sp.Expr) -> dict[str, sp.Basic]:
    """E-14, 1 - beta^2, E-15's B_peak and peak condition, P-10, in the forms that are printed.

    E-14 is taken with beta = (1 + pi kappa2/(2B))^(-1/2) (E-10's "beta") and
    rewritten in q = pi kappa2/(2B): beta = (1 + q)^(-1/2), 1 - beta^2 = q/(1 + q)
    (no cancellation as B grows; q = 0 at B = oo).  B_peak in c_noise = pi kappa2/2
    (so the same function serves the B_simple closure, where c_noise = B_simple).
    """
    from .symbols import beta

    beta_of = derivation["E-10"].extra("beta")
    e14 = e14.subs(beta, beta_of)
    in_q = {kappa2: 2 * B * q / sp.pi}
    eta = sp.factor(sp.simplify(e14.subs(in_q)))
    one_minus = sp.factor(sp.simplify((1 - beta_of**2).subs(in_q)))
    peak = sp.factor(sp.simplify(b_peak.subs(kappa2, 2 * noise / sp.pi)))
    # E-15 states the condition as a relation or as an expression that must be positive.
    condition = peak_condition if isinstance(peak_condition, sp.core.relational.Relational) else peak_condition > 0
    return {"eta": eta, "one_minus_beta2": one_minus, "b_peak": peak, "condition": condition, "sgd": p10,
            "e14": e14, "b_peak_source": b_peak}


# psi_k(t) for t >= CF_FROM: psi_k = phi R rho_1 ... rho_k with R = Q/phi = 1/(t + rho_1) and
# rho_j = psi_j/psi_{j-1} = j/(t + rho_{j+1}) (from the recurrence below), run backwards from
# rho_{CF_DEPTH + 1} = 0.  Every factor is positive: no cancellation, where the Q/phi form of
# psi_k loses ~ t^(2k) eps.
CF_FROM = 4
CF_DEPTH = 48


def tail_recurrence(k: int) -> sp.Expr:
    """psi_{k+1}(t) + t psi_k(t) - k psi_{k-1}(t), zero for k >= 1 (integration by parts); k = 0: psi_1 + t psi_0 - phi."""
    if k == 0:
        return tail_definition(1) + t * tail_definition(0) - NormalDensity(t)
    return tail_definition(k + 1) + t * tail_definition(k) - k * tail_definition(k - 1)


def continued_fraction_tail(k: int, at: mp.mpf, depth: int = CF_DEPTH) -> mp.mpf:
    """psi_k(at) from the truncated continued fraction (mpmath; call inside workdps)."""
    rho, ratios = mp.mpf(0), {}
    for j in range(depth, 0, -1):
        rho = j / (at + rho)
        ratios[j] = rho
    value = mp.npdf(at) / (at + ratios[1])
    for j in range(1, k + 1):
        value *= ratios[j]
    return value


# ---------------------------------------------------------------------------------------------
# Proofs: each returns CheckResults (label = the step the form is equivalent to).


def _identity_check(label: str, name: str, difference: sp.Expr, points=None, symbols=(a, b)) -> CheckResult:
    """difference == 0: symbolically (erfc -> 1 - erf, expand), else at 30 digits on ``points``."""
    elementary = to_elementary(difference)
    try:
        proved = sp.expand(elementary.rewrite(sp.erf)) == 0 or symbolic_zero(elementary)
    except (TypeError, ValueError, NotImplementedError):  # pragma: no cover
        proved = False
    if proved:
        return CheckResult(label=label, name=name, kind="identity", method="symbolic", verdict="pass",
                           max_abs_error=0.0)
    if points is None:
        return CheckResult(label=label, name=name, kind="identity", method="symbolic", verdict="fail",
                           detail="SymPy did not reduce the difference to 0 and no points were given")
    f = mp_function(elementary, symbols)
    worst = mp.mpf(0)
    with mp.workdps(70):
        for point in points:
            worst = max(worst, abs(f(*[mp.mpf(p) for p in point])))
    ok = worst < mp.mpf(10) ** -30
    return CheckResult(label=label, name=name, kind="identity", method="numeric", verdict="pass" if ok else "fail",
                       max_abs_error=float(worst), digits=30, points=len(points),
                       detail=f"max |difference| {mp.nstr(worst, 3)} at 70 working digits")


def prove_tail_forms(derivation: Derivation) -> list[CheckResult]:
    """Each tail form (upper, lower) equals the derived E-8, E-11 or E-11 - E-8^2 (symbolic)."""
    targets = {"E-8": derivation["E-8"].result, "E-11": derivation["E-11"].result,
               "E-11 - E-8^2": derivation["E-11"].result - derivation["E-8"].result ** 2}
    results = []
    for region in (r for regions in _tail_regions(derive_tail_forms(derivation)).values() for r in regions):
        label = "E-11" if region.label == "E-11 - E-8^2" else region.label
        results.append(_identity_check(label, f"stable form {region.function}/{region.name} == {region.label}",
                                       region.form - targets[region.label]))
    return results


def prove_series_forms(derivation: Derivation) -> list[CheckResult]:
    """Each series form's truncation error against E-8 (E-11, E-11 - E-8^2), 50 digits, on its region's edges."""
    forms = derive_stable_forms(derivation)
    e8, e11 = derivation["E-8"].result, derivation["E-11"].result
    targets = {"E-8": e8, "E-11": e11, "E-11 - E-8^2": e11 - e8**2}
    results = []
    for region in forms.regions:
        if not region.name.startswith("series"):
            continue
        points = series_b_points() if region.name == "series_b" else series_a_points()
        points = [p for p in points if float(p[0]) > 0 or region.function != "mean_clip"]
        error = _relative_error_at(region.form, targets[region.label], points)
        label = "E-11" if region.label == "E-11 - E-8^2" else region.label
        results.append(CheckResult(
            label=label, name=f"stable form {region.function}/{region.name}: truncation error on its region",
            kind="approximation", method="numeric", verdict="pass" if error <= SERIES_TOLERANCE else "fail",
            max_rel_error=error, digits=50, points=len(points),
            where=f"edges of {sp.sstr(region.condition)}", detail=f"tolerance {SERIES_TOLERANCE:.3g} relative"))
    return results


def prove_tail_functions() -> list[CheckResult]:
    """psi_k's recurrence (symbolic) and its continued fraction at depth CF_DEPTH for t >= CF_FROM (50 digits)."""
    results = [_identity_check("E-11", f"psi recurrence: psi_{k + 1} + t psi_{k} - {k} psi_{k - 1} == 0"
                               if k else "psi_1 + t psi_0 - phi == 0", tail_recurrence(k), symbols=(t,),
                               points=[(v,) for v in ("-3", "0", "0.5", "2", "7")])
               for k in (0, 1, 2)]
    points = [str(v) for v in (4, 4.5, 5, 6, 8, 10, 15, 20, 30, 38)]
    worst = mp.mpf(0)
    with mp.workdps(50):
        for k in (1, 2):
            exact = mp_function(to_elementary(tail_definition(k)), (t,))
            for v in points:
                reference = exact(mp.mpf(v))
                worst = max(worst, abs(continued_fraction_tail(k, mp.mpf(v)) / reference - 1))
    ok = worst <= 2.0**-55
    results.append(CheckResult(label="E-11", name=f"psi_1, psi_2 by continued fraction (depth {CF_DEPTH}, t >= {CF_FROM})",
                               kind="approximation", method="numeric", verdict="pass" if ok else "fail",
                               max_rel_error=float(worst), digits=50, points=2 * len(points),
                               detail="tolerance 2^-55 relative"))
    return results


def prove_approx_closures(derivation: Derivation) -> list[CheckResult]:
    """E-12 - E-9^2 and E-12 in their printed forms."""
    e9, e12 = derivation["E-9"].result, derivation["E-12"].result
    second_moment_approx, variance_approx = _approx_forms(e9, e12)
    return [
        _identity_check("E-12", "variance_approx == E-12 - E-9^2", variance_approx - (e12 - e9**2)),
        _identity_check("E-12", "second_moment_approx == E-12", second_moment_approx - e12),
    ]


def prove_limits(derivation: Derivation) -> list[CheckResult]:
    """The b -> 0 forms (from the b-series) against SymPy's limits of E-8, E-11 and E-11 - E-8^2."""
    forms = derive_stable_forms(derivation)
    e8, e11 = derivation["E-8"].result, derivation["E-11"].result
    return [
        _identity_check("E-8", "mean_clip_b0 == lim_{b->0} E-8", forms.mean_b0 - sp.limit(e8, b, 0)),
        _identity_check("E-11", "second_moment_clip_b0 == lim_{b->0} E-11", forms.second_moment_b0 - sp.limit(e11, b, 0)),
        _identity_check("E-11", "variance_clip_b0 == lim_{b->0} (E-11 - E-8^2)",
                        forms.variance_b0 - (sp.limit(e11, b, 0) - sp.limit(e8, b, 0) ** 2)),
    ]


def prove_mean_field_closures(derivation: Derivation) -> list[CheckResult]:
    """The E-14/E-15 forms in q and c_noise against the derived E-14 and E-15."""
    closures = closures_of(derivation)
    beta_of = derivation["E-10"].extra("beta")
    back = {q: sp.pi * kappa2 / (2 * B)}
    return [
        _identity_check("E-14", "eta_star_mean_field(q) == E-14 at q = pi kappa2/(2B)",
                        closures["eta"].subs(back) - closures["e14"]),
        _identity_check("E-14", "1 - beta^2 == q/(1 + q)", closures["one_minus_beta2"].subs(back) - (1 - beta_of**2)),
        _identity_check("E-15", "b_peak_mean_field(c_noise) == E-15 B_peak at c_noise = pi kappa2/2",
                        closures["b_peak"].subs(noise, sp.pi * kappa2 / 2) - closures["b_peak_source"]),
    ]


# The proofs in the order verify reports them.  Each needs a different part of the work: the series
# truncations and the b -> 0 limits need the series (~40 s, derive_stable_forms), the tail forms only the
# tail forms (a few seconds), the rest neither; verify runs the parts that share work in one process.
PROOFS = {
    "tail forms": prove_tail_forms,
    "series truncations": prove_series_forms,
    "tail functions": lambda derivation: prove_tail_functions(),
    "approximate closures": prove_approx_closures,
    "b -> 0 limits": prove_limits,
    "mean-field closures": prove_mean_field_closures,
}


# The steps the proofs are proved against: verify runs the proofs iff the derivation has all of them.
PROOF_INPUTS = ("E-7", "E-8", "E-9", "E-10", "E-11", "E-12", "E-14", "E-15")


def proofs_apply(derivation: Derivation) -> bool:
    return all(label in derivation for label in PROOF_INPUTS)


def proofs(derivation: Derivation) -> list[CheckResult]:
    """Every equivalence proof of this module, for ``verify``."""
    return [result for prove in PROOFS.values() for result in prove(derivation)]


# ---------------------------------------------------------------------------------------------
# The closure forms printed into numeric/generated/closed_forms.py (E-14, E-15, P-10), from the derivation.


def _provisional(label: str, what: str) -> sp.Basic:
    """Formulas of steps that may not exist yet (sections being written); used only when the
    derivation lacks them, and named in the generated module's header when used."""
    from .symbols import beta

    beta_of = (1 + sp.pi * kappa2 / (2 * B)) ** sp.Rational(-1, 2)
    if (label, what) == ("E-14", "result"):
        return (beta * G_nu / (beta**2 * S_nu + (1 - beta**2) * T_H)).subs(beta, beta_of)
    if (label, what) == ("E-15", "B_peak"):
        return sp.pi * kappa2 * T_H / (2 * (S_nu - 2 * T_H))
    if (label, what) == ("E-15", "peak condition"):
        return S_nu > 2 * T_H
    if (label, what) == ("P-10", "result"):
        return gg / (gHg + trSH / B)
    raise KeyError((label, what))


def _from_derivation(derivation: Derivation, label: str, what: str, provisional: list[str]) -> sp.Basic:
    try:
        step = derivation[label]
        return step.result if what == "result" else step.extra(what)
    except KeyError:
        provisional.append(f"{label} {what}")
        return _provisional(label, what)


def closures_of(derivation: Derivation, provisional: list[str] | None = None) -> dict[str, sp.Basic]:
    """The closure forms (E-14, E-15, P-10) printed into the module, from the derivation where it has them.

    ``provisional`` (if given) collects the names of the formulas the derivation lacked."""
    provisional = [] if provisional is None else provisional
    e14 = _from_derivation(derivation, "E-14", "result", provisional)
    b_peak = _from_derivation(derivation, "E-15", "B_peak", provisional)
    condition = _from_derivation(derivation, "E-15", "peak condition", provisional)
    p10 = _from_derivation(derivation, "P-10", "result", provisional)
    return closure_forms(derivation, e14, b_peak, condition, p10)
