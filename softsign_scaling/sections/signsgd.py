"""P-17 .. P-35 (predecessor article): SignSGD, the surge, and its efficiency relation.

Per component g~_i = g_i + sigma_i z_i / sqrt(B), z_i independent N(0, 1); the
update is sign(g~).  mu_i = E[sign(g~_i)] (P-17); aggregates over components are
G_mu = sum mu_i g_i, U_mu = sum_{i!=j} mu_i mu_j H_ij, T_H = sum H_ii, and, for
mu_i = sign(g_i) (B -> oo) or sign(g_i) beta (mean field), G_abs = sum |g_i| and
U_H = sum_{i!=j} sign(g_i g_j) H_ij.  Reductions to aggregates are checked at
n = 1..4 components.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import mpmath as mp
import sympy as sp

from ..checks.base import (ApproximationError, Claim, ClaimOutcome, LimitValue, MatchesPrinted, NumericIdentity,
                           SupError1D, ZeroIdentity)
from ..checks.domain import QUAD_REAL, Domain, Var, domain
from ..checks.evaluate import mp_function
from ..checks import reference
from ..gaussian import expectation, phi, piece
from ..steps import Derivation, Step, approximation, identity, limit
from ..symbols import (B, B_noise, B_noise2, G_abs, G_mu, M_phi_g, T_H, T_phi, U_H, U_mu, a, beta, beta_noise,
                       dL_max, eta_max, g, k, kappa2, mu, sigma, x, z)
from .common import build_in_order
from .sgd import (CHECK_N, DERIVE_N, ETA_STAR, Components, Saturating, at_components, components, in_aggregates,
                  saturating_difference, saturating_form, steps_examples_tradeoff, TRADEOFF_CHECK, tradeoff_monotone)

SECTION = "signsgd"

# beta_noise is real only for U_H > 0 (the surge regime); solving for it uses this positive twin of U_H.
U_pos = sp.Symbol("U_H", positive=True)
g_pos = sp.Symbol("g", positive=True)  # |g_i|, for limits that need the sign of g

# sup over x > 0 of |x/sqrt(x^2 + pi/4) - erf(x)| = 0.10784 (at x = 1.330) and of the relative error
# |x/sqrt(x^2 + pi/4)/erf(x) - 1| = 0.11634 (at x = 1.198): the acceptance bounds are these
# rounded up at two figures.
ERF_APPROX_SUP = 0.11
ERF_APPROX_RELATIVE_SUP = 0.12
# The sup does not see the constant (x/sqrt(x^2 + pi/6) has sup error 0.066 < 0.1078); near 0 the slope 2/sqrt(pi)
# decides: on x in [0, 0.1] the error is 3.3656e-4 (at x = 0.1), and 0.024 with pi/6.
ERF_APPROX_NEAR_ZERO_SUP = 0.00034
ERF_TAIL = "both odd; for x > 12, erf(x) = 1 to 60 digits and 1 - x/sqrt(x^2 + pi/4) < pi/(8 x^2) < 3e-3"

# Index notation for the general-n sums of P-24.
i_index = sp.Symbol("i", integer=True, positive=True)
n_components = sp.Symbol("n", integer=True, positive=True)
g_i = sp.IndexedBase("g", real=True)[i_index]
sigma_i = sp.IndexedBase("sigma", positive=True)[i_index]


def sign_pieces(gradient: sp.Expr, noise: sp.Expr) -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
    """sign(gradient + noise z/sqrt(B)) as pieces in z, split where the argument crosses 0."""
    (split,) = sp.solve(sp.Eq(gradient + noise * z / sp.sqrt(B), 0), z)
    return [(sp.Integer(-1), -sp.oo, split), (sp.Integer(1), split, sp.oo)]


def mean_field_rules(scale: sp.Expr) -> dict[sp.Symbol, sp.Expr]:
    """mu_i = sign(g_i) * scale: sum mu_i g_i = scale sum |g_i|, sum_{i!=j} mu_i mu_j H_ij = scale^2 U_H."""
    return {G_mu: scale * G_abs, U_mu: scale**2 * U_H}


def _in_signs(expr: sp.Expr) -> sp.Expr:
    """Rewrite by |t| = t sign(t) and sign(s t) = sign(s) sign(t) (real s, t): sums of signs then cancel
    polynomially, where simplify would expand them into Piecewise cases."""
    expr = expr.replace(sp.Abs, lambda t: t * sp.sign(t))
    return expr.replace(lambda e: isinstance(e, sp.sign) and e.args[0].is_Mul,
                        lambda e: sp.Mul(*[sp.sign(f) for f in e.args[0].args]))


def second_moment_matrix(p20: Step, c: Components) -> sp.ImmutableMatrix:
    """E[phi phi^T] at c.n components from P-20: the diagonal and the off-diagonal product mu_i mu_j."""
    mu_1, mu_2 = p20.extra("mu_1"), p20.extra("mu_2")
    diagonal, off = p20.result
    return sp.ImmutableMatrix(c.n, c.n, lambda i, j: diagonal if i == j
                              else off.subs({mu_1: c.mu[i], mu_2: c.mu[j]}, simultaneous=True))


def explicit_moments(p20: Step, c: Components) -> tuple[sp.Expr, sp.Expr]:
    """(E[phi]^T g, Tr(E[phi phi^T] H)) at c.n components, E[phi]_i = mu_i."""
    return (c.mu.T * c.g)[0], (second_moment_matrix(p20, c) * c.H).trace()


# Printed forms shared by several steps.
PRINTED_BETA_NOISE = sp.sqrt(T_H / U_H)
PRINTED_ETA_MAX = G_abs / (2 * sp.sqrt(T_H * U_H))
PRINTED_DL_MAX = beta_noise * eta_max * G_abs / (1 + beta_noise**2)
PRINTED_B_NOISE2 = sp.pi * kappa2 * beta_noise**2 / (2 * (1 + beta_noise**2))
SURGE_DOMAIN = domain((G_abs, "positive"), (T_H, "positive"), (U_H, "positive"), (beta, "unit"))
NOISE_DOMAIN = domain((beta_noise, "unit"), (eta_max, "positive"), (G_abs, "positive"), (kappa2, "positive"),
                      description="beta_noise in (0, 1), eta_max, sum|g_i|, kappa^2 > 0")
# T, U, sum|g_i|, kappa^2, B > 0: the mean-field decrease in its original symbols
DECREASE_DOMAIN = domain((G_abs, "positive"), (T_H, "positive"), (U_H, "positive"), (kappa2, "positive"),
                         (B, "positive"))


def _p17(previous: Derivation) -> Step:
    """P-17: E[sign(g + sigma z/sqrt(B))], two Gaussian pieces split at z = -g sqrt(B)/sigma."""
    return Step(
        label="P-17",
        section=SECTION,
        statement="E[sign(g + sigma z/sqrt(B))] = erf((g/sigma) sqrt(B/2))",
        definition=sp.Integral(sp.sign(g + sigma * z / sp.sqrt(B)) * phi, (z, -sp.oo, sp.oo)),
        result=expectation(sign_pieces(g, sigma)),
        printed=sp.erf(g / sigma * sp.sqrt(B / 2)),
        relation=identity("exact for g~ = g + sigma z/sqrt(B), z ~ N(0, 1)"),
        checks=(
            MatchesPrinted(domain=domain((g, "real"), (sigma, "positive"), (B, "positive"))),
            NumericIdentity(name="closed form == quadrature of E[sign(a + z)], a = g sqrt(B)/sigma",
                            build=lambda s: s.result.subs(g, a * sigma / sp.sqrt(B)),
                            reference=reference.sign_mean,
                            domain=Domain((Var(a, "real", values=QUAD_REAL),), "a in [-30, 30] and random a")),
            LimitValue(name="mu_i -> 1 as B -> oo for g_i > 0", build=lambda s: s.result.subs(g, g_pos), var=B,
                       point=sp.oo, expected=lambda s: sp.Integer(1)),
            LimitValue(name="mu_i -> -1 as B -> oo for g_i < 0", build=lambda s: s.result.subs(g, -g_pos), var=B,
                       point=sp.oo, expected=lambda s: sp.Integer(-1)),
        ),
    )


def _p18(previous: Derivation) -> Step:
    """P-18: E-3 with k = erf'(0) = 2/sqrt(pi)."""
    e3 = previous["E-3"]
    return Step(
        label="P-18",
        section=SECTION,
        statement="erf(x) ~= x / sqrt(x^2 + pi/4): E-3 with erf's slope 2/sqrt(pi) at 0",
        definition=sp.Eq(k, sp.Subs(sp.Derivative(sp.erf(x), x), x, 0)),
        result=e3.result.subs(k, e3.extra("k_erf")),
        printed=x / sp.sqrt(x**2 + sp.pi / 4),
        relation=approximation(f"sup |error| over x in R is 0.1078 (at |x| = 1.330); acceptance {ERF_APPROX_SUP}"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="slope at 0 equals erf'(0)",
                         build=lambda s: (sp.diff(s.result, x) - sp.diff(sp.erf(x), x)).subs(x, 0)),
            SupError1D(name="erf ~= x/sqrt(x^2 + pi/4): sup error on R",
                       approx=lambda s: mp_function(s.result, (x,)), exact=mp.erf,
                       low=0, high=12, bound=ERF_APPROX_SUP, tail=ERF_TAIL),
            SupError1D(name="near 0, where the slope decides: sup error on [0, 0.1]",
                       approx=lambda s: mp_function(s.result, (x,)), exact=mp.erf,
                       low=0, high=0.1, bound=ERF_APPROX_NEAR_ZERO_SUP, tail="both odd"),
        ),
        depends=("E-3",),
    )


