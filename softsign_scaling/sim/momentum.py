"""Issue 12, item 5: which momentum model predicts real torch Adam's local optimum from a warmed-up state?

The warm-up and the measurement are :func:`multistep.frozen`'s (same seed, same noise draws, so the same
eta*_local); the predictions are:

* ``averaged``: M-6 (beta2 -> 1, stationary momentum), numeric model "averaged" with beta1 = betas[0];
* ``softsign_momentum``: M-2/M-3, softsign(m, eps): the SoftSign of the momentum itself, a Signum/Lion-like
  update (numeric's per-step models with beta1 > 0: the anchored model at B (1 + beta1)/(1 - beta1)).  It is
  not Adam with beta2 = 0, which divides m by the current |g~_t|;
* ``fresh_anchored``: the article's one-step model (beta1 = beta2 = 0), the default model;
* ``state``: the measured state put into M-5's Gaussian update: m = beta1 m_prev + (1 - beta1) g~ with the frozen
  m_prev, v = beta2 v_prev + (1 - beta2) E[g~^2] (deterministic, as in M-5), torch's bias corrections and eps
  outside the root (torch's placement); u is then Gaussian and E-5 gives eta* in closed form.  It is given the
  optimizer's own m and v, so its agreement is close to a consistency check of M-5's Gaussian step (only v's
  new term, taken at its expectation, is modelled).

:func:`common_point` measures eta*_local(B) at one common point w for every B, with the optimizer state either
frozen (only the next minibatch's size changes) or rebuilt at that w from minibatches of size B.
"""

from __future__ import annotations

import math

import numpy as np

from .experiments import named_problem
from .multistep import dense_hessian, frozen_state, next_step, warm_up
from .optimizers import torch_single_thread


def frozen_predictions(name: str, eps: float, B: float, betas: tuple[float, float], lr: float, warmup: int,
                       samples: int, seed: int) -> dict:
    """eta*_local at the frozen state after ``warmup`` torch Adam steps, and each model's prediction."""
    with torch_single_thread() as torch:
        problem = named_problem(name, eps)
        frozen = frozen_state(torch, problem, B, betas, lr, warmup, samples, seed)
    return {"eta": frozen.eta, "stderr": frozen.stderr,
            "models": predictions(problem, frozen.g, frozen.m, frozen.v, frozen.step, B, betas)}


def predictions(problem, g_now: np.ndarray, m_prev: np.ndarray, v_prev: np.ndarray, step: float, B: float,
                betas: tuple[float, float]) -> dict[str, float]:
    """Every model's eta* for the next torch Adam step (batch B) from the state (m_prev, v_prev, step) at g_now."""
    from .. import numeric

    eps = problem.eps
    H = dense_hessian(problem)
    beta1, beta2 = betas
    t = step + 1
    correction1, correction2 = 1 - beta1**t, 1 - beta2**t
    Sigma = np.diag(problem.Sigma) if problem.Sigma.ndim == 1 else problem.Sigma
    v = beta2 * v_prev + (1 - beta2) * (g_now**2 + np.diag(Sigma) / B)
    D = 1 / (np.sqrt(v / correction2) + eps)
    mean = D * (beta1 * m_prev + (1 - beta1) * g_now) / correction1
    cov = np.outer(D, D) * ((1 - beta1) / correction1) ** 2 * Sigma / B
    state_eta = float(mean @ g_now / (mean @ H @ mean + np.sum(cov * H)))
    fresh = numeric.Problem(g_now, problem.sigma, problem.H, eps)
    moving = numeric.Problem(g_now, problem.sigma, problem.H, eps, beta1=beta1)
    return {"averaged": float(numeric.eta_star(B, moving, model="averaged")),
            "softsign_momentum": float(numeric.eta_star(B, moving, model="anchored")),
            "fresh_anchored": float(numeric.eta_star(B, fresh, model="anchored")),
            "state": state_eta}


PROTOCOLS = ("frozen", "rebuilt")


def common_point(name: str, eps: float, betas: tuple[float, float], lr: float, warmup: int, warm_B: float,
                 protocol: str, batches: tuple[float, ...], samples: int, seed: int) -> dict:
    """eta*_local(B) for every B of ``batches`` at one common point: w after ``warmup`` torch Adam steps at batch
    size ``warm_B`` (lr ``lr``, seed ``seed``), the same w and g = H w for every B.

    * ``protocol="frozen"``: the optimizer state (m, v, step) is the warm-up's, the same for every B; only the
      size of the next minibatch changes.
    * ``protocol="rebuilt"``: at that same w the state is rebuilt from scratch by ``warmup`` minibatches of size
      B with w held (lr = 0), the state M-5/M-6 assume for batch size B; then the next step at B.

    The next step's noise is the same draw for every B (common random numbers, scaled by 1/sqrt(B)); B = inf
    is the noiseless step.  Returns B, eta, stderr and each model's prediction (lists over ``batches``)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    problem = named_problem(name, eps)
    out: dict = {"B": list(batches), "eta": [], "stderr": [], "models": {}}
    with torch_single_thread() as torch:
        w_now, frozen = warm_up(torch, problem, warm_B, betas, lr, warmup, np.random.default_rng(seed))
        g_now = dense_hessian(problem) @ w_now
        z = problem.colour(np.random.default_rng(seed + 1).standard_normal((samples, problem.n)))
        for B in batches:
            if protocol == "frozen":
                state = frozen
            else:  # the same minibatch draws for every B, scaled by 1/sqrt(B)
                _, state = warm_up(torch, problem, B, betas, 0.0, warmup, np.random.default_rng(seed + 2), start=w_now)
            _, est = next_step(torch, problem, w_now, state, betas, z / math.sqrt(B))
            out["eta"].append(est.eta)
            out["stderr"].append(est.stderr)
            models = predictions(problem, g_now, state["exp_avg"].numpy()[0].copy(),
                                 state["exp_avg_sq"].numpy()[0].copy(), float(state["step"]), B, betas)
            for model, value in models.items():
                out["models"].setdefault(model, []).append(value)
    return out
