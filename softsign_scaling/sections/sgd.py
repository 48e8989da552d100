"""P-9 .. P-15 (predecessor article): SGD, the noise scale B_noise and the steps-examples trade-off.

Per component g~_i = g_i + sigma_i z_i / sqrt(B) with independent z_i ~ N(0, 1)
(Sigma = diag(sigma_i^2)).  Expectations are computed at an explicit number of
components n, then named with the aggregate symbols (gg = g^T g, gHg = g^T H g,
trSH = tr(Sigma H), ...); checks redo the reduction at n = 1..4.

The helpers here (explicit components, naming by aggregates, the saturating
form max/(1 + noise/B), the S-E trade-off) serve the SignSGD section too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import sympy as sp

from ..checks.base import Claim, ClaimOutcome, MatchesPrinted, ZeroIdentity
from ..gaussian import phi
from ..steps import Derivation, Step, identity
from ..symbols import (B, B_noise, Delta_L, E_examples, E_min, G_abs, G_mu, M_phi_g, S_min, S_steps, T_H, T_phi, U_H,
                       U_mu, dL_max, eta_max, gg, gHg, h, trS, trSH, z)
from .common import build_in_order

SECTION = "sgd"

# Component counts at which aggregate reductions are checked; DERIVE_N is the one the derivation uses.
CHECK_N = (1, 2, 3, 4)
DERIVE_N = 3
ETA_STAR = sp.Symbol("eta_star", positive=True)


# ---------------------------------------------------------------------------------------------
# Explicit components and aggregates


@dataclass(frozen=True)
class Components:
    """n explicit components: gradient g_i, noise scale sigma_i, SignSGD mean mu_i, symmetric H."""

    g: sp.ImmutableMatrix
    sigma: sp.ImmutableMatrix
    mu: sp.ImmutableMatrix
    H: sp.ImmutableMatrix
    z: sp.ImmutableMatrix  # independent standard normals, one per component

    @property
    def n(self) -> int:
        return self.g.rows

    def off_diagonal(self) -> list[tuple[int, int]]:
        return [(i, j) for i in range(self.n) for j in range(self.n) if i != j]

    def aggregates(self) -> dict[sp.Symbol, sp.Expr]:
        """Each aggregate symbol's explicit value at this n."""
        g, s, mu, H = self.g, self.sigma, self.mu, self.H
        return {
            gg: (g.T * g)[0],
            gHg: (g.T * H * g)[0],
            trSH: (sp.diag(*[si**2 for si in s]) * H).trace(),
            trS: sum(si**2 for si in s),
            T_H: H.trace(),
            G_mu: (mu.T * g)[0],
            U_mu: sp.Add(*[mu[i] * mu[j] * H[i, j] for i, j in self.off_diagonal()]),
            G_abs: sp.Add(*[sp.Abs(gi) for gi in g]),
            U_H: sp.Add(*[sp.sign(g[i] * g[j]) * H[i, j] for i, j in self.off_diagonal()]),
        }

    def noisy_gradient(self) -> sp.ImmutableMatrix:
        """g~ = g + sigma z / sqrt(B), componentwise (Sigma diagonal)."""
        return sp.ImmutableMatrix([gi + si * zi / sp.sqrt(B) for gi, si, zi in zip(self.g, self.sigma, self.z)])

    def density(self) -> sp.Expr:
        return sp.Mul(*[phi.subs(z, zi) for zi in self.z])


@lru_cache(maxsize=None)
def components(n: int) -> Components:
    def vector(name: str, assumptions: dict[str, bool]) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix(sp.symbols(f"{name}_1:{n + 1}", **assumptions))

    H = sp.ImmutableMatrix(n, n, lambda i, j: sp.Symbol(f"H_{min(i, j) + 1}{max(i, j) + 1}", real=True))
    return Components(g=vector("g", {"real": True}), sigma=vector("sigma", {"positive": True}),
                      mu=vector("mu", {"real": True}), H=H, z=vector("z", {"real": True}))


@lru_cache(maxsize=None)
def normal_moment(power: int) -> sp.Expr:
    """E[z^power], z ~ N(0, 1), by integrating against the density (cheaper here than gaussian.piece's limits)."""
    return sp.integrate(z**power * phi, (z, -sp.oo, sp.oo))


