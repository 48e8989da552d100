"""L-1 .. L-9 (this project's): the moments far from the origin: b -> oo at fixed r = a/b (L-1 .. L-4, in SGD
units), |a| -> oo with any b (L-5, L-6: the deterministic update), clip's (L-7, L-8), and the anchored outside
model's in SGD units (L-9).

At b = eps sqrt(B)/sigma >= 1e50 the regular forms cannot be evaluated in float64 (b^4 overflows, the variance
underflows), so every model carries its moments there in SGD units, m = (a/b) mu and v = nu/b^2, with the limits

  mu(r) = lim (b/a) m(r b, b),    nu(r) = lim b^2 v(r b, b)    as b -> oo at fixed r = a/b,

and the first correction of each, c/b^2 (its coefficient an extra of the step): that is what the "=" of these steps
means (exact in the limit; at b >= 1e50 the relative error is below 1e-100, far below float64's resolution).

* L-1, the exact SoftSign: softsign(r b + z, b) = g(r + z/b) with g(y) = y/sqrt(y^2 + 1) (degree 0), expanded in
  t = 1/b and averaged termwise over z ~ N(0, 1): mu = g(r)/r, nu = g'(r)^2 (the delta method, derived here).
* L-2, the article's E-9/E-12, and L-3, the anchored A-3/A-4 (with A-4's large-b series of k0, s0, C): the limits of
  the closed forms, by SymPy's series in t.
* L-4, eps outside the root (X-1): x/(|x| + b) at x = r b + z is h(r + z/b), h(y) = y/(|y| + 1), as L-1 for r > 0
  (h is odd: mu even, nu even in r).  Its kink at y = 0 makes the error O(1/b) at r = 0 (O(1/b^2) at fixed r != 0).

* L-5, L-6: the exact and the outside update as R = sqrt(a^2 + b^2) -> oo along a ray (b = 0 included): m = f(a),
  v = f'(a)^2, each with relative error O(1/R^2) (the next terms of the Taylor series in z: extras).

* L-7, clip's large-b form: clip((a + z)/b, -1, 1) (E-8/E-11's integrand) with its lower corner (at z = -|a| - b,
  ~2b away) dropped is (|a| + min(z, t))/b, t = b - |a|: mu = 1 + E[min(z, t)]/|a|, nu = Var(min(z, t)), the
  moments of min(z, t) integrated piecewise.  Its "=": the exact mu exceeds it by L(s)/|a| exactly, s = |a| + b,
  and the exact nu is within 2 (Q(s) + (|t| + 1) L(s)) + M2(s) of it (Q(s)-sized, derived in the step's note); its
  t -> +-oo limits (1, 1) and (b/|a|, 0) are what the runtime takes at |t| > T_FLAT = 40.
* L-8, clip's large-|a| form: m = sign(a), v = 0, within 2 Q(|a| - b) and 4 Q(|a| - b).
* L-9, the anchored outside model at b >= 1e50: X-14 (X-15's positive variance) at a = r b, b = 1/w, with X-15's
  series b k0, b^2 s0, C/b (all O(1)): an exact rewrite, no limit taken.

numeric/generated/limits.py prints these (codegen/limits_code.py); the families' large-b and large-|a| forms call
it (numeric/_far.py holds the regime bounds and picks clip's form per |t|).
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ..checks import reference
from ..checks.base import ClaimOutcome, Claim, LimitValue, MatchesPrinted, ZeroIdentity
from ..checks.domain import Domain, Var
from ..checks.evaluate import mp_function
from ..gaussian import clip_pieces, defining_integral, expectation
from ..steps import Derivation, Step, identity, limit
from ..symbols import a, b, z
from .common import build_in_order
from .mean import reduced_split_points

SECTION = "limits"

r = sp.Symbol("r", real=True)  # a/b
T = sp.Symbol("t", positive=True)  # 1/b
ORDER = 4  # terms of the expansions in t kept: the limit and the 1/b^2 correction need t^4 in the variance

# The numeric check: the definitions (the exact moments by mpmath quadrature, or the closed forms) at b = CHECK_B,
# at 50 digits; b^2 ((b/a) m - mu) and b^2 (b^2 v - nu) must equal the stated 1/b^2 coefficients to CHECK_TOL
# (relative), which they do up to O(1/b^2) = 1e-6 (measured: 1e-4 at b = 100).  A mu or nu off by 1e-3 relative
# moves those by ~1e3.
CHECK_B = 1000
CHECK_R = ("0.5", "-3")
CHECK_TOL = 1e-2


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_l1, _l2, _l3, _l4, _l5, _l6, _l7, _l8, _l9))


def _expect(polynomial: sp.Expr) -> sp.Expr:
    """E over z ~ N(0, 1) of a polynomial in z: z^k -> (k - 1)!! for even k, 0 for odd k."""
    poly = sp.Poly(sp.expand(polynomial), z)
    return sp.Add(*[c * (sp.factorial2(k - 1) if k % 2 == 0 else 0) for (k,), c in poly.terms()])


def _truncate(expr: sp.Expr, order: int) -> sp.Expr:
    """The terms of a polynomial in T of degree <= order."""
    return sp.Add(*[term for term in sp.Add.make_args(sp.expand(expr)) if sp.degree(term, T) <= order])


def _tidy(expr: sp.Expr) -> sp.Expr:
    """A rational function of r as numerator (collected in r) over factored denominator: the form the docs print."""
    numerator, denominator = sp.fraction(sp.together(expr))
    return sp.collect(sp.expand(numerator), r) / sp.factor(denominator)


def _from_update(update_of_y, y: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(mu, nu, mu's and nu's 1/b^2 coefficients) of u = G(r + t z) for a smooth G: expanded in t to ORDER, the
    mean and the variance averaged termwise over z."""
    # Taylor's series of G at r, in t z (the same as SymPy's series in t, at a fraction of its cost)
    series = sp.Add(*[sp.diff(update_of_y, y, k).subs(y, r) * (T * z) ** k / sp.factorial(k) for k in range(ORDER + 1)])
    mean = sp.expand(_expect(series))
    variance = sp.expand(_expect(_truncate(series**2, ORDER)) - _truncate(mean**2, ORDER))
    mu, nu = (_tidy(sp.simplify(mean.coeff(T, 0) / r)), _tidy(sp.simplify(variance.coeff(T, 2))))
    if variance.coeff(T, 0) != 0 or variance.coeff(T, 1) != 0 or mean.coeff(T, 1) != 0:  # pragma: no cover
        raise ArithmeticError("the expansion does not start as the delta method says")
    return mu, nu, _tidy(sp.simplify(mean.coeff(T, 2) / r)), _tidy(sp.simplify(variance.coeff(T, 4)))


