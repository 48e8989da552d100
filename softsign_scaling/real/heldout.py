"""The held-out validation: statistics from training examples, the real one-step optimum on a separate, larger
population (issue 22, item 4; docs/real-model.md, written by :mod:`.report`).

For each architecture of :mod:`.architectures` and each checkpoint (early, mid, late of a real Adam run):

* **statistics** (what a user has): :func:`.collect.collect` on ``stats`` training examples (g, sigma^2, diag H by
  Hutchinson deflated by a rank-r Lanczos sketch of H), saved in memory as a :class:`.statsfile.Statistics`;
* **predictions**: every registered model from those statistics alone, H the file's sketch
  (:func:`.predict.prediction`, ``H="sketch"``), both placements; ``+corr``: the same per-component model with
  the noise's cross-component correlations to first order (Stein/Mehler: Cov(u_i, u_j) ~ s_i s_j Sigma_ij/B,
  s_i = dm_i/dg_i), from every training example's gradient deviation and the sketch of H (the in-memory
  reference for a registered correlated model: nothing of it is in the .npz file); ``+corr(shuffled)``: the
  same with each component's deviations permuted independently across examples (the per-component variances
  kept, the correlations destroyed: it must fall back to the plain model, a negative control);
* **measurement** (what happens): the population's per-example gradients held once; minibatches of B examples
  drawn from the population with replacement; one real ``torch.optim.Adam(lr=1, betas=(0, 0), eps=eps)`` step
  from a fresh state for each (u = g~/(|g~| + eps), PyTorch's placement: eps outside the root), ``samples`` of
  them; **eta_real** = the minimum over eta of the population's mean loss L(w - eta u) averaged over the updates
  (common random numbers), found on a log grid in half octaves around eta_q, widened until the minimum is
  inside, refined by the parabola (in eta) through the three points around it; 95% interval by a
  bootstrap over the updates; **eta_q** = mean(g^T u)/mean(u^T H u) (g, H the population's), the optimum of
  the loss's quadratic model under the real update's distribution, u^T H u by central second differences of
  the population loss along u (float64, step h = 1e-4 sqrt(n)/|u|; tested against exact HVPs);
  mean(g^T u) <= 0 means the real step ascends in expectation: no eta > 0 helps (``ascent``);
* **oracle rows** (``@population``): exact[outside] and its +corr from the population's own statistics and
  deviations (in-sample, not held out): what the held-out rows lose to the training sample;
* **control** (``independent``): at the mid checkpoint, the population's minibatch gradient replaced by g plus
  independent Gaussian noise of the population's per-component variance sigma_i^2/B (the plain models'
  assumption made true), predictions from the population's own statistics with exact Hessian-vector products
  (the noise model alone, not the sketch): the plain models' ratio must come back to ~1.

Cost: per row, ``samples`` x ~7 population losses.  Results are plain data (json-ready), cached per
(architecture, checkpoint) in ``.cache/heldout`` under a digest of the configuration and this code.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

from .collect import FlatModel, require_torch, collect
from .validate import Pool

CONFIG = {
    "eps": (1e-8, 1e-6, 1e-3, 1e-2),
    "batch": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    "probes": 32, "sketch_rank": 16, "noise_examples": 256, "seed": 0, "resamples": 200,
    "architectures": {
        "mlp": {"samples": 64, "stats": 512},
        "cnn": {"samples": 32, "stats": 512, "batch": (1, 4, 8, 16, 64, 128, 256, 1024)},
        "transformer": {"samples": 32, "stats": 256, "population": 512, "batch": (1, 8, 32, 128, 1024)},
        "teacher": {"samples": 64, "stats": 1024},
    },
    "control": {"eps": (1e-8, 1e-3), "batch": (4, 64, 1024), "samples": 64},
    "momentum": {"architecture": "mlp", "batch": (8, 64), "eps": 1e-8, "warmup": 20, "lr": 1e-3,
                 "betas": (0.9, 0.999), "samples": 128},
}
CORRECTED = (("exact", "outside"), ("exact", "inside"))
STEP = 1e-4  # the finite-difference step for u^T H u, relative to |u|/sqrt(n)
HALF_OCTAVES = (-1, 0, 1)  # the first grid, in half octaves around eta_q
WIDEST = (-10, 8)  # the grid is widened up to eta_q x 2^-5 .. x 2^4


class Population(Pool):
    """A checkpoint's model on the population: validate.Pool's per-example gradients (P x n, held once) and minibatch
    draws, with sigma, w0 as a numpy vector and the mean loss at any w."""

    def __init__(self, model, loss_fn, x, y, chunk: int = 128):
        from torch.func import functional_call

        super().__init__(model, loss_fn, x, y, chunk)
        self.sigma = self.per_example.std(dim=0, correction=0).numpy()
        self.w0 = self.w0.numpy()
        self._call = functional_call

    def loss(self, w: np.ndarray) -> float:
        """The population's mean loss at the flat parameters w (one plain forward pass)."""
        torch, flat = self.torch, self.flat
        with torch.no_grad():
            params = flat.unflat(torch.from_numpy(np.ascontiguousarray(w)).to(flat.dtype))
            return float(self.loss_fn(self._call(self.model, (params, flat.buffers), (self.x,)), self.y))


