"""The whole run on the digits MLP: steps to a target held-out loss S(B), the learning rate tuned per B (issue 23).

Measured: for each Adam setting (betas, eps, schedule) and batch size B, many training runs in one batched
computation (one replica per (seed, learning rate); the replicas of a seed share its initialisation and its
minibatches, so learning rates are compared on common random numbers).  Each run is Adam exactly as
``torch.optim.Adam`` computes it (checked against it in tests/test_runlevel_real.py), in float32 on one thread,
minibatches drawn with replacement from the 1200 training images; the held-out loss (597 images) is evaluated
at steps ceil(1.03^j) and interpolated in log loss between evaluations.  S is the first step at which the
held-out loss reaches ``target``.  Per seed, the best learning rate is the vertex of a parabola through log S
at the grid's minimum and its neighbours (in log lr), and S(B) is the seed's minimum over the grid.  The grid
follows the optimum: 5 points a factor sqrt(2) apart, centred on the previous B's best times 2^0.7, extended
while the best sits at an edge.

Predicted, from statistics collected with :func:`softsign_scaling.real.collect.collect` at checkpoints of a
reference run: B_noise(eps) (X-21: the half-saturation batch of the exact model, eps outside the root; the mean
field's closed form), SGD's B_noise = tr(H Sigma)/g^T H g and B_simple = tr(Sigma)/|g|^2 (McCandlish et al.),
the one-step eta*(B) and its surge peak B_peak.

Everything here is plain data (lists, floats) so that :mod:`softsign_scaling.real.runlevel_report` can cache it
as JSON and write docs/run-level.md from the cache alone.
"""

from __future__ import annotations

import math
import sys

import numpy as np

CONFIG = {
    "hidden": 64, "target": 0.15, "batch": (4, 8, 16, 32, 64, 128, 256, 512, 1024), "seeds": (0, 1, 2, 3, 4),
    "first_lrs": (1e-4, 3e-2, 9), "points": 5, "ratio": 2**0.5, "follow": 2**0.7, "max_steps": 6000,
    "settings": (
        {"name": "adam-0.999", "betas": (0.9, 0.999), "eps": 1e-8, "schedule": "constant"},
        {"name": "adam-0.95", "betas": (0.9, 0.95), "eps": 1e-8, "schedule": "constant"},
        {"name": "adam-0.999-eps1e-3", "betas": (0.9, 0.999), "eps": 1e-3, "schedule": "constant"},
        {"name": "adam-0.999-cosine", "betas": (0.9, 0.999), "eps": 1e-8, "schedule": "warmup-cosine"},
    ),
    # the reference run for the statistics: Adam (0.9, 0.999), eps 1e-8, B = 32 at the measured best lr
    "reference": {"batch": 32, "fractions": (0.0, 0.125, 0.25, 0.5, 1.0), "probes": 16, "sketch_rank": 8,
                  "examples": 256},
    "eps_predicted": (1e-8, 1e-3),
    "one_step_batch": (4, 8, 16, 32, 64, 128, 256, 512, 1024),
}
HELD_OUT = 597


def _torch():
    from .collect import require_torch

    torch = require_torch()
    torch.set_num_threads(1)
    return torch


def data(seed: int = 0):
    """(x_train, y_train, x_held, y_held): the bundled example's split, float32."""
    from . import example

    torch = _torch()
    x_train, y_train, x_held, y_held = example.digits(seed)
    return x_train.to(torch.float32), y_train, x_held.to(torch.float32), y_held


def initial(hidden: int, seed: int):
    """64 -> hidden -> 10 (tanh) parameters, torch.nn.Linear's default initialisation, seeded: [W1, b1, W2, b2]
    with W stored (in, out) for batched matrix products."""
    torch = _torch()
    generator = torch.Generator().manual_seed(seed)

    def linear(fan_in: int, fan_out: int):
        bound = 1 / math.sqrt(fan_in)
        weight = (torch.rand(fan_in, fan_out, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(1, fan_out, generator=generator) * 2 - 1) * bound
        return weight, bias

    w1, b1 = linear(64, hidden)
    w2, b2 = linear(hidden, 10)
    return [w1, b1, w2, b2]


def forward(params, x):
    """Replica-batched MLP: params [W1 (R,64,h), b1 (R,1,h), W2 (R,h,10), b2 (R,1,10)], x (R, n, 64)."""
    torch = _torch()
    w1, b1, w2, b2 = params
    return torch.baddbmm(b2, torch.tanh(torch.baddbmm(b1, x, w1)), w2)


def schedule_factor(kind: str, step: int, horizon: int) -> float:
    """The learning-rate multiplier at ``step`` (1-based): 1 (constant), or 5% linear warmup then cosine to 0
    at ``horizon``."""
    if kind == "constant":
        return 1.0
    if kind != "warmup-cosine":
        raise ValueError(f"unknown schedule {kind!r}: 'constant' or 'warmup-cosine'")
    warm = max(1, round(0.05 * horizon))
    if step <= warm:
        return step / warm
    progress = min(1.0, (step - warm) / max(1, horizon - warm))
    return 0.5 * (1 + math.cos(math.pi * progress))


class AdamReplicas:
    """torch.optim.Adam's update (no weight decay, no amsgrad) with one learning rate per replica (leading dim)."""

    def __init__(self, params, lrs, betas, eps):
        torch = _torch()
        self.params, self.betas, self.eps = params, betas, eps
        self.lrs = torch.as_tensor(lrs, dtype=params[0].dtype)
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads, factor: float = 1.0):
        torch = _torch()
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        with torch.no_grad():
            for p, g, m, v in zip(self.params, grads, self.m, self.v):
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denominator = (v.sqrt() / math.sqrt(c2)).add_(self.eps)
                size = (self.lrs * factor / c1).view(-1, *[1] * (p.dim() - 1))
                p.sub_(size * m / denominator)


