"""E-6 .. E-10: the mean of the SoftSign update under g~ = g + sigma z / sqrt(B), z ~ N(0, 1).

Reduced variables: a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma, so that
g~/eps = (a + z)/b.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ..checks.base import (ApproximationError, Claim, ClaimOutcome, LimitValue, MatchesPrinted,
                           NumericIdentity, SupError1D, ZeroIdentity)
from ..checks.domain import QUAD_NONNEGATIVE, domain, quadrature_domain
from ..checks.evaluate import mp_function
from ..checks import reference
from ..gaussian import defining_integral, expectation, phi
from ..steps import Derivation, Step, approximation, identity
from ..symbols import B, a, b, beta, eps, g, kappa2, nu, sigma, u, x, z
from .common import clip, softsign

SECTION = "mean"

# Acceptance bound for clip-vs-softsign-shaped comparisons: with no noise (a, b -> oo, a = b) the
# error is E-6's sup |clip(u) - softsign(u)| = 1 - 1/sqrt(2) = 0.2929, attained at u = 1.
NOISE_FREE_CLIP_ERROR = 0.3

SQ2 = sp.sqrt(2)
# Reduced variables and their inverse substitution.
REDUCED = {a: g * sp.sqrt(B) / sigma, b: eps * sp.sqrt(B) / sigma}
TO_REDUCED = {g: a * sigma / sp.sqrt(B), eps: b * sigma / sp.sqrt(B)}


def to_gsigma(expr: sp.Expr) -> sp.Expr:
    return expr.subs(REDUCED, simultaneous=True)


def printed_e8() -> sp.Expr:
    """E-8 as the article prints it."""
    Ep, Em = sp.erf((a + b) / SQ2), sp.erf((a - b) / SQ2)
    return (sp.Rational(1, 2) * (Ep + Em) + a / (2 * b) * (Ep - Em)
            + (sp.exp(-(a + b) ** 2 / 2) - sp.exp(-(a - b) ** 2 / 2)) / (b * sp.sqrt(2 * sp.pi)))


def clip_pieces(power: int, low: sp.Expr, high: sp.Expr) -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
    """clip((a + z)/b, -1, 1)**power as polynomial pieces in z split at ``low`` < ``high``."""
    return [((-1) ** power, -sp.oo, low), (((a + z) / b) ** power, low, high), (sp.Integer(1), high, sp.oo)]


def _mp_clip_of(expr):
    return lambda s: mp_function(s.result, (a, b))


def steps(previous: Derivation) -> list[Step]:
    e4 = previous["E-4"]
    k_sym = sp.Symbol("k", positive=True)

    # E-6: softsign(x, eps) = S(x/eps) with S(v) = v/sqrt(v^2 + 1); E-4 with S's slope at 0.
    v = sp.Symbol("v", real=True)
    S_unit = softsign(v, 1)
    slope = sp.diff(S_unit, v).subs(v, 0)
    e6_result = e4.result.subs(k_sym, slope).subs(x, x / eps)
    e6 = Step(
        label="E-6",
        section=SECTION,
        statement="softsign(x, eps) ~= clip(x/eps, -1, 1): E-4 applied to softsign, whose slope at 0 is 1/eps",
        definition=sp.Eq(sp.Symbol("k_softsign"), sp.Derivative(S_unit, v).subs(v, 0)),
        result=e6_result,
        printed=clip(x / eps),
        relation=approximation("sup |softsign(x, eps) - clip(x/eps)| over x in R, the same for every eps > 0 (scale-free in x/eps)"),
        checks=(
            MatchesPrinted(domain=domain((x, "real"), (eps, "positive"))),
            SupError1D(name="softsign(u, 1) ~= clip(u): sup error on R",
                       approx=lambda s: mp_function(s.result.subs(eps, 1), (x,)),
                       exact=lambda t: t / mp.sqrt(t * t + 1), low=0, high=20, bound=0.3,
                       tail="both odd; for u > 20 the error is 1 - u/sqrt(u^2 + 1) < 1.3e-3"),
        ),
        depends=("E-4",),
    )

    # E-7: split points of clip(g~/eps) with g~ = g + sigma z/sqrt(B).
    g_tilde = g + sigma * z / sp.sqrt(B)
    low, high = sorted(sp.solve(sp.Eq(g_tilde / eps, -1), z) + sp.solve(sp.Eq(g_tilde / eps, 1), z),
                       key=lambda e: e.subs({g: 0, sigma: 1, B: 1, eps: 1}))
    printed_points = sp.Tuple(-(g + eps) * sp.sqrt(B) / sigma, -(g - eps) * sp.sqrt(B) / sigma)
    pieces_gs = [(sp.Integer(-1), -sp.oo, low), (g_tilde / eps, low, high), (sp.Integer(1), high, sp.oo)]
    e7 = Step(
        label="E-7",
        section=SECTION,
        statement="E[phi] ~= E[clip(g/eps + sigma z/(eps sqrt(B)), -1, 1)], split at "
        "z = -(g + eps) sqrt(B)/sigma and z = -(g - eps) sqrt(B)/sigma into three Gaussian integrals",
        definition=sp.Integral(clip(g_tilde / eps) * phi, (z, -sp.oo, sp.oo)),
        result=sp.Tuple(low, high),
        printed=printed_points,
        relation=approximation("E[clip] for E[softsign]: max |error| over a in R, b > 0 (exact SoftSign mean by quadrature)"),
        checks=(
            MatchesPrinted(domain=domain((g, "real"), (eps, "positive"), (sigma, "positive"), (B, "positive"))),
            ApproximationError(
                name="E[clip] vs exact E[softsign] (quadrature)",
                approx=lambda s: lambda A, Bb: reference.clip_mean(A, Bb),
                exact=reference.softsign_mean,
                domain=quadrature_domain(a, b, description="a in [-30, 30], b in [1e-6, 1e3]"),
                bound=NOISE_FREE_CLIP_ERROR),
        ),
        extras=(("pieces", defining_integral([(p_, lo, hi) for p_, lo, hi in pieces_gs])),),
        depends=("E-6",),
    )

    # E-8: the three pieces in reduced variables, integrated.
    lo_r, hi_r = (sp.simplify(e.subs(TO_REDUCED)) for e in e7.result)
    e8_result = expectation(clip_pieces(1, lo_r, hi_r))
    quad_domain = quadrature_domain(a, b, description="a in [-30, 30], b in [1e-6, 1e3]")
    e8 = Step(
        label="E-8",
        section=SECTION,
        statement="E[clip((a + z)/b, -1, 1)] in closed form (erf and exp), a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma",
        definition=defining_integral(clip_pieces(1, lo_r, hi_r)),
        result=e8_result,
        printed=printed_e8(),
        relation=identity("exact: the Gaussian expectation of the clipped update"),
        checks=(
            MatchesPrinted(domain=domain((a, "real"), (b, "positive"))),
            NumericIdentity(name="closed form == quadrature of the defining integral",
                            build=lambda s: s.result, reference=reference.clip_mean, domain=quad_domain),
            ZeroIdentity(name="odd in a", build=lambda s: s.result.subs(a, -a) + s.result, kind="claim",
                         domain=domain((a, "real"), (b, "positive"))),
            Claim(name="increasing in a: d/da = [erf((a+b)/sqrt2) - erf((a-b)/sqrt2)]/(2b) > 0", test=_e8_increasing),
            LimitValue(name="range (-1, 1): -> 1 as a -> oo", build=lambda s: s.result, var=a, point=sp.oo,
                       expected=lambda s: sp.Integer(1)),
            LimitValue(name="range (-1, 1): -> -1 as a -> -oo", build=lambda s: s.result, var=a, point=-sp.oo,
                       expected=lambda s: sp.Integer(-1)),
            ZeroIdentity(name="slope at a = 0 is erf(b/sqrt2)/b", kind="claim",
                         build=lambda s: sp.diff(s.result, a).subs(a, 0) - sp.erf(b / SQ2) / b,
                         domain=domain((b, "positive"))),
        ),
        depends=("E-7",),
    )

    # E-9: E-3 with E-8's slope at 0, then erf(x) ~= x/sqrt(x^2 + pi/4).
    e3 = previous["E-3"]
    slope0 = sp.simplify(sp.diff(e8_result, a).subs(a, 0))
    first = e3.result.subs(x, a).subs(k_sym, slope0)
    erf_approx = e3.result.subs(k_sym, previous["E-3"].extra("k_erf"))  # erf(x) ~= x/sqrt(x^2 + pi/4)
    second = sp.simplify(sp.powsimp(first.replace(sp.erf, lambda t: erf_approx.subs(x, t)), force=True))
    second_gs = sp.simplify(to_gsigma(second))
    e9_printed_first = a / sp.sqrt(a**2 + b**2 / sp.erf(b / SQ2) ** 2)
    e9_printed = a / sp.sqrt(a**2 + b**2 + sp.pi / 2)
    e9_printed_gs = (g / sigma) / sp.sqrt((g**2 + eps**2) / sigma**2 + sp.pi / (2 * B))
    ab_domain = domain((a, "real"), (b, "positive"))
    e9 = Step(
        label="E-9",
        section=SECTION,
        statement="E[phi] ~= a/sqrt(a^2 + b^2/erf(b/sqrt2)^2) (E-3 with E-8's slope) ~= a/sqrt(a^2 + b^2 + pi/2)"
        " = (g/sigma)/sqrt((g^2 + eps^2)/sigma^2 + pi/(2B))",
        definition=sp.Eq(sp.Symbol("k_E8"), sp.Derivative(e8_result, a).subs(a, 0)),
        result=second,
        printed=e9_printed,
        relation=approximation("max |error| against E-8 and against the exact SoftSign mean, a in R, b > 0"),
        checks=(
            MatchesPrinted(domain=ab_domain),
            ZeroIdentity(name="first form == printed first form", build=lambda s: s.extra("first") - e9_printed_first,
                         domain=ab_domain),
            ZeroIdentity(name="g, sigma, eps, B form == printed", build=lambda s: s.extra("in g, sigma") - e9_printed_gs,
                         domain=domain((g, "real"), (eps, "positive"), (sigma, "positive"), (B, "positive"))),
            ApproximationError(name="first form vs E-8", approx=lambda s: mp_function(s.extra("first"), (a, b)),
                               exact=mp_function(e8_result, (a, b)), domain=ab_domain, bound=NOISE_FREE_CLIP_ERROR),
            ApproximationError(name="second form vs E-8", approx=lambda s: mp_function(s.result, (a, b)),
                               exact=mp_function(e8_result, (a, b)), domain=ab_domain, bound=NOISE_FREE_CLIP_ERROR),
            ApproximationError(name="second form vs exact E[softsign]", approx=lambda s: mp_function(s.result, (a, b)),
                               exact=reference.softsign_mean, domain=quad_domain, bound=0.15),
        ),
        extras=(("first", first), ("slope at 0", slope0), ("in g, sigma", second_gs)),
        depends=("E-3", "E-8"),
    )

    # E-10: per component softsign(g, eps) * beta_i; mean field beta_i -> beta.
    per_component = softsign(g, eps) / sp.sqrt(1 + sp.pi * sigma**2 / ((g**2 + eps**2) * 2 * B))
    beta_of = (1 + sp.pi * kappa2 / (2 * B)) ** sp.Rational(-1, 2)
    kappa2_i = sigma**2 / (g**2 + eps**2)
    # Derive E-10 from E-9 by factoring out softsign(g, eps): the remaining factor is beta_i.
    beta_i = sp.simplify(sp.powsimp(sp.factor(second_gs / softsign(g, eps)), force=True))
    e10_result = softsign(g, eps) * beta_i
    e10 = Step(
        label="E-10",
        section=SECTION,
        statement="E[phi]_i ~= softsign(g_i, eps)/sqrt(1 + pi sigma_i^2/((g_i^2 + eps^2) 2B)) ~= nu_i beta (mean field)",
        definition=sp.Eq(sp.Symbol("beta_i"), second_gs / softsign(g, eps)),
        result=e10_result,
        printed=per_component,
        relation=identity("exact rewriting of E-9; nu_i beta is exact when every sigma_i^2/(g_i^2 + eps^2) equals kappa^2"),
        checks=(
            MatchesPrinted(domain=domain((g, "real"), (eps, "positive"), (sigma, "positive"), (B, "positive"))),
            ZeroIdentity(name="mean field nu*beta with kappa2 = sigma^2/(g^2 + eps^2) equals E-10",
                         build=lambda s: s.extra("mean field").subs({nu: softsign(g, eps), kappa2: kappa2_i})
                         - s.result,
                         domain=domain((g, "real"), (eps, "positive"), (sigma, "positive"), (B, "positive"))),
        ),
        extras=(("mean field", nu * beta_of), ("beta", beta_of), ("beta_i", beta_i)),
        depends=("E-9",),
        note="kappa^2 stands for an average of sigma_i^2/(g_i^2 + eps^2); which average is best is measured in the atlas.",
    )
    return [e6, e7, e8, e9, e10]


def _e8_increasing(step: Step) -> ClaimOutcome:
    derivative = sp.diff(step.result, a)
    expected = (sp.erf((a + b) / SQ2) - sp.erf((a - b) / SQ2)) / (2 * b)
    from ..checks.base import symbolic_zero

    same = symbolic_zero(derivative - expected)
    # erf is strictly increasing and (a + b) > (a - b) for b > 0, so expected > 0.
    return ClaimOutcome(same, "symbolic",
                        f"d/da E-8 == [erf((a+b)/sqrt2) - erf((a-b)/sqrt2)]/(2b): {same}; positive since erf is"
                        " strictly increasing and b > 0; with the limits +-1 at a -> +-oo the range is (-1, 1)")
