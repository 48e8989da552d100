"""Layer 4: the mean-field layer (E-10, E-13, E-14) and the final eta*, on a family of random problems.

The family (seeded; ``problem(seed, ...)``):

* n components, n in {4, 16, 64};
* gradients g_i = s_i exp(N(0, 1)) with random signs s_i (log-normal spread, a factor e per standard deviation);
* noise sigma_i = 3 exp(N(0, 0.5)) (per-example noise a few times the gradient, as in training);
* H = D^(1/2) C D^(1/2), D = diag(exp(N(0, 0.5))), C = (1 - rho) I + rho C0 with unit diagonal, where rho in
  {0, 0.3, 0.7} controls the off-diagonal mass and C0 is either "random" (a normalised W W^T, W n x 3
  Gaussian: mixed signs) or "aligned" (the same with W_ik = s_i |W_ik|, so sign(C0_ij) = s_i s_j: couplings
  that follow the gradient signs, the case where surges live);
* eps = eps_rel * median |g_i|, eps_rel in {0 (SignSGD), 0.03, 0.3, 3, 30 (SGD-like)};
* B = B_simple * 10^k for 11 values of k in [-2, 3], B_simple = sum sigma_i^2 / (g^T g + n eps^2).

For each problem and B the ratio eta*_model / eta*_exact is recorded for every registered model
(``numeric.MODELS``; a model's ``atlas_variants`` names its rows, e.g. one per kappa2 average for
"mean_field"), eta*_exact from ``numeric.eta_star(model="exact")`` (per-component exact SoftSign
moments by float64 quadrature).  The problem's aggregates (B_simple, the kappa^2 averages) are
``numeric.Problem``'s.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import numeric

N_VALUES = (4, 16, 64)
RHO_VALUES = (0.0, 0.3, 0.7)
EPS_REL_VALUES = (0.0, 0.03, 0.3, 3.0, 30.0)
COUPLINGS = ("random", "aligned")
B_EXPONENTS = np.linspace(-2, 3, 11)


REFERENCE = "exact"  # the model every other registered model is measured against


@dataclass(frozen=True, eq=False)
class Problem:
    """One problem of the family: a ``numeric.Problem`` (whose aggregates the atlas reads) and its B grid."""

    problem: numeric.Problem
    B: np.ndarray

    @property
    def g(self) -> np.ndarray:
        return self.problem.g

    @property
    def sigma(self) -> np.ndarray:
        return self.problem.sigma

    @property
    def H(self) -> np.ndarray:
        return self.problem.H

    @property
    def eps(self) -> float:
        return self.problem.eps


def problem(seed: int, n: int, rho: float, eps_rel: float, coupling: str) -> Problem:
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=n)
    g = signs * np.exp(rng.normal(0.0, 1.0, size=n))
    sigma = 3.0 * np.exp(rng.normal(0.0, 0.5, size=n))
    W = rng.normal(size=(n, 3))
    if coupling == "aligned":
        W = signs[:, None] * np.abs(W)  # S |W| |W|^T S: PSD, and sign(C0_ij) = s_i s_j
    C0 = W @ W.T
    d = np.sqrt(np.diag(C0))
    C0 = C0 / np.outer(d, d)
    C = (1 - rho) * np.eye(n) + rho * C0
    D = np.exp(rng.normal(0.0, 0.5, size=n))
    H = np.sqrt(np.outer(D, D)) * C
    H = (H + H.T) / 2 + 1e-9 * np.eye(n)
    eps = eps_rel * float(np.median(np.abs(g)))
    checked = numeric.Problem(g, sigma, H, eps)
    return Problem(checked, checked.B_simple * 10.0**B_EXPONENTS)


def table_models() -> tuple[str, ...]:
    """The registered models the table compares with the reference (every one but the reference)."""
    return tuple(name for name in numeric.MODELS if name != REFERENCE)


def settings(repeats: int) -> list[tuple]:
    """The task list: (seed, n, rho, eps_rel, coupling, models) for every combination, ``repeats`` seeds each.

    The model names travel with each task (plain strings: any executor can ship them), so the
    sweep's cache key changes when the registry does."""
    combos = list(itertools.product(N_VALUES, RHO_VALUES, EPS_REL_VALUES, COUPLINGS))
    models = table_models()
    return [(1000 * r + i, *combo, models) for r in range(repeats) for i, combo in enumerate(combos)]


def kappa2_candidates(p: Problem) -> dict[str, float]:
    """Candidate "averages" of kappa_i^2 = sigma_i^2/(g_i^2 + eps^2) for E-14 (``numeric.KAPPA2``)."""
    return p.problem.kappa2_averages()


def ratios(seed: int, n: int, rho: float, eps_rel: float, coupling: str,
           models: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """eta*_model / eta*_exact over the problem's B grid, for every row of every model (default: all registered)."""
    p = problem(seed, n, rho, eps_rel, coupling)
    exact = numeric.eta_star(p.B, p.problem, model=REFERENCE)
    out = {}
    for name in table_models() if models is None else models:
        for label, options in numeric.get_model(name).atlas_variants().items():
            out[label] = numeric.eta_star(p.B, p.problem, model=name, **options) / exact
    return out


@dataclass(frozen=True)
class Summary:
    name: str
    median: float
    p10: float
    p90: float
    worst: float  # the ratio farthest from 1 (in log)
    within_10pct: float  # share of (problem, B) pairs with |ratio - 1| <= 0.1
    within_10pct_problems: float  # share of problems with |ratio - 1| <= 0.1 at every B


def summarise(results: list[dict[str, np.ndarray]]) -> list[Summary]:
    rows = []
    for name in results[0]:
        per_problem = np.array([r[name] for r in results])  # (problems, B)
        flat = per_problem.ravel()
        worst = flat[int(np.argmax(np.abs(np.log(flat))))]
        rows.append(Summary(name, float(np.median(flat)), float(np.percentile(flat, 10)),
                            float(np.percentile(flat, 90)), float(worst),
                            float(np.mean(np.abs(flat - 1) <= 0.1)),
                            float(np.mean(np.all(np.abs(per_problem - 1) <= 0.1, axis=1)))))
    return sorted(rows, key=lambda s: -s.within_10pct)