def _parabola(etas: np.ndarray, y: np.ndarray) -> tuple[float, bool]:
    """(the vertex of the parabola in eta through the minimum and its neighbours, whether the minimum is an edge).

    In eta, not log eta: the loss's quadratic model is a parabola in eta, so the vertex is exact for it (a
    parabola in log eta through points sqrt(2) apart puts it 6% low)."""
    k = int(np.argmin(y))
    if k == 0 or k == len(y) - 1:
        return float(etas[k]), True
    x0, x1, x2 = etas[k - 1:k + 2]
    y0, y1, y2 = y[k - 1:k + 2]
    denominator = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denominator
    return (float(-b / (2 * a)) if a > 0 else float(x1)), False


def quadratic_forms(population: Population, u: np.ndarray, base: float) -> np.ndarray:
    """u_s^T H u_s for each row by central second differences of the population loss (float64)."""
    n = u.shape[1]
    out = np.empty(u.shape[0])
    for s, row in enumerate(u):
        norm = float(np.linalg.norm(row))
        if norm == 0:
            out[s] = 0.0
            continue
        h = STEP * math.sqrt(n) / norm
        plus, minus = population.loss(population.w0 + h * row), population.loss(population.w0 - h * row)
        out[s] = (plus - 2.0 * base + minus) / (h * h)
    return out


def measure_updates(population: Population, u: np.ndarray, resamples: int, seed: int) -> dict:
    """eta_q and eta_real of the updates u (S x n) on the population (see the module docstring)."""
    base = population.loss(population.w0)
    X = u @ population.g
    Y = quadratic_forms(population, u, base)
    mean_x, mean_y = float(X.mean()), float(Y.mean())
    eta_q = mean_x / mean_y if mean_y != 0 else math.inf
    se = float(np.sqrt((X - eta_q * Y).var(ddof=1) / X.size) / abs(mean_y)) if mean_y != 0 else math.inf  # delta method
    out = {"eta_q": eta_q, "eta_q_se": se, "gu": mean_x, "uHu": mean_y, "loss": base}
    if not mean_x > 0:  # the step ascends in expectation: no eta > 0 lowers the loss
        return {**out, "eta_real": math.nan, "eta_real_low": math.nan, "eta_real_high": math.nan, "edge": False,
                "ascent": True}
    centre = eta_q if mean_y > 0 else mean_x / abs(mean_y)
    changes: dict[int, np.ndarray] = {}

    def evaluate(k: int) -> None:
        eta = centre * 2.0 ** (k / 2)
        changes[k] = np.array([population.loss(population.w0 - eta * row) for row in u]) - base

    for k in HALF_OCTAVES:
        evaluate(k)
    while True:
        keys = sorted(changes)
        best = keys[int(np.argmin([changes[k].mean() for k in keys]))]
        if best == keys[0] and keys[0] > WIDEST[0]:
            evaluate(keys[0] - 1)
        elif best == keys[-1] and keys[-1] < WIDEST[1]:
            evaluate(keys[-1] + 1)
        else:
            break
    keys = np.array(sorted(changes))
    table = np.stack([changes[k] for k in keys], axis=1)  # (S, grid)
    x = centre * 2.0 ** (keys / 2)
    eta_real, edge = _parabola(x, table.mean(axis=0))
    rng = np.random.default_rng(seed)
    boot = np.array([_parabola(x, table[rng.integers(0, u.shape[0], u.shape[0])].mean(axis=0))[0]
                     for _ in range(resamples)])
    return {**out, "eta_real": eta_real, "eta_real_low": float(np.quantile(boot, 0.025)),
            "eta_real_high": float(np.quantile(boot, 0.975)), "edge": bool(edge), "ascent": False,
            "decrease": float(-table.mean(axis=0).min()), "grid": [int(keys[0]), int(keys[-1])]}


