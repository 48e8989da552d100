"""E-5 (= P-16): the second-order loss model and the optimal learning rate.

E[L(w - eta phi)] ~= L(w) - eta E[phi]^T g + 1/2 eta^2 Tr(E[phi phi^T] H); minimised
over eta it gives eta* = E[phi]^T g / Tr(E[phi phi^T] H), and the loss decrease
at eta* is 1/2 (E[phi]^T g)^2 / Tr(E[phi phi^T] H).  Here in aggregate symbols
m_g = E[phi]^T g and T_phi = Tr(E[phi phi^T] H); ``trace_model`` checks the
reduction of a trace to the aggregates at explicit n.
"""

from __future__ import annotations

import sympy as sp

from ..checks.base import Claim, ClaimOutcome, MatchesPrinted, ZeroIdentity
from ..steps import Derivation, Step, identity
from ..symbols import L0, M_phi_g, T_phi, eta
from .common import build_in_order

SECTION = "quadratic"

w, p = sp.symbols("w p", real=True)
Lf = sp.Function("L")
g1, h1 = sp.symbols("g h", real=True)


def second_order_model() -> tuple[sp.Expr, sp.Expr]:
    """Taylor series of L(w - eta p) to second order in eta, derived by sympy.series (one coordinate).

    Returns (series, the model in aggregate symbols).  In n coordinates the same
    expansion reads L - eta p^T g + eta^2/2 p^T H p, and E[p^T H p] = Tr(E[p p^T] H).
    """
    series = sp.series(Lf(w - eta * p), eta, 0, 3).removeO().doit()
    # Name the derivatives: L'(w) = g, L''(w) = h.
    d1 = sp.Derivative(Lf(w), w)
    d2 = sp.Derivative(Lf(w), (w, 2))
    named = series.subs({d2: h1}).subs({d1: g1}).subs(Lf(w), L0)
    named = sp.expand(named)
    # Expectation: p -> E[p] in the linear term, p^2 h -> Tr(E[p p^T] H) in the quadratic one.
    model = named.subs(p**2 * h1, T_phi).subs(p * g1, M_phi_g)
    return series, sp.expand(model)


def optimal_learning_rate(model: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(eta*, loss decrease at eta*) of a model quadratic in eta, by diff and solve."""
    (eta_star,) = sp.solve(sp.diff(model, eta), eta)
    decrease = sp.simplify(model.subs(eta, 0) - model.subs(eta, eta_star))
    return eta_star, decrease


def _e5(previous: Derivation) -> Step:
    """E-5: the second-order model, minimised over eta."""
    series, model = second_order_model()
    eta_star, decrease = optimal_learning_rate(model)
    return Step(
        label="E-5",
        section=SECTION,
        statement="E[L(w - eta phi)] ~= L - eta E[phi]^T g + eta^2/2 Tr(E[phi phi^T] H), minimised at "
        "eta* = E[phi]^T g / Tr(E[phi phi^T] H), decrease 1/2 (E[phi]^T g)^2 / Tr(E[phi phi^T] H)",
        definition=sp.Eq(sp.Symbol("E_L"), model),
        result=eta_star,
        printed=M_phi_g / T_phi,
        relation=identity("exact for a quadratic loss (constant H); second order in eta otherwise"),
        checks=(
            MatchesPrinted(),
            ZeroIdentity(name="d/d eta of the model vanishes at eta*",
                         build=lambda s: sp.diff(s.definition.rhs, eta).subs(eta, s.result)),
            ZeroIdentity(name="model(0) - model(eta*) = 1/2 (E[phi]^T g)^2 / Tr(E[phi phi^T] H)",
                         build=lambda s: s.definition.rhs.subs(eta, 0) - s.definition.rhs.subs(eta, s.result)
                         - M_phi_g**2 / (2 * T_phi)),
            ZeroIdentity(name="the stored loss decrease = 1/2 (E[phi]^T g)^2 / Tr(E[phi phi^T] H)",
                         build=lambda s: s.extra("decrease") - M_phi_g**2 / (2 * T_phi)),
            ZeroIdentity(name="model = L(w - eta p)'s derivatives at eta = 0 (orders 0, 1, 2)",
                         build=_model_matches_derivatives),
            Claim(name="eta* is a minimum (second derivative Tr(E[phi phi^T] H) > 0)",
                  test=_is_minimum, article_claim=False),
        ),
        extras=(("taylor series", series), ("model", model), ("decrease", decrease)),
        note="Also P-16 of the predecessor article.",
    )


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_e5,))


def _model_matches_derivatives(step: Step) -> sp.Tuple:
    """d^k/d eta^k of the model at 0 against those of L(w - eta p), named L, -p g, p^2 h (k = 0, 1, 2)."""
    direct = Lf(w - eta * p)
    names = {sp.Derivative(Lf(w), (w, 2)): h1, sp.Derivative(Lf(w), w): g1, Lf(w): L0}
    expected = [sp.diff(direct, eta, order).subs(eta, 0).doit() for order in range(3)]
    expected = [e.subs(sp.Subs(sp.Derivative(Lf(w), (w, 2)), w, w), h1) for e in expected]
    named = [sp.expand(e.subs(names)).subs(p**2 * h1, T_phi).subs(p * g1, M_phi_g) for e in expected]
    model = step.definition.rhs
    return sp.Tuple(*[sp.diff(model, eta, order).subs(eta, 0) - value for order, value in enumerate(named)])


def _is_minimum(step: Step) -> ClaimOutcome:
    curvature = sp.diff(step.extra("model"), eta, 2)
    return ClaimOutcome(bool(curvature.is_positive), "symbolic", f"d^2/d eta^2 = {curvature}")
