"""Section 6 of the atlas: the efficiency law with eps (X-20 .. X-27) on the mean-field layer's problem family.

For each problem of ``meanfield.problem``'s family (the same seeds, n, rho, couplings and eps values):

* the exact model's B_noise, its half-saturation batch (``numeric.b_noise(model="exact")``: dL(B) = dL_max/2),
  and each mean-field row's closed form (X-21), as the ratio B_noise_model / B_noise_exact;
* the worst relative error of the mean-field loss decrease at eta* (X-20) against the exact one over the
  problem's B grid (``numeric.loss_decrease``);
* how the exact and the mean-field B_noise move with eps: B_noise(eps)/B_noise(eps = 0) for the same problem
  (same seed, n, rho, coupling) at each eps of the family;
* the same direction on a second family, the noisy quadratic model of Zhang et al. 2019 (H = diag(1/i),
  Sigma = H, n = 2000; g = H w0, w0 ~ N(0, I) seeded), where the answer differs: the direction depends on
  the problem family.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import numeric
from ..export.markdown import table
from . import meanfield
from .run import sweep

REFERENCE = "exact"
REPEATS = {False: 1, True: 4}  # seeds per setting (default, --full): the exact half-saturation search costs ~0.4 s
DIRECTION_ROW = "mean_field[kappa2=mean]"  # the article's mean field (numeric's default kappa2), for the direction table


def rows() -> tuple[tuple[str, str, tuple], ...]:
    """(label, model, options as pairs) for every mean-field row: the models with X-21's closed form."""
    out = []
    for name in numeric.MODELS:
        if isinstance(numeric.get_model(name), numeric.MeanFieldModel):
            for label, options in numeric.get_model(name).atlas_variants().items():
                out.append((label, name, tuple(sorted(options.items()))))
    return tuple(out)


def settings(repeats: int) -> list[tuple]:
    """(seed, n, rho, eps_rel, coupling, rows): the mean-field layer's combinations, ``repeats`` seeds each."""
    combos = list(itertools.product(meanfield.N_VALUES, meanfield.RHO_VALUES, meanfield.EPS_REL_VALUES,
                                    meanfield.COUPLINGS))
    chosen = rows()
    return [(1000 * r + i, *combo, chosen) for r in range(repeats) for i, combo in enumerate(combos)]


def measures(seed: int, n: int, rho: float, eps_rel: float, coupling: str, chosen: tuple) -> dict:
    """The exact B_noise, and per row (B_noise ratio to exact, worst relative loss-decrease error over B)."""
    p = meanfield.problem(seed, n, rho, eps_rel, coupling)
    exact_noise = numeric.b_noise(p.problem, model=REFERENCE)
    exact_dl = numeric.loss_decrease(p.B, p.problem, model=REFERENCE)
    out = {"rows": {}, "direction": None}
    for label, name, options in chosen:
        noise = numeric.b_noise(p.problem, model=name, **dict(options))
        dl = numeric.loss_decrease(p.B, p.problem, model=name, **dict(options))
        out["rows"][label] = (noise / exact_noise, float(np.max(np.abs(dl / exact_dl - 1))))
    if eps_rel == 0.0:  # the direction: this problem's g, sigma, H at every eps of the family
        scale = float(np.median(np.abs(p.g)))
        moved = [numeric.Problem(p.g, p.sigma, p.H, e * scale) for e in meanfield.EPS_REL_VALUES]
        out["direction"] = (tuple(numeric.b_noise(q, model=REFERENCE) for q in moved),
                            tuple(numeric.b_noise(q, model="mean_field") for q in moved))
    return out


@dataclass(frozen=True)
class Summary:
    name: str
    median: float
    p10: float
    p90: float
    within_10pct: float  # share of problems with |B_noise ratio - 1| <= 0.1
    dl_median: float  # median over problems of the worst |dL_model/dL_exact - 1| over B
    dl_p90: float


def summarise(results: list[dict]) -> list[Summary]:
    out = []
    for label in results[0]["rows"]:
        ratio = np.array([r["rows"][label][0] for r in results])
        dl = np.array([r["rows"][label][1] for r in results])
        out.append(Summary(label, float(np.median(ratio)), float(np.percentile(ratio, 10)),
                           float(np.percentile(ratio, 90)), float(np.mean(np.abs(ratio - 1) <= 0.1)),
                           float(np.median(dl)), float(np.percentile(dl, 90))))
    return sorted(out, key=lambda s: -s.within_10pct)


ZHANG_N = 2000
ZHANG_SEEDS = tuple(range(8))


def zhang_problem(seed: int, eps_rel: float) -> numeric.Problem:
    """Zhang et al. 2019's NQM: h_i = 1/i, Sigma = H (sigma_i = sqrt(h_i)), n = ZHANG_N, at g = H w0 with w0 ~ N(0, I)
    (seeded); eps = eps_rel median|g|."""
    h = 1.0 / np.arange(1, ZHANG_N + 1)
    g = h * np.random.default_rng(seed).standard_normal(ZHANG_N)
    return numeric.Problem(g, np.sqrt(h), h, eps_rel * float(np.median(np.abs(g))))


