"""The whole-run measurement (:mod:`.runlevel`) for the other architectures of :mod:`.architectures`.

The same protocol as the digits MLP's (steps S(B) to a target loss on the held-out population, the learning rate
tuned per B on a grid that follows the optimum, seeds; B_crit fitted; the correlated SignSGD-like B_noise from a
reference run's statistics), with any ``torch.nn.Module``: the replicas (seed x learning rate) are stacked
parameter dictionaries run through ``torch.func.functional_call`` under ``torch.func.vmap``, in float32.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .collect import require_torch
from .runlevel import AdamReplicas, correlated_noise, parabola_vertex, predictions, record_crossings

TEACHER_TARGET = 0.01
TEACHER_NOTE = ("twice the label-noise floor 0.5 * 0.1^2 = 0.005 and 1.5x the population loss 0.00663 that the"
                " held-out validation's late checkpoint reaches (step 3000, B = 32, lr 3e-3; docs/real-model.md);"
                " trained on fresh examples every step, as that validation trains it")

TRANSFORMER_TARGET = 2.2
TRANSFORMER_NOTE = ("the population loss of the held-out validation's mid checkpoint (step 400, B = 32, lr 3e-3),"
                    " 1.07x its late checkpoint's 2.06 (step 1500; docs/real-model.md): the late loss takes too many"
                    " steps at B = 4 for the measurement's budget; on the first 512 of the 2048 population windows,"
                    " evaluated at steps ceil(1.1^j)")

ARCH_CONFIG = {
    "cnn": {"target": 0.3, "batch": (4, 8, 16, 32, 64, 128, 256, 512), "seeds": (0, 1, 2),
            "first_lrs": (3e-4, 1e-1, 9), "points": 5, "ratio": 2**0.5, "follow": 2**0.7, "max_steps": 4000,
            "betas": (0.9, 0.999), "eps": 1e-8, "reference_batch": 32, "fractions": (0.25, 0.5, 1.0),
            "probes": 16, "sketch_rank": 8, "examples": 128,
            "eps_predicted": (1e-8, 1e-3), "one_step_batch": (4, 8, 16, 32, 64, 128, 256, 512, 1024)},
    # fresh Gaussian inputs every step (the population is the loss); label noise 0.1 puts the floor at 0.005
    "teacher": {"target": TEACHER_TARGET, "batch": (4, 8, 16, 32, 64, 128, 256, 512, 1024), "seeds": (0, 1, 2),
                "first_lrs": (3e-4, 1e-1, 9), "points": 5, "ratio": 2**0.5, "follow": 2**0.7, "max_steps": 8000,
                "betas": (0.9, 0.999), "eps": 1e-8, "reference_batch": 32, "fractions": (0.25, 0.5, 1.0),
                "probes": 16, "sketch_rank": 8, "examples": 128,
                "eps_predicted": (1e-8, 1e-3), "one_step_batch": (4, 8, 16, 32, 64, 128, 256, 512, 1024),
                "target_note": TEACHER_NOTE},
    # 512 of the 2048 population windows and evaluations 10% apart: one population loss of the whole set costs
    # ~50 ms per replica here
    "transformer": {"target": TRANSFORMER_TARGET, "batch": (4, 8, 16, 32, 64, 128, 256, 512), "seeds": (0, 1, 2),
                    "first_lrs": (3e-4, 1e-1, 9), "points": 5, "ratio": 2**0.5, "follow": 2**0.7,
                    "max_steps": 4000, "population": 512, "evaluation_ratio": 1.1,
                    "betas": (0.9, 0.999), "eps": 1e-8, "reference_batch": 32, "fractions": (0.25, 0.5, 1.0),
                    "probes": 16, "sketch_rank": 8, "examples": 128,
                    "eps_predicted": (1e-8, 1e-3), "one_step_batch": (4, 8, 16, 32, 64, 128, 256, 512, 1024),
                    "target_note": TRANSFORMER_NOTE},
}


def _torch():
    torch = require_torch()
    torch.set_num_threads(1)
    return torch


def steps_to_target(name: str, config: dict, B: int, lrs, stop_factor: float = 2.0) -> np.ndarray:
    """(seeds, lrs): the first step with population loss <= target (interpolated in log loss), inf if not reached."""
    torch = _torch()
    from torch.func import functional_call, vmap

    from .architectures import ARCHITECTURES

    arch = ARCHITECTURES[name]
    x_train, y_train, x_pop, y_pop = arch.data(0)
    if config.get("population"):  # the first windows of the population only (the transformer: its cost)
        x_pop, y_pop = x_pop[:config["population"]], y_pop[:config["population"]]
    if x_train.is_floating_point():  # (token indices stay integers)
        x_train, x_pop = x_train.float(), x_pop.float()
    if y_train.is_floating_point():  # regression targets (teacher-student): float32 like the replicas
        y_train, y_pop = y_train.float(), y_pop.float()
    seeds, lrs = config["seeds"], np.asarray(lrs, dtype=float)
    L, S = lrs.size, len(seeds)
    R = L * S
    models = [arch.build(1000 + seed).float() for seed in seeds]
    template = models[0]
    names = [n for n, _ in template.named_parameters()]
    params = [torch.stack([dict(m.named_parameters())[n].detach() for m in models]).repeat_interleave(L, 0)
              .clone().requires_grad_() for n in names]

    def one_loss(p, x, y):
        return arch.loss_fn(functional_call(template, dict(zip(names, p)), (x,)), y)

    batched = vmap(one_loss, in_dims=(0, 0, 0))
    pop_loss = vmap(one_loss, in_dims=(0, None, None))
    adam = AdamReplicas(params, np.tile(lrs, S), tuple(config["betas"]), config["eps"])
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    max_steps = config["max_steps"]
    ratio = config.get("evaluation_ratio", 1.03)  # the population loss at steps ceil(ratio^j)
    evaluations = {math.ceil(ratio**j) for j in range(int(math.log(max_steps) / math.log(ratio)) + 2)}
    evaluations = {e for e in evaluations if e <= max_steps} | {max_steps}
    hit = np.full(R, np.inf)
    previous, previous_step = np.full(R, np.nan), 0
    target = config["target"]
    for step in range(1, max_steps + 1):
        if arch.fresh is not None:  # online training (teacher-student): fresh examples every step, per seed
            drawn = [arch.fresh(gen, B) for gen in generators]
            xb = torch.stack([x for x, _ in drawn]).float().repeat_interleave(L, 0)
            yb = torch.stack([y for _, y in drawn]).to(y_train.dtype).repeat_interleave(L, 0)
        else:
            index = torch.stack([torch.randint(0, x_train.shape[0], (B,), generator=gen) for gen in generators])
            xb, yb = x_train[index].repeat_interleave(L, 0), y_train[index].repeat_interleave(L, 0)
        loss = batched(params, xb, yb).sum()
        adam.step(torch.autograd.grad(loss, params))
        if step in evaluations:
            with torch.no_grad():
                now = pop_loss(params, x_pop, y_pop).numpy().astype(float)
            if record_crossings(hit, previous, previous_step, now, step, target, (S, L), stop_factor):
                break
            previous, previous_step = now, step
    return hit.reshape(S, L)


def measure(name: str, config: dict, progress: bool = True) -> dict:
    """S(B) and the best learning rate per B and seed (the grid follows the optimum, as runlevel.measure_setting)."""
    from tqdm import tqdm

    rows, center = [], None
    for B in tqdm(config["batch"], desc=f"{name}: S(B)", disable=not progress, file=sys.stderr):
        if center is None:
            low, high, count = config["first_lrs"]
            lrs = list(np.geomspace(low, high, count))
        else:
            half = config["points"] // 2
            lrs = [center * config["ratio"] ** k for k in range(-half, half + 1)]
        hits = steps_to_target(name, config, B, lrs)
        for _ in range(4):
            mean = np.log(hits).mean(axis=0)
            k = int(np.argmin(mean))
            if 0 < k < len(lrs) - 1 or not np.isfinite(mean).any():
                break
            extra = [lrs[0] / config["ratio"] ** j for j in (2, 1)] if k == 0 else \
                [lrs[-1] * config["ratio"] ** j for j in (1, 2)]
            more = steps_to_target(name, config, B, extra)
            lrs = sorted(lrs + extra)
            hits = np.concatenate([more, hits], axis=1) if k == 0 else np.concatenate([hits, more], axis=1)
        per_seed = [parabola_vertex(np.log(lrs), np.log(hits[s])) for s in range(len(config["seeds"]))]
        mean_best = parabola_vertex(np.log(lrs), np.log(hits).mean(axis=0))
        rows.append({"B": B, "lrs": [float(v) for v in lrs], "steps": hits.tolist(),
                     "best_lr": [p[0] for p in per_seed], "S": [p[1] for p in per_seed],
                     "best_lr_mean": mean_best[0], "S_mean": mean_best[1]})
        center = mean_best[0] * config["follow"]
    return {"rows": rows}


def reference(name: str, config: dict, best_lr: float, steps: float, progress: bool = True) -> list[dict]:
    """torch.optim.Adam (float64) at the reference batch and ``best_lr``; statistics and predictions at checkpoints."""
    torch = _torch()
    from . import example
    from .architectures import ARCHITECTURES
    from .collect import collect

    arch = ARCHITECTURES[name]
    x_train, y_train, x_pop, y_pop = arch.data(0)
    if config.get("population"):
        x_pop, y_pop = x_pop[:config["population"]], y_pop[:config["population"]]
    model = arch.build(1000)
    checkpoints = sorted({max(1, int(round(f * steps))) for f in config["fractions"]})
    optimizer = torch.optim.Adam(model.parameters(), lr=best_lr, betas=tuple(config["betas"]), eps=config["eps"])
    generator = torch.Generator().manual_seed(0)
    loader = example.batches(x_train, y_train, 200)
    out = []
    for step in range(1, max(checkpoints) + 1):
        if arch.fresh is not None:
            xb, yb = arch.fresh(generator, config["reference_batch"])
        else:
            index = torch.randint(0, x_train.shape[0], (config["reference_batch"],), generator=generator)
            xb, yb = x_train[index], y_train[index]
        optimizer.zero_grad()
        arch.loss_fn(model(xb), yb).backward()
        optimizer.step()
        if step in checkpoints:
            with torch.no_grad():
                held = float(arch.loss_fn(model(x_pop), y_pop))
            stats = collect(model, arch.loss_fn, loader, probes=config["probes"], sketch_rank=config["sketch_rank"],
                            seed=0, progress=progress, checkpoint=f"step {step}")
            out.append({"step": step, "held_out_loss": held, **predictions(stats, config),
                        **correlated_noise(model, loader, x_train, y_train, stats, config["examples"],
                                           loss_fn=arch.loss_fn)})
    return out


def run(names=tuple(ARCH_CONFIG), progress: bool = True) -> dict:
    out = {}
    for name in names:
        config = ARCH_CONFIG[name]
        measured = measure(name, config, progress)
        ref_row = next(row for row in measured["rows"] if row["B"] == config["reference_batch"])
        measured["checkpoints"] = reference(name, config, ref_row["best_lr_mean"], ref_row["S_mean"], progress)
        measured["config"] = {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}
        out[name] = measured
    return out