def _p19(previous: Derivation) -> Step:
    """P-19: P-18 inside P-17."""
    p17, p18 = previous["P-17"], previous["P-18"]
    replaced = p17.result.replace(sp.erf, lambda t: p18.result.subs(x, t))
    real_domain = domain((g, "real"), (sigma, "positive"), (B, "positive"))
    return Step(
        label="P-19",
        section=SECTION,
        statement="mu_i = E[sign(g~_i)] ~= (g_i/sigma_i) / sqrt(pi/(2B) + (g_i/sigma_i)^2)",
        definition=sp.Tuple(sp.Eq(mu, p17.result), sp.Eq(sp.erf(x), p18.result)),
        result=sp.simplify(sp.powsimp(replaced, force=True)),
        printed=(g / sigma) / sp.sqrt(sp.pi / (2 * B) + (g / sigma) ** 2),
        relation=approximation("P-18 at x = (g/sigma) sqrt(B/2): sup |error| 0.1078 over a = g sqrt(B)/sigma in R"),
        checks=(
            MatchesPrinted(domain=real_domain),
            ZeroIdentity(name="P-18 at x = (g/sigma) sqrt(B/2)",
                         build=lambda s: s.result - p18.result.subs(x, g / sigma * sp.sqrt(B / 2)),
                         domain=real_domain),
            ZeroIdentity(name="slope in g at g = 0 equals P-17's (exact mu_i)",
                         build=lambda s: (sp.diff(s.result, g) - sp.diff(p17.result, g)).subs(g, 0)),
            # The error depends on a = g sqrt(B)/sigma only: sigma = B = 1 makes g = a.
            SupError1D(name="P-19 vs exact P-17 over a: sup error",
                       approx=lambda s: mp_function(s.result.subs({sigma: 1, B: 1}), (g,)),
                       exact=mp_function(p17.result.subs({sigma: 1, B: 1}), (g,)),
                       low=0, high=17, bound=ERF_APPROX_SUP, tail=ERF_TAIL + " (x = a/sqrt2)"),
            SupError1D(name="near a = 0, where the slope decides: sup error on a in [0, 0.1 sqrt2]",
                       approx=lambda s: mp_function(s.result.subs({sigma: 1, B: 1}), (g,)),
                       exact=mp_function(p17.result.subs({sigma: 1, B: 1}), (g,)),
                       low=0, high=0.1 * 2**0.5, bound=ERF_APPROX_NEAR_ZERO_SUP, tail="both odd (x = a/sqrt2 <= 0.1)"),
        ),
        depends=("P-17", "P-18"),
    )


