"""One real ``torch.optim.Adam`` step on a real network, swept over the learning rate, against the predictions.

Set-up (the "population" is a held-out pool of P examples, so every statistic is exact for it):

* minibatches of size B are drawn with replacement from the pool, so the minibatch gradient has mean g
  (the pool's mean gradient) and covariance Sigma_pool/B, Sigma_pool the per-example covariance (ddof 0);
* the update u = the step of ``torch.optim.Adam(lr=1, betas=(0, 0), eps=eps)`` from a fresh state
  (the real library call, :func:`softsign_scaling.sim.optimizers.torch_adam`), one per minibatch, S of them;
* quadratic measurement: eta_q = mean(g^T u)/mean(u^T H u) with exact HVPs and the delta-method interval
  (:func:`softsign_scaling.sim.estimate.ratio_estimate`): the optimum of the loss's quadratic model under
  the real update's distribution (tests the noise model: Gaussian, independent components);
* real measurement: the pool's mean loss L(w - eta u_s), averaged over the S updates (common random numbers)
  on a log grid of eta around eta_q (4 points per octave, x1/4 .. x4), the minimum refined by a parabola in
  log eta; its 95% interval from a bootstrap over the S updates (tests the quadratic model too);
* predictions: every applicable registered model from :func:`.collect.collect`'s statistics of the pool
  (sigma^2 rescaled by (P - 1)/P to the pool's ddof-0 covariance, as the sampling has it), quadratic
  forms by exact HVPs, diag H by Hutchinson (deflated by the sketch); both placements.
* momentum (:func:`measure_momentum`): Adam(0.9, 0.999) warmed up for K steps from the checkpoint on
  minibatches of the pool, its state frozen and copied into S replicas, each takes one more step; the
  same two measurements; predictions by the momentum models (softsign(m), the SoftSign of the momentum, at
  B (1 + beta1)/(1 - beta1), and "averaged", beta2 -> 1) at the frozen point's statistics.
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.estimate import ratio_estimate
from ..sim.multistep import parabola_min
from ..sim.optimizers import torch_adam
from .collect import FlatModel, require_torch, collect

GRID = 2.0 ** np.linspace(-2.0, 2.0, 17)  # the learning-rate sweep, relative to eta_q


class Pool:
    """A checkpoint's flat model on the pool, with its per-example gradients (P x n) held once."""

    def __init__(self, model, loss_fn, x, y, chunk: int = 128):
        torch = require_torch()
        self.torch, self.model, self.loss_fn, self.x, self.y = torch, model, loss_fn, x, y
        self.flat = FlatModel(model, loss_fn, [(x, y)])
        self.P = int(x.shape[0])
        self.per_example = torch.cat([self.flat.per_example(x[i:i + chunk], y[i:i + chunk])
                                      for i in range(0, self.P, chunk)]).to(torch.float64)
        self.g = self.per_example.mean(dim=0).numpy()
        self.w0 = self.flat.flat(self.flat.params).to(torch.float64)

    def minibatch_gradients(self, B: int, samples: int, generator) -> np.ndarray:
        """``samples`` minibatch mean gradients of B examples drawn with replacement (counts @ per-example)."""
        torch = self.torch
        index = torch.randint(0, self.P, (samples, B), generator=generator)
        counts = torch.zeros(samples, self.P, dtype=torch.float64)
        counts.scatter_add_(1, index, torch.ones(samples, B, dtype=torch.float64))
        return (counts @ self.per_example / B).numpy()

    def losses(self, w_rows) -> np.ndarray:
        """The pool's mean loss at each row of parameters (a torch (rows, n) tensor), by vmap over rows."""
        from torch.func import functional_call, vmap

        torch, flat = self.torch, self.flat

        def one(vector):
            return self.loss_fn(functional_call(self.model, (flat.unflat(vector), flat.buffers), (self.x,)), self.y)

        out = []
        for start in range(0, w_rows.shape[0], 256):
            out.append(vmap(one)(w_rows[start:start + 256].to(flat.dtype)))
        return torch.cat(out).to(torch.float64).numpy()