def steps_to_target(setting: dict, B: int, lrs, seeds, target: float, max_steps: int, hidden: int,
                    horizon: int | None = None, stop_factor: float = 2.0) -> np.ndarray:
    """(seeds, lrs) array of the (interpolated) first step with held-out loss <= target; inf where not reached.

    Stops when every seed has reached the target at some lr and ``stop_factor`` times its fastest time has
    passed (slower runs than that are not the optimum), or at ``max_steps``."""
    torch = _torch()
    x_train, y_train, x_held, y_held = data(0)
    lrs = np.asarray(lrs, dtype=float)
    L, S = lrs.size, len(seeds)
    R = L * S
    starts = [initial(hidden, 1000 + seed) for seed in seeds]
    params = [torch.cat([starts[s][k].expand(L, *starts[s][k].shape) for s in range(S)]).clone().requires_grad_()
              for k in range(4)]
    adam = AdamReplicas(params, np.tile(lrs, S), tuple(setting["betas"]), setting["eps"])
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    horizon = horizon or max_steps
    evaluations = sorted({math.ceil(1.03**j) for j in range(int(math.log(max_steps) / math.log(1.03)) + 2)})
    evaluations = set(e for e in evaluations if e <= max_steps) | {max_steps}
    hit = np.full(R, np.inf)
    previous, previous_step = np.full(R, np.nan), 0
    held = x_held.expand(R, *x_held.shape)
    held_targets = y_held.repeat(R)
    for step in range(1, max_steps + 1):
        index = torch.stack([torch.randint(0, x_train.shape[0], (B,), generator=gen) for gen in generators])
        xb, yb = x_train[index].repeat_interleave(L, 0), y_train[index].repeat_interleave(L, 0)
        loss = torch.nn.functional.cross_entropy(forward(params, xb).reshape(-1, 10), yb.reshape(-1),
                                                 reduction="sum") / B
        grads = torch.autograd.grad(loss, params)
        adam.step(grads, schedule_factor(setting["schedule"], step, horizon))
        if step in evaluations:
            with torch.no_grad():
                out = forward(params, held).reshape(-1, 10)
                now = torch.nn.functional.cross_entropy(out, held_targets, reduction="none").reshape(R, -1).mean(1)
            now = now.numpy().astype(float)
            if record_crossings(hit, previous, previous_step, now, step, target, (S, L), stop_factor):
                break
            previous, previous_step = now, step
    return hit.reshape(S, L)


def record_crossings(hit: np.ndarray, previous: np.ndarray, previous_step: int, now: np.ndarray, step: int,
                     target: float, shape: tuple[int, int], stop_factor: float) -> bool:
    """Enter in ``hit`` (in place) the step where each replica's loss first fell to ``target``, interpolated in log
    loss between the previous evaluation and this one; True when every seed (rows of ``shape`` = (seeds, lrs))
    has a hit and the run has gone ``stop_factor`` times past the latest seed's first one (time to stop)."""
    for r in np.where((now <= target) & ~np.isfinite(hit))[0]:
        if np.isfinite(previous[r]) and previous[r] > target:
            fraction = (math.log(previous[r]) - math.log(target)) / (math.log(previous[r]) - math.log(now[r]))
            hit[r] = previous_step + fraction * (step - previous_step)
        else:
            hit[r] = step
    per_seed = hit.reshape(shape).min(axis=1)
    return bool(np.isfinite(per_seed).all() and step >= stop_factor * per_seed.max())


