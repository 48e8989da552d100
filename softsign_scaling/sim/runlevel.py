"""The square-root rule at the level of a whole run, on the noisy quadratic model (issue 23, steps R-1 .. R-5).

R-3 says one SoftSign step at (k B, sqrt(k) eta, eps/sqrt(k)) has the same expected direction per example as at
(B, eta, eps) to leading order in a = g sqrt(B)/sigma: a noise-dominated run of K steps at B then ends where a
run of K/k steps at k B ends (the same number of examples).  So under a fixed sample budget K B the best constant
learning rate grows as sqrt(B) and the final loss does not depend on B, while B << B_noise; with eps held fixed
(R-5) the slope is larger, moving towards the linear rule as b = eps sqrt(B)/sigma grows.

Measured here with real ``torch.optim.Adam(betas=(0, 0))`` (the SoftSign update with eps outside the root) on
the 'article' NQM with its gradient scaled down (w0 = H^-1 g scaled by ``scale``: noise-dominated, B_simple
~ 1/scale^2 times the article's) and on the article problem itself (B not << B_noise): the best constant
learning rate of K = budget/B steps on a log grid (common random numbers, parabola-refined, as
:func:`softsign_scaling.sim.multistep.constant_lr`), for eps scaled as eps0 sqrt(B0/B) and for eps fixed.
"""

from __future__ import annotations

import math

import numpy as np

from .experiments import named_problem
from .multistep import dense_hessian, parabola_min
from .nqm import Problem
from .optimizers import torch_single_thread

CONFIG = {"problem": "article", "scales": (0.05, 1.0), "eps0": 0.1, "batch": (1, 4, 16, 64), "budget": 1024,
          "replicas": 256, "lrs": (-3.0, 1.5, 31), "seed": 7}


def best_constant_lr(problem: Problem, start: np.ndarray, B: int, steps: int, replicas: int, lrs, seed: int) -> dict:
    """Mean final loss of ``replicas`` runs of ``steps`` torch Adam (0, 0) steps per learning rate, and the best lr
    (the runs of all learning rates are rows of one tensor, each row's step scaled by its lr; common noise)."""
    with torch_single_thread() as torch:
        H = dense_hessian(problem)
        Ht = torch.from_numpy(H)
        rng = np.random.default_rng(seed)
        lrs = np.asarray(lrs, dtype=float)
        L = lrs.size
        scale = torch.tensor(np.repeat(lrs, replicas)[:, None])
        w = torch.tensor(np.broadcast_to(start, (L * replicas, problem.n)).copy(), requires_grad=True)
        opt = torch.optim.Adam([w], lr=1.0, betas=(0.0, 0.0), eps=problem.eps)
        for _ in range(steps):
            noise = problem.colour(rng.standard_normal((replicas, problem.n))) / math.sqrt(B)
            before = w.detach().clone()
            w.grad = before @ Ht + torch.from_numpy(np.tile(noise, (L, 1)))
            opt.step()
            with torch.no_grad():
                w.copy_(before - scale * (before - w))
        final = w.detach()
        loss = (torch.sum((final @ Ht) * final, dim=1) / 2).numpy().reshape(L, replicas).mean(axis=1)
    return {"best": parabola_min(np.log(lrs), loss), "loss": float(loss.min())}


def leading_order_eta(problem: Problem, B: float) -> float:
    """R-2's leading-order eta* (in a) with eps outside the root (torch's Adam: the outside k0, s0 of steps X-):
    sqrt(B) sum_i k0(b_i) g_i^2/sigma_i / sum_i s0(b_i) H_ii, b_i = eps sqrt(B)/sigma_i."""
    from ..numeric.outside_series import k0_outside, s0_outside

    sigma = problem.sigma
    b = problem.eps * math.sqrt(B) / sigma
    H = dense_hessian(problem)
    return float(math.sqrt(B) * np.sum(k0_outside(b) * problem.g**2 / sigma) / np.sum(s0_outside(b) * np.diag(H)))


def run(config=CONFIG) -> dict:
    """For each gradient scale and eps mode: the best lr and the final loss per B (plain data)."""
    out = {}
    lrs = np.logspace(*config["lrs"])
    for scale in config["scales"]:
        for mode in ("scaled", "fixed"):
            rows = []
            for B in config["batch"]:
                eps = config["eps0"] / math.sqrt(B / config["batch"][0]) if mode == "scaled" else config["eps0"]
                base = named_problem(config["problem"], eps)
                problem = Problem(base.g * scale, base.Sigma, base.H, eps)
                start = np.linalg.solve(dense_hessian(problem), problem.g)  # w0 with H w0 = g (w* = 0)
                result = best_constant_lr(problem, start, B, config["budget"] // B, config["replicas"], lrs,
                                          config["seed"])
                rows.append({"B": B, "eps": eps, "leading_order": leading_order_eta(problem, B), **result})
            out[f"{scale}:{mode}"] = rows
    return {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}, "runs": out}