def _measure_updates(pool: Pool, u: np.ndarray, resamples: int, seed: int) -> dict:
    """eta_q (quadratic, exact HVPs) and eta_real (the loss sweep) of the updates u (S x n)."""
    torch = pool.torch
    X = u @ pool.g
    Y = np.array([float(row @ pool.flat.hvp(row)) for row in u])
    quadratic = ratio_estimate(X, Y)
    if not quadratic.eta > 0:  # mean g^T u <= 0: the step ascends in expectation; no eta > 0 helps
        return {"eta_q": quadratic.eta, "eta_q_se": quadratic.stderr, "eta_q_low": quadratic.low,
                "eta_q_high": quadratic.high, "eta_real": math.nan, "eta_real_low": math.nan,
                "eta_real_high": math.nan, "edge": False, "decrease": math.nan, "loss": math.nan, "ascent": True}
    etas = quadratic.eta * GRID
    base = float(pool.losses(pool.w0[None, :])[0])
    ut = torch.from_numpy(u)
    rows = (pool.w0[None, None, :] - torch.from_numpy(etas)[:, None, None] * ut[None, :, :]).reshape(-1, u.shape[1])
    change = pool.losses(rows).reshape(etas.size, u.shape[0]).T - base  # (S, grid)
    curve = change.mean(axis=0)
    best = parabola_min(np.log(etas), curve)
    rng = np.random.default_rng(seed)
    boot = np.array([parabola_min(np.log(etas), change[rng.integers(0, u.shape[0], u.shape[0])].mean(axis=0))
                     for _ in range(resamples)])
    edge = int(np.argmin(curve)) in (0, etas.size - 1)
    return {"eta_q": quadratic.eta, "eta_q_se": quadratic.stderr, "eta_q_low": quadratic.low, "eta_q_high": quadratic.high,
            "eta_real": best, "eta_real_low": float(np.quantile(boot, 0.025)),
            "eta_real_high": float(np.quantile(boot, 0.975)), "edge": edge,
            "decrease": float(-curve.min()), "loss": base, "ascent": False}


def measure_one_step(pool: Pool, eps: float, B: int, samples: int, seed: int, resamples: int = 200,
                     noise: str = "examples") -> dict:
    """The measured one-step optimum of real torch Adam(betas=(0, 0), eps) at minibatch size B.

    ``noise="examples"``: real minibatches of the pool.  ``noise="independent"``: g plus independent Gaussian noise
    of the pool's per-component variance sigma_i^2/B (ddof 0), the models' assumption made true (a control)."""
    torch = pool.torch
    generator = torch.Generator().manual_seed(seed)
    if noise == "examples":
        grads = pool.minibatch_gradients(B, samples, generator)
    elif noise == "independent":
        sigma = pool.per_example.std(dim=0, correction=0).numpy()
        z = torch.randn(samples, pool.g.size, generator=generator, dtype=torch.float64).numpy()
        grads = pool.g + z * sigma / math.sqrt(B)
    else:
        raise ValueError(f"noise must be 'examples' or 'independent', not {noise!r}")
    u = torch_adam(grads, eps)  # the real library step from a fresh state, lr = 1
    return _measure_updates(pool, u, resamples, seed)


def exact_diagonal(pool: Pool) -> np.ndarray:
    """diag H exactly, one HVP per unit vector (n HVPs: for small test models only)."""
    out = np.empty(pool.flat.n)
    unit = np.zeros(pool.flat.n)
    for i in range(pool.flat.n):
        unit[i] = 1.0
        out[i] = pool.flat.hvp(unit)[i]
        unit[i] = 0.0
    return out


def pool_statistics(pool: Pool, probes: int, sketch_rank: int, seed: int, checkpoint: str = ""):
    """:func:`collect` on the pool, sigma^2 rescaled to the pool's ddof-0 covariance (what sampling with
    replacement gives), and the exact HVP kept for the predictions."""
    from dataclasses import replace

    stats = collect(pool.model, pool.loss_fn, [(pool.x, pool.y)], probes=probes, sketch_rank=sketch_rank, seed=seed,
                    progress=False, checkpoint=checkpoint)
    factor = (pool.P - 1) / pool.P
    exact = replace(stats, sigma2=stats.sigma2 * factor, sigma2_se=stats.sigma2_se * factor)
    exact.extra["hvp"] = stats.extra["hvp"]
    return exact


def predictions(stats, eps: float, batch, placement: str, beta1: float = 0.0) -> dict[str, np.ndarray]:
    from .predict import prediction

    result = prediction(stats, eps, batch, placement=placement, beta1=beta1, H=stats.extra["hvp"], surge=False)
    return {name: p.eta for name, p in result.models.items()}


