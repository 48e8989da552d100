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
from ..checks.base import (ApproximationError, Claim, ClaimOutcome, LimitValue, MatchesPrinted, MatchesPrintedForm,
                           NumericIdentity, ReferenceCrossCheck, ZeroIdentity)
from ..checks.domain import QUAD_NONNEGATIVE, Domain, Var, quadrature_domain
from ..checks.evaluate import mp_function
from ..gaussian import defining_integral, expectation
from ..steps import Derivation, Step, approximation, identity
from ..symbols import B, a, b, beta, eps, g, kappa2, nu, sigma
from .common import softsign
from .mean import (AB, B_REGION, GSIGMA, QUAD, REFERENCE_POINTS, SQ2, TO_REDUCED, clip_pieces, reduced_split_points,
                   to_gsigma)

SECTION = "second_moment"

ap = sp.Symbol("a_plus", positive=True)  # a > 0, for claims about increasing in |a|
QUAD_NONNEG = quadrature_domain(a, b, QUAD_NONNEGATIVE, description="a in [0, 30], b in [1e-6, 1e3]")
A0B = Domain((Var(a, "nonnegative"), Var(b, "positive")), "a >= 0 (even in a), b > 0")


def compact_e11() -> sp.Expr:
    """A compact form of E-11 (the project's; the article omits it), compared with the derived one.

    With E+- = erf((a +- b)/sqrt2) and G+- = exp(-(a +- b)^2/2)/sqrt(2 pi):
    1 + (a^2 + 1 - b^2)(E+ - E-)/(2 b^2) + ((a - b) G+ - (a + b) G-)/b^2.
    """
    Ep, Em = sp.erf((a + b) / SQ2), sp.erf((a - b) / SQ2)
    Gp, Gm = (sp.exp(-(a + b) ** 2 / 2) / sp.sqrt(2 * sp.pi), sp.exp(-(a - b) ** 2 / 2) / sp.sqrt(2 * sp.pi))
    return 1 + (a**2 + 1 - b**2) * (Ep - Em) / (2 * b**2) + ((a - b) * Gp - (a + b) * Gm) / b**2


def steps(previous: Derivation) -> list[Step]:
    e11 = _e11(previous)
    e12 = _e12(previous.extended([e11]))
    e13 = _e13(previous.extended([e11, e12]))
    return [e11, e12, e13]