def zhang_direction(seed: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(exact, mean field) B_noise at every eps of the family, for one seed of Zhang et al.'s NQM."""
    moved = [zhang_problem(seed, e) for e in meanfield.EPS_REL_VALUES]
    return (tuple(numeric.b_noise(q, model=REFERENCE) for q in moved),
            tuple(numeric.b_noise(q, model="mean_field") for q in moved))


def direction(results: list[dict]) -> tuple[list[tuple], dict[str, int]]:
    """Per eps: the median and p10/p90 over problems of B_noise(eps)/B_noise(0), exact, and the median of the mean
    field's; and how the exact B_noise moves across the eps values per problem (falls, rises, both)."""
    lines = [r["direction"] for r in results if r["direction"] is not None]
    exact = np.array([np.array(e) / e[0] for e, _ in lines])
    mean_field = np.array([np.array(m) / m[0] for _, m in lines])
    table_rows = [(e, float(np.median(exact[:, k])), float(np.percentile(exact[:, k], 10)),
                   float(np.percentile(exact[:, k], 90)), float(np.median(mean_field[:, k])))
                  for k, e in enumerate(meanfield.EPS_REL_VALUES)]
    counts = {"falls": 0, "rises": 0, "both": 0}
    for line in exact:
        steps = np.diff(line)
        up, down = bool((steps > 0).any()), bool((steps < 0).any())
        counts["both" if up and down else "rises" if up else "falls"] += 1
    return table_rows, counts


def section(repeats: int, executor: Executor | None, cache: Path | None, progress: bool) -> list[str]:
    """The atlas's markdown lines for the efficiency law."""
    tasks = settings(repeats)
    results = sweep(measures, tasks, executor=executor, cache=cache, desc="efficiency law", progress=progress)
    summary = summarise(results)
    eps_rows, counts = direction(results)
    out = [
        "## 6. The efficiency law with eps (X-20 .. X-27)",
        "",
        f"The {len(tasks)} problems of section 4. B_noise of the exact model is its half-saturation batch "
        "(`numeric.b_noise(model=\"exact\")`: the B where the loss decrease at eta* is half its B -> oo value); the "
        "mean-field rows use X-21's closed form pi kappa^2 T/(2 S) (B_simple T/S for mean_field_bsimple), which is "
        "the same point for their own dL (X-20). \"dL error\": the worst |dL_model/dL_exact - 1| over the problem's "
        "11 batch sizes (`numeric.loss_decrease`), median and p90 over problems.",
        "",
    ]
    out += table(("model", "B_noise / exact: median", "p10", "p90", "within 10%", "dL error: median", "p90"),
                 [(s.name, f"{s.median:.3g}", f"{s.p10:.3g}", f"{s.p90:.3g}", f"{100 * s.within_10pct:.1f}%",
                   f"{s.dl_median:.3g}", f"{s.dl_p90:.3g}") for s in summary])
    out += ["", "How B_noise moves with eps: B_noise(eps)/B_noise(eps = 0) for the same g, sigma, H (the family's"
            " eps = 0 problems, eps then set to each value of the family), exact and under the mean field"
            f" ({DIRECTION_ROW}).", ""]
    out += table(("eps / median|g|", "exact: median", "p10", "p90", "mean field: median"),
                 [(f"{e:g}", f"{m:.3g}", f"{lo:.3g}", f"{hi:.3g}", f"{mf:.3g}") for e, m, lo, hi, mf in eps_rows])
    total = sum(counts.values())
    out += ["", f"Across the {len(eps_rows)} eps values the exact B_noise falls in {counts['falls']}, rises in "
            f"{counts['rises']} and does both in {counts['both']} of {total} problem lines.", ""]
    lines = sweep(zhang_direction, [(seed,) for seed in ZHANG_SEEDS], executor=executor, cache=cache,
                  desc="efficiency law: Zhang et al.", progress=progress)
    zhang_rows, zhang_counts = direction([{"direction": line} for line in lines])
    out += ["The same on a second family, the noisy quadratic model of Zhang et al. 2019: H = diag(1/i), Sigma = H, "
            f"n = {ZHANG_N}, g = H w0 with w0 ~ N(0, I) ({len(ZHANG_SEEDS)} seeds), eps = eps_rel median|g| "
            f"(`efficiency.zhang_problem`). At eps = {zhang_rows[-1][0]:g} median|g| its exact B_noise is "
            f"{zhang_rows[-1][1]:.3g} times its eps = 0 value (median; {eps_rows[-1][1]:.3g} on the atlas's family): "
            "how the exact B_noise moves with eps depends on the problem family.", ""]
    out += table(("eps / median|g|", "exact: median", "p10", "p90", "mean field: median"),
                 [(f"{e:g}", f"{m:.3g}", f"{lo:.3g}", f"{hi:.3g}", f"{mf:.3g}") for e, m, lo, hi, mf in zhang_rows])
    out += ["", f"Across the {len(zhang_rows)} eps values the exact B_noise falls in {zhang_counts['falls']}, rises in "
            f"{zhang_counts['rises']} and does both in {zhang_counts['both']} of {sum(zhang_counts.values())} "
            "problem lines.", ""]
    return out