def _p20(previous: Derivation) -> Step:
    """P-20: second moments: sign^2 = 1; two components by Fubini (independent z_i, z_j)."""
    p17 = previous["P-17"]
    pieces = sign_pieces(g, sigma)
    pair = components(2)
    pieces_1, pieces_2 = ([(p, lo.subs({g: gc, sigma: sc}), hi.subs({g: gc, sigma: sc})) for p, lo, hi in pieces]
                          for gc, sc in zip(pair.g, pair.sigma))
    squared = expectation([(p**2, lo, hi) for p, lo, hi in pieces_1])
    # The double integral over a product of pieces is the product of the two single integrals.
    cross = sp.expand(sp.Add(*[piece(p1, lo1, hi1) * piece(p2, lo2, hi2)
                               for p1, lo1, hi1 in pieces_1 for p2, lo2, hi2 in pieces_2]))
    mu_1 = p17.result.subs({g: pair.g[0], sigma: pair.sigma[0]})
    mu_2 = p17.result.subs({g: pair.g[1], sigma: pair.sigma[1]})
    z1, z2 = pair.z
    noisy_1, noisy_2 = pair.noisy_gradient()
    # Reduced variables a_k = g_k sqrt(B)/sigma_k: the cross moment depends on them only.
    a_1, a_2 = sp.symbols("a_1 a_2", real=True)
    reduced = {pair.g[0]: a_1 * pair.sigma[0] / sp.sqrt(B), pair.g[1]: a_2 * pair.sigma[1] / sp.sqrt(B)}
    return Step(
        label="P-20",
        section=SECTION,
        statement="E[sign(g~_i)^2] = 1 exactly; E[sign(g~_i) sign(g~_j)] = mu_i mu_j for i != j",
        definition=sp.Tuple(
            sp.Integral(sp.sign(noisy_1) ** 2 * phi.subs(z, z1), (z1, -sp.oo, sp.oo)),
            sp.Integral(sp.sign(noisy_1) * sp.sign(noisy_2) * phi.subs(z, z1) * phi.subs(z, z2),
                        (z1, -sp.oo, sp.oo), (z2, -sp.oo, sp.oo))),
        result=sp.Tuple(squared, cross),
        printed=sp.Tuple(sp.Integer(1), sp.Mul(*[p17.printed.subs({g: gc, sigma: sc})
                                                 for gc, sc in zip(pair.g, pair.sigma)])),
        relation=identity("exact under the diagonal-Sigma model: the article's '~=' for i != j is an equality,"
                          " since independent components make E[sign_i sign_j] = E[sign_i] E[sign_j]"),
        checks=(
            MatchesPrinted(domain=domain((pair.g[0], "real"), (pair.g[1], "real"), (pair.sigma[0], "positive"),
                                         (pair.sigma[1], "positive"), (B, "positive"))),
            # sign(t)^2 = 1 except at t = 0 (measure zero): the defining integral is that of the density.
            ZeroIdentity(name="E[sign^2]: the defining integral with sign^2 = 1 almost everywhere",
                         build=lambda s: s.result[0] - s.definition[0].replace(
                             lambda e: e.is_Pow and isinstance(e.base, sp.sign) and e.exp == 2,
                             lambda e: sp.Integer(1)).doit()),
            # The double integral of a product over independent z_1, z_2 is a product of single integrals:
            # each by quadrature, independent of every closed form.
            NumericIdentity(name="E[sign_1 sign_2] == product of quadratures of E[sign(a_k + z)]",
                            build=lambda s: s.result[1].subs(reduced),
                            reference=lambda t1, t2: reference.sign_mean(t1) * reference.sign_mean(t2),
                            domain=Domain((Var(a_1, "real", values=QUAD_REAL),
                                           Var(a_2, "real", values=("-3", "-0.1", "1e-6", "1", "30"))),
                                          "a_1 in [-30, 30] x a_2 in {-3, -0.1, 1e-6, 1, 30}")),
        ),
        extras=(("mu_1", mu_1), ("mu_2", mu_2)),
        depends=("P-17",),
        note="The article writes ~= for the off-diagonal moment; with Sigma diagonal it is exact. It becomes an"
        " approximation only when P-19's mu_i is used.",
    )


def _sign_rules(p20: Step) -> dict[sp.Symbol, sp.Expr]:
    """E-5's moments for SignSGD from P-20, named at n components: E[phi]^T g = G_mu, Tr(...) = T_H + U_mu."""
    c = components(DERIVE_N)
    named = c.aggregates()
    alignment, trace = explicit_moments(p20, c)
    return {M_phi_g: in_aggregates(alignment, {G_mu: named[G_mu]}, c),
            T_phi: in_aggregates(trace, {T_H: named[T_H], U_mu: named[U_mu]}, c)}


def _p21(previous: Derivation) -> Step:
    """P-21: E-5 with E[phi]^T g and Tr(E[phi phi^T] H) from P-20, named at n components."""
    e5, p20 = previous["E-5"], previous["P-20"]
    rules = _sign_rules(p20)
    return Step(
        label="P-21",
        section=SECTION,
        statement="eta* ~= sum_i mu_i g_i / (sum_i H_ii + sum_{i!=j} mu_i mu_j H_ij): E-5 for SignSGD",
        definition=sp.Tuple(sp.Eq(ETA_STAR, e5.result), *[sp.Eq(key, value) for key, value in rules.items()]),
        result=e5.result.subs(rules),
        printed=G_mu / (T_H + U_mu),
        relation=identity("exact for a quadratic loss (E-5) with mu_i = E[sign(g~_i)] of P-17"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="trace reduction at n = 1..4: G_mu/Tr(E[phi phi^T] H) == aggregate form",
                         build=lambda s: _explicit_difference(s.result, p20, lambda m, t: m / t)),
        ),
        depends=("E-5", "P-20"),
    )