def expectation_over(expr: sp.Expr, normals: sp.ImmutableMatrix) -> sp.Expr:
    """E[expr] for expr polynomial in independent standard normals: E[prod z_i^p_i] = prod E[z^p_i]."""
    poly = sp.Poly(sp.expand(expr), *normals)
    return sp.expand(sp.Add(*[coefficient * sp.Mul(*[normal_moment(p) for p in powers])
                              for powers, coefficient in poly.terms()]))


def in_aggregates(explicit: sp.Expr, named: dict[sp.Symbol, sp.Expr], c: Components) -> sp.Expr:
    """``explicit`` (polynomial in c's component symbols) as sum_k coefficient_k * name_k.

    The coefficients (free of the components) are solved from matching the
    polynomial's coefficients; no solution means the aggregates do not span it.
    """
    unknowns = sp.symbols(f"coefficient_0:{len(named)}")
    residual = explicit - sp.Add(*[u * value for u, value in zip(unknowns, named.values())])
    component_symbols = set(c.g) | set(c.sigma) | set(c.mu) | set(c.H)
    gens = sorted(residual.free_symbols & component_symbols, key=str)
    solutions = sp.linsolve(sp.Poly(sp.expand(residual), *gens).coeffs(), unknowns)
    if len(solutions) != 1 or any(value.free_symbols & set(unknowns) for value in next(iter(solutions))):
        raise ValueError(f"{explicit} is not a unique combination of {list(named)}")
    (coefficients,) = solutions
    return sp.Add(*[coefficient * name for coefficient, name in zip(coefficients, named)])


def at_components(expr: sp.Expr, c: Components) -> sp.Expr:
    """An aggregate expression with every aggregate replaced by its explicit value at c.n."""
    return expr.subs(c.aggregates())


@lru_cache(maxsize=None)
def expected_quadratic_form(c: Components) -> sp.Expr:
    """E[g~^T H g~] at c.n components."""
    g_tilde = c.noisy_gradient()
    return expectation_over((g_tilde.T * c.H * g_tilde)[0], c.z)


@lru_cache(maxsize=None)
def expected_alignment(c: Components) -> sp.Expr:
    """E[g~]^T g at c.n components."""
    return expectation_over((c.noisy_gradient().T * c.g)[0], c.z)


# ---------------------------------------------------------------------------------------------
# Shared derivations: the saturating form and the S-E trade-off


class Saturating(NamedTuple):
    template: sp.Expr  # maximum/(1 + noise/B) in the two symbols
    result: sp.Expr  # the template with the derived values put in
    maximum: sp.Expr
    noise: sp.Expr
    definition: sp.Basic


@lru_cache(maxsize=None)
def saturating_form(expr: sp.Expr, maximum: sp.Symbol, noise: sp.Symbol) -> Saturating:
    """expr(B) written as maximum/(1 + noise/B): maximum = lim_{B->oo} expr, noise solved from the ratio.

    Raises when the solved noise depends on B (expr is not of that form); the
    exactness of the rewriting is left to a check (result - expr == 0).
    """
    template = maximum / (1 + noise / B)
    maximum_value = sp.limit(expr, B, sp.oo)
    ratio = sp.Eq(sp.cancel(expr / maximum_value), template / maximum)
    (noise_value,) = sp.solve(ratio, noise)
    if noise_value.has(B):
        raise ValueError(f"{expr} is not of the form max/(1 + noise/B): noise = {noise_value}")
    definition = sp.Tuple(sp.Eq(maximum, sp.Limit(expr, B, sp.oo)), sp.Eq(expr / maximum, template / maximum))
    return Saturating(template, template.subs({maximum: maximum_value, noise: noise_value}), maximum_value,
                      noise_value, definition)


class Tradeoff(NamedTuple):
    product: sp.Expr  # (S/S_min - 1)(E/E_min - 1)
    ratio: sp.Expr  # E_min/S_min
    definition: sp.Basic


