"""The simulation's experiments: module-level functions of plain data (any executor can run them).

Each returns a dict of plain numbers and numpy arrays.  Seeds are derived from the task, so a task
gives the same bytes every time (common random numbers across optimizers, eps and B inside a task).

* :func:`discrepancy`: one problem of the atlas's random family (docs/atlas.md, layer 4) at one eps:
  eta*_MC of real optax SoftSign and real torch Adam (eps outside) at each B, every model's
  prediction, and the eps rescaling c that makes the inside-root ``exact`` match torch;
* :func:`curves`: eta*_MC(B) of optax SoftSign on a named problem (including a surge case);
* :func:`noise`: eta*_MC under a noise family or a correlated Sigma, against ``exact``;
* :func:`frozen`, :func:`constant_lr`: many steps of real torch Adam (see :mod:`.multistep`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import numeric
from .nqm import FiniteData, Gaussian, Problem, StudentT
from .onestep import step_samples

B_EXPONENTS = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0)  # B = B_simple 10^k, as in the atlas
DISCREPANCY_OPTIMIZERS = ("optax_softsign", "torch_adam")


def atlas_problem(seed: int, n: int, rho: float, coupling: str, eps_rel: float) -> tuple[Problem, np.ndarray]:
    """The atlas's random problem (seeded) as an NQM with diagonal Gaussian noise, and its batch sizes."""
    from ..atlas.meanfield import problem

    p = problem(seed, n, rho, eps_rel, coupling)
    return Problem(p.g, p.sigma**2, p.H, p.eps), np.asarray(p.B[::2], dtype=float)  # k = -2, -1, ..., 3


def _rescaling(problem: Problem, B: float, target: float) -> float:
    """c with eta*_exact(eps_inside = c eps) = target, or nan when no c in [1e-3, 1e3] reaches it."""
    from scipy.optimize import brentq

    def f(log_c: float) -> float:
        value = numeric.eta_star(B, problem.g, problem.sigma, problem.H, problem.eps * math.exp(log_c), model="exact")
        return math.log(float(value) / target)

    low, high = math.log(1e-3), math.log(1e3)
    f_low, f_high = f(low), f(high)
    if f_low * f_high > 0:
        return math.nan
    return math.exp(brentq(f, low, high, xtol=1e-6))


def discrepancy(seed: int, n: int, rho: float, coupling: str, eps_rel: float, samples: int) -> dict:
    problem, batches = atlas_problem(seed, n, rho, coupling, eps_rel)
    out: dict = {"B": batches, "models": {m: np.array([float(problem.eta_star(B, m)) for B in batches])
                                          for m in numeric.MODELS}}
    for name in DISCREPANCY_OPTIMIZERS:
        eta, se = np.empty(batches.size), np.empty(batches.size)
        for i, B in enumerate(batches):
            est = step_samples(problem, float(B), name, samples, seed=1000 * seed + 17).estimate()
            eta[i], se[i] = est.eta, est.stderr
        out[name] = {"eta": eta, "stderr": se}
    out["c_torch"] = np.array([_rescaling(problem, float(B), float(t)) for B, t in zip(batches, out["torch_adam"]["eta"])])
    return out


# --------------------------------------------------------------------------------------------
# eta*(B) curves on named problems


def named_problem(name: str, eps: float) -> Problem:
    """'article': an n = 8 problem with mixed scales (diagonal H); 'article_coupled': the same with off-diagonal H;
    'surge': g = [1]*6 + [-1e-3]*4, H = ones + 0.1 I; 'atlas:SEED:N:RHO:COUPLING': the atlas's random problem
    (docs/atlas.md, layer 4) with those parameters, at this (absolute) eps."""
    if name.startswith("atlas:"):
        _, seed, n, rho, coupling = name.split(":")
        problem, _ = atlas_problem(int(seed), int(n), float(rho), coupling, 0.0)
        return Problem(problem.g, problem.Sigma, problem.H, eps)
    if name == "article":
        g = np.array([1.0, -0.5, 0.2, -0.05, 2.0, -1.0, 0.01, 0.3])
        sigma = np.array([1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 0.2, 1.0])
        return Problem(g, sigma**2, np.array([1.0, 2.0, 0.5, 1.5, 0.3, 1.0, 2.0, 0.8]), eps)
    if name == "article_coupled":  # the same with H = D^(1/2) (I/2 + s s^T/2) D^(1/2), s = sign(g): coupled components
        base = named_problem("article", eps)
        s = np.sign(base.g)
        root = np.sqrt(base.H)
        return Problem(base.g, base.Sigma, np.outer(root, root) * (0.5 * np.eye(s.size) + 0.5 * np.outer(s, s)), eps)
    if name == "surge":
        g = np.array([1.0] * 6 + [-1e-3] * 4)
        return Problem(g, np.ones(10), np.ones((10, 10)) + 0.1 * np.eye(10), eps)
    raise ValueError(f"unknown problem {name!r}")


def curves(name: str, eps: float, batches: tuple[float, ...], samples: int, optimizer: str = "optax_softsign") -> dict:
    problem = named_problem(name, eps)
    eta, se = np.empty(len(batches)), np.empty(len(batches))
    for i, B in enumerate(batches):
        est = step_samples(problem, B, optimizer, samples, seed=23).estimate()
        eta[i], se[i] = est.eta, est.stderr
    return {"B": np.array(batches), "eta": eta, "stderr": se}


# --------------------------------------------------------------------------------------------
# Beyond the model's assumptions


def _family(kind: str, parameter: float):
    if kind == "gaussian" or kind == "correlated":
        return Gaussian()
    if kind == "student_t":
        return StudentT(parameter)
    if kind in ("finite", "finite_exponential"):
        return FiniteData(N=int(parameter), data_seed=3, shape="gaussian" if kind == "finite" else "exponential")
    raise ValueError(f"unknown noise kind {kind!r}")


def correlated_sigma(sigma: np.ndarray, g: np.ndarray, rho: float) -> np.ndarray:
    """Sigma = D C D with D = diag(sigma), C = (1 - rho) I + rho s s^T, s = sign(g): noise correlated along the gradient signs."""
    s = np.sign(g)
    C = (1 - rho) * np.eye(g.size) + rho * np.outer(s, s)
    return np.outer(sigma, sigma) * C


def noise(name: str, kind: str, parameter: float, eps: float, batches: tuple[float, ...], samples: int) -> dict:
    """eta*_MC of optax SoftSign on a named problem under one noise family (or a noise correlation rho).

    With a diagonal H, noise correlation cannot change eta* of an elementwise update (E[g^T u] and
    E[u^T H u] = sum H_ii E[u_i^2] involve one component at a time), so the experiment uses a coupled H.
    """
    base = named_problem(name, eps)
    if kind == "correlated":
        problem = Problem(base.g, correlated_sigma(base.sigma, base.g, parameter), base.H, eps)
    else:
        problem = base
    family = _family(kind, parameter)
    eta, se, exact = np.empty(len(batches)), np.empty(len(batches)), np.empty(len(batches))
    for i, B in enumerate(batches):
        est = step_samples(problem, B, "optax_softsign", samples, seed=29, family=family).estimate()
        eta[i], se[i] = est.eta, est.stderr
        exact[i] = float(problem.eta_star(B, "exact"))  # Sigma's diagonal, Gaussian: the model's assumptions
    return {"B": np.array(batches), "eta": eta, "stderr": se, "exact": exact}