def parabola_vertex(log_x: np.ndarray, log_y: np.ndarray) -> tuple[float, float]:
    """(x, y) at the vertex of the parabola through the finite minimum of log_y and its two neighbours (in
    log_x); the grid minimum itself when it is at an edge or the three points do not curve upwards."""
    k = int(np.argmin(log_y))
    if k == 0 or k == len(log_y) - 1 or not np.isfinite(log_y[k - 1:k + 2]).all():
        return float(np.exp(log_x[k])), float(np.exp(log_y[k]))
    x0, x1, x2 = log_x[k - 1:k + 2]
    y0, y1, y2 = log_y[k - 1:k + 2]
    denominator = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denominator
    if a <= 0:
        return float(np.exp(log_x[k])), float(np.exp(log_y[k]))
    c = y1 - a * x1**2 - b * x1
    vertex = -b / (2 * a)
    return float(np.exp(vertex)), float(np.exp(c - b * b / (4 * a)))


def measure_setting(setting: dict, config=CONFIG, progress: bool = True, horizons: dict | None = None) -> dict:
    """S(B) and the best lr per B and seed for one Adam setting (the lr grid follows the optimum)."""
    from tqdm import tqdm

    rows = []
    center = None
    bar = tqdm(config["batch"], desc=f"{setting['name']}: S(B)", disable=not progress, file=sys.stderr)
    for B in bar:
        if center is None:
            low, high, count = config["first_lrs"]
            lrs = list(np.geomspace(low, high, count))
        else:
            half = config["points"] // 2
            lrs = [center * config["ratio"] ** k for k in range(-half, half + 1)]
        horizon = None if horizons is None else int(horizons[B])
        hits = steps_to_target(setting, B, lrs, config["seeds"], config["target"], config["max_steps"],
                               config["hidden"], horizon)
        for _ in range(4):  # extend the grid while the best (mean over seeds of log S) sits at an edge
            mean = np.log(hits).mean(axis=0)
            k = int(np.argmin(mean))
            if 0 < k < len(lrs) - 1 or not np.isfinite(mean).any():
                break
            extra = [lrs[0] / config["ratio"] ** j for j in (2, 1)] if k == 0 else \
                [lrs[-1] * config["ratio"] ** j for j in (1, 2)]
            more = steps_to_target(setting, B, extra, config["seeds"], config["target"], config["max_steps"],
                                   config["hidden"], horizon)
            lrs = sorted(lrs + extra)
            merged = np.concatenate([more, hits], axis=1) if k == 0 else np.concatenate([hits, more], axis=1)
            hits = merged
        per_seed = [parabola_vertex(np.log(lrs), np.log(hits[s])) for s in range(len(config["seeds"]))]
        mean_best = parabola_vertex(np.log(lrs), np.log(hits).mean(axis=0))
        rows.append({"B": B, "lrs": [float(v) for v in lrs], "steps": hits.tolist(),
                     "best_lr": [p[0] for p in per_seed], "S": [p[1] for p in per_seed],
                     "best_lr_mean": mean_best[0], "S_mean": mean_best[1]})
        center = mean_best[0] * config["follow"]
    return {"setting": setting, "rows": rows}


def reference_statistics(best_lr: float, steps: float, config=CONFIG, progress: bool = True) -> list[dict]:
    """Train the float64 example MLP with torch.optim.Adam (0.9, 0.999), eps 1e-8, at the reference batch and
    ``best_lr``; collect statistics at the fractions of ``steps``; predictions at each checkpoint."""
    from . import example
    from .collect import collect

    torch = _torch()
    reference = config["reference"]
    x_train, y_train, x_held, y_held = example.digits(0)
    model = example.mlp((config["hidden"],), seed=1000)
    checkpoints = tuple(sorted({int(round(f * steps)) for f in reference["fractions"]}))
    saved = example.train(model, x_train, y_train, steps=max(checkpoints), checkpoints=checkpoints, lr=best_lr,
                          batch=reference["batch"], seed=0)
    out = []
    loader = example.batches(x_train, y_train, 200)
    for step in checkpoints:
        model.load_state_dict(saved[step])
        with torch.no_grad():
            held = float(example.loss_fn(model(x_held), y_held))
        stats = collect(model, example.loss_fn, loader, probes=reference["probes"],
                        sketch_rank=reference["sketch_rank"], seed=0, progress=progress, checkpoint=f"step {step}")
        out.append({"step": step, "held_out_loss": held, **predictions(stats, config),
                    **correlated_noise(model, loader, x_train, y_train, stats, reference["examples"])})
    return out