def measure(population: Population, eps: float, B: int, samples: int, seed: int, resamples: int,
            noise: str = "examples") -> dict:
    """One real torch Adam(betas=(0, 0), eps) step per minibatch of B population examples, measured.

    ``noise="independent"``: g plus independent Gaussian noise of the population's per-component variance / B."""
    from ..sim.optimizers import torch_adam

    torch = population.torch
    generator = torch.Generator().manual_seed(seed)
    if noise == "examples":
        grads = population.minibatch_gradients(B, samples, generator)
    elif noise == "independent":
        z = torch.randn(samples, population.g.size, generator=generator, dtype=torch.float64).numpy()
        grads = population.g + z * population.sigma / math.sqrt(B)
    else:
        raise ValueError(f"noise must be 'examples' or 'independent', not {noise!r}")
    return measure_updates(population, torch_adam(grads, eps), resamples, seed)


# ----------------------------------------------------------------------------------------------- predictions


class Deviations:
    """Per-example gradient deviations d_e = (example e's gradient) - g of the statistics' examples, held as their
    projections on the sketch's eigenvectors (k x r) and themselves (k x n), for the first-order correlated term."""

    def __init__(self, deviations: np.ndarray, stats):
        self.d = deviations
        self.U = stats.sketch_vectors
        self.lam = stats.sketch_values
        self.rest = stats.diag_H - (self.U * self.U) @ self.lam  # H's diagonal beyond the sketch

    def shuffled(self, seed: int) -> "Deviations":
        """Each component's deviations permuted independently across examples (variances kept, correlations gone)."""
        rng = np.random.default_rng(seed)
        d = self.d.copy()
        for i in range(d.shape[1]):
            d[:, i] = d[rng.permutation(d.shape[0]), i]
        new = object.__new__(Deviations)
        new.d, new.U, new.lam, new.rest = d, self.U, self.lam, self.rest
        return new

    def extra_cost(self, slope: np.ndarray) -> float:
        """mean_e (s o d_e)^T H (s o d_e) - sum_i s_i^2 mean_e(d_ei^2) H_ii, H = the sketch + diagonal remainder:
        the off-diagonal part of tr(H S Sigma S) (Sigma the examples' covariance, ddof 0)."""
        scaled = self.d * slope
        projected = scaled @ self.U
        full = float(np.mean((projected * projected) @ self.lam + (scaled * scaled) @ self.rest))
        diagonal = float(np.mean((scaled * scaled) @ ((self.U * self.U) @ self.lam + self.rest)))
        return full - diagonal


def correlated(stats, deviations: Deviations, eps: float, batch, placement: str, model: str) -> np.ndarray:
    """eta*(B) of a per-component model plus the first-order correlated noise term (the module docstring)."""
    from .. import numeric
    from .predict import problem_of

    problem = problem_of(stats, eps, placement=placement)
    chosen = numeric.get_model(model)
    moments = chosen.outside if (placement == "outside" and getattr(chosen, "outside", None) is not None) \
        else chosen.moments
    sigma = np.sqrt(stats.sigma2)
    safe = np.where(sigma > 0, sigma, 1.0)
    out = []
    for B in batch:
        num, den, unit = chosen.terms(problem, np.array([float(B)]))
        root = math.sqrt(B)
        a, b = stats.g * root / safe, eps * root / safe
        step = 1e-4
        slope = (moments(a + step, b)[0] - moments(a - step, b)[0]) / (2 * step) * root / safe
        slope = np.where(sigma > 0, slope, 0.0)
        extra = deviations.extra_cost(slope) / B
        if unit[0] != 1.0:  # the model carries m eps, v eps^2 there
            extra = extra * unit[0] ** 2
        out.append(float(unit[0] * num[0] / (den[0] + extra)))
    return np.array(out)


def registered_correlated(stats, eps: float, batch, placement: str, shuffled: bool = False) -> np.ndarray:
    """eta*(B) of the registered ``correlated`` model from the statistics file's own noise sketch (the sketch of H
    and k training examples' gradient deviations projected on its eigenvectors, grouped: ``Statistics.noise``), as
    ``predict`` computes it.  ``shuffled``: those projections permuted across examples per group
    (``ProjectedNoise.shuffled``), the negative control."""
    from .. import numeric
    from .predict import problem_of

    kept = (stats.sigma2 > 0) | (stats.g != 0)  # the components problem_of keeps (no gradient at all: left out)
    noise = stats.noise(kept)
    problem = problem_of(stats, eps, placement=placement, noise=noise.shuffled(0) if shuffled else noise)
    return np.asarray(numeric.eta_star(np.asarray(batch, dtype=float), problem, model="correlated"), dtype=float)