def _p22(previous: Derivation) -> Step:
    """P-22: E-5's loss decrease with the same moments as P-21."""
    e5, p20 = previous["E-5"], previous["P-20"]
    rules = _sign_rules(p20)
    return Step(
        label="P-22",
        section=SECTION,
        statement="dL ~= 1/2 (sum_i mu_i g_i)^2 / (sum_i H_ii + sum_{i!=j} mu_i mu_j H_ij)",
        definition=sp.Tuple(sp.Eq(sp.Symbol("dL"), e5.extra("decrease")),
                            *[sp.Eq(key, value) for key, value in rules.items()]),
        result=e5.extra("decrease").subs(rules),
        printed=sp.Rational(1, 2) * G_mu**2 / (T_H + U_mu),
        relation=identity("exact for a quadratic loss (E-5's decrease at eta*) with mu_i of P-17"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="trace reduction at n = 1..4: (E[phi]^T g)^2/(2 Tr(E[phi phi^T] H)) == aggregate form",
                         build=lambda s: _explicit_difference(s.result, p20, lambda m, t: m**2 / (2 * t))),
        ),
        depends=("E-5", "P-20"),
    )


def _p23(previous: Derivation) -> Step:
    """P-23: B -> oo.  erf is odd, so mu_i = sign(g_i) erf(|g_i| sqrt(B/2)/sigma_i) -> sign(g_i) * (limit for g > 0)."""
    p17, p20, p21 = previous["P-17"], previous["P-20"], previous["P-21"]
    limit_scale = sp.limit(p17.result.subs(g, g_pos), B, sp.oo)

    def limit_of_mu(g_c: sp.Expr, sigma_c: sp.Expr) -> sp.Expr:
        # P-17's limit as B -> oo, taken afresh for each sign of g: sign(g) * lim (g > 0).
        return sp.sign(g_c) * sp.limit(p17.result.subs({g: g_pos, sigma: sigma_c}), B, sp.oo)

    return Step(
        label="P-23",
        section=SECTION,
        statement="B -> oo: eta* ~= sum|g_i| / (sum H_ii + sum_{i!=j} sign(g_i g_j) H_ij)",
        definition=sp.Limit(p21.result, B, sp.oo),
        result=p21.result.subs(mean_field_rules(limit_scale)),
        printed=G_abs / (T_H + U_H),
        relation=limit("exact as B -> oo, given P-21 (mu_i -> sign(g_i))"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="P-21's explicit trace form at n = 1..4 with mu_i = lim_(B->oo) P-17 == aggregate form",
                         build=lambda s: _against_explicit_p21(s.result, p20, lambda m, t: m / t, limit_of_mu)),
        ),
        depends=("P-17", "P-21"),
    )


def _diagonal_rules() -> dict[sp.Symbol, sp.Expr]:
    """U_mu for diagonal H, derived at n components (it vanishes)."""
    c = components(DERIVE_N)
    diagonal_H = {c.H[i, j]: 0 for i in range(c.n) for j in range(c.n) if i != j}
    return {U_mu: c.aggregates()[U_mu].subs(diagonal_H)}


def _p24(previous: Derivation) -> Step:
    """P-24: diagonal H (U_mu = 0, derived at n components), mu_i from P-19, as a sum over i."""
    p17, p19, p20, p21 = previous["P-17"], previous["P-19"], previous["P-20"], previous["P-21"]
    diagonal_rules = _diagonal_rules()
    mu_indexed = p19.result.subs({g: g_i, sigma: sigma_i})
    exact = p21.result.subs(diagonal_rules).subs(
        G_mu, sp.Sum(g_i * p17.result.subs({g: g_i, sigma: sigma_i}), (i_index, 1, n_components)))
    return Step(
        label="P-24",
        section=SECTION,
        statement="diagonal H: eta* ~= (1/sum H_ii) sum_i (g_i^2/sigma_i) / sqrt(pi/(2B) + (g_i/sigma_i)^2)",
        definition=sp.Tuple(sp.Eq(ETA_STAR, p21.result), *[sp.Eq(key, value) for key, value in diagonal_rules.items()]),
        result=p21.result.subs(diagonal_rules).subs(G_mu, sp.Sum(g_i * mu_indexed, (i_index, 1, n_components))),
        printed=sp.Sum((g_i**2 / sigma_i) / sp.sqrt(sp.pi / (2 * B) + (g_i / sigma_i) ** 2),
                       (i_index, 1, n_components)) / T_H,
        relation=approximation("P-21 with P-19's mu_i: relative error against exact mu_i at most 0.1164 for every"
                               " g, sigma, B, n (a weighted mean of per-component ratios)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="P-21's explicit trace form at n = 1..4, diagonal H (so U_mu = 0), mu_i of P-19"
                         " == the sum at n",
                         build=lambda s: _against_explicit_p21(
                             s.result, p20, lambda m, t: m / t,
                             lambda g_c, sigma_c: p19.result.subs({g: g_c, sigma: sigma_c}), diagonal=True)),
            SupError1D(name="relative error vs exact mu_i (n = 1, x = g sqrt(B)/(sigma sqrt2))",
                       approx=lambda s: _relative_one_component(s.result, exact), exact=lambda t: mp.mpf(1),
                       low=1e-6, high=12, bound=ERF_APPROX_RELATIVE_SUP,
                       tail="for n components eta*/eta*_exact is a mean of these ratios with weights g_i mu_i >= 0;"
                       " " + ERF_TAIL),
        ),
        extras=(("exact", exact),),
        depends=("P-19", "P-21"),
    )


