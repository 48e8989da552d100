"""Issue 12, item 5: which momentum model predicts real torch Adam's local optimum from a warmed-up state?

The warm-up and the measurement are :func:`multistep.frozen`'s (same seed, same noise draws, so the same
eta*_local); the predictions are:

* ``averaged``: M-6 (beta2 -> 1, stationary momentum), numeric model "averaged" with beta1 = betas[0];
* ``momentum_anchored``: beta2 = 0 with momentum (M-2/M-3: the anchored model at B (1 + beta1)/(1 - beta1));
* ``fresh_anchored``: the article's one-step model (beta1 = beta2 = 0), the default model;
* ``state``: the measured state put into M-5's Gaussian update: m = beta1 m_prev + (1 - beta1) g~ with the frozen
  m_prev, v = beta2 v_prev + (1 - beta2) E[g~^2] (deterministic, as in M-5), torch's bias corrections and eps
  outside the root (torch's placement); u is then Gaussian and E-5 gives eta* in closed form.
"""

from __future__ import annotations

import math

import numpy as np

from .experiments import named_problem
from .multistep import _dense, frozen_state
from .optimizers import torch_single_thread


def frozen_predictions(name: str, eps: float, B: float, betas: tuple[float, float], lr: float, warmup: int,
                       samples: int, seed: int) -> dict:
    """eta*_local at the frozen state after ``warmup`` torch Adam steps, and each model's prediction."""
    from .. import numeric

    with torch_single_thread() as torch:
        problem = named_problem(name, eps)
        frozen = frozen_state(torch, problem, B, betas, lr, warmup, samples, seed)
    g_now, m_prev, v_prev, step = frozen.g, frozen.m, frozen.v, frozen.step
    H = _dense(problem)
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
    predicted = {"averaged": float(numeric.eta_star(B, moving, model="averaged")),
                 "momentum_anchored": float(numeric.eta_star(B, moving, model="anchored")),
                 "fresh_anchored": float(numeric.eta_star(B, fresh, model="anchored")),
                 "state": state_eta}
    return {"eta": frozen.eta, "stderr": frozen.stderr, "models": predicted}


def table(betas_list=((0.0, 0.0), (0.9, 0.95), (0.9, 0.999)), batches=(1.0, 16.0, 256.0), warmups=(50, 200),
          eps: float = 0.1, lr: float = 0.02, samples: int = 65536, seed: int = 5) -> list[dict]:
    rows = []
    for betas in betas_list:
        for B in batches:
            for warmup in warmups:
                out = frozen_predictions("article", eps, B, betas, lr, warmup, samples, seed)
                rows.append({"betas": betas, "B": B, "warmup": warmup, **out})
    return rows


if __name__ == "__main__":  # pragma: no cover - python -m softsign_scaling.sim.momentum
    rows = table()
    names = list(rows[0]["models"])
    print("| betas | B | warmup | eta*_local | " + " | ".join(f"{n}/local" for n in names) + " |")
    for r in rows:
        print(f"| {r['betas']} | {r['B']:g} | {r['warmup']} | {r['eta']:.4g} ± {r['stderr']:.2g} | "
              + " | ".join(f"{r['models'][n] / r['eta']:.3g}" for n in names) + " |")
    for n in names:
        ratios = np.array([r["models"][n] / r["eta"] for r in rows if r["betas"] != (0.0, 0.0)])
        print(f"{n}: momentum rows median ratio {np.median(ratios):.3g}, within 10%: {np.mean(abs(ratios - 1) < 0.1):.0%}")