def predict_all(stats, deviations: Deviations | None, eps: float, batch, H="sketch") -> dict[str, list[float]]:
    """Every registered model (both placements) from the statistics (H: the file's sketch, or exact HVPs), plus
    the +corr rows and the registered correlated model from the deviations' sketch where deviations are given
    (without them ``correlated`` is its base model: left out)."""
    from .predict import prediction

    out = {}
    for placement in ("outside", "inside"):
        result = prediction(stats, eps, batch, placement=placement, surge=False, H=H)
        for name, p in result.models.items():
            if name != "correlated":
                out[f"{name}[{placement}]"] = [float(v) for v in p.eta]
    if deviations is not None:
        shuffled = deviations.shuffled(0)
        for name, placement in CORRECTED:
            out[f"{name}[{placement}]+corr"] = [float(v) for v in correlated(stats, deviations, eps, batch, placement, name)]
            out[f"{name}[{placement}]+corr(shuffled)"] = [
                float(v) for v in correlated(stats, shuffled, eps, batch, placement, name)]
        for placement in ("outside", "inside"):
            out[f"correlated[{placement}]"] = [float(v) for v in registered_correlated(stats, eps, batch, placement)]
        out["correlated[outside](shuffled)"] = [float(v) for v in registered_correlated(stats, eps, batch, "outside",
                                                                                        shuffled=True)]
    return out


# ------------------------------------------------------------------------------------------------ the run


MEASUREMENT = "heldout-measurement/1"  # bump when the measurement (not the predictions) changes: the cache's key