def correlated_noise(model, loader, x_train, y_train, stats, examples: int, seed: int = 0, loss_fn=None) -> dict:
    """B_noise with the minibatch noise's correlations, from ``examples`` per-example gradients d_n - g and one
    Hessian-vector product each (the diagonal statistics cannot see them):

    * SGD (McCandlish et al.): tr(H Sigma)/g^T H g with tr(H Sigma) = mean_n (d_n - g)^T H (d_n - g);
    * SignSGD-like Adam (eps -> 0, R-2's leading order: E[phi] = sqrt(2/pi) sqrt(B) g/sigma, Cov(phi_i, phi_j) =
      (2/pi) arcsin(rho_ij) ~ (2/pi) rho_ij off the diagonal, 1 on it):
      B_noise = ((pi/2 - 1) tr H + sum_ij H_ij rho_ij)/(u^T H u), u = g/sigma, sum_ij H_ij rho_ij =
      mean_n (d_n/sigma)^T H (d_n/sigma); without the correlations (rho = I) it is (pi/2) tr H/(u^T H u).
    With them the one-step optimum of this model is eta*(B) = sqrt(pi/2) (u^T g) sqrt(B)/(u^T H u (B + B_noise)):
    it peaks at B = B_noise (a surge peak) while the a-expansion holds.
    Returns the values, the standard errors of the sampled means, u^T g and u^T H u."""
    from .collect import FlatModel
    from . import example

    flat = FlatModel(model, example.loss_fn if loss_fn is None else loss_fn, loader)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(x_train.shape[0], size=examples, replace=False)
    deviations = flat.per_example(x_train[chosen], y_train[chosen]).detach().numpy().astype(float) - stats.g
    sigma = np.sqrt(np.maximum(stats.sigma2, 1e-300))
    plain, scaled = [], []
    for d in deviations:
        plain.append(float(d @ flat.hvp(d)))
        ds = d / sigma
        scaled.append(float(ds @ flat.hvp(ds)))
    plain, scaled = np.array(plain), np.array(scaled)
    u = stats.g / sigma
    uHu = float(u @ flat.hvp(u))
    gHg = float(stats.g @ flat.hvp(stats.g))
    se = lambda values: float(values.std(ddof=1) / math.sqrt(values.size))  # noqa: E731
    corr_sum = float(scaled.mean())
    return {"B_noise_sgd_corr": float(plain.mean()) / gHg, "B_noise_sgd_corr_se": se(plain) / gHg,
            "B_noise_sign_corr": ((math.pi / 2 - 1) * stats.trace_H + corr_sum) / uHu,
            "B_noise_sign_corr_se": se(scaled) / uHu,
            "B_noise_sign_indep": (math.pi / 2) * stats.trace_H / uHu, "u_g": float(u @ stats.g), "uHu": uHu}


def predictions(stats, config=CONFIG) -> dict:
    """B_noise and B_peak (exact model, eps outside; the mean field, inside), SGD's B_noise and B_simple, and the
    one-step eta*(B) of the exact model (eps outside) at each predicted eps."""
    from .. import numeric
    from .predict import problem_of

    g, sigma2, diag = stats.g, stats.sigma2, stats.diag_H
    gHg = float(stats.gHg) if hasattr(stats, "gHg") else float("nan")
    out = {"B_simple": float(sigma2.sum() / (g @ g)), "B_noise_sgd": float((diag * sigma2).sum() / gHg),
           "gHg": gHg, "eps": {}}
    for eps in config["eps_predicted"]:
        outside = problem_of(stats, eps, placement="outside")
        inside = problem_of(stats, eps, placement="inside")
        peak = numeric.surge_peak(outside, model="exact")
        eta = numeric.eta_star(np.asarray(config["one_step_batch"], dtype=float), outside, model="exact")
        out["eps"][repr(eps)] = {
            "B_noise_exact": float(numeric.b_noise(outside, model="exact")),
            "B_noise_mean_field": float(numeric.b_noise(inside, model="mean_field")),
            "B_peak": float(peak) if math.isfinite(float(peak)) else None,
            "eta_one_step": [float(v) for v in np.atleast_1d(eta)],
        }
    return out


def run(config=CONFIG, progress: bool = True) -> dict:
    """Every setting's S(B), then the statistics along the reference run (plain data)."""
    settings = {}
    constant = None
    for setting in config["settings"]:
        horizons = None
        if setting["schedule"] != "constant":
            # the cosine's horizon: twice the constant schedule's measured S at each B (same betas and eps)
            base = constant or settings[config["settings"][0]["name"]]
            horizons = {row["B"]: 2 * float(np.median(row["S"])) for row in base["rows"]}
        settings[setting["name"]] = measure_setting(setting, config, progress, horizons)
        if constant is None:
            constant = settings[setting["name"]]
    first = settings[config["settings"][0]["name"]]
    ref_row = next(row for row in first["rows"] if row["B"] == config["reference"]["batch"])
    checkpoints = reference_statistics(ref_row["best_lr_mean"], ref_row["S_mean"], config, progress)
    return {"config": _plain(config), "settings": settings, "checkpoints": checkpoints}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
