"""E-1, E-2: SoftSign is Adam without momentum, eps inside the square root; eps -> oo is SGD."""

from __future__ import annotations

import sympy as sp

from ..checks.base import Claim, ClaimOutcome, LimitValue, MatchesPrinted, ZeroIdentity
from ..checks.domain import domain
from ..steps import Derivation, Step, identity, limit
from ..symbols import eps, x
from .common import build_in_order, softsign

SECTION = "softsign"

beta1, beta2, m_prev, v_prev, eps_root = sp.symbols("beta_1 beta_2 m_prev v_prev epsilon_root", nonnegative=True)
U_ADAM = sp.Symbol("u_Adam")


def adam_update(gradient: sp.Expr) -> sp.Expr:
    """Adam's update direction with eps inside the square root (optax's eps_root), no bias correction."""
    m = beta1 * m_prev + (1 - beta1) * gradient
    v = beta2 * v_prev + (1 - beta2) * gradient**2
    return m / sp.sqrt(v + eps_root)


def _e1(previous: Derivation) -> Step:
    """E-1: sign(x) = x/sqrt(x^2); Adam with beta1 = beta2 = 0 and eps_root = eps^2 is x/sqrt(x^2 + eps^2)."""
    definition = adam_update(x)
    return Step(
        label="E-1",
        section=SECTION,
        statement="sign(x) = x/sqrt(x^2) becomes softsign(x, eps) = x/sqrt(x^2 + eps^2): Adam with beta1 = beta2 = 0, eps inside the root",
        definition=sp.Eq(U_ADAM, definition),
        result=definition.subs({beta1: 0, beta2: 0}).subs(eps_root, eps**2),
        printed=softsign(x, eps),
        relation=identity("exact: Adam's update with beta1 = beta2 = 0 and eps_root = eps^2"),
        checks=(
            MatchesPrinted(domain=domain((x, "real"), (eps, "positive"))),
            # The defining update, evaluated afresh: whatever history (m_prev, v_prev), beta = 0 forgets it.
            ZeroIdentity(name="Adam's update at beta1 = beta2 = 0, eps_root = eps^2, any m_prev, v_prev",
                         build=lambda s: s.definition.rhs.subs({beta1: 0, beta2: 0, eps_root: eps**2}) - s.result,
                         domain=domain((x, "real"), (eps, "positive"))),
            ZeroIdentity(name="at eps = 0 it is x/sqrt(x^2) = sign(x)", build=lambda s: s.result.subs(eps, 0) - sp.sign(x),
                         domain=domain((x, "nonzero"))),
            LimitValue(name="eps -> 0 gives sign(x)", build=lambda s: s.result, var=eps, point=0,
                       expected=lambda s: sp.sign(x)),
            Claim(name="odd, bounded by 1, increasing", test=_softsign_shape, article_claim=False),
        ),
        note="PyTorch's Adam puts eps outside the root: x/(|x| + eps).  Keras defaults to eps = 1e-7, PyTorch to 1e-8;"
        " LLM training often uses 1e-5, where many gradient components are below eps.",
    )


def _e2(previous: Derivation) -> Step:
    """E-2: the limit eps -> oo of eps * softsign(x, eps)."""
    defining_limit = sp.Limit(eps * previous["E-1"].result, eps, sp.oo)
    return Step(
        label="E-2",
        section=SECTION,
        statement="for x != 0, eps * softsign(x, eps) -> x as eps -> oo: large eps is SGD with learning rate eta/eps",
        definition=defining_limit,
        result=defining_limit.doit(),
        printed=x,
        relation=limit("exact as eps -> oo"),
        checks=(
            MatchesPrinted(),
            # The defining limit by another route: eps softsign(x, eps) = x (1 + t^2 x^2)^(-1/2) with t = 1/eps -> 0.
            LimitValue(name="limit of eps*softsign (t = 1/eps -> 0)",
                       build=lambda s: (s.definition.args[0].subs(eps, 1 / _t)), var=_t, point=0,
                       expected=lambda s: s.result),
        ),
        depends=("E-1",),
    )


_t = sp.Symbol("t", positive=True)


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_e1, _e2))


def _softsign_shape(step: Step) -> ClaimOutcome:
    f = step.result
    odd = sp.simplify(f.subs(x, -x) + f) == 0
    slope = sp.simplify(sp.diff(f, x))  # eps^2/(x^2 + eps^2)^(3/2) > 0
    increasing = bool(slope.is_positive)
    bounded = bool(sp.simplify(1 - f**2).is_positive)  # 1 - f^2 = eps^2/(x^2 + eps^2)
    return ClaimOutcome(odd and increasing and bounded, "symbolic",
                        f"odd={odd}; d/dx = {sp.sstr(slope)} > 0: {increasing}; 1 - f^2 > 0: {bounded}")
