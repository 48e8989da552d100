"""E-11 .. E-13: the second moment of the SoftSign update.

E-11 is the clipped second moment, which the article does not print ("even more
verbose"); here it is derived, and compared with a compact form of it.  E-12 is
the article's chosen approximation, derived as the ansatz 1 - (1 - nu^2) beta^2
with E-9's nu and beta.  E-13 is its mean-field form.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ..checks import reference
from ..checks.base import (ApproximationError, Claim, ClaimOutcome, LimitValue, MatchesPrinted, NumericIdentity,
                           ZeroIdentity)
from ..checks.domain import QUAD_NONNEGATIVE, Domain, Var, domain, quadrature_domain
from ..checks.evaluate import mp_function
from ..gaussian import defining_integral, expectation
from ..steps import Derivation, Step, approximation, identity
from ..symbols import B, a, b, beta, eps, g, nu, sigma
from .common import softsign
from .mean import SQ2, clip_pieces, to_gsigma

SECTION = "second_moment"

# Acceptance bound for second moments: with no noise (a = b -> oo) clip(u)^2 = 1 while softsign(u)^2 = 1/2
# at u = 1, so sup |clip^2 - softsign^2| = 1/2; E-12 -> b^2-free form a^2/(a^2 + b^2) = 1/2 there too.
NOISE_FREE_SQUARED_ERROR = 0.5

ap = sp.Symbol("a_plus", positive=True)  # a > 0, for claims about increasing in |a|


def compact_e11() -> sp.Expr:
    """A compact form of E-11 (the project's; the article omits it), compared with the derived one.

    With E+- = erf((a +- b)/sqrt2) and G+- = exp(-(a +- b)^2/2)/sqrt(2 pi):
    1 + (a^2 + 1 - b^2)(E+ - E-)/(2 b^2) + ((a - b) G+ - (a + b) G-)/b^2.
    """
    Ep, Em = sp.erf((a + b) / SQ2), sp.erf((a - b) / SQ2)
    Gp, Gm = (sp.exp(-(a + b) ** 2 / 2) / sp.sqrt(2 * sp.pi), sp.exp(-(a - b) ** 2 / 2) / sp.sqrt(2 * sp.pi))
    return 1 + (a**2 + 1 - b**2) * (Ep - Em) / (2 * b**2) + ((a - b) * Gp - (a + b) * Gm) / b**2


def steps(previous: Derivation) -> list[Step]:
    e7, e9, e10 = previous["E-7"], previous["E-9"], previous["E-10"]
    # E-11: the same three pieces as E-8, squared.
    low, high = -a - b, -a + b  # E-7's split points in reduced variables (checked in E-8)
    pieces = clip_pieces(2, low, high)
    e11_result = expectation(pieces)
    quad = quadrature_domain(a, b, description="a in [-30, 30], b in [1e-6, 1e3]")
    quad_nonneg = quadrature_domain(a, b, QUAD_NONNEGATIVE, description="a in [0, 30], b in [1e-6, 1e3]")
    ab = domain((a, "real"), (b, "positive"))
    a0b = Domain((Var(a, "nonnegative"), Var(b, "positive")), "a >= 0 (even in a), b > 0")
    e11 = Step(
        label="E-11",
        section=SECTION,
        statement="E[phi^2] ~= E[clip((a + z)/b, -1, 1)^2]: three Gaussian integrals, in closed form",
        definition=defining_integral(pieces),
        result=e11_result,
        printed=compact_e11(),
        relation=approximation("E[clip^2] for E[softsign^2]: max |error| over a in R, b > 0 (exact by quadrature)"),
        checks=(
            MatchesPrinted(domain=ab),
            NumericIdentity(name="closed form == quadrature of the defining integral",
                            build=lambda s: s.result, reference=reference.clip_second_moment, domain=quad),
            ApproximationError(name="E[clip^2] vs exact E[softsign^2] (quadrature)",
                               approx=lambda s: mp_function(s.result, (a, b)),
                               exact=reference.softsign_second_moment, domain=quad, bound=NOISE_FREE_SQUARED_ERROR),
            ZeroIdentity(name="even in a", kind="claim", build=lambda s: s.result.subs(a, -a) - s.result, domain=ab),
            Claim(name="increasing in |a| (positive a-derivative for a > 0)", test=_e11_increasing),
            Claim(name="bounded above by 1", test=_e11_bounded),
            Claim(name="minimum at a = 0 lies in (0, 1), -> 1 as b -> 0, -> 0 as b -> oo", test=_e11_minimum),
            LimitValue(name="b^2 E-11 -> a^2 + 1 as b -> oo (a > 0): eps^2 E[phi^2] -> g^2 + sigma^2/B",
                       build=lambda s: b**2 * s.result.subs(a, ap), var=b, point=sp.oo,
                       expected=lambda s: ap**2 + 1),
        ),
        depends=("E-7",),
        note="The article does not print E-11; the compact form here is this project's.",
    )

    # E-12: the ansatz 1 - (1 - nu^2) beta^2: with no noise E[phi^2] = nu^2 = softsign(g, eps)^2, and the
    # deficit 1 - nu^2 is damped by the same factor beta_i^2 as the mean (E-9 = nu * beta_i).
    nu_r = a / sp.sqrt(a**2 + b**2)  # softsign(g, eps) in reduced variables
    beta_r_sq = sp.simplify((e9.result / nu_r) ** 2)
    e12_result = sp.simplify(1 - (1 - nu_r**2) * beta_r_sq)
    e12_printed = 1 - b**2 / (a**2 + b**2 + sp.pi / 2)
    e12_printed_gs = 1 - (eps**2 / (g**2 + eps**2)) / (1 + sp.pi * sigma**2 / ((g**2 + eps**2) * 2 * B))
    e12 = Step(
        label="E-12",
        section=SECTION,
        statement="E[phi^2] ~= 1 - b^2/(a^2 + b^2 + pi/2) = 1 - (eps^2/(g^2 + eps^2))/(1 + pi sigma^2/((g^2 + eps^2) 2B))",
        definition=sp.Eq(sp.Symbol("s_ansatz"), 1 - (1 - nu**2) * beta**2),
        result=e12_result,
        printed=e12_printed,
        relation=approximation("max |error| against E-11 and against the exact SoftSign second moment, a >= 0, b > 0"),
        checks=(
            MatchesPrinted(domain=ab),
            ZeroIdentity(name="g, sigma, eps, B form == printed",
                         build=lambda s: to_gsigma(s.result) - e12_printed_gs,
                         domain=domain((g, "real"), (eps, "positive"), (sigma, "positive"), (B, "positive"))),
            ApproximationError(name="vs E-11 (clipped second moment)", approx=lambda s: mp_function(s.result, (a, b)),
                               exact=mp_function(e11_result, (a, b)), domain=a0b, bound=NOISE_FREE_SQUARED_ERROR),
            ApproximationError(name="vs exact E[softsign^2] (quadrature)", approx=lambda s: mp_function(s.result, (a, b)),
                               exact=reference.softsign_second_moment, domain=quad_nonneg, bound=0.5),
            ZeroIdentity(name="even in a", kind="claim", build=lambda s: s.result.subs(a, -a) - s.result, domain=ab),
            Claim(name="inverted bell: increasing in |a|, bounded by 1", test=_e12_shape),
            ZeroIdentity(name="value 1 at b = 0", kind="claim", build=lambda s: s.result.subs(b, 0) - 1),
            LimitValue(name="-> 0 as b -> oo", build=lambda s: s.result, var=b, point=sp.oo,
                       expected=lambda s: sp.Integer(0)),
            LimitValue(name="b^2 E-12 -> a^2 + pi/2 as b -> oo (exact: a^2 + 1; the pi/2 of E-18)",
                       build=lambda s: b**2 * s.result, var=b, point=sp.oo, expected=lambda s: a**2 + sp.pi / 2),
        ),
        extras=(("nu (reduced)", nu_r), ("beta_i^2 (reduced)", beta_r_sq)),
        depends=("E-9", "E-11"),
        note="The article admits E-12 is not very accurate; the measured errors are in its checks.",
    )

    # E-13: E-12 as 1 - (1 - nu_i^2) beta_i^2, beta_i -> beta (mean field); off-diagonal by independence.
    nu_i, nu_j, d_ij = sp.symbols("nu_i nu_j delta_ij", real=True)
    diagonal = sp.expand((1 - (1 - nu**2) * beta**2))
    off_diagonal = (nu_i * beta) * (nu_j * beta)  # E[phi_i phi_j] = E[phi_i] E[phi_j] for independent components
    e13_result = sp.expand(nu_i * nu_j * beta**2 + d_ij * (diagonal.subs(nu, nu_i) - nu_i * nu_j * beta**2))
    e13 = Step(
        label="E-13",
        section=SECTION,
        statement="E[phi phi^T]_ij ~= nu_i nu_j beta^2 + delta_ij (1 - beta^2): the covariance of phi is (1 - beta^2) I",
        definition=sp.Tuple(sp.Eq(sp.Symbol("M_ii"), diagonal), sp.Eq(sp.Symbol("M_ij"), off_diagonal)),
        result=e13_result.subs(nu_j, nu_i).subs(d_ij, 1) * d_ij + (1 - d_ij) * off_diagonal,
        printed=nu_i * nu_j * beta**2 + d_ij * (1 - beta**2),
        relation=identity("exact from E-12 when every beta_i equals beta (mean field) and the components are independent"),
        checks=(
            # delta_ij is 0 or 1, and 1 only when j = i: compare in those two cases.
            ZeroIdentity(name="derived == printed (delta_ij = 0; delta_ij = 1 with j = i)",
                         build=lambda s: sp.Tuple((s.result - s.printed).subs(d_ij, 0),
                                                  (s.result - s.printed).subs({d_ij: 1, nu_j: nu_i}))),
            ZeroIdentity(name="E-12 in (nu, beta_i) form == 1 - (1 - nu^2) beta_i^2",
                         build=lambda s: e12_result - (1 - (1 - nu_r**2) * beta_r_sq)),
            Claim(name="covariance E[phi phi^T] - E[phi]E[phi]^T = (1 - beta^2) I (n = 3)", test=_covariance,
                  article_claim=True),
        ),
        depends=("E-10", "E-12"),
    )
    return [e11, e12, e13]


def _e11_increasing(step: Step) -> ClaimOutcome:
    derivative = mp_function(sp.diff(step.result, a), (a, b))
    bad, count = [], 0
    with mp.workdps(40):
        for av in ("1e-6", "0.01", "0.3", "1", "2", "5", "10"):
            for bv in ("1e-4", "0.1", "0.5", "1", "3", "10", "100", "1e3"):
                count += 1
                if not derivative(mp.mpf(av), mp.mpf(bv)) > 0:
                    bad.append((av, bv))
    return ClaimOutcome(not bad, "numeric", f"d/da E-11 > 0 at {count - len(bad)} of {count} points with a > 0"
                        + (f"; not at {bad[:5]}" if bad else ""), digits=40, points=count)


def _e11_bounded(step: Step) -> ClaimOutcome:
    f = mp_function(step.result, (a, b))
    worst, count = mp.mpf(-1), 0
    with mp.workdps(40):
        for av in ("-30", "-3", "-1", "0", "0.5", "1", "3", "30"):
            for bv in ("1e-4", "0.1", "0.5", "1", "3", "10", "100"):
                count += 1
                worst = max(worst, f(mp.mpf(av), mp.mpf(bv)) - 1)
    # Also structurally: clip^2 <= 1 pointwise, so its expectation is <= 1.
    return ClaimOutcome(worst <= 0, "numeric", f"max(E-11 - 1) over {count} points = {mp.nstr(worst, 5)} (clip^2 <= 1)",
                        digits=40, points=count)


def _e11_minimum(step: Step) -> ClaimOutcome:
    at0 = sp.simplify(step.result.subs(a, 0))
    small = sp.limit(at0, b, 0, "+")
    large = sp.limit(at0, b, sp.oo)
    f = mp_function(at0, (b,))
    with mp.workdps(40):
        values = [f(mp.mpf(v)) for v in ("1e-4", "0.01", "0.1", "1", "10", "100", "1e4")]
    inside = all(0 < v < 1 for v in values)
    return ClaimOutcome(inside and small == 1 and large == 0, "symbolic",
                        f"E-11 at a = 0: {sp.sstr(at0)}; limits b->0: {small}, b->oo: {large}; "
                        f"values in (0, 1) at 7 b's from 1e-4 to 1e4: {inside}")


def _e12_shape(step: Step) -> ClaimOutcome:
    derivative = sp.simplify(sp.diff(step.result, a).subs(a, ap))
    increasing = bool(derivative.is_positive)
    below_one = bool(sp.simplify(1 - step.result).is_nonnegative)
    return ClaimOutcome(increasing and below_one, "symbolic",
                        f"d/da at a > 0 = {sp.sstr(derivative)} > 0: {increasing}; 1 - E-12 >= 0: {below_one}")


def _covariance(step: Step) -> ClaimOutcome:
    n = 3
    nus = sp.symbols(f"nu_1:{n + 1}", real=True)
    d_ij = sp.Symbol("delta_ij", real=True)
    nu_i, nu_j = sp.symbols("nu_i nu_j", real=True)
    M = sp.Matrix(n, n, lambda i, j: step.result.subs({nu_i: nus[i], nu_j: nus[j], d_ij: 1 if i == j else 0}))
    m = sp.Matrix(n, 1, lambda i, _: nus[i] * beta)
    residual = sp.simplify(M - m * m.T - (1 - beta**2) * sp.eye(n))
    return ClaimOutcome(residual == sp.zeros(n, n), "symbolic", f"M - m m^T - (1 - beta^2) I at n = {n}: {residual.tolist()}")
