"""Many steps of real torch Adam on the NQM (w* = 0, so g = H w and L(w) = w^T H w / 2).

A fresh Adam's first step is a SoftSign-like step whatever its betas (bias correction makes m^ = g~,
v^ = g~^2), so momentum only shows from a warmed-up state.  Two objects:

* :func:`frozen`: the local optimum along a real trajectory.  One trajectory of torch Adam (betas,
  eps, learning rate ``lr``) runs ``warmup`` steps; its state (w, m, v, step count) is then frozen and
  copied into ``samples`` replicas (the leading dimension of one parameter tensor), each replica takes
  the next step on its own minibatch, and eta*_local = E[g^T u]/E[u^T H u] (u the step at lr = 1) is
  the learning rate that maximises the expected one-step decrease from that state.
* :func:`constant_lr`: the best constant learning rate of a whole run of K steps, mean final loss
  over ``replicas`` independent runs, on a log grid of learning rates (one torch parameter group per
  learning rate, common random numbers across the grid), refined by a parabola in log lr.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .estimate import ratio_estimate
from .experiments import named_problem
from .nqm import Problem
from .optimizers import torch_single_thread


def _start(problem: Problem) -> np.ndarray:
    """w0 with H w0 = g (the problem's gradient at the start)."""
    H = np.diag(problem.H) if problem.H.ndim == 1 else problem.H
    return np.linalg.solve(H, problem.g)


def dense_hessian(problem: Problem) -> np.ndarray:
    return np.diag(problem.H) if problem.H.ndim == 1 else problem.H


def frozen(name: str, eps: float, B: float, betas: tuple[float, float], lr: float, warmup: int,
           samples: int, seed: int) -> dict:
    """eta*_local (with its delta-method standard error) at the state after ``warmup`` steps, and the models' predictions."""
    from .. import numeric

    with torch_single_thread() as torch:
        return _frozen(torch, numeric, name, eps, B, betas, lr, warmup, samples, seed)


@dataclass(frozen=True)
class FrozenState:
    """The state of one torch Adam trajectory after ``warmup`` steps, and ``samples`` next steps from it."""

    w: np.ndarray        # parameters
    g: np.ndarray        # true gradient H w
    step: float          # torch's step count
    m: np.ndarray        # exp_avg
    v: np.ndarray        # exp_avg_sq
    u: np.ndarray        # (samples, n): the next step at lr = 1, one minibatch per row
    eta: float           # eta*_local = E[g^T u]/E[u^T H u]
    stderr: float        # its delta-method standard error


def frozen_state(torch, problem: Problem, B: float, betas: tuple[float, float], lr: float, warmup: int,
                 samples: int, seed: int) -> FrozenState:
    """Run ``warmup`` torch Adam steps from w0 = H^-1 g, freeze the state, copy it into ``samples`` replicas
    (rows of one parameter tensor) and let each take the next step on its own minibatch.  B = inf is the
    noiseless trajectory.  The caller holds :func:`torch_single_thread`."""
    rng = np.random.default_rng(seed)
    w_now, state = warm_up(torch, problem, B, betas, lr, warmup, rng)
    z = problem.colour(rng.standard_normal((samples, problem.n)))
    u, est = next_step(torch, problem, w_now, state, betas, z / math.sqrt(B))
    return FrozenState(w_now, dense_hessian(problem) @ w_now, float(state["step"]), state["exp_avg"].numpy()[0].copy(),
                       state["exp_avg_sq"].numpy()[0].copy(), u, est.eta, est.stderr)


def warm_up(torch, problem: Problem, B: float, betas: tuple[float, float], lr: float, steps: int,
            rng: np.random.Generator, start: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """``steps`` torch Adam steps at batch size B from ``start`` (default w0 = H^-1 g), minibatch noise from
    ``rng``; lr = 0 builds the optimizer state at a fixed w.  Returns (w, the optimizer's state dict)."""
    H = dense_hessian(problem)
    w = torch.tensor((_start(problem) if start is None else start)[None, :], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr, betas=betas, eps=problem.eps)
    Ht = torch.from_numpy(H)
    for _ in range(steps):
        noise = problem.colour(rng.standard_normal((1, problem.n))) / math.sqrt(B)
        w.grad = w.detach() @ Ht + torch.from_numpy(noise)
        opt.step()
    return w.detach().numpy()[0].copy(), opt.state[w]


def next_step(torch, problem: Problem, w_now: np.ndarray, state: dict, betas: tuple[float, float],
              noise: np.ndarray):
    """From the frozen (w, state): one torch Adam step at lr = 1 per row of ``noise`` (samples x n, the minibatch
    noise), all from the same state.  Returns (u, the ratio estimate of eta*_local = E[g^T u]/E[u^T H u])."""
    H = dense_hessian(problem)
    g_now = H @ w_now
    samples = noise.shape[0]
    replicas = torch.tensor(np.broadcast_to(w_now, (samples, problem.n)).copy(), requires_grad=True)
    probe = torch.optim.Adam([replicas], lr=1.0, betas=betas, eps=problem.eps)
    probe.state[replicas] = {"step": state["step"].clone(),
                             "exp_avg": state["exp_avg"].expand(samples, -1).clone(),
                             "exp_avg_sq": state["exp_avg_sq"].expand(samples, -1).clone()}
    replicas.grad = torch.from_numpy(g_now + noise)
    probe.step()
    u = w_now - replicas.detach().numpy()
    return u, ratio_estimate(u @ g_now, np.sum((u @ H) * u, axis=1))


def _frozen(torch, numeric, name, eps, B, betas, lr, warmup, samples, seed) -> dict:
    problem = named_problem(name, eps)
    frozen = frozen_state(torch, problem, B, betas, lr, warmup, samples, seed)
    w_now, g_now = frozen.w, frozen.g
    predicted = {m: float(numeric.eta_star(B, g_now, problem.sigma, problem.H, eps, model=m)) for m in numeric.MODELS}
    return {"eta": frozen.eta, "stderr": frozen.stderr, "models": predicted,
            "loss": float(w_now @ dense_hessian(problem) @ w_now / 2), "loss0": float(_start(problem) @ problem.g / 2)}


def constant_lr(name: str, eps: float, B: float, betas: tuple[float, float], steps: int, replicas: int,
                lrs: tuple[float, ...], seed: int) -> dict:
    """Mean final loss of ``replicas`` runs of K = ``steps`` torch Adam steps at each constant lr; the best lr.

    All (lr, replica) runs are rows of one parameter tensor stepped by one torch Adam at lr = 1; each
    row's step is then scaled by its lr (Adam's step is lr times a direction that does not depend on
    lr, so this is the run at that lr up to rounding).  The same noise drives every lr (common random
    numbers), so the loss curve over lr is smooth and its minimum well placed.
    """
    with torch_single_thread() as torch:
        return _constant_lr(torch, name, eps, B, betas, steps, replicas, lrs, seed)


def _constant_lr(torch, name, eps, B, betas, steps, replicas, lrs, seed) -> dict:
    problem = named_problem(name, eps)
    H = dense_hessian(problem)
    Ht = torch.from_numpy(H)
    rng = np.random.default_rng(seed)
    L = len(lrs)
    scale = torch.tensor(np.repeat(np.asarray(lrs, dtype=float), replicas)[:, None])
    w = torch.tensor(np.broadcast_to(_start(problem), (L * replicas, problem.n)).copy(), requires_grad=True)
    opt = torch.optim.Adam([w], lr=1.0, betas=betas, eps=eps)
    for _ in range(steps):
        noise = problem.colour(rng.standard_normal((replicas, problem.n))) / math.sqrt(B)
        before = w.detach().clone()
        w.grad = before @ Ht + torch.from_numpy(np.tile(noise, (L, 1)))
        opt.step()
        with torch.no_grad():
            w.copy_(before - scale * (before - w))
    final = w.detach()
    loss = (torch.sum((final @ Ht) * final, dim=1) / 2).numpy().reshape(L, replicas)
    losses = loss.mean(axis=1)
    return {"lrs": np.array(lrs), "loss": losses, "stderr": loss.std(axis=1, ddof=1) / math.sqrt(replicas),
            "best": parabola_min(np.log(lrs), losses)}


def parabola_min(x: np.ndarray, y: np.ndarray) -> float:
    """exp of the vertex of the parabola through the grid minimum and its neighbours (the grid value at an edge)."""
    k = int(np.argmin(y))
    if k == 0 or k == len(y) - 1:
        return float(math.exp(x[k]))
    x0, x1, x2 = x[k - 1:k + 2]
    y0, y1, y2 = y[k - 1:k + 2]
    denominator = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denominator
    return float(math.exp(-b / (2 * a))) if a > 0 else float(math.exp(x[k]))