def _p25(previous: Derivation) -> Step:
    """P-25: kappa^2 = sigma^2/g^2 in P-19 (sigma > 0 takes the root's absolute value), then g/|g| = sign(g)."""
    p19 = previous["P-19"]
    sigma_of_kappa = sp.Abs(sp.solve(sp.Eq(kappa2, sigma**2 / g**2), sigma)[0])
    result = sp.simplify(p19.result.subs(sigma, sigma_of_kappa)).rewrite(sp.sign)
    beta_B = sp.simplify(result / sp.sign(g))
    return Step(
        label="P-25",
        section=SECTION,
        statement="mean field: mu_i ~= sign(g_i) / sqrt(1 + pi kappa^2/(2B)), kappa^2 = sigma_i^2/g_i^2",
        definition=sp.Tuple(sp.Eq(kappa2, sigma**2 / g**2), sp.Eq(mu, p19.result)),
        result=result,
        printed=sp.sign(g) / sp.sqrt(1 + sp.pi * kappa2 / (2 * B)),
        relation=identity("exact rewriting of P-19 with kappa^2 = sigma_i^2/g_i^2; the mean field (one kappa^2 for"
                          " all i) is exact when every sigma_i^2/g_i^2 is equal"),
        checks=(
            MatchesPrinted(domain=domain((g, "nonzero"), (kappa2, "positive"), (B, "positive"))),
            ZeroIdentity(name="with kappa^2 = sigma^2/g^2 it equals P-19",
                         build=lambda s: s.result.subs(kappa2, sigma**2 / g**2) - p19.result,
                         domain=domain((g, "nonzero"), (sigma, "positive"), (B, "positive"))),
        ),
        extras=(("beta", beta_B),),
        depends=("P-19",),
    )


def _p26(previous: Derivation) -> Step:
    """P-26: P-24's diagonal H with P-25's mean field."""
    p17, p20, p21, p25 = previous["P-17"], previous["P-20"], previous["P-21"], previous["P-25"]
    beta_B = p25.extra("beta")
    diagonal_rules = _diagonal_rules()
    return Step(
        label="P-26",
        section=SECTION,
        statement="eta* ~= (sum|g_i| / sum H_ii) / sqrt(1 + pi kappa^2/(2B))",
        definition=sp.Tuple(sp.Eq(ETA_STAR, p21.result), *[sp.Eq(key, value) for key, value in diagonal_rules.items()],
                            *[sp.Eq(key, value) for key, value in mean_field_rules(beta_B).items()]),
        result=p21.result.subs(diagonal_rules).subs(mean_field_rules(beta_B)),
        printed=(G_abs / T_H) / sp.sqrt(1 + sp.pi * kappa2 / (2 * B)),
        relation=approximation("P-19's mu_i under the mean field: relative error against the exact erf mean at most"
                               " 0.1164 for every B, kappa^2 (exact mean field when all kappa_i^2 are equal)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="P-21's explicit trace form at n = 1..4, diagonal H, mu_i = sign(g_i) beta(B) of P-25"
                         " == aggregate form",
                         build=lambda s: _against_explicit_p21(s.result, p20, lambda m, t: m / t,
                                                               lambda g_c, sigma_c: sp.sign(g_c) * beta_B,
                                                               diagonal=True)),
            SupError1D(name="relative error vs the exact mean-field erf (x = sqrt(B/(2 kappa^2)))",
                       approx=lambda s: _relative_mean_field(s.result, p17.result), exact=lambda t: mp.mpf(1),
                       low=1e-6, high=12, bound=ERF_APPROX_RELATIVE_SUP, tail=ERF_TAIL),
        ),
        depends=("P-24", "P-25"),
    )


def _p27(previous: Derivation) -> Step:
    """P-27: B << pi kappa^2/2: eta*/sqrt(B) has a finite nonzero limit as B -> 0."""
    p26_result = previous["P-26"].result
    small_B = sp.pi / 200  # B <= pi kappa^2/200 (kappa^2 = 1): B at most 1% of pi kappa^2/2
    return Step(
        label="P-27",
        section=SECTION,
        statement="B << pi kappa^2/2: eta* ~= (sum|g_i| / sum H_ii) sqrt(2B/(pi kappa^2)), the square-root rule",
        definition=sp.Limit(p26_result / sp.sqrt(B), B, 0),
        result=sp.limit(p26_result / sp.sqrt(B), B, 0) * sp.sqrt(B),
        printed=(G_abs / T_H) * sp.sqrt(2 * B / (sp.pi * kappa2)),
        relation=limit("leading term as B -> 0; relative error sqrt(1 + 2B/(pi kappa^2)) - 1, at most 0.00499"
                       " for B <= pi kappa^2/200"),
        checks=(
            MatchesPrinted(),
            LimitValue(name="eta*/leading term -> 1 as B -> 0", build=lambda s: p26_result / s.result, var=B,
                       point=0, expected=lambda s: sp.Integer(1)),
            Claim(name="square-root rule: eta*(c B)/eta*(B) -> sqrt(c) as B -> 0", test=_square_root_rule),
            ApproximationError(name="relative error for B <= pi kappa^2/200",
                               approx=lambda s: mp_function((s.result / p26_result).subs(
                                   {kappa2: 1, G_abs: 1, T_H: 1}), (B,)),
                               exact=lambda t: mp.mpf(1),
                               domain=Domain((Var(B, "interval", low=1e-9, high=float(small_B)),),
                                             "B in [1e-9, pi/200], kappa^2 = 1"),
                               bound=0.005),
        ),
        depends=("P-26",),
    )


