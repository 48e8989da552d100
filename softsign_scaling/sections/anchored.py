"""A-1 .. A-4 (this project's, not the article's): E-9 and E-12 anchored at the exact values at a = 0.

The error atlas (docs/atlas.md) finds that the article's per-component forms E-9/E-12 and its
mean field E-14 miss the exact eta* by more than 10% on many problems, mostly where b ~ 1
(eps comparable to the noise sigma/sqrt(B)).  At a = 0 the exact SoftSign moments have closed
forms: the slope of the mean, E[b^2/(z^2 + b^2)^(3/2)] (Bessel K), and the second moment,
1 - b^2 E[1/(z^2 + b^2)] (erfc).  Putting them into the article's own shapes (E-3 for the mean;
E-12's a-dependence for the second moment) gives the "anchored" closed form:

  m = a / sqrt(a^2 + 1/k0(b)^2),    s = 1 - (1 - s0(b)) (b^2 + pi/2)/(a^2 + b^2 + pi/2),

which is E-9/E-12 again when k0, s0 are replaced by E-9's and E-12's own values at a = 0.
A-4 gives the large-b series of k0, s0 and the variance's positive form.  One builder per step.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import sympy as sp

from ..checks import reference
from ..checks.base import (ApproximationError, Claim, ClaimOutcome, LimitValue, MatchesPrinted, NumericIdentity,
                           ZeroIdentity, symbolic_zero)
from ..checks.domain import Domain, Var
from ..gaussian import phi
from ..steps import Derivation, Step, approximation, identity
from ..symbols import a, b, z
from .common import softsign

SECTION = "anchored"

BESSEL_FORM = (b**2 / sp.sqrt(2 * sp.pi) * sp.Rational(1, 2) * sp.exp(b**2 / 4)
               * (sp.besselk(1, b**2 / 4) - sp.besselk(0, b**2 / 4)))


# 50 b's from 1e-6 to 30 (mpmath's Meijer G, SymPy's form of A-1, does not converge much beyond).  The
# closed forms here cancel little (no a/b terms), so 6 guard digits against quadrature suffice.
POSITIVE_B = Domain((Var(b, "positive", values=tuple(f"{v:.6g}" for v in np.geomspace(1e-6, 30, 50))),),
                    "b in [1e-6, 30]")
K0, S0 = sp.symbols("k_0 s_0", positive=True)  # A-3's placeholders for A-1's and A-2's values


def steps(previous: Derivation) -> list[Step]:
    a1 = _a1(previous)
    a2 = _a2(previous.extended([a1]))
    a3 = _a3(previous.extended([a1, a2]))
    a4 = _a4(previous.extended([a1, a2, a3]))
    return [a1, a2, a3, a4]


def _a1(previous: Derivation) -> Step:
    """A-1: the exact slope at a = 0: d/da softsign(a + z, b) at a = 0 is b^2/(z^2 + b^2)^(3/2); integrate."""
    slope_integrand = sp.diff(softsign(a + z, b), a).subs(a, 0)
    slope_integral = sp.Integral(sp.simplify(slope_integrand) * phi, (z, -sp.oo, sp.oo))
    return Step(
        label="A-1",
        section=SECTION,
        statement="k0(b) = d/da E[softsign(a + z, b)] at a = 0 = E[b^2/(z^2 + b^2)^(3/2)], in closed form (Bessel K)",
        definition=slope_integral,
        result=slope_integral.doit(),
        printed=BESSEL_FORM,
        relation=identity("exact"),
        checks=(
            MatchesPrinted(domain=POSITIVE_B, try_symbolic=False),
            # the printed Bessel form, equal to the result by the check above and much cheaper than the Meijer G
            NumericIdentity(name="closed form == quadrature of the slope integral", build=lambda s: s.printed,
                            reference=reference.softsign_slope_at_zero, domain=POSITIVE_B, guard=6),
            LimitValue(name="k0 -> sqrt(2/pi) (the slope of erf(a/sqrt2)) as b -> 0", build=lambda s: s.printed,
                       var=b, point=0, expected=lambda s: sp.sqrt(2 / sp.pi)),
            Claim(name="b k0 -> 1 as b -> oo (the slope of softsign(a, b))", test=_k0_large_b, article_claim=False),
        ),
        depends=("E-7",),
        note="Project addition: E-9 uses E-8's (clipped) slope erf(b/sqrt2)/b instead.",
    )


def _a2(previous: Derivation) -> Step:
    """A-2: the exact second moment at a = 0: E[z^2/(z^2 + b^2)] = 1 - b^2 E[1/(z^2 + b^2)]."""
    s0_integral = sp.Integral(softsign(z, b) ** 2 * phi, (z, -sp.oo, sp.oo))
    return Step(
        label="A-2",
        section=SECTION,
        statement="s0(b) = E[softsign(z, b)^2] = 1 - b sqrt(pi/2) exp(b^2/2) erfc(b/sqrt2), the exact second moment at a = 0",
        definition=s0_integral,
        result=1 - sp.Integral(b**2 / (z**2 + b**2) * phi, (z, -sp.oo, sp.oo)).doit(),
        printed=1 - b * sp.sqrt(sp.pi / 2) * sp.exp(b**2 / 2) * sp.erfc(b / sp.sqrt(2)),
        relation=identity("exact"),
        checks=(
            MatchesPrinted(domain=POSITIVE_B),
            NumericIdentity(name="closed form == quadrature of E[softsign(z, b)^2]", build=lambda s: s.result,
                            reference=reference.softsign_second_moment_at_zero, domain=POSITIVE_B, guard=6),
        ),
        depends=("E-11",),
        note="Project addition: E-12's value at a = 0 is 1 - b^2/(b^2 + pi/2) instead.",
    )


def _a3(previous: Derivation) -> Step:
    """A-3: E-3 with the exact slope (mean), E-12's a-shape anchored at s0 (second moment)."""
    e3, e9, e12 = previous["E-3"], previous["E-9"], previous["E-12"]
    k_sym = sp.Symbol("k", positive=True)
    mean = e3.result.subs(sp.Symbol("x", real=True), a).subs(k_sym, K0)
    e12_at0 = e12.result.subs(a, 0)
    shape = sp.simplify((1 - e12.result) / (1 - e12_at0))  # E-12's deficit relative to its a = 0 value
    e9_slope = sp.diff(e9.result, a).subs(a, 0)
    return Step(
        label="A-3",
        section=SECTION,
        statement="anchored moments: m = a/sqrt(a^2 + 1/k0^2) (E-3 with A-1's slope), "
        "s = 1 - (1 - s0)(b^2 + pi/2)/(a^2 + b^2 + pi/2) (E-12's shape through A-2's value)",
        definition=sp.Tuple(sp.Eq(sp.Symbol("m"), e3.result), sp.Eq(sp.Symbol("1 - s"), (1 - S0) * shape)),
        result=sp.Tuple(mean, 1 - (1 - S0) * shape),
        printed=sp.Tuple(a / sp.sqrt(a**2 + 1 / K0**2),
                         1 - (1 - S0) * (b**2 + sp.pi / 2) / (a**2 + b**2 + sp.pi / 2)),
        relation=approximation("exact at a = 0 and in the noise-free and eps -> oo limits; its error on eta* "
                               "is measured in the atlas (within 10% of exact on most problems)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="with E-9's slope at a = 0 and E-12's a = 0 value it is E-9/E-12", kind="claim",
                         build=lambda s: sp.Tuple(s.result[0].subs(K0, e9_slope) - e9.result,
                                                  s.result[1].subs(S0, e12_at0) - e12.result)),
            Claim(name="eps -> oo: b m -> a and b^2 (s - m^2) -> 1, the exact model's limit (no pi/2)",
                  test=_large_b, article_claim=False),
            Claim(name="exact at a = 0 (mean 0, slope k0, second moment s0)", test=exact_at_zero, article_claim=False),
        ),
        extras=(("k0", BESSEL_FORM), ("s0", previous["A-2"].printed)),
        depends=("A-1", "A-2", "E-3", "E-9", "E-12"),
    )