def _from_forms(mean: sp.Expr, variance: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(mu, nu, the 1/b^2 coefficients) of closed forms m(a, b), v(a, b): (b/a) m and b^2 v at a = r/t, b = 1/t,
    expanded in t."""
    scaled_mean = sp.series((mean / r).subs({a: r / T, b: 1 / T}), T, 0, 3).removeO()
    scaled_variance = sp.series((variance / T**2).subs({a: r / T, b: 1 / T}), T, 0, 3).removeO()
    coefficient = lambda e, k: _tidy(sp.factor(sp.expand(e).coeff(T, k)))  # noqa: E731
    if coefficient(scaled_mean, 1) != 0 or coefficient(scaled_variance, 1) != 0:  # pragma: no cover
        raise ArithmeticError("a 1/b term: the error is not O(1/b^2)")
    return (coefficient(scaled_mean, 0), coefficient(scaled_variance, 0), coefficient(scaled_mean, 2),
            coefficient(scaled_variance, 2))


def _order_check(name: str, mean_of, variance_of) -> Claim:
    """b^2 ((b/a) m - mu) and b^2 (b^2 v - nu) at b = CHECK_B against the step's 1/b^2 coefficients (extras); m and v
    from ``mean_of(A, B)``, ``variance_of(A, B)`` (mpmath, 50 digits)."""

    def test(step: Step) -> ClaimOutcome:
        mu, nu = (mp_function(e, (r,)) for e in step.result)
        c_mu, c_nu = (mp_function(step.extra(k), (r,)) for k in ("mu 1/b^2", "nu 1/b^2"))
        worst, lines = 0.0, []
        with mp.workdps(50):
            B = mp.mpf(CHECK_B)
            for value in CHECK_R:
                R = mp.mpf(value)
                A = R * B
                m, v = mean_of(A, B), variance_of(A, B)
                measured = (B * B * (m / R - mu(R)), B * B * (B * B * v - nu(R)))
                stated = (c_mu(R), c_nu(R))
                for got, want in zip(measured, stated):
                    worst = max(worst, float(abs(got - want) / abs(want)))
                lines.append(f"r = {value}: {mp.nstr(measured[0], 6)} vs {mp.nstr(stated[0], 6)},"
                             f" {mp.nstr(measured[1], 6)} vs {mp.nstr(stated[1], 6)}")
        return ClaimOutcome(worst < CHECK_TOL, "numeric", f"worst relative {worst:.3g}; " + "; ".join(lines),
                            max_abs_error=worst, digits=50, points=2 * len(CHECK_R))

    return Claim(name=f"{name} at b = {CHECK_B} (50 digits): b^2 (mu_b - mu) and b^2 (nu_b - nu) equal the stated"
                      f" 1/b^2 coefficients (relative {CHECK_TOL:g}), r in {{{', '.join(CHECK_R)}}}",
                 test=test, article_claim=False)


def _variance(mean_of, second_of):
    return lambda A, B: second_of(A, B) - mean_of(A, B) ** 2


def _step(label: str, statement: str, results, printed, checks, depends, meaning: str, note: str = "") -> Step:
    mu, nu, c_mu, c_nu = results
    definition = sp.Tuple(sp.Limit(sp.Symbol("m") * b / a, b, sp.oo), sp.Limit(b**2 * sp.Symbol("v"), b, sp.oo))
    return Step(label=label, section=SECTION, statement=statement, definition=definition, result=sp.Tuple(mu, nu),
                printed=printed, relation=limit(meaning), checks=checks, depends=depends, note=note,
                extras=(("mu 1/b^2", c_mu), ("nu 1/b^2", c_nu)))


R1 = sp.sqrt(r**2 + 1)


def _l1(previous: Derivation) -> Step:
    """L-1: the exact SoftSign moments for b -> oo at fixed r: the delta method, derived by expansion."""
    e1 = previous["E-1"]
    x_, eps_ = sorted(e1.result.free_symbols, key=str)[::-1]  # x, epsilon
    y = sp.Symbol("y", real=True)
    g = e1.result.subs({x_: y, eps_: 1})  # softsign(y, 1)
    if not sp.simplify(e1.result.subs({x_: r / T + z, eps_: 1 / T}) - g.subs(y, r + T * z)) == 0:  # pragma: no cover
        raise ArithmeticError("softsign(r b + z, b) is not g(r + z/b)")
    results = _from_update(g, y)
    return _step(
        "L-1", "exact SoftSign, b -> oo at fixed r = a/b: m = (a/b) mu, v = nu/b^2 with mu = 1/sqrt(r^2 + 1),"
        " nu = 1/(r^2 + 1)^3 (the delta method: m = f(a), v = f'(a)^2), each + O(1/b^2)", results,
        sp.Tuple(1 / R1, 1 / R1**6),
        (MatchesPrinted(name="derived == the hand-typed far form of numeric/_far.py (before issue 24)"),
         ZeroIdentity(name="delta method by another route: mu = f(a)/r and nu = b^2 f'(a)^2 at a = r b, f = E-1",
                      build=lambda s: sp.Tuple(s.result[0] - (e1.result / r).subs({x_: r * b, eps_: b}),
                                               s.result[1] - (b * sp.diff(e1.result, x_)).subs({x_: r * b, eps_: b})
                                               ** 2)),
         _order_check("the exact moments (quadrature)", reference.softsign_mean,
                      _variance(reference.softsign_mean, reference.softsign_second_moment))),
        ("E-1",), "exact as b -> oo at fixed r = a/b; the relative error is O(1/b^2) (coefficients: extras)",
        note="Project addition: the exact model's large-b form, used at b >= 1e50 (numeric/generated/limits.py).")


def _l2(previous: Derivation) -> Step:
    """L-2: E-9/E-12 for b -> oo at fixed r."""
    e9, e12 = previous["E-9"], previous["E-12"]
    results = _from_forms(e9.result, e12.result - e9.result**2)
    return _step(
        "L-2", "E-9/E-12, b -> oo at fixed r = a/b: mu = 1/sqrt(r^2 + 1), nu = (pi/2)/(r^2 + 1), each + O(1/b^2)",
        results, sp.Tuple(1 / R1, (sp.pi / 2) / R1**2),
        (MatchesPrinted(name="derived == the hand-typed far form of numeric/_far.py (before issue 24)"),
         ZeroIdentity(name="mu is L-1's (E-9 and the exact mean share their large-b limit)",
                      build=lambda s: s.result[0] - previous["L-1"].result[0]),
         _order_check("E-9/E-12", mp_function(e9.result, (a, b)),
                      mp_function(e12.result - e9.result**2, (a, b)))),
        ("E-9", "E-12", "L-1"), "exact as b -> oo at fixed r = a/b; the relative error is O(1/b^2) (extras)",
        note="Project addition: the approx model's large-b form.")


def _anchored_forms(previous: Derivation) -> tuple[sp.Expr, sp.Expr]:
    """A-3's mean and A-4's variance with A-4's large-b series (in w = 1/b, truncated at w^4: the limit and its 1/b^2
    correction read no more) for k0, s0 and C."""
    from .anchored import K0, S0, W

    a3, a4 = previous["A-3"], previous["A-4"]
    keep = lambda e: sp.Add(*[t for t in sp.Add.make_args(sp.expand(e)) if sp.degree(t, W) <= 4])  # noqa: E731
    k0 = keep(a4.extra("b k0")) * W
    s0 = 1 - keep(a4.extra("1 - s0"))
    C = keep(a4.extra("C"))
    on_b = {W: 1 / b}
    mean = a3.result[0].subs(K0, k0).subs(on_b)
    variance = a4.extra("variance").subs({sp.Symbol("C"): C, K0: k0, S0: s0}).subs(on_b)
    return mean, variance


def _anchored_exact(previous: Derivation):
    """A-3's mean and A-4's variance at (A, B) by mpmath, with k0 and s0 from A-1's and A-2's closed forms."""
    k0_of = sp.lambdify(b, previous["A-1"].printed, "mpmath")
    s0_of = sp.lambdify(b, previous["A-2"].printed, "mpmath")

    def mean(A, B):
        k0 = k0_of(B)
        return A * k0 / mp.sqrt(A * A * k0 * k0 + 1)

    def variance(A, B):
        k0, s0 = k0_of(B), s0_of(B)
        C = 1 / k0**2 - (1 - s0) * (B * B + mp.pi / 2)
        return (C * A * A + s0 * (B * B + mp.pi / 2) / k0**2) / ((A * A + 1 / k0**2) * (A * A + B * B + mp.pi / 2))

    return mean, variance


def _l3(previous: Derivation) -> Step:
    """L-3: the anchored A-3/A-4 for b -> oo at fixed r (A-4's series: b k0 -> 1, b^2 s0 -> 1, C -> 4 - pi/2)."""
    results = _from_forms(*_anchored_forms(previous))
    c_far = sp.Symbol("C_oo")
    exact_mean, exact_variance = _anchored_exact(previous)
    return _step(
        "L-3", "A-3/A-4, b -> oo at fixed r = a/b: mu = 1/sqrt(r^2 + 1), nu = (C_oo r^2 + 1)/(r^2 + 1)^2 with"
        " C_oo = lim C(b) = 4 - pi/2, each + O(1/b^2)", results,
        sp.Tuple(1 / R1, ((c_far * r**2 + 1) / R1**4).subs(c_far, 4 - sp.pi / 2)),
        (MatchesPrinted(name="derived == the hand-typed far form of numeric/_far.py (C = c_gap(oo))"),
         ZeroIdentity(name="mu is L-1's (the anchored slope k0 b -> 1 is the exact one)",
                      build=lambda s: s.result[0] - previous["L-1"].result[0]),
         ZeroIdentity(name="nu at r = 0 is lim b^2 s0 = 1 (A-4) and its r -> oo tail is C_oo/r^2, C_oo = A-4's C at"
                           " w = 0", kind="claim",
                      build=lambda s: sp.Tuple(s.result[1].subs(r, 0) - 1,
                                               sp.limit(s.result[1] * r**2, r, sp.oo)
                                               - previous["A-4"].extra("C").subs(sp.Symbol("w", positive=True), 0))),
         _order_check("A-3/A-4 with A-1/A-2's closed forms", exact_mean, exact_variance)),
        ("A-1", "A-2", "A-3", "A-4", "L-1"),
        "exact as b -> oo at fixed r = a/b; the relative error is O(1/b^2) (extras)",
        note="Project addition: the anchored model's large-b form (the default model's).")


def _l4(previous: Derivation) -> Step:
    """L-4: eps outside the root, b -> oo at fixed r != 0: the delta method for h(y) = y/(|y| + 1)."""
    x1 = previous["X-1"]
    x_, eps_ = sorted(x1.result.free_symbols, key=str)[::-1]
    y = sp.Symbol("y", positive=True)
    h = x1.result.subs({x_: y, eps_: 1})  # y/(y + 1) for y > 0
    positive = sp.Symbol("r_pos", positive=True)
    # derived for r > 0 (h is odd: mu and nu are even in r), then written in |r|
    found = [_tidy(e).subs(r, positive) for e in _from_update(h, y)]
    results = tuple(e.subs(positive, sp.Abs(r)) for e in found[:2])
    corrections = tuple(e.subs(positive, sp.Abs(r)) for e in found[2:])
    return _step(
        "L-4", "eps outside the root (X-1), b -> oo at fixed r = a/b != 0: mu = 1/(1 + |r|), nu = 1/(1 + |r|)^4 (the"
        " delta method), each + O(1/b^2); O(1/b) at r = 0 (the kink of |x|)", results + corrections,
        sp.Tuple(1 / (1 + sp.Abs(r)), 1 / (1 + sp.Abs(r)) ** 4),
        (MatchesPrinted(name="derived == the hand-typed far form of numeric/_far.py (before issue 24)"),
         ZeroIdentity(name="delta method by another route: mu = f(a)/r and nu = b^2 f'(a)^2 at a = r b, f = X-1,"
                           " at r = 1/2, -3, 7", build=lambda s: _delta_outside(s, x1.result, x_, eps_)),
         _order_check("the exact outside moments (quadrature)", reference.outside_mean,
                      _variance(reference.outside_mean, reference.outside_second_moment))),
        ("X-1",), "exact as b -> oo at fixed r = a/b; the relative error is O(1/b^2) for r != 0, O(1/b) at r = 0",
        note="Project addition: the outside placement's large-b form.")


def _delta_outside(step: Step, update: sp.Expr, x_: sp.Symbol, eps_: sp.Symbol) -> sp.Tuple:
    """mu - f(a)/r and nu - b^2 f'(a)^2 at a = r b for f = X-1's update, at three r (|x| is smooth there)."""
    out = []
    for value in (sp.Rational(1, 2), -3, 7):
        at = {x_: value * b, eps_: b}
        out.append(step.result[0].subs(r, value) - (update / value).subs(at))
        out.append(step.result[1].subs(r, value) - (b * sp.diff(update, x_)).subs(at) ** 2)
    return sp.Tuple(*out)


# --------------------------------------------------------------------------------------------
# L-5, L-6: the large-|a| forms, R = sqrt(a^2 + b^2) -> oo along a ray (a, b) = R (cos theta, sin theta): the update
# is deterministic to O(1/R^2), m = f(a), v = f'(a)^2 (the delta method), which the models take at |a| >= 1e50 with
# any b < 1e50 (b = 0 included: theta = 0).  f is homogeneous of degree 0 in (x, b), so the Taylor series of f(a + z)
# in z orders its terms by degree in (a, b): the mean's next term f''(a)/2 is of degree -2, the variance's f'(a)^2 of
# degree -2 and its next of degree -4.

def _steady(update: sp.Expr, x_: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(m, v, m's and v's next terms) of f(a + z) for the update f(x) (in x and b): Taylor in z, averaged termwise."""
    series = sp.Add(*[sp.diff(update, x_, k).subs(x_, a) * (T * z) ** k / sp.factorial(k) for k in range(ORDER + 1)])
    mean = sp.expand(_expect(series))
    variance = sp.expand(_expect(_truncate(series**2, ORDER)) - _truncate(mean**2, ORDER))
    if variance.coeff(T, 0) != 0 or variance.coeff(T, 1) != 0 or mean.coeff(T, 1) != 0:  # pragma: no cover
        raise ArithmeticError("the expansion does not start as the delta method says")
    tidy = lambda e: sp.factor(sp.cancel(e))  # noqa: E731
    return tidy(mean.coeff(T, 0)), tidy(variance.coeff(T, 2)), tidy(mean.coeff(T, 2)), tidy(variance.coeff(T, 4))


def _steady_check(name: str, mean_of, second_of) -> Claim:
    """(m_exact - m) and (v_exact - v) against the stated next terms (extras), at two points with R = 1000 and
    R ~ 1000, b = 3 (mpmath, 60 digits)."""

    def test(step: Step) -> ClaimOutcome:
        forms = [mp_function(e, (a, b)) for e in (*step.result, step.extra("m next"), step.extra("v next"))]
        worst, lines = 0.0, []
        with mp.workdps(60):
            for A, B in (("600", "800"), ("1000", "3")):
                A, B = mp.mpf(A), mp.mpf(B)
                m = mean_of(A, B)
                v = second_of(A, B) - m * m
                m0, v0, m2, v4 = (f(A, B) for f in forms)
                for got, want in ((m - m0, m2), (v - v0, v4)):
                    worst = max(worst, float(abs(got - want) / abs(want)))
                lines.append(f"(a, b) = ({mp.nstr(A, 4)}, {mp.nstr(B, 4)}): m - f(a) = {mp.nstr(m - m0, 6)} vs"
                             f" {mp.nstr(m2, 6)}, v - f'(a)^2 = {mp.nstr(v - v0, 6)} vs {mp.nstr(v4, 6)}")
        return ClaimOutcome(worst < CHECK_TOL, "numeric", f"worst relative {worst:.3g}; " + "; ".join(lines),
                            max_abs_error=worst, digits=60, points=4)

    return Claim(name=f"{name} at (a, b) = (600, 800), (1000, 3) (60 digits): m - f(a) and v - f'(a)^2 equal the"
                      f" stated next terms (relative {CHECK_TOL:g})", test=test, article_claim=False)


def _l5(previous: Derivation) -> Step:
    """L-5: the exact SoftSign for |a| -> oo (any b): the deterministic update, m = a/R, v = (b^2/R^3)^2."""
    e1, l1 = previous["E-1"], previous["L-1"]
    x_, eps_ = sorted(e1.result.free_symbols, key=str)[::-1]
    m, v, m_next, v_next = _steady(e1.result.subs(eps_, b), x_)
    R = sp.sqrt(a**2 + b**2)
    return Step(
        label="L-5", section=SECTION,
        statement="exact SoftSign, R = sqrt(a^2 + b^2) -> oo along a ray (b = 0 included): m = f(a) = a/R,"
        " v = f'(a)^2 = b^4/R^6 (the delta method), each with relative error O(1/R^2)",
        definition=sp.Tuple(sp.Symbol("m"), sp.Symbol("v")), result=sp.Tuple(m, v), printed=sp.Tuple(a / R, (b**2 / R**3) ** 2),
        relation=limit("exact as R = sqrt(a^2 + b^2) -> oo at fixed a/R; relative error O(1/R^2) (the next terms:"
                       " extras)"),
        checks=(MatchesPrinted(name="derived == the hand-typed steady form of numeric/_far.py (before issue 24)"),
                ZeroIdentity(name="L-1 in (a, b): m = (a/b) mu, v = nu/b^2 at r = a/b",
                             build=lambda s: sp.Tuple(s.result[0] - (a / b) * l1.result[0].subs(r, a / b),
                                                      s.result[1] - l1.result[1].subs(r, a / b) / b**2)),
                _steady_check("the exact moments (quadrature)", reference.softsign_mean,
                              reference.softsign_second_moment)),
        depends=("E-1", "L-1"), extras=(("m next", m_next), ("v next", v_next)),
        note="Project addition: the exact model's large-|a| form, used at |a| >= 1e50 (numeric/generated/limits.py).")


def _l6(previous: Derivation) -> Step:
    """L-6: eps outside the root for |a| -> oo (any b): m = a/(|a| + b), v = (b/(|a| + b)^2)^2, for a > 0 (odd)."""
    x1, l4 = previous["X-1"], previous["L-4"]
    x_, eps_ = sorted(x1.result.free_symbols, key=str)[::-1]
    # derived for a > 0 (x = a + z > 0 to all orders); the update is odd: m(a) = a m(|a|)/|a|, v even
    positive = sp.Symbol("a_pos", positive=True)
    found = [e.subs(a, positive) for e in _steady(x1.result.subs(eps_, b).subs(sp.Abs(x_), x_), x_)]
    m, m_next = (a * sp.factor(e / positive).subs(positive, sp.Abs(a)) for e in (found[0], found[2]))
    v, v_next = (e.subs(positive, sp.Abs(a)) for e in (found[1], found[3]))
    return Step(
        label="L-6", section=SECTION,
        statement="eps outside the root (X-1), |a| -> oo (any b): m = a/(|a| + b), v = b^2/(|a| + b)^4 (the delta"
        " method), each with relative error O(1/(|a| + b)^2)",
        definition=sp.Tuple(sp.Symbol("m"), sp.Symbol("v")), result=sp.Tuple(m, v),
        printed=sp.Tuple(a / (sp.Abs(a) + b), (b / (sp.Abs(a) + b) ** 2) ** 2),
        relation=limit("exact as |a| -> oo at fixed b/|a|; relative error O(1/(|a| + b)^2) (next terms: extras)"),
        checks=(MatchesPrinted(name="derived == the hand-typed steady form of numeric/_far.py (before issue 24)"),
                ZeroIdentity(name="L-4 in (a, b) at a = 3 b and a = -b/2: m = (a/b) mu, v = nu/b^2",
                             build=lambda s: sp.Tuple(*[e.subs(a, k * b) for k in (3, -sp.Rational(1, 2)) for e in (
                                 s.result[0] - (a / b) * l4.result[0].subs(r, a / b),
                                 s.result[1] - l4.result[1].subs(r, a / b) / b**2)])),
                _steady_check("the exact outside moments (quadrature)", reference.outside_mean,
                              reference.outside_second_moment)),
        depends=("X-1", "L-4"), extras=(("m next", m_next), ("v next", v_next)),
        note="Project addition: the outside placement's large-|a| form.")


# --------------------------------------------------------------------------------------------
# L-7, L-8: clip's far forms.  clip((a + z)/b, -1, 1) (E-8/E-11's integrand) is odd in a: derived for a = A > 0
# (mu, nu even in a).  Its corners lie at z = b - A (upper) and z = -b - A (lower, ~2b away): dropping the lower
# corner leaves (A + min(z, t))/b with t = b - A, whose moments are those of min(z, t).  The dropped term is
# supported on z < -s, s = A + b = 2A + t, where everything is Q(s)-sized.

A = sp.Symbol("A", positive=True)  # |a|
TC = sp.Symbol("t", real=True)  # b - |a|: the distance from the mean to the upper corner
S = sp.Symbol("s", positive=True)  # |a| + b: the distance to the lower corner
T_FLAT = 40  # |t| beyond: the runtime takes the t -> +-oo limits (the dropped terms are < 1e-340 there)
CLIP_POINTS = (("2", "6"), ("6", "3"), ("1", "8"), ("3", "4"), ("0.5", "7"), ("10", "0.5"))
CLIP_DIGITS = 40
FLAT_DIGITS = 420
Q_T = sp.erfc(TC / sp.sqrt(2)) / 2  # Q(t) = P(z > t)
PHI_T = sp.exp(-TC**2 / 2) / sp.sqrt(2 * sp.pi)  # phi(t)


def _min_moments() -> tuple[sp.Expr, sp.Expr]:
    """E[min(z, t)] and E[min(z, t)^2]: min(z, t) is z below t and t above, integrated piecewise."""
    return (expectation([(z, -sp.oo, TC), (TC, TC, sp.oo)]),
            expectation([(z**2, -sp.oo, TC), (TC**2, TC, sp.oo)]))


def _lower_corner() -> dict[str, sp.Expr]:
    """The Gaussian integrals over the lower corner's region z < -s: L = E[(-s - z)^+], M2 = E[((-s - z)^+)^2],
    K = E[|z| (-s - z)^+] (each in s)."""
    return {"L": expectation([(-S - z, -sp.oo, -S)]), "M2": expectation([((-S - z) ** 2, -sp.oo, -S)]),
            "K": expectation([(-z * (-S - z), -sp.oo, -S)])}


def _l7(previous: Derivation) -> Step:
    """L-7: clip's moments with the lower corner dropped (the large-b form, in SGD units)."""
    e8 = previous["E-8"]
    low, high = reduced_split_points(previous["E-7"].result)
    at = {a: A}

    def upper(power: int) -> list:
        # E-8/E-11's pieces (clip_pieces) with the lower one dropped: the middle piece extends to -oo
        _, (middle, _, high_), top = clip_pieces(power, low, high)
        return [(middle, -sp.oo, high_), top]

    mean_up, second_up = (expectation(upper(k)).subs(at) for k in (1, 2))
    on_t = {b: A + TC}
    mu = sp.simplify(((b / A) * mean_up).subs(on_t))
    nu = sp.simplify((b**2 * (second_up - mean_up**2)).subs(on_t))
    e1, e2 = _min_moments()
    corner = {k: v.subs(S, 2 * A + TC) for k, v in _lower_corner().items()}
    bound = 2 * (corner["K"] + (sp.Abs(TC) + 1) * corner["L"]) + corner["M2"]
    first, second = TC * Q_T - PHI_T, (1 - Q_T) - TC * PHI_T + TC**2 * Q_T
    e8_mu = ((b / A) * e8.result.subs(at)).subs(on_t)
    definition = sp.Tuple(*[e.subs(at) for e in (
        (b / a) * defining_integral(upper(1)),
        b**2 * (defining_integral(upper(2)) - defining_integral(upper(1)) ** 2))])
    return Step(
        label="L-7", section=SECTION,
        statement="clip((a + z)/b, -1, 1) with its lower corner dropped, in SGD units (m = (a/b) mu, v = nu/b^2),"
        " t = b - |a|: mu = 1 + E[min(z, t)]/|a|, nu = Var(min(z, t)), E[min(z, t)] = t Q(t) - phi(t),"
        " E[min(z, t)^2] = (1 - Q(t)) - t phi(t) + t^2 Q(t); the exact clip's mu exceeds it by L(s)/|a| and its nu"
        " differs by at most 2 (Q(s) + (|t| + 1) L(s)) + M2(s), s = |a| + b (extras); t -> oo: (1, 1),"
        " t -> -oo: (b/|a|, 0)",
        definition=definition, result=sp.Tuple(mu, nu),
        printed=sp.Tuple(1 + first / A, second - first**2),
        relation=limit("exact as s = |a| + b -> oo (the lower corner at z = -s drops out): the exact clip's mu -"
                       " this mu = L(s)/|a| exactly, |nu - this nu| <= 2 (Q(s) + (|t| + 1) L(s)) + M2(s), with"
                       " L(s) = E[(-s - z)^+], M2(s) = E[((-s - z)^+)^2] (Q(s)-sized: below 1e-300 at b >= 1e50)"),
        checks=(MatchesPrinted(name="derived == the hand-typed large-b form of numeric/_far.py (before issue 24)",
                               domain=_CLIP_AT),
                ZeroIdentity(name="by another route: the clip without its lower corner is (|a| + min(z, t))/b, so"
                                  " mu = 1 + E[min(z, t)]/|a| and nu = Var(min(z, t)), min(z, t)'s moments integrated"
                                  " piecewise", build=lambda s: sp.Tuple(s.result[0] - (1 + e1 / A),
                                                                        s.result[1] - (e2 - e1**2)),
                             domain=_CLIP_AT),
                ZeroIdentity(name="the dropped lower corner of the mean, exactly: (b/|a|) E-8 - mu = L(s)/|a|,"
                                  " L(s) = E[(-s - z)^+] = phi(s) - s Q(s), s = |a| + b",
                             build=lambda s: e8_mu - s.result[0] - corner["L"] / A, domain=_CLIP_AT),
                _clip_far_check(corner, bound),
                LimitValue(name="t -> oo (the upper corner far above): mu -> 1", build=lambda s: s.result[0],
                           var=TC, point=sp.oo, expected=lambda s: sp.Integer(1)),
                LimitValue(name="t -> oo: nu -> 1", build=lambda s: s.result[1], var=TC, point=sp.oo,
                           expected=lambda s: sp.Integer(1)),
                LimitValue(name="t -> -oo (the update pinned at +1): mu - b/|a| -> 0, b/|a| = 1 + t/|a|",
                           build=lambda s: s.result[0] - (A + TC) / A, var=TC, point=-sp.oo,
                           expected=lambda s: sp.Integer(0)),
                LimitValue(name="t -> -oo: nu -> 0", build=lambda s: s.result[1], var=TC, point=-sp.oo,
                           expected=lambda s: sp.Integer(0)),
                _clip_flat_check()),
        depends=("E-7", "E-8", "E-11"),
        extras=(("E[min(z, t)]", e1), ("E[min(z, t)^2]", e2), ("mu lower corner", corner["L"] / A),
                ("nu bound", bound), ("t -> oo", sp.Tuple(1, 1)), ("t -> -oo", sp.Tuple((A + TC) / A, 0))),
        note="Project addition: the clip model's large-b form, used at b >= 1e50 (numeric/generated/limits.py),"
             f" with its t -> +-oo limits at |t| > {T_FLAT}.  The bound on nu: the dropped term D = (-s - z)^+/b"
             " adds 2 Cov(min(z, t), b D) + Var(b D) to nu; on z < -s, min(z, t) = z and |E[min(z, t)]| <= |t| + 1,"
             " so |Cov| <= E[|z| (-s - z)^+] + (|t| + 1) L(s) = Q(s) + (|t| + 1) L(s), and Var(b D) <= M2(s).")


_CLIP_AT = Domain((Var(A, "positive"), Var(TC, "interval", -30.0, 30.0)),
                  description="|a| in [1e-8, 1e4], t = b - |a| in [-30, 30]")


def _clip_far_check(corner: dict[str, sp.Expr], bound: sp.Expr) -> Claim:
    """Against the exact clip moments (reference quadrature of E-8/E-11's integrand, independent of every closed
    form), at CLIP_DIGITS digits: mu_exact - mu = L(s)/|a| to 1e-30, and |nu_exact - nu| <= the stated bound."""

    def test(step: Step) -> ClaimOutcome:
        mu, nu = (mp_function(e, (A, TC)) for e in step.result)
        lower, cap = mp_function(corner["L"] / A, (A, TC)), mp_function(bound, (A, TC))
        worst_mu, worst_ratio, lines = 0.0, 0.0, []
        with mp.workdps(CLIP_DIGITS):
            for size, width in CLIP_POINTS:
                size, width = mp.mpf(size), mp.mpf(width)
                t_ = width - size
                m = reference.clip_mean(size, width)
                v = reference.clip_second_moment(size, width) - m * m
                gap_mu = abs((width / size) * m - mu(size, t_) - lower(size, t_))
                gap_nu, allowed = abs(width * width * v - nu(size, t_)), cap(size, t_)
                worst_mu, worst_ratio = max(worst_mu, float(gap_mu)), max(worst_ratio, float(gap_nu / allowed))
                lines.append(f"(|a|, b) = ({mp.nstr(size, 3)}, {mp.nstr(width, 3)}): mu gap - L/|a| ="
                             f" {mp.nstr(gap_mu, 2)}, |nu gap| = {mp.nstr(gap_nu, 3)} <= {mp.nstr(allowed, 3)}")
        holds = worst_mu < 1e-30 and worst_ratio <= 1
        return ClaimOutcome(holds, "numeric", f"worst |mu gap - L/|a|| {worst_mu:.2g}, worst |nu gap|/bound"
                            f" {worst_ratio:.3g}; " + "; ".join(lines), max_abs_error=worst_mu, digits=CLIP_DIGITS,
                            points=len(CLIP_POINTS))

    return Claim(name=f"against the exact clip moments (quadrature, {CLIP_DIGITS} digits) at (|a|, b) in"
                      f" {{{', '.join('(' + ', '.join(p) + ')' for p in CLIP_POINTS)}}}: mu's gap is L(s)/|a| (to"
                      " 1e-30), nu's within the stated bound", test=test, article_claim=False)


def _clip_flat_check() -> Claim:
    """At |t| = T_FLAT the t -> +-oo limits are exact to float64: |a| times mu's gap, and nu's gap, are below
    1e-340 there (decreasing in |t|), far below 2^-53 times the smallest positive double (4.9e-324).  Evaluated at
    FLAT_DIGITS digits (the gaps sit ~350 digits below mu = O(1))."""

    def test(step: Step) -> ClaimOutcome:
        mu, nu = (mp_function(e, (A, TC)) for e in step.result)
        lines, worst = [], mp.mpf(0)
        with mp.workdps(FLAT_DIGITS):
            edge, above, below = mp.mpf(T_FLAT), mp.mpf(1), mp.mpf(50)  # b = |a| + t > 0 at both
            gaps = (("|a| (mu - 1)", above * (mu(above, edge) - 1)), ("nu - 1", nu(above, edge) - 1),
                    ("|a| (mu - b/|a|)", below * mu(below, -edge) - (below - edge)), ("nu", nu(below, -edge)))
            for name, gap in gaps:
                worst = max(worst, abs(gap))
                lines.append(f"{name} = {mp.nstr(gap, 3)}")
        holds = worst < mp.mpf("1e-340")
        return ClaimOutcome(holds, "numeric", f"at t = {T_FLAT}, |a| = 1: " + "; ".join(lines[:2]) +
                            f"; at t = -{T_FLAT}, |a| = 50: " + "; ".join(lines[2:]),
                            max_abs_error=None, digits=FLAT_DIGITS, points=4)  # the gaps underflow a float

    return Claim(name=f"the runtime's regimes |t| > {T_FLAT} take the t -> +-oo limits: at t = +-{T_FLAT} |a| times"
                      f" mu's gap and nu's gap are < 1e-340 ({FLAT_DIGITS} digits), below float64's resolution even"
                      " over |a| = 4.9e-324", test=test, article_claim=False)


STEADY_POINTS = (("4", "1"), ("8", "2"), ("-6", "0.5"), ("-12", "5"), ("30", "20"))


def _l8(previous: Derivation) -> Step:
    """L-8: clip for |a| -> oo at fixed b: the update pinned at sign(a), m = sign(a), v = 0."""
    e8, e11 = previous["E-8"], previous["E-11"]
    mean = sp.limit(e8.result, a, sp.oo)  # E-8 is odd in a: m -> sign(a)
    second = sp.limit(e11.result, a, sp.oo)  # E-11 is even
    tail = sp.erfc((sp.Abs(a) - b) / sp.sqrt(2)) / 2  # Q(|a| - b)
    return Step(
        label="L-8", section=SECTION,
        statement="clip((a + z)/b, -1, 1), |a| -> oo at fixed b: m = sign(a), v = 0; for |a| > b, |m - sign(a)|"
        " <= 2 Q(|a| - b) and 0 <= v <= 4 Q(|a| - b)",
        definition=sp.Tuple(sp.Limit(e8.result, a, sp.oo) * sp.sign(a),
                            sp.Limit(e11.result, a, sp.oo) - sp.Limit(e8.result, a, sp.oo) ** 2),
        result=sp.Tuple(sp.sign(a) * mean, second - mean**2), printed=sp.Tuple(sp.sign(a), 0),
        relation=limit("exact as |a| -> oo at fixed b; for |a| > b the update differs from sign(a) only where"
                       " z < -(|a| - b), by at most 2: |m - sign(a)| <= 2 Q(|a| - b), v <= E[(u - sign(a))^2] <="
                       " 4 Q(|a| - b) (below 1e-300 at |a| >= 1e50 > b, where |a| - b >= 2^114)"),
        checks=(MatchesPrinted(name="derived == the hand-typed large-|a| form of numeric/_far.py (before issue 24)"),
                LimitValue(name="a -> -oo: m -> -1 (E-8 is odd)", build=lambda s: s.result[0], var=a,
                           point=-sp.oo, expected=lambda s: sp.Integer(-1)),
                _steady_clip_check(tail)),
        depends=("E-8", "E-11"), extras=(("Q(|a| - b)", tail),),
        note="Project addition: the clip model's large-|a| form, used at |a| >= 1e50 with b < 1e50.")


def _steady_clip_check(tail: sp.Expr) -> Claim:
    """The exact clip moments (reference quadrature, 40 digits) within 2 Q(|a| - b) and 4 Q(|a| - b) of the step's
    (m, v); and at the runtime's edge (|a| - b >= 2^114) the bound is below 1e-300."""

    def test(step: Step) -> ClaimOutcome:
        m_of, v_of, q_of = (mp_function(sp.sympify(e), (a, b)) for e in (*step.result, tail))
        worst, lines = 0.0, []
        with mp.workdps(CLIP_DIGITS):
            for value, width in STEADY_POINTS:
                A_, B_ = mp.mpf(value), mp.mpf(width)
                m = reference.clip_mean(A_, B_)
                v = reference.clip_second_moment(A_, B_) - m * m
                q = q_of(A_, B_)
                ratios = (abs(m - m_of(A_, B_)) / (2 * q), abs(v - v_of(A_, B_)) / (4 * q))
                worst = max(worst, *(float(x) for x in ratios))
                lines.append(f"(a, b) = ({value}, {width}): |m gap| = {mp.nstr(abs(m - m_of(A_, B_)), 3)},"
                             f" |v gap| = {mp.nstr(abs(v - v_of(A_, B_)), 3)}, Q = {mp.nstr(q, 3)}")
            edge = 4 * mp.erfc(mp.mpf(2) ** 114 / mp.sqrt(2)) / 2
        holds = worst <= 1 and edge < mp.mpf("1e-300")
        evidence = f"worst gap/bound {worst:.3g}; 4 Q(2^114) = 10^({mp.nstr(mp.log10(edge), 3)}); "
        return ClaimOutcome(holds, "numeric", evidence + "; ".join(lines), max_abs_error=worst, digits=CLIP_DIGITS,
                            points=len(STEADY_POINTS))

    return Claim(name=f"against the exact clip moments (quadrature, {CLIP_DIGITS} digits) at (a, b) in"
                      f" {{{', '.join('(' + ', '.join(p) + ')' for p in STEADY_POINTS)}}}: |m gap| <= 2 Q(|a| - b),"
                      " |v gap| <= 4 Q(|a| - b); 4 Q(2^114) < 1e-300", test=test, article_claim=False)


# --------------------------------------------------------------------------------------------
# L-9: the anchored outside model (X-14, with X-15's series for its anchors) in SGD units.  No limit is taken: the
# runtime evaluates X-14's moments at b >= B_FAR exactly as at b >= 10, through X-15's series in w = 1/b, but in
# (r, w), with b k0, b^2 s0 and C/b O(1) (r^2 b still overflows for |r| >~ 1e129 at b = 1e50: the runtime then uses
# the same form divided through by r^2, printed and proved by codegen/limits_code.py).

BK0, S0B2, CB = sp.symbols("bk0 s0b2 cb", positive=True)  # b k0_out, b^2 s0_out, C/b: X-15's series
AO_POINTS = (("1.5", "3"), ("-20", "10"), ("7", "30"), ("0", "3"))
AO_DIGITS = 50


def _ao_positive(a3_mean: sp.Expr, a3_second: sp.Expr):
    """X-15's sum-of-positive-terms variance (in a, b, K0, S0, C), proved equal to X-14's s - m^2 at C = 1/k0^2 -
    (1 - s0)(b^2 + pi/2)."""
    from .anchored import K0, S0

    c = sp.Symbol("C")
    positive = (a**2 * c + S0 * (b**2 + sp.pi / 2) / K0**2) / ((a**2 + b**2 + sp.pi / 2) * (a**2 + 1 / K0**2))
    gap = (a3_second - a3_mean**2) - positive.subs(c, 1 / K0**2 - (1 - S0) * (b**2 + sp.pi / 2))
    if sp.simplify(sp.cancel(gap)) != 0:  # pragma: no cover - X-15's identity
        raise ArithmeticError("X-14's variance is not X-15's positive form")
    return positive, c


def _l9(previous: Derivation) -> Step:
    """L-9: X-14's moments in SGD units, a = r b, w = 1/b, with X-15's anchors b k0, b^2 s0, C/b."""
    from .anchored import K0, S0

    x12, x13, x14 = previous["X-12"], previous["X-13"], previous["X-14"]
    w = sp.Symbol("w", positive=True)
    m, s2 = x14.result
    positive, c = _ao_positive(m, s2)
    on = {K0: BK0 * w, S0: S0B2 * w**2, c: CB / w}
    to_sgd = {a: r / w, b: 1 / w}
    mu = sp.simplify(((b / a) * m).subs(on).subs(to_sgd))
    nu = sp.simplify((b**2 * positive).subs(on).subs(to_sgd))
    p = 1 + (sp.pi / 2) * w**2
    printed = sp.Tuple(BK0 / sp.sqrt((r * BK0) ** 2 + 1),
                       (r**2 * CB / w + S0B2 * p / BK0**2) / ((r**2 + p) * (r**2 + 1 / BK0**2)))

    def against_x14(step: Step) -> ClaimOutcome:
        """X-14's (m, s - m^2) with X-12/X-13's closed anchors, against (a/b) mu and nu/b^2 at the anchors' values."""
        mean_of, second_of = (mp_function(e.subs({K0: x12.printed, S0: x13.printed}), (a, b)) for e in (m, s2))
        k0_of, s0_of = mp_function(x12.printed, (b,)), mp_function(x13.printed, (b,))
        mu_of, nu_of = (mp_function(e, (r, w, BK0, S0B2, CB)) for e in step.result)
        worst, lines = 0.0, []
        with mp.workdps(AO_DIGITS):
            for value, width in AO_POINTS:
                A_, B_ = mp.mpf(value), mp.mpf(width)
                k0, s0 = k0_of(B_), s0_of(B_)
                C_ = 1 / k0**2 - (1 - s0) * (B_**2 + mp.pi / 2)
                anchors = (A_ / B_, 1 / B_, B_ * k0, B_**2 * s0, C_ / B_)
                mean = mean_of(A_, B_)
                variance = second_of(A_, B_) - mean**2
                got = ((A_ / B_) * mu_of(*anchors), nu_of(*anchors) / B_**2)
                gaps = [abs(g - e) / abs(e) if e else abs(g) for g, e in zip(got, (mean, variance))]
                worst = max(worst, *(float(x) for x in gaps))
                lines.append(f"(a, b) = ({value}, {width}): m {mp.nstr(mean, 6)}, v {mp.nstr(variance, 6)}")
        return ClaimOutcome(worst < 1e-30, "numeric", f"worst relative gap {worst:.2g}; " + "; ".join(lines),
                            max_abs_error=worst, digits=AO_DIGITS, points=len(AO_POINTS))

    return Step(
        label="L-9", section=SECTION,
        statement="X-14's anchored outside moments in SGD units (m = (a/b) mu, v = nu/b^2), r = a/b, w = 1/b, with"
        " X-15's bk0 = b k0_out, s0b2 = b^2 s0_out, cb = C/b: mu = bk0/sqrt((r bk0)^2 + 1), nu = [r^2 cb/w +"
        " s0b2 p/bk0^2]/((r^2 + p)(r^2 + 1/bk0^2)), p = 1 + (pi/2) w^2",
        definition=sp.Tuple((b / a) * m, b**2 * (s2 - m**2)), result=sp.Tuple(mu, nu), printed=printed,
        relation=identity("exact rewrite of X-14 (its variance in X-15's positive form) at a = r b, b = 1/w; the"
                          " anchors carry X-15's series errors (relative <= X-15's bounds), nothing else"),
        checks=(MatchesPrinted(name="derived == the hand-typed large-b form of numeric/anchored_outside.py (before"
                                    " issue 24)"),
                Claim(name="against X-14 with X-12/X-13's closed anchors at (a, b) in"
                           f" {{{', '.join('(' + ', '.join(q) + ')' for q in AO_POINTS)}}} ({AO_DIGITS} digits):"
                           " (a/b) mu and nu/b^2 equal m and s - m^2 to 1e-30 relative",
                      test=against_x14, article_claim=False),
                LimitValue(name="w -> 0 with X-15's leading anchors (bk0 -> 1): mu -> 1/sqrt(r^2 + 1), L-1's",
                           build=lambda s: s.result[0].subs(BK0, 1), var=w, point=0,
                           expected=lambda s: previous["L-1"].result[0])),
        depends=("X-12", "X-13", "X-14", "X-15", "L-1"),
        note="Project addition: the anchored outside model's form at b >= 1e50 (numeric/anchored_outside.py evaluates"
             " X-15's series in w and calls the generated form).")