@lru_cache(maxsize=None)
def _surge_peak(p21_result: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """eta*(beta) under the mean field mu_i = sign(g_i) beta, its stationary beta and the value there (U_H > 0)."""
    eta_beta = p21_result.subs(mean_field_rules(beta))
    eta_beta_pos = eta_beta.subs(U_H, U_pos)
    (beta_peak,) = sp.solve(sp.diff(eta_beta_pos, beta), beta)
    return eta_beta, beta_peak, sp.simplify(eta_beta_pos.subs(beta, beta_peak))


def _p28(previous: Derivation) -> Step:
    """P-28: eta*(beta) under the mean field, written around its peak."""
    p20, p21, p25 = previous["P-20"], previous["P-21"], previous["P-25"]
    eta_beta, beta_peak, eta_peak = _surge_peak(p21.result)
    surge = eta_max / ((beta_noise / beta + beta / beta_noise) / 2)
    return Step(
        label="P-28",
        section=SECTION,
        statement="eta* ~= eta_max / (1/2 (beta_noise/beta + beta/beta_noise)): the surge, peak at beta = beta_noise",
        definition=sp.Eq(sp.Derivative(eta_beta, beta), 0),
        result=surge.subs({eta_max: eta_peak, beta_noise: beta_peak}).subs(U_pos, U_H),
        printed=surge.subs({eta_max: PRINTED_ETA_MAX, beta_noise: PRINTED_BETA_NOISE}),
        relation=identity("exact rewriting of P-21 under the mean field mu_i = sign(g_i) beta, for U_H > 0"
                          " (beta_noise real)"),
        checks=(
            MatchesPrinted(domain=SURGE_DOMAIN),
            ZeroIdentity(name="rewriting == G beta/(T + beta^2 U) for every beta",
                         build=lambda s: s.result - s.extra("eta(beta)"), domain=SURGE_DOMAIN),
            ZeroIdentity(name="eta*(beta) == P-21's explicit trace form at n = 1..4 with mu_i = sign(g_i) beta",
                         build=lambda s: _against_explicit_p21(s.extra("eta(beta)"), p20, lambda m, t: m / t,
                                                               lambda g_c, sigma_c: sp.sign(g_c) * beta)),
            Claim(name="beta_noise is a maximum of eta*(beta)", test=_is_maximum,
                  article_claim=False),
            Claim(name="surge: past beta_noise larger B wants smaller eta; inside beta < 1 only if beta_noise < 1",
                  test=_surge(p25.extra("beta"))),
        ),
        extras=(("eta(beta)", eta_beta), ("beta_noise", beta_peak), ("eta_max", eta_peak)),
        depends=("P-21", "P-25"),
    )


def _p29(previous: Derivation) -> Step:
    """P-29: the peak's position beta_noise and height eta_max."""
    p28 = previous["P-28"]
    eta_beta, beta_peak, eta_peak = (p28.extra(name) for name in ("eta(beta)", "beta_noise", "eta_max"))
    return Step(
        label="P-29",
        section=SECTION,
        statement="beta_noise = sqrt(sum H_ii / sum_{i!=j} sign(g_i g_j) H_ij), eta_max = sum|g_i| / (2 sqrt(T U))",
        definition=sp.Tuple(sp.Eq(sp.Derivative(eta_beta, beta), 0),
                            sp.Eq(eta_max, sp.Subs(eta_beta, beta, beta_noise))),
        result=sp.Tuple(beta_peak, eta_peak).subs(U_pos, U_H),
        printed=sp.Tuple(PRINTED_BETA_NOISE, PRINTED_ETA_MAX),
        relation=identity("exact for U_H > 0: the stationary point of eta*(beta) and the value there"),
        checks=(
            MatchesPrinted(domain=domain((G_abs, "positive"), (T_H, "positive"), (U_H, "positive"))),
            ZeroIdentity(name="d eta*/d beta = 0 at beta_noise, and eta_max = eta*(beta_noise) (P-28's eta*(beta))",
                         build=lambda s: _stationary_difference(s.result, eta_beta),
                         domain=domain((G_abs, "positive"), (T_H, "positive"), (U_H, "positive"))),
        ),
        depends=("P-28",),
    )


class _MeanFieldDecrease(NamedTuple):
    dL_beta: sp.Expr  # P-22 under mu_i = sign(g_i) beta
    dL_B: sp.Expr  # the same with beta = beta(B) of P-25
    saturating: Saturating  # dL_B in the form dL_max/(1 + B_noise2/B) (T, U_pos)
    to_noise: dict[sp.Symbol, sp.Expr]  # T_H, U_pos in beta_noise, eta_max
    maximum: sp.Expr  # dL_max in beta_noise, eta_max
    noise: sp.Expr  # B_noise2 in beta_noise, eta_max


@lru_cache(maxsize=None)
def _mean_field_decrease(p22_result: sp.Expr, beta_B: sp.Expr, beta_peak: sp.Expr,
                         eta_peak: sp.Expr) -> _MeanFieldDecrease:
    """The loss decrease under the mean field, in the saturating form, then in beta_noise, eta_max."""
    dL_beta = p22_result.subs(mean_field_rules(beta))
    dL_B = dL_beta.subs(beta, beta_B)
    dl = saturating_form(dL_B.subs(U_H, U_pos), dL_max, B_noise2)
    (to_noise,) = sp.solve([sp.Eq(beta_noise, beta_peak), sp.Eq(eta_max, eta_peak)], [T_H, U_pos], dict=True)
    maximum, noise = (sp.simplify(value.subs(to_noise)) for value in (dl.maximum, dl.noise))
    return _MeanFieldDecrease(dL_beta, dL_B, dl, to_noise, maximum, noise)


def _decrease_of(previous: Derivation) -> _MeanFieldDecrease:
    p28 = previous["P-28"]
    return _mean_field_decrease(previous["P-22"].result, previous["P-25"].extra("beta"),
                                p28.extra("beta_noise"), p28.extra("eta_max"))


def _p31(previous: Derivation) -> Step:
    """P-31: the loss decrease under the mean field in the saturating form."""
    p28 = previous["P-28"]
    beta_peak, eta_peak = p28.extra("beta_noise"), p28.extra("eta_max")
    mf = _decrease_of(previous)
    dL_B = mf.dL_B
    return Step(
        label="P-31",
        section=SECTION,
        statement="dL ~= dL_max / (1 + B_noise2/B) under the mean field",
        definition=sp.Tuple(sp.Eq(sp.Symbol("dL"), dL_B), *mf.saturating.definition),
        result=mf.saturating.template.subs({dL_max: mf.maximum, B_noise2: mf.noise}),
        printed=PRINTED_DL_MAX / (1 + PRINTED_B_NOISE2 / B),
        relation=identity("exact rewriting of P-22 with mu_i = sign(g_i) beta(B) (P-25), for U_H > 0"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="back in T, U: == 1/2 beta^2 G^2/(T + beta^2 U) for every B",
                         build=lambda s: (s.result.subs({beta_noise: beta_peak, eta_max: eta_peak})
                                          - dL_B.subs(U_H, U_pos)).subs(U_pos, U_H),
                         domain=DECREASE_DOMAIN),
        ),
        extras=(("dL(beta)", mf.dL_beta), ("T_H, U_H in beta_noise, eta_max", sp.Tuple(*mf.to_noise.items()))),
        depends=("P-22", "P-25", "P-29"),
    )