W = sp.Symbol("w", positive=True)  # w = 1/b
SERIES_TERMS = 20  # at b >= B_SWITCH the first omitted term is below 1e-15 relative
B_SWITCH = 10


def gaussian_moments(poly: sp.Expr) -> sp.Expr:
    """E[poly(z)] for z ~ N(0, 1), termwise: E[z^(2j)] = (2j - 1)!!, odd moments 0."""
    p = sp.Poly(sp.expand(poly), z)
    return sp.Add(*[c * (sp.factorial2(k - 1) if k % 2 == 0 else 0) if k > 0 else c for (k,), c in p.terms()])


def _a4(previous: Derivation) -> Step:
    """A-4: asymptotic series in w = 1/b of b k0, 1 - s0 and C = 1/k0^2 - (1 - s0)(b^2 + pi/2).

    Termwise Gaussian moments of the integrands' expansions in w (asymptotic, not convergent: kept to
    SERIES_TERMS terms, used only for b >= B_SWITCH, where float64 evaluation of the closed forms would
    lose up to log10(b^2) digits to cancellation).  C > 0 makes the anchored variance a sum of positive terms:
    s - m^2 = [a^2 C + s0 (b^2 + pi/2)/k0^2] / ((a^2 + b^2 + pi/2)(a^2 + 1/k0^2)).
    """
    a1, a2, a3 = previous["A-1"], previous["A-2"], previous["A-3"]
    k0_sym, s0_sym = K0, S0
    t = sp.Symbol("t", positive=True)
    n = SERIES_TERMS
    # b k0 = E[(1 + z^2 w^2)^(-3/2)], 1 - s0 = E[1/(1 + z^2 w^2)]
    bk0 = gaussian_moments(sp.series((1 + t) ** sp.Rational(-3, 2), t, 0, n + 1).removeO().subs(t, z**2 * W**2))
    one_minus_s0 = gaussian_moments(sp.series(1 / (1 + t), t, 0, n + 1).removeO().subs(t, z**2 * W**2))
    inverse_sq = sp.series(1 / bk0**2, W, 0, 2 * n + 1).removeO()
    c_full = sp.expand((inverse_sq - one_minus_s0 * (1 + sp.pi / 2 * W**2)) / W**2)
    c_series = sp.Add(*[c_full.coeff(W, j) * W**j for j in range(0, 2 * n - 1)])
    m, second = a3.result
    stable_variance = ((a**2 * sp.Symbol("C") + s0_sym * (b**2 + sp.pi / 2) / k0_sym**2)
                       / ((a**2 + b**2 + sp.pi / 2) * (a**2 + 1 / k0_sym**2)))
    c_closed = 1 / k0_sym**2 - (1 - s0_sym) * (b**2 + sp.pi / 2)
    k0_closed, s0_closed = a1.printed, a2.printed
    big_b = Domain((Var(b, "big", values=tuple(f"{v:.6g}" for v in np.geomspace(B_SWITCH, 1e4, 50))),),
                   f"b in [{B_SWITCH}, 1e4]")

    def series_error(which: str):
        closed = {"b k0": b * k0_closed, "1 - s0": 1 - s0_closed,
                  "C": c_closed.subs({k0_sym: k0_closed, s0_sym: s0_closed})}[which]
        k = ("b k0", "1 - s0", "C").index(which)
        return lambda s: (sp.lambdify(b, s.result[k].subs(W, 1 / b), modules="mpmath"),
                          sp.lambdify(b, closed, modules="mpmath"))

    return Step(
        label="A-4",
        section=SECTION,
        statement="for b >= 10: b k0, 1 - s0 and C = 1/k0^2 - (1 - s0)(b^2 + pi/2) as series in 1/b^2 (termwise"
        " Gaussian moments); the anchored variance as a sum of positive terms",
        definition=sp.Tuple(sp.Eq(sp.Symbol("b k0"), sp.Integral((1 + z**2 * W**2) ** sp.Rational(-3, 2) * phi,
                                                                   (z, -sp.oo, sp.oo))),
                            sp.Eq(sp.Symbol("1 - s0"), sp.Integral(phi / (1 + z**2 * W**2), (z, -sp.oo, sp.oo)))),
        result=sp.Tuple(bk0, one_minus_s0, c_series),
        relation=approximation(f"asymptotic in w = 1/b, {SERIES_TERMS} terms, used for b >= {B_SWITCH}: relative "
                               "error measured against the closed forms at 30 digits"),
        checks=(
            ZeroIdentity(name="A-3's variance s - m^2 == the sum-of-positive-terms form",
                         build=lambda s: (second - m**2) - s.extra("variance").subs(sp.Symbol("C"), c_closed)),
            # relative errors measured at 40 digits: b k0 4.88e-17, 1 - s0 9.30e-18, C 3.98e-15 (all at b = 10)
            *[ApproximationError(name=f"series of {which}: relative error against the closed form on b in [10, 1e4]",
                                 approx=lambda s, which=which: series_ratio(series_error(which)(s)),
                                 exact=lambda bv: mp.mpf(1), domain=big_b, bound=bound, digits=40, pinned=True)
              for which, bound in (("b k0", 4.9e-17), ("1 - s0", 9.3e-18), ("C", 4.0e-15))],
            Claim(name="C(b) > 0 for all b (so the anchored variance is positive)",
                  test=lambda s: _c_positive(s, c_closed.subs({k0_sym: k0_closed, s0_sym: s0_closed})),
                  article_claim=False),
        ),
        extras=(("b k0", bk0), ("1 - s0", one_minus_s0), ("C", c_series), ("variance", stable_variance)),
        depends=("A-1", "A-2", "A-3"),
    )


