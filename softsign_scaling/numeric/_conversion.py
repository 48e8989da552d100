"""eps inside the root that gives the same eta* as a given eps outside it (X-11's conversion, for a whole problem).

X-11 derives the per-component map and its regimes: no single constant c converts eps_out into eps_in (c -> 1
for large b = eps sqrt(B)/sigma, c ~ (4/pi) log(1/b) for small b, eps_in ~ sqrt(2 |g| eps_out) where the
gradient dominates the noise).  For a problem, the conversion is the root of
eta*_exact,inside(eps_in) = eta*_exact,outside(eps_out), taken here in log eps_in (brentq).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq


def _inside(problem, eps: float):
    return type(problem)(problem.g, problem.sigma, problem.H, eps, placement="inside", beta1=problem.beta1)


def eps_inside_equivalent(B, problem, eta_star) -> float:
    """The eps_in >= 0 with eta_star(B, inside problem at eps_in) == eta_star(B, problem) (``problem`` outside).

    ``eta_star(B, problem)`` is numeric.eta_star with model="exact" (passed in: this module sits below
    numeric/__init__).  eps_out = 0 gives 0 (both are SignSGD)."""
    if problem.placement != "outside":
        raise ValueError(f"eps_inside_equivalent converts a problem with placement='outside', not {problem.placement!r}")
    B = float(B)
    if not (B > 0 and math.isfinite(B)):
        raise ValueError(f"B must be a finite number > 0, not {B!r}")
    if problem.eps == 0:
        return 0.0
    target = float(eta_star(B, problem))

    def gap(log_eps: float) -> float:
        return math.log(float(eta_star(B, _inside(problem, math.exp(log_eps)))) / target)

    low, high = math.log(problem.eps) - 2.0, math.log(problem.eps) + 2.0
    for _ in range(60):  # widen until the root is bracketed (eta* grows with eps inside)
        if gap(low) < 0:
            break
        low -= 2.0
    for _ in range(60):
        if gap(high) > 0:
            break
        high += 2.0
    return float(np.exp(brentq(gap, low, high, xtol=1e-12, rtol=1e-12)))
