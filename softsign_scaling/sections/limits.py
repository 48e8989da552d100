"""L-1 .. L-6 (this project's): the moments far from the origin: b -> oo at fixed r = a/b (L-1 .. L-4, in SGD
units), and |a| -> oo with any b (L-5, L-6: the deterministic update).

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

numeric/generated/limits.py prints these (codegen/limits_code.py); the families' large-b and large-|a| forms call
it.  Still typed by hand in numeric/_far.py: clip's large-b and large-|a| forms, and the anchored large-|a| form.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ..checks import reference
from ..checks.base import ClaimOutcome, Claim, MatchesPrinted, ZeroIdentity
from ..checks.evaluate import mp_function
from ..steps import Derivation, Step, limit
from ..symbols import a, b, z
from .common import build_in_order

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
    return build_in_order(previous, (_l1, _l2, _l3, _l4, _l5, _l6))


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