def series_ratio(pair):
    """series/closed form, as an mpmath function of b (its distance from 1 is the relative error)."""
    series, closed = pair
    return lambda bv: series(bv) / closed(bv)


def _c_positive(step: Step, c_expr: sp.Expr) -> ClaimOutcome:
    f = sp.lambdify(b, c_expr, modules="mpmath")
    values = []
    with mp.workdps(60):
        for v in np.geomspace(1e-4, 30, 60):
            values.append((v, f(mp.mpf(float(v)))))
    low = min(values, key=lambda p: p[1])
    tail = step.result[2].subs(W, 0)
    return ClaimOutcome(low[1] > 0 and tail > 0, "numeric",
                        f"min C on b in [1e-4, 30] (60 points, 60 digits) = {mp.nstr(low[1], 6)} at b = {low[0]:.3g};"
                        f" C -> {tail} = {float(tail):.4f} as b -> oo (A-4's series)", digits=60, points=60)


def _k0_large_b(step: Step) -> ClaimOutcome:
    # SymPy's limit does not terminate on the Bessel form; mpmath at growing b (K's asymptotics) instead.
    f = sp.lambdify(b, b * step.printed, modules="mpmath")
    with mp.workdps(40):
        gaps = [(bv, f(mp.mpf(bv)) - 1) for bv in (10, 100, 1000, 10000)]
    shrinking = all(abs(g2) < abs(g1) for (_, g1), (_, g2) in zip(gaps, gaps[1:]))
    return ClaimOutcome(shrinking and abs(gaps[-1][1]) < 1e-7, "numeric",
                        "b k0 - 1 at b = " + ", ".join(f"{bv}: {mp.nstr(g, 3)}" for bv, g in gaps), digits=40,
                        points=len(gaps))