def steps_examples_tradeoff(loss_decrease: sp.Expr) -> Tradeoff:
    """From a per-step loss decrease dL(B): S = Delta_L/dL steps, E = B S examples, their minima and trade-off.

    S_min is S as B -> oo (fewest steps), E_min is E as B -> 0 (fewest examples).
    """
    S = Delta_L / loss_decrease
    S_least = sp.limit(S, B, sp.oo)
    E = B * S
    E_least = sp.limit(E, B, 0)
    # dL is rational in B here, so cancel decides both (simplify would cost ten times more).
    product = sp.cancel((S / S_least - 1) * (E / E_least - 1))
    ratio = sp.cancel(E_least / S_least)
    definition = sp.Tuple(sp.Eq(S_steps, S), sp.Eq(S_min, sp.Limit(S, B, sp.oo)),
                          sp.Eq(E_examples, B * S_steps), sp.Eq(E_min, sp.Limit(E, B, 0)))
    return Tradeoff(product, ratio, definition)


# ---------------------------------------------------------------------------------------------
# The steps

PRINTED_ETA_MAX, PRINTED_B_NOISE = gg / gHg, trSH / gHg
B_simple = sp.Symbol("B_simple", positive=True)


def sgd_rules(p9: Step) -> dict[sp.Symbol, sp.Expr]:
    """E-5's moments for SGD: E[g~]^T g (named g^T g at n components) and Tr(E[g~ g~^T] H) = P-9."""
    c = components(DERIVE_N)
    alignment = in_aggregates(expected_alignment(c), {gg: c.aggregates()[gg]}, c)
    return {M_phi_g: alignment, T_phi: p9.result}


def _p9(previous: Derivation) -> Step:
    """P-9: E[g~^T H g~] at n components, named with g^T H g and tr(Sigma H)."""
    c = components(DERIVE_N)
    named = c.aggregates()
    g_tilde = c.noisy_gradient()
    form = (g_tilde.T * c.H * g_tilde)[0]
    explicit = expected_quadratic_form(c)
    return Step(
        label="P-9",
        section=SECTION,
        statement="E[g~^T H g~] = g^T H g + tr(Sigma H)/B for g~ ~ N(g, Sigma/B), Sigma diagonal",
        definition=sp.Integral(form * c.density(), *[(zi, -sp.oo, sp.oo) for zi in c.z]),
        result=in_aggregates(explicit, {gHg: named[gHg], trSH: named[trSH]}, c),
        printed=gHg + trSH / B,
        relation=identity("exact for g~ = g + sigma z/sqrt(B) with independent z_i ~ N(0, 1) (Sigma diagonal)"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="E[g~^T H g~] at n = 1..4 equals the aggregate form",
                         build=lambda s: sp.Tuple(*[sp.expand(expected_quadratic_form(components(n))
                                                              - at_components(s.result, components(n)))
                                                    for n in CHECK_N])),
        ),
        extras=((f"E[g~^T H g~] at n = {DERIVE_N}", explicit),),
        note=f"Derived at n = {DERIVE_N} with symmetric H and independent z_i; needs only E[z] = 0, E[z^2] = 1.",
    )


def _p10(previous: Derivation) -> Step:
    """P-10: E-5 with E[g~]^T g (named g^T g) and Tr(E[g~ g~^T] H) = E[g~^T H g~] (P-9)."""
    e5 = previous["E-5"]
    rules = sgd_rules(previous["P-9"])
    return Step(
        label="P-10",
        section=SECTION,
        statement="eta* ~= g^T g / (g^T H g + tr(Sigma H)/B): E-5 for SGD",
        definition=sp.Tuple(sp.Eq(ETA_STAR, e5.result), *[sp.Eq(k, v) for k, v in rules.items()]),
        result=e5.result.subs(rules),
        printed=gg / (gHg + trSH / B),
        relation=identity("exact for a quadratic loss (E-5's second-order model) under the Gaussian noise model"),
        checks=(
            MatchesPrinted(),
            # Independent of the naming by aggregates: E-5's ratio of the explicit expectations at n components.
            ZeroIdentity(name="E[g~]^T g / E[g~^T H g~] at n = 1..4 equals the aggregate form",
                         build=lambda s: sp.Tuple(*[sp.cancel(
                             e5.result.subs({M_phi_g: expected_alignment(components(n)),
                                             T_phi: expected_quadratic_form(components(n))})
                             - at_components(s.result, components(n))) for n in CHECK_N])),
        ),
        depends=("E-5", "P-9"),
    )