def _digest(name: str, config: dict) -> str:
    """The measurement cache's key: the configuration and :data:`MEASUREMENT` (bump it when the measurement or the
    architectures change: the key does not read the code, so a refactoring keeps the cache)."""
    text = json.dumps({"config": config, "name": name, "version": MEASUREMENT}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _statistics(architecture, model, x, y, count: int, config: dict, label: str):
    """Statistics of the first ``count`` training examples and their per-example deviations."""
    torch = require_torch()
    xs, ys = x[:count], y[:count]
    loader = [(xs[i:i + 256], ys[i:i + 256]) for i in range(0, count, 256)]
    stats = collect(model, architecture.loss_fn, loader, probes=config["probes"], sketch_rank=config["sketch_rank"],
                    seed=config["seed"], progress=False, model_name=architecture.name, checkpoint=label,
                    noise_examples=config["noise_examples"])
    stats = _through_file(stats)  # the predictions read what a user's .npz holds (float32 sketches included)
    flat = FlatModel(model, architecture.loss_fn, loader)
    rows = torch.cat([flat.per_example(xs[i:i + 128], ys[i:i + 128]) for i in range(0, count, 128)]).to(torch.float64)
    return stats, Deviations(rows.numpy() - stats.g, stats)


def _through_file(stats):
    """The statistics as ``Statistics.save`` then ``statsfile.load`` give them back (the file's precision)."""
    import tempfile

    from .statsfile import load

    with tempfile.TemporaryDirectory() as folder:
        return load(stats.save(Path(folder) / "stats.npz"))


def run_architecture(name: str, config: dict = CONFIG, cache: Path | None = Path(".cache/heldout"),
                     progress: bool = True, checkpoints=None) -> dict:
    """Train, then at every checkpoint: statistics on training examples, predictions, measurements, control.

    The measurements (the slow part) are cached per architecture under :func:`_digest`; the statistics and the
    predictions are recomputed on every call (seconds), so a new registered model needs no new measurement."""
    from tqdm import tqdm

    from ..sim.optimizers import torch_single_thread
    from .architectures import ARCHITECTURES, parameter_count

    torch = require_torch()
    torch.use_deterministic_algorithms(True)
    architecture = ARCHITECTURES[name]
    spec = {**{"batch": config["batch"]}, **config["architectures"][name]}
    batch, samples = tuple(spec["batch"]), spec["samples"]
    checkpoints = tuple(checkpoints or architecture.checkpoints)
    measured_by = {k: v for k, v in config.items() if k != "noise_examples"}  # that one enters the predictions only
    path = cache / f"{name}-{_digest(name, {**measured_by, 'checkpoints': checkpoints})}.json" if cache is not None else None
    stored = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else None
    with torch_single_thread():
        x_train, y_train, x_pop, y_pop = architecture.data(config["seed"])
        if "population" in spec:
            x_pop, y_pop = x_pop[:spec["population"]], y_pop[:spec["population"]]
        model = architecture.build(config["seed"])
        saved = architecture.train(model, x_train, y_train, seed=config["seed"])
        measured = {"rows": [], "control": [], "checks": []} if stored is None else stored
        rows, control = [], []
        total = len(checkpoints) * len(config["eps"]) * len(batch)
        bar = tqdm(total=total, desc=f"{name}: settings", disable=not progress, file=sys.stderr)
        mid = checkpoints[len(checkpoints) // 2]
        for step in checkpoints:
            model.load_state_dict(saved[step])
            stats, deviations = _statistics(architecture, model, x_train, y_train, spec["stats"], config,
                                            f"step {step}")
            population = Population(model, architecture.loss_fn, x_pop, y_pop)
            pop_stats, pop_deviations = _population_statistics(architecture, model, population, config, step)
            if stored is None:
                measured["checks"].append({
                    "step": step, "train_loss": stats.loss, "population_loss": population.loss(population.w0),
                    "gradient_cosine": float(stats.g @ population.g / (np.linalg.norm(stats.g)
                                                                       * np.linalg.norm(population.g))),
                    "gradient_norm_ratio": float(np.linalg.norm(stats.g) / np.linalg.norm(population.g))})
            for e, eps in enumerate(config["eps"]):
                predicted = predict_all(stats, deviations, eps, batch)
                predicted.update(_oracle(pop_stats, pop_deviations, eps, batch))
                for k, B in enumerate(batch):
                    if stored is None:
                        measured["rows"].append({"step": step, "eps": eps, "B": B, **measure(
                            population, eps, B, samples, config["seed"] + 1000 * e + k, config["resamples"])})
                    row = next(r for r in measured["rows"] if (r["step"], r["eps"], r["B"]) == (step, eps, B))
                    rows.append({**row, "models": {m: values[k] for m, values in predicted.items()}})
                    bar.update(1)
            if step == mid:
                control = _control(population, pop_stats, config, step,
                                   None if stored is None else measured["control"])
                if stored is None:
                    measured["control"] = [{k: v for k, v in row.items() if k != "models"} for row in control]
        bar.close()
    if path is not None and stored is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(measured), encoding="utf-8")
    return {"name": name, "description": architecture.description, "n": parameter_count(model),
            "train": int(x_train.shape[0]), "stats": spec["stats"], "population": int(x_pop.shape[0]),
            "samples": samples, "batch": list(batch), "checkpoints": list(checkpoints), "lr": architecture.lr,
            "rows": rows, "control": control, "checks": measured["checks"]}


def _population_statistics(architecture, model, population, config, step):
    """The population's own statistics (sigma^2 with ddof 0, as sampling with replacement has it; the exact HVP
    kept in ``extra``) and its per-example deviations: in-sample, for the oracle rows and the control."""
    from dataclasses import replace

    P = population.P
    loader = [(population.x[i:i + 256], population.y[i:i + 256]) for i in range(0, P, 256)]
    stats = collect(model, architecture.loss_fn, loader, probes=config["probes"], sketch_rank=config["sketch_rank"],
                    seed=config["seed"], progress=False, checkpoint=f"step {step} population")
    hvp = stats.extra["hvp"]
    stats = replace(stats, sigma2=stats.sigma2 * (P - 1) / P, sigma2_se=stats.sigma2_se * (P - 1) / P)
    stats.extra["hvp"] = hvp
    return stats, Deviations(population.per_example.numpy() - stats.g, stats)


def _oracle(stats, deviations, eps: float, batch) -> dict[str, list[float]]:
    """exact[outside] and its +corr from the population's own statistics (not held out: what the held-out rows
    lose to the training sample)."""
    from .predict import prediction

    plain = prediction(stats, eps, batch, placement="outside", models="exact", surge=False).models["exact"].eta
    return {"exact[outside]@population": [float(v) for v in plain],
            "exact[outside]+corr@population": [float(v) for v in correlated(stats, deviations, eps, batch, "outside",
                                                                             "exact")]}


def _control(population, stats, config, step, stored) -> list[dict]:
    """Independent Gaussian noise of the population's variances; plain models from the population's statistics."""
    spec = config["control"]
    out = []
    for e, eps in enumerate(spec["eps"]):
        predicted = predict_all(stats, None, eps, spec["batch"], H=stats.extra["hvp"])
        for k, B in enumerate(spec["batch"]):
            if stored is None:
                measured = measure(population, eps, B, spec["samples"], config["seed"] + 7 + 100 * e + k,
                                   config["resamples"], noise="independent")
            else:
                measured = next(r for r in stored if (r["eps"], r["B"]) == (eps, B))
            out.append({**measured, "step": step, "eps": eps, "B": B,
                        "models": {m: values[k] for m, values in predicted.items()}})
    return out


def run_momentum(config: dict = CONFIG, cache: Path | None = Path(".cache/heldout")) -> list[dict]:
    """Warmed-up Adam at the last checkpoint of ``config["momentum"]["architecture"]``, held out: the state after
    ``warmup`` steps on population minibatches, frozen and copied into ``samples`` replicas that each take one more
    step (:func:`.validate.measure_momentum`, its definition of eta_real: a log grid x1/4 .. x4 of eta_q, 4 points
    per octave); the predictions from training-example statistics at the frozen point."""
    import copy

    from ..sim.optimizers import torch_single_thread
    from . import validate
    from .architectures import ARCHITECTURES
    from .predict import prediction

    torch = require_torch()
    torch.use_deterministic_algorithms(True)
    spec = config["momentum"]
    architecture = ARCHITECTURES[spec["architecture"]]
    stats_count = config["architectures"].get(spec["architecture"], {}).get("stats", 512)
    key = _digest("momentum", {"momentum": spec, "seed": config["seed"], "stats": stats_count})
    path = cache / f"momentum-{key}.json" if cache is not None else None
    stored = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else None
    out, cached = [], []
    with torch_single_thread():
        x_train, y_train, x_pop, y_pop = architecture.data(config["seed"])
        model = architecture.build(config["seed"])
        saved = architecture.train(model, x_train, y_train, seed=config["seed"])
        model.load_state_dict(saved[max(architecture.checkpoints)])
        for k, B in enumerate(spec["batch"]):
            if stored is None:
                pool = validate.Pool(model, architecture.loss_fn, x_pop, y_pop)
                measured = validate.measure_momentum(pool, spec["eps"], B, spec["warmup"], spec["lr"], spec["samples"],
                                                     config["seed"] + 100 + k, betas=tuple(spec["betas"]))
                w = measured.pop("pool").w0.numpy()
                measured = {name: (float(v) if isinstance(v, (float, np.floating)) else v)
                            for name, v in measured.items()}
                cached.append({**measured, "w": w.tolist()})
            else:
                measured = dict(stored[k])
                w = np.array(measured["w"])
            measured.pop("w", None)
            moved = copy.deepcopy(model)
            flat = FlatModel(moved, architecture.loss_fn, [(x_pop[:2], y_pop[:2])])
            with torch.no_grad():
                for (_, p), piece in zip(moved.named_parameters(), flat.unflat(torch.from_numpy(w)).values()):
                    p.copy_(piece)
            stats, _ = _statistics(architecture, moved, x_train, y_train, stats_count, config, "warmed up")
            models = {}
            for placement in ("outside", "inside"):
                for b1, label in ((spec["betas"][0], "momentum"), (0.0, "fresh")):
                    result = prediction(stats, spec["eps"], [B], placement=placement, beta1=b1, surge=False)
                    models.update({f"{name}[{placement}, {label}]": float(p.eta[0]) for name, p in result.models.items()})
            out.append({"B": B, **{n: v for n, v in measured.items() if n in (
                "eta_q", "eta_real", "eta_real_low", "eta_real_high", "edge", "ascent")}, "models": models})
    if path is not None and stored is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cached), encoding="utf-8")
    return out


def run(config: dict = CONFIG, names=None, cache: Path | None = Path(".cache/heldout"), progress: bool = True) -> dict:
    names = tuple(names or config["architectures"])
    result = {"config": {k: v for k, v in config.items() if k != "architectures"} | {
        "architectures": {n: config["architectures"][n] for n in names}},
        "architectures": [run_architecture(n, config, cache, progress) for n in names]}
    if config["momentum"]["architecture"] in names:
        result["momentum"] = run_momentum(config, cache)
    return result