def measure_momentum(pool: Pool, eps: float, B: int, warmup: int, lr: float, samples: int, seed: int,
                     betas=(0.9, 0.999), resamples: int = 200) -> dict:
    """eta at a frozen warmed-up Adam(betas) state: the optimizer's state after ``warmup`` steps of lr on
    minibatches of the pool, copied into S replicas that each take one more step at lr = 1."""
    torch = pool.torch
    generator = torch.Generator().manual_seed(seed)
    w = pool.w0.clone()[None, :].requires_grad_(True)
    optimizer = torch.optim.Adam([w], lr=lr, betas=betas, eps=eps)
    for _ in range(warmup):  # the gradient at w: the pool's per-example gradients at the moving point
        pool_now = _moved(pool, w.detach()[0])
        w.grad = torch.from_numpy(pool_now.minibatch_gradients(B, 1, generator))
        optimizer.step()
    moved = _moved(pool, w.detach()[0])
    state = optimizer.state[w]
    replicas = torch.tensor(np.broadcast_to(moved.w0.numpy(), (samples, moved.w0.numel())).copy(), requires_grad=True)
    probe = torch.optim.Adam([replicas], lr=1.0, betas=betas, eps=eps)
    probe.state[replicas] = {"step": state["step"].clone(),
                             "exp_avg": state["exp_avg"].expand(samples, -1).clone(),
                             "exp_avg_sq": state["exp_avg_sq"].expand(samples, -1).clone()}
    replicas.grad = torch.from_numpy(moved.minibatch_gradients(B, samples, generator))
    probe.step()
    u = moved.w0.numpy()[None, :] - replicas.detach().numpy()
    out = _measure_updates(moved, u, resamples, seed)
    out["pool"] = moved
    return out


def _moved(pool: Pool, vector) -> Pool:
    """The pool's model at another parameter vector (a new Pool on a copy of the model)."""
    import copy

    torch = pool.torch
    model = copy.deepcopy(pool.model)
    with torch.no_grad():
        for (name, p), piece in zip(model.named_parameters(), pool.flat.unflat(vector.to(pool.flat.dtype)).values()):
            p.copy_(piece)
    return Pool(model, pool.loss_fn, pool.x, pool.y)


def summary(ratios: np.ndarray) -> tuple[float, float]:
    """Median ratio and the share within 10% of 1."""
    ratios = np.asarray(ratios, dtype=float)
    return float(np.median(ratios)), float(np.mean(np.abs(ratios - 1) <= 0.1))


def log_ratio_interval(low: float, high: float, centre: float) -> float:
    """The half-width of log(interval) around log(centre), for error bars on ratios."""
    return max(math.log(high / centre), math.log(centre / low)) if low > 0 else math.inf


def correlated_prediction(pool: Pool, stats, eps: float, B: float, placement: str, model: str, examples: int,
                          seed: int) -> float:
    """A per-component model's eta* with the noise's cross-component correlations to first order.

    The models take the update's components as independent: tr(H Cov u) = sum_i v_i H_ii.  Real per-example
    gradients are strongly correlated across components.  For a Gaussian minibatch gradient, the first term of
    the Mehler expansion (Stein's lemma) gives Cov(u_i, u_j) ~ s_i s_j Sigma_ij/B with s_i = dm_i/dg_i, the slope
    of the model's mean; the off-diagonal part adds (1/B) [E_e (s o d_e)^T H (s o d_e) - sum_i s_i^2 sigma_i^2 H_ii]
    to the denominator, d_e = (example e's gradient) - g, averaged over ``examples`` pool examples (one HVP each).
    """
    from .. import numeric
    from .predict import problem_of

    problem = problem_of(stats, eps, placement=placement, H=stats.extra["hvp"])
    chosen = numeric.get_model(model)
    num, den, unit = chosen.terms(problem, np.array([float(B)]))
    moments = chosen.outside if (placement == "outside" and getattr(chosen, "outside", None) is not None) else chosen.moments
    sigma = np.sqrt(stats.sigma2)
    safe = np.where(sigma > 0, sigma, 1.0)
    root = math.sqrt(B)
    a, b = stats.g * root / safe, eps * root / safe
    step = 1e-4
    slope = (moments(a + step, b)[0] - moments(a - step, b)[0]) / (2 * step) * root / safe
    slope = np.where(sigma > 0, slope, 0.0)
    rows = np.random.default_rng(seed).choice(pool.P, size=min(examples, pool.P), replace=False)
    deviations = pool.per_example.numpy()[rows] - pool.g
    full = np.mean([float((slope * d) @ pool.flat.hvp(slope * d)) for d in deviations])
    diagonal = float((slope * slope * stats.sigma2) @ stats.diag_H)
    return float(unit[0] * num[0] / (den[0] + (full - diagonal) / B))