def _p11(previous: Derivation) -> Step:
    """P-11: eta* written as eta_max/(1 + B_noise/B)."""
    p10 = previous["P-10"]
    lr = saturating_form(p10.result, eta_max, B_noise)
    return Step(
        label="P-11",
        section=SECTION,
        statement="eta* ~= eta_max / (1 + B_noise/B)",
        definition=lr.definition,
        result=lr.result,
        printed=PRINTED_ETA_MAX / (1 + PRINTED_B_NOISE / B),
        relation=identity("exact rewriting of P-10 for every B > 0"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="rewriting == P-10 for every B", build=lambda s: s.result - p10.result),
        ),
        extras=(("eta_max", lr.maximum), ("B_noise", lr.noise)),
        depends=("P-10",),
    )


def _p12(previous: Derivation) -> Step:
    """P-12: eta_max = lim_{B->oo} eta*, B_noise solved from eta*/eta_max = 1/(1 + B_noise/B)."""
    p10 = previous["P-10"]
    lr = saturating_form(p10.result, eta_max, B_noise)
    return Step(
        label="P-12",
        section=SECTION,
        statement="eta_max = g^T g / g^T H g (B -> oo), B_noise = tr(Sigma H) / g^T H g",
        definition=lr.definition,
        result=sp.Tuple(lr.maximum, lr.noise),
        printed=sp.Tuple(PRINTED_ETA_MAX, PRINTED_B_NOISE),
        relation=identity("exact: eta_max is the B -> oo limit of P-10, B_noise the B-free solution of P-11"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="P-10 == eta_max/(1 + B_noise/B) for every B", build=saturating_difference(p10.result)),
        ),
        depends=("P-10", "P-11"),
    )


def _p13(previous: Derivation) -> Step:
    """P-13: H = h I in B_noise; g^T H g and tr(Sigma H) renamed at n components."""
    noise = previous["P-12"].result[1]
    c = components(DERIVE_N)
    named = c.aggregates()
    h_identity = {c.H[i, j]: (h if i == j else 0) for i in range(c.n) for j in range(c.n)}
    isotropic_rules = {gHg: in_aggregates(named[gHg].subs(h_identity), {gg: named[gg]}, c),
                       trSH: in_aggregates(named[trSH].subs(h_identity), {trS: named[trS]}, c)}
    return Step(
        label="P-13",
        section=SECTION,
        statement="B_simple = tr(Sigma) / g^T g: B_noise with H a multiple of I",
        definition=sp.Tuple(sp.Eq(B_simple, noise), *[sp.Eq(k, v) for k, v in isotropic_rules.items()]),
        result=sp.simplify(noise.subs(isotropic_rules)),
        printed=trS / gg,
        relation=identity("exact when H = h I (h > 0); otherwise a proxy for B_noise"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="tr(Sigma H)/g^T H g with H = h I at n = 1..4 equals tr(Sigma)/g^T g",
                         build=lambda s: sp.Tuple(*[_isotropic_difference(s.result, components(n)) for n in CHECK_N])),
        ),
        depends=("P-12",),
    )


def _p14(previous: Derivation) -> Step:
    """P-14: E-5's loss decrease for SGD, in the same saturating form."""
    noise = previous["P-12"].result[1]
    decrease = previous["E-5"].extra("decrease").subs(sgd_rules(previous["P-9"]))
    dl = saturating_form(decrease, dL_max, B_noise)
    return Step(
        label="P-14",
        section=SECTION,
        statement="dL ~= dL_max / (1 + B_noise/B), dL_max = (g^T g)^2 / (2 g^T H g)",
        definition=dl.definition,
        result=dl.result,
        printed=gg**2 / (2 * gHg) / (1 + PRINTED_B_NOISE / B),
        relation=identity("exact rewriting of E-5's loss decrease at eta* (P-10) for every B > 0"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="rewriting == E-5's decrease with SGD's moments", build=lambda s: s.result - decrease),
            # B_noise read off the result: dL(oo)/dL(B) = 1 + B_noise/B.
            ZeroIdentity(name="the same B_noise as P-12: B (dL(B -> oo)/dL(B) - 1) == P-12's",
                         build=lambda s: sp.cancel(B * (sp.limit(s.result, B, sp.oo) / s.result - 1)) - noise),
        ),
        extras=(("decrease", decrease), ("dL_max", dl.maximum), ("B_noise", dl.noise)),
        depends=("E-5", "P-9", "P-12"),
    )


