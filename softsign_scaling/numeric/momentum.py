"""Numeric forms of M-9 and M-10 (the averaged second moment's surge at general n), from a :class:`Problem`.

* :func:`averaged_surge_mean_field`: M-9, exact where every kappa_i^2 = sigma_i^2/(g_i^2 + eps^2) is equal
  (M-8), a mean field otherwise (kappa^2 one of ``KAPPA2`` or a number): a surge iff S_nu > 2 c T_H, at
  B_peak = c kappa^2 T_H/(S_nu - 2 c T_H), with height S_nu/(2 sqrt(c T_H (S_nu - c T_H))), c = (1 - beta1)/(1 + beta1).
* :func:`averaged_large_b`: M-10's a_1, exact at any n: eta*(B) = eta*(oo) (1 + a_1/B + O(1/B^2)) for the
  ``averaged`` model; a_1 > 0 means eta* approaches its B -> oo value from above (so it has a surge).

Both are checked against the steps (lambdified) in tests/test_momentum_steps.py.  eps <= 1e100 (beyond, the
squares would overflow; the averaged model has no surge there: S_nu -> 0).
"""

from __future__ import annotations

import math

import numpy as np

from .problem import Problem


def _checked(problem: Problem) -> Problem:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a numeric.Problem, not {type(problem).__name__}")
    if problem.placement != "inside":
        raise ValueError(f"M-9/M-10 are derived for eps inside the root, not placement={problem.placement!r}")
    if problem.eps > 1e100:
        raise ValueError(f"eps = {problem.eps:g} is beyond 1e100 (SGD units): no surge (S_nu -> 0)")
    if np.any((problem.g == 0) & (problem.eps == 0)):
        raise ValueError("some g_i = 0 with eps = 0: kappa_i^2 is infinite; use eps > 0")
    return problem


def _c(problem: Problem) -> float:
    return (1.0 - problem.beta1) / (1.0 + problem.beta1)


def averaged_surge_mean_field(problem: Problem, kappa2="harmonic") -> tuple[bool, float, float]:
    """M-9: (surge?, B_peak, eta*(B_peak)/eta*(oo)); B_peak = inf and height 1 without a surge.

    The default kappa^2 is the harmonic mean, the closest B_peak on the atlas's family (docs/atlas.md, layer 6)."""
    p = _checked(problem)
    c = _c(p)
    S, T = p.S_nu, p.T_H
    if not S > 2.0 * c * T:
        return False, math.inf, 1.0
    k2 = p.kappa2(kappa2)
    return True, c * k2 * T / (S - 2.0 * c * T), S / (2.0 * math.sqrt(c * T * (S - c * T)))


def averaged_large_b(problem: Problem) -> float:
    """M-10: a_1 = K_S/S_nu - K_G/(2 G_nu) - c K_T/S_nu with K_G = sum kappa_i^2 nu_i g_i,
    K_S = sum kappa_i^2 nu_i (H nu)_i, K_T = sum kappa_i^2 H_ii."""
    p = _checked(problem)
    k2, nu = p.kappa2_components, p.nu
    finite = np.where(np.isfinite(k2), k2, 0.0)  # g_i = 0 (eps > 0): kappa_i^2 finite; nu_i = 0 there
    H_nu = (p.dense @ nu) if p.dense is not None else p.diagonal * nu
    K_G = float(np.sum(finite * nu * p.g))
    K_S = float(np.sum(finite * nu * H_nu))
    K_T = float(np.sum(finite * p.diagonal))
    return K_S / p.S_nu - K_G / (2.0 * p.G_nu) - _c(p) * K_T / p.S_nu