def _e11(previous: Derivation) -> Step:
    """E-11: E-7's three pieces, squared, integrated (gaussian.expectation)."""
    low, high = reduced_split_points(previous["E-7"].result)
    pieces = clip_pieces(2, low, high)
    return Step(
        label="E-11",
        section=SECTION,
        statement="E[phi^2] ~= E[clip((a + z)/b, -1, 1)^2]: three Gaussian integrals, in closed form",
        definition=defining_integral(pieces),
        result=expectation(pieces),
        printed=compact_e11(),
        relation=approximation("E[clip^2] for E[softsign^2]: max |error| over a in R, b > 0 (exact by quadrature)"),
        checks=(
            MatchesPrinted(domain=AB),
            NumericIdentity(name="closed form == quadrature of the defining integral",
                            build=lambda s: s.result, reference=reference.clip_second_moment, domain=QUAD),
            ReferenceCrossCheck(name="reference: E[clip^2] (quadrature in z) == tail-integral route",
                                reference="clip_second_moment", points=REFERENCE_POINTS),
            ReferenceCrossCheck(name="reference: exact E[softsign^2] (quadrature in z) == Faddeeva route",
                                reference="softsign_second_moment", points=REFERENCE_POINTS),
            # measured 0.3120 at a = -3, b = 3: bound 0.32
            ApproximationError(name="E[clip^2] vs exact E[softsign^2] (quadrature)",
                               approx=lambda s: mp_function(s.result, (a, b)),
                               exact=reference.softsign_second_moment, domain=QUAD, bound=0.32, pinned=True),
            ZeroIdentity(name="even in a", kind="claim", build=lambda s: s.result.subs(a, -a) - s.result, domain=AB),
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


def _e12(previous: Derivation) -> Step:
    """E-12: the ansatz 1 - (1 - nu^2) beta_i^2 with E-9's nu and beta_i.

    With no noise E[phi^2] = nu^2 = softsign(g, eps)^2, and the deficit 1 - nu^2 is damped by the same
    factor beta_i^2 as the mean (E-9 = nu beta_i)."""
    e9, e11 = previous["E-9"], previous["E-11"]
    nu_r = sp.simplify(softsign(g, eps).subs(TO_REDUCED))  # softsign(g, eps) = a/sqrt(a^2 + b^2)
    beta_r = e9.result / nu_r
    definition = sp.Eq(sp.Symbol("s_ansatz"), 1 - (1 - nu**2) * beta**2)
    e11_f = mp_function(e11.result, (a, b))
    return Step(
        label="E-12",
        section=SECTION,
        statement="E[phi^2] ~= 1 - b^2/(a^2 + b^2 + pi/2) = 1 - (eps^2/(g^2 + eps^2))/(1 + pi sigma^2/((g^2 + eps^2) 2B))",
        definition=definition,
        result=sp.simplify(definition.rhs.subs({nu: nu_r, beta: beta_r})),
        printed=1 - b**2 / (a**2 + b**2 + sp.pi / 2),
        relation=approximation("max |error| against E-11 and against the exact SoftSign second moment, a >= 0, b > 0;"
                               " and against E-11 at a = 0, b in [0.1, 10]"),
        checks=(
            MatchesPrinted(domain=AB),
            MatchesPrintedForm(name="g, sigma, eps, B form == printed", form=lambda s: to_gsigma(s.result),
                               printed_form=1 - (eps**2 / (g**2 + eps**2))
                               / (1 + sp.pi * sigma**2 / ((g**2 + eps**2) * 2 * B)), domain=GSIGMA),
            ZeroIdentity(name="== its definition 1 - (1 - nu^2) beta_i^2 with E-9's nu and beta_i = E-9/nu",
                         build=lambda s: s.result - s.definition.rhs.subs({nu: nu_r, beta: e9.result / nu_r}),
                         domain=AB),
            # measured 0.4999 (the noise-free corner a = b = 1e4, where pi/2 does not matter): bound 0.50
            ApproximationError(name="vs E-11 (clipped second moment)", approx=lambda s: mp_function(s.result, (a, b)),
                               exact=e11_f, domain=A0B, bound=0.50, pinned=True),
            # measured 0.3009 at a = 0, b = 0.5: bound 0.31
            ApproximationError(name="vs exact E[softsign^2] (quadrature)", approx=lambda s: mp_function(s.result, (a, b)),
                               exact=reference.softsign_second_moment, domain=QUAD_NONNEG, bound=0.31, pinned=True),
            # measured 0.1222 at b = 0.5012: bound 0.13 (pi/3 for pi/2 gives 0.079: the error figure changes)
            ApproximationError(name="at a = 0 vs E-11, b in [0.1, 10]",
                               approx=lambda s: mp_function(s.result.subs(a, 0), (b,)),
                               exact=mp_function(e11.result.subs(a, 0), (b,)), domain=B_REGION, bound=0.13,
                               pinned=True),
            ZeroIdentity(name="even in a", kind="claim", build=lambda s: s.result.subs(a, -a) - s.result, domain=AB),
            Claim(name="inverted bell: increasing in |a|, bounded by 1", test=_e12_shape),
            ZeroIdentity(name="value 1 at b = 0", kind="claim", build=lambda s: s.result.subs(b, 0) - 1),
            LimitValue(name="-> 0 as b -> oo", build=lambda s: s.result, var=b, point=sp.oo,
                       expected=lambda s: sp.Integer(0)),
            LimitValue(name="b^2 E-12 -> a^2 + pi/2 as b -> oo (exact: a^2 + 1; the pi/2 of E-18)",
                       build=lambda s: b**2 * s.result, var=b, point=sp.oo, expected=lambda s: a**2 + sp.pi / 2),
        ),
        extras=(("nu (reduced)", nu_r), ("beta_i^2 (reduced)", sp.simplify(beta_r**2))),
        depends=("E-9", "E-11"),
        note="The article admits E-12 is not very accurate; the measured errors are in its checks.  Its pi/2 is "
        "E-9's, not a fit: at a = 0, pi/3 would be closer to E-11 (max error 0.079 instead of 0.12); the error checks "
        "pin the measured figures, so either change fails them.",
    )


def _e13(previous: Derivation) -> Step:
    """E-13: E[phi phi^T] in the mean field: the diagonal is E-12 with beta_i -> beta, the off-diagonal
    E[phi_i] E[phi_j] (independent components) with E-10's mean field nu_i beta."""
    e10, e12 = previous["E-10"], previous["E-12"]
    mean_field = e10.extra("mean field").subs(e10.extra("beta"), beta)  # nu beta, beta = beta(B) of E-10
    nu_i, nu_j, d_ij = sp.symbols("nu_i nu_j delta_ij", real=True)
    # E-12 in (nu_i, beta): a = nu_i sqrt(r), b = sqrt(1 - nu_i^2) sqrt(r), r = a^2 + b^2 = B/kappa^2, and r from
    # E-10's beta(kappa^2): one beta for every component is the mean field.
    r = sp.Symbol("r", positive=True)
    (r_of_beta,) = sp.solve(sp.Eq(beta**2, e10.extra("beta").subs(kappa2, B / r) ** 2), r)
    diagonal = sp.expand(sp.simplify(
        e12.result.subs({a: nu_i * sp.sqrt(r), b: sp.sqrt(1 - nu_i**2) * sp.sqrt(r)}, simultaneous=True)
        .subs(r, r_of_beta)))
    off_diagonal = mean_field.subs(nu, nu_i) * mean_field.subs(nu, nu_j)
    entry = sp.collect(sp.expand(off_diagonal + d_ij * (diagonal - off_diagonal.subs(nu_j, nu_i))), d_ij)
    # the E-12 and E-10 forms in the reduced variables, for the checks
    nu_r = e12.extra("nu (reduced)")
    beta_r = e10.extra("beta").subs(kappa2, B / (a**2 + b**2))
    return Step(
        label="E-13",
        section=SECTION,
        statement="E[phi phi^T]_ij ~= nu_i nu_j beta^2 + delta_ij (1 - beta^2): the covariance of phi is (1 - beta^2) I",
        definition=sp.Tuple(sp.Eq(sp.Symbol("M_ii"), diagonal), sp.Eq(sp.Symbol("M_ij"), off_diagonal)),
        result=entry,
        printed=nu_i * nu_j * beta**2 + d_ij * (1 - beta**2),
        relation=identity("exact from E-12 when every beta_i equals beta (mean field) and the components are independent"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="diagonal (delta_ij = 1, j = i) == E-12 at nu_i = a/sqrt(a^2 + b^2), beta = E-10's beta",
                         build=lambda s: s.result.subs({d_ij: 1, nu_j: nu_i}).subs({nu_i: nu_r, beta: beta_r})
                         - e12.result, domain=AB),
            ZeroIdentity(name="off-diagonal (delta_ij = 0) == E[phi_i] E[phi_j], E-10's mean field nu beta",
                         build=lambda s: s.result.subs(d_ij, 0) - mean_field.subs(nu, nu_i) * mean_field.subs(nu, nu_j)),
            Claim(name="covariance E[phi phi^T] - E[phi]E[phi]^T = (1 - beta^2) I (n = 3)", test=_covariance,
                  article_claim=True),
        ),
        depends=("E-10", "E-12"),
    )


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