def _p15(previous: Derivation) -> Step:
    """P-15: steps and examples to a target from P-14's per-step decrease."""
    decrease = previous["P-14"].result
    tradeoff = steps_examples_tradeoff(decrease)
    return Step(
        label="P-15",
        section=SECTION,
        statement="(S/S_min - 1)(E/E_min - 1) = 1 with E_min = B_noise S_min",
        definition=tradeoff.definition,
        result=sp.Tuple(tradeoff.product, tradeoff.ratio),
        printed=sp.Tuple(sp.Integer(1), PRINTED_B_NOISE),
        relation=identity("exact when every step decreases the loss by P-14's dL (B fixed along the run)"),
        checks=(
            MatchesPrinted(),
            TRADEOFF_CHECK,
            Claim(name="trade-off: S decreases and E increases with B", test=tradeoff_monotone,
                  article_claim=False),
        ),
        depends=("P-14",),
    )


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_p9, _p10, _p11, _p12, _p13, _p14, _p15))


# ---------------------------------------------------------------------------------------------
# Check builders


def saturating_difference(expr: sp.Expr):
    """For a step whose result is (maximum, noise): expr - maximum/(1 + noise/B), zero for every B."""
    def build(step: Step) -> sp.Expr:
        maximum, noise = step.result
        return sp.cancel(expr - maximum / (1 + noise / B))
    return build


def _steps_of(step: Step) -> sp.Expr:
    """S(B) = Delta_L/dL(B) from a trade-off step's definition (S = ...)."""
    (S,) = [eq.rhs for eq in step.definition if eq.lhs == S_steps]
    return S


def _tradeoff_difference(step: Step) -> sp.Tuple:
    """(product, ratio) of a trade-off step against its definition: S = Delta_L/dL, S_min = S(B -> oo),
    E_min = B S (B -> 0); zero when ratio = E_min/S_min and product = (S/S_min - 1)(B S/(ratio S_min) - 1)."""
    product, ratio = step.result
    S = _steps_of(step)
    # S_min by B = 1/t, t -> 0+ (another route than the derivation's B -> oo)
    t = sp.Symbol("t", positive=True)
    S_least = sp.limit(S.subs(B, 1 / t), t, 0)
    E_least = sp.limit(B * S, B, 0)
    return sp.Tuple(sp.cancel(E_least - ratio * S_least),
                    sp.cancel((S / S_least - 1) * (B * S / (ratio * S_least) - 1) - product))


TRADEOFF_CHECK = ZeroIdentity(name="E_min/S_min and (S/S_min - 1)(E/E_min - 1) from S = Delta_L/dL",
                              build=_tradeoff_difference)


def _isotropic_difference(result: sp.Expr, c: Components) -> sp.Expr:
    agg = c.aggregates()
    h_identity = {c.H[i, j]: (h if i == j else 0) for i in range(c.n) for j in range(c.n)}
    return sp.cancel((agg[trSH] / agg[gHg]).subs(h_identity) - at_components(result, c))


def tradeoff_monotone(step: Step) -> ClaimOutcome:
    """S = Delta_L/dL (the step's definition S = ...) falls with B and E = B S rises with B (for every B > 0)."""
    S = _steps_of(step)
    dS = sp.factor(sp.diff(S, B))
    dE = sp.factor(sp.diff(B * S, B))
    holds = bool(dS.is_negative) and bool(dE.is_positive)
    return ClaimOutcome(holds, "symbolic", f"dS/dB = {sp.sstr(dS)} < 0 and dE/dB = {sp.sstr(dE)} > 0: {holds}")