def _p32(previous: Derivation) -> Step:
    """P-32: dL_max and B_noise2 of P-31."""
    p28 = previous["P-28"]
    beta_peak, eta_peak = p28.extra("beta_noise"), p28.extra("eta_max")
    mf = _decrease_of(previous)
    dL_B = mf.dL_B
    return Step(
        label="P-32",
        section=SECTION,
        statement="dL_max = beta_noise eta_max sum|g_i| / (1 + beta_noise^2), "
        "B_noise2 = pi kappa^2 beta_noise^2 / (2 (1 + beta_noise^2))",
        definition=mf.saturating.definition,
        result=sp.Tuple(mf.maximum, mf.noise),
        printed=sp.Tuple(PRINTED_DL_MAX, PRINTED_B_NOISE2),
        relation=identity("exact: dL_max is the B -> oo limit of P-31's dL, B_noise2 the B-free solution"),
        checks=(
            MatchesPrinted(domain=NOISE_DOMAIN),
            ZeroIdentity(name="back in T, U: dL_max/(1 + B_noise2/B) == P-22 under the mean field for every B",
                         build=lambda s: (saturating_difference(dL_B.subs(U_H, U_pos))(s)
                                          .subs({beta_noise: beta_peak, eta_max: eta_peak}).subs(U_pos, U_H)),
                         domain=DECREASE_DOMAIN),
        ),
        depends=("P-31",),
    )


def _p33(previous: Derivation) -> Step:
    """P-33: the B at which beta(B) = beta_noise (both positive, so squares are equal)."""
    beta_B = previous["P-25"].extra("beta")
    eta_beta = previous["P-28"].extra("eta(beta)")
    to_noise = _decrease_of(previous).to_noise
    (B_peak,) = sp.solve(sp.Eq(beta_B**2, beta_noise**2), B)
    return Step(
        label="P-33",
        section=SECTION,
        statement="B_noise = pi kappa^2 beta_noise^2 / (2 (1 - beta_noise^2)): the B of the peak, beta(B) = beta_noise",
        definition=sp.Eq(beta_B, beta_noise),
        result=B_peak,
        printed=sp.pi * kappa2 * beta_noise**2 / (2 * (1 - beta_noise**2)),
        relation=identity("exact for 0 < beta_noise < 1 (else no B > 0 reaches the peak)"),
        checks=(
            MatchesPrinted(domain=domain((beta_noise, "unit"), (kappa2, "positive"))),
            ZeroIdentity(name="d eta*/dB = 0 at B = B_noise (eta*(beta(B)) of P-28)",
                         build=lambda s: sp.diff(eta_beta.subs(beta, beta_B).subs(U_H, U_pos).subs(to_noise), B)
                         .subs(B, s.result),
                         domain=domain((beta_noise, "unit"), (eta_max, "positive"), (G_abs, "positive"),
                                       (kappa2, "positive"))),
        ),
        depends=("P-25", "P-29"),
    )


def _p34(previous: Derivation) -> Step:
    """P-34: the two noise scales differ by 4/(pi kappa^2)."""
    B_noise2_value, B_noise_value = previous["P-32"].result[1], previous["P-33"].result
    return Step(
        label="P-34",
        section=SECTION,
        statement="1/B_noise2 - 1/B_noise = 4/(pi kappa^2)",
        definition=sp.Add(1 / B_noise2, -1 / B_noise, evaluate=False),
        result=sp.simplify(1 / B_noise2_value - 1 / B_noise_value),
        printed=4 / (sp.pi * kappa2),
        relation=identity("exact for 0 < beta_noise < 1"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="1/B_noise2 (P-32) - 1/B_noise (P-33) - result = 0",
                         build=lambda s: 1 / B_noise2_value - 1 / B_noise_value - s.result,
                         domain=domain((beta_noise, "unit"), (kappa2, "positive"))),
        ),
        depends=("P-32", "P-33"),
    )


def _p35(previous: Derivation) -> Step:
    """P-35: P-15's trade-off from P-31's per-step decrease."""
    decrease = previous["P-31"].result
    tradeoff = steps_examples_tradeoff(decrease)
    return Step(
        label="P-35",
        section=SECTION,
        statement="(S/S_min - 1)(E/E_min - 1) = 1 again, with E_min/S_min = B_noise2",
        definition=tradeoff.definition,
        result=sp.Tuple(tradeoff.product, tradeoff.ratio),
        printed=sp.Tuple(sp.Integer(1), PRINTED_B_NOISE2),
        relation=identity("exact when every step decreases the loss by P-31's dL (B fixed along the run)"),
        checks=(
            MatchesPrinted(),
            TRADEOFF_CHECK,
            Claim(name="trade-off: S decreases and E increases with B", test=tradeoff_monotone,
                  article_claim=False),
        ),
        depends=("P-15", "P-31", "P-32"),
    )


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_p17, _p18, _p19, _p20, _p21, _p22, _p23, _p24, _p25, _p26, _p27, _p28, _p29,
                                     _p31, _p32, _p33, _p34, _p35))


# ---------------------------------------------------------------------------------------------
# Check builders


def _explicit_difference(result: sp.Expr, p20: Step, quantity) -> sp.Tuple:
    """quantity(E[phi]^T g, Tr(E[phi phi^T] H)) at n = 1..4 minus the aggregate result there."""
    differences = []
    for n in CHECK_N:
        c = components(n)
        alignment, trace = explicit_moments(p20, c)
        differences.append(sp.cancel(quantity(alignment, trace) - at_components(result, c)))
    return sp.Tuple(*differences)


def _relative_one_component(result: sp.Expr, exact: sp.Expr):
    """eta*/eta*_exact at n = 1 as a function of x = g sqrt(B)/(sigma sqrt2) (sigma = B = sum H_ii = 1)."""
    one = {n_components: 1}
    ratio = (result.subs(one).doit() / exact.subs(one).doit())
    g1, s1 = sp.IndexedBase("g", real=True)[1], sp.IndexedBase("sigma", positive=True)[1]
    return mp_function(ratio.subs({s1: 1, B: 1, T_H: 1}).subs(g1, sp.sqrt(2) * x), (x,))