def exact_at_zero(step: Step) -> ClaimOutcome:
    k0_sym, s0_sym = K0, S0
    m, s = step.result
    ok = (m.subs(a, 0) == 0 and symbolic_zero(sp.diff(m, a).subs(a, 0) - k0_sym)
          and symbolic_zero(s.subs(a, 0) - s0_sym))
    return ClaimOutcome(ok, "symbolic", f"m(0) = {m.subs(a, 0)}, m'(0) = {sp.simplify(sp.diff(m, a).subs(a, 0))},"
                        f" s(0) = {sp.simplify(s.subs(a, 0))}")


def _large_b(step: Step) -> ClaimOutcome:
    k0_sym, s0_sym = K0, S0
    m, s = step.result
    # Large-b expansions of k0 and s0 from their closed forms: b k0 -> 1, b^2 (1 - s0) ... by mpmath at
    # growing b (the Bessel/erfc forms' asymptotics), then the limits of b m and b^2 (s - m^2).
    m_f = sp.lambdify((a, b), m.subs(k0_sym, BESSEL_FORM), modules="mpmath")
    s_f = sp.lambdify((a, b), s.subs(s0_sym, 1 - b * sp.sqrt(sp.pi / 2) * sp.exp(b**2 / 2) * sp.erfc(b / sp.sqrt(2))),
                      modules="mpmath")
    rows = []
    with mp.workdps(40):
        av = mp.mpf("0.7")
        for bv in (mp.mpf(10) ** 3, mp.mpf(10) ** 5):
            mv, sv = m_f(av, bv), s_f(av, bv)
            rows.append((bv, bv * mv - av, bv**2 * (sv - mv**2) - 1))
    ok = all(abs(d1) < 1e-4 and abs(d2) < 1e-4 for _, d1, d2 in rows) and abs(rows[-1][2]) < abs(rows[0][2]) + 1e-30
    return ClaimOutcome(ok, "numeric", "a = 0.7: " + "; ".join(
        f"b = {mp.nstr(bv, 3)}: b m - a = {mp.nstr(d1, 3)}, b^2 (s - m^2) - 1 = {mp.nstr(d2, 3)}" for bv, d1, d2 in rows),
        digits=40, points=len(rows))