def _relative_mean_field(result: sp.Expr, p17_result: sp.Expr):
    """P-26 over its exact counterpart mu_i = sign(g_i) erf(sqrt(B/(2 kappa^2))), at B = 2 kappa^2 x^2."""
    x_pos = sp.Symbol("x", positive=True)
    exact_scale = p17_result.subs(g, g_pos).subs(sigma, sp.sqrt(kappa2) * g_pos)  # g_pos cancels
    ratio = result / (G_abs * exact_scale / T_H)
    return mp_function(ratio.subs(B, 2 * kappa2 * x_pos**2).subs(kappa2, 1).subs(x_pos, x), (x,))


def _square_root_rule(step: Step) -> ClaimOutcome:
    """eta*(c B)/eta*(B) -> sqrt(c) as B -> 0, for eta* = the defining limit's argument times sqrt(B)."""
    eta_of_B = step.definition.args[0] * sp.sqrt(B)
    c = sp.Symbol("c", positive=True)
    scaling = sp.limit(eta_of_B.subs(B, c * B) / eta_of_B, B, 0)
    holds = sp.simplify(scaling - sp.sqrt(c)) == 0
    return ClaimOutcome(holds, "symbolic", f"lim_(B->0) eta*(cB)/eta*(B) = {sp.sstr(scaling)} (sqrt(c): {holds});"
                        " so eta*^2/B is constant for B << pi kappa^2/2")


def _is_maximum(step: Step) -> ClaimOutcome:
    """The second derivative of the step's eta*(beta) at its beta_noise is negative (U_H > 0)."""
    eta_of_beta, peak = step.extra("eta(beta)").subs(U_H, U_pos), step.extra("beta_noise")
    curvature = sp.simplify(sp.diff(eta_of_beta, beta, 2).subs(beta, peak))
    return ClaimOutcome(bool(curvature.is_negative), "symbolic", f"d^2 eta*/d beta^2 at beta_noise = {curvature}")


def _surge(beta_of_B: sp.Expr):
    """The step's eta*(beta) falls exactly for beta > beta_noise (U_H > 0); beta(B) rises from 0 to 1 as B goes 0 -> oo."""
    def test(step: Step) -> ClaimOutcome:
        eta_of_beta = step.extra("eta(beta)")
        slope = sp.diff(eta_of_beta, beta)
        # slope = G (T - beta^2 U)/(T + beta^2 U)^2: its sign is that of T - beta^2 U = U (beta_noise^2 - beta^2).
        sign_factor = T_H - beta**2 * U_H
        factored = sp.simplify(slope * (T_H + beta**2 * U_H) ** 2 / G_abs - sign_factor) == 0
        rising = bool(sp.simplify(sp.diff(beta_of_B, B)).is_positive)
        ends = (sp.limit(beta_of_B, B, 0), sp.limit(beta_of_B, B, sp.oo))
        # Both regimes, beta_noise = 1/2 (U = 4T) and beta_noise = 2 (U = T/4): only the first falls inside (0, 1).
        inside = sp.simplify(slope.subs({T_H: 1, U_H: 4, G_abs: 1, beta: sp.Rational(3, 4)}))
        outside = [sp.simplify(slope.subs({T_H: 1, U_H: sp.Rational(1, 4), G_abs: 1, beta: b_}))
                   for b_ in (sp.Rational(1, 100), sp.Rational(1, 2), sp.Rational(99, 100))]
        holds = (factored and rising and ends == (0, 1) and inside.is_negative
                 and all(v.is_positive for v in outside))
        return ClaimOutcome(holds, "symbolic",
                            f"d eta*/d beta = G (T - beta^2 U)/(T + beta^2 U)^2: {factored}; d beta/dB > 0: {rising};"
                            f" beta(0+), beta(oo) = {ends}; so eta* falls with B exactly when beta_noise < beta(B) < 1,"
                            f" possible only if U > 0 and beta_noise < 1. Slope at beta = 3/4, beta_noise = 1/2:"
                            f" {inside}; at beta_noise = 2 on (0, 1): {[sp.sstr(v) for v in outside]}")
    return test


def _against_explicit_p21(result: sp.Expr, p20: Step, quantity, mu_of, diagonal: bool = False) -> sp.Tuple:
    """quantity(E[phi]^T g, Tr(E[phi phi^T] H)) at n = 1..4 from P-20's explicit moment matrix, with
    mu_i = mu_of(g_i, sigma_i) (and H diagonal when ``diagonal``), minus ``result`` at n components.

    ``result`` may hold a Sum over i = 1..n of IndexedBase g[i], sigma[i] (P-24); it is expanded at each n."""
    differences = []
    for n in CHECK_N:
        c = components(n)
        alignment, trace = explicit_moments(p20, c)
        values = {c.mu[i]: mu_of(c.g[i], c.sigma[i]) for i in range(n)}
        explicit = quantity(alignment, trace).subs(values, simultaneous=True)
        expanded = result.subs(n_components, n).doit()
        expanded = expanded.xreplace({g_i.base[i + 1]: c.g[i] for i in range(n)}
                                     | {sigma_i.base[i + 1]: c.sigma[i] for i in range(n)})
        difference = explicit - at_components(expanded, c)
        if diagonal:
            difference = difference.subs({c.H[i, j]: 0 for i in range(n) for j in range(n) if i != j})
        differences.append(sp.cancel(sp.expand(_in_signs(difference))))
    return sp.Tuple(*differences)


def _stationary_difference(result: sp.Tuple, eta_of_beta: sp.Expr) -> sp.Tuple:
    """(d eta/d beta at beta_noise, eta_max - eta(beta_noise)) for result = (beta_noise, eta_max), U_H > 0."""
    peak, height = (value.subs(U_H, U_pos) for value in result)
    positive = eta_of_beta.subs(U_H, U_pos)
    return sp.Tuple(sp.diff(positive, beta).subs(beta, peak), height - positive.subs(beta, peak)).subs(U_pos, U_H)
