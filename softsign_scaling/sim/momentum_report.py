"""docs/momentum.md (issue 12, item 5; issue 21, 1b, 1c): which momentum model predicts real torch Adam's local
optimum, on how many problems, and what becomes of the surge.

Every number comes from :func:`momentum.frozen_predictions` and :func:`momentum.common_point` (fixed seeds, torch
single-threaded, float64), run through ``atlas.run.sweep`` (any executor, cached per task and per code digest).
Ratios are printed to 2 significant digits and eta*_local with its 95% interval to the digits the interval
supports, so a rerun writes the same bytes.  ``tests/test_sim_momentum.py`` checks the measurement itself,
seeded, with a negative control, and (slow) that a fresh run writes the committed file.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from ..artifacts import write_text
from ..atlas.run import sweep
from ..export.markdown import table
from ..export.provenance import stamp
from . import momentum
from .report import pyplot, save_figure, with_ci

BETAS = ((0.9, 0.95), (0.9, 0.999), (0.0, 0.0))
MOMENTUM_BETAS = BETAS[:2]
TABLE_B = (1.0, 16.0, 256.0)
WARMUPS = (50, 200)
CURVE_B = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, math.inf)
CURVE_WARMUP = 200
WARM_B = (1.0, 16.0, 256.0)  # the batch size of the warm-up that fixes the common point
FIGURE_WARM_B = 16.0
PROBLEMS = (("article", 0.1), ("surge", 3e-3))
LR = 0.02
SEED = 5
SAMPLES = 1 << 16
# Section 2: the atlas's random problems (docs/atlas.md, layer 4), rho = 0.3, at eps = EPS_REL median|g|.
FAMILY_SEEDS = (0, 1, 2)
FAMILY_N = (4, 16)
FAMILY_COUPLINGS = ("random", "aligned")
FAMILY_RHO = 0.3
FAMILY_EPS_REL = (0.03, 0.3, 3.0)
FAMILY_WARMUP = 200
MODELS = ("state", "averaged", "softsign_momentum", "fresh_anchored")
TITLES = {"state": "the measured state: M-5's Gaussian step with torch's own m and v (close to a consistency check:"
                   " only v's new term, at its expectation, is modelled)",
          "averaged": "averaged, stationary (M-6: beta2 -> 1, v = g^2 + sigma^2/B, m at its stationary law)",
          "softsign_momentum": "softsign(m, eps), the SoftSign of the momentum (M-2: a Signum/Lion-like update; the"
                               " article's model at B (1 + beta1)/(1 - beta1)); not Adam with beta2 = 0, which"
                               " divides by the current |g~_t|",
          "fresh_anchored": "the article's one-step model (anchored, beta1 = beta2 = 0)"}


def family_problems() -> list[tuple[str, float, float]]:
    """(problem name, eps, eps/median|g|) of section 2."""
    from .experiments import atlas_problem

    out = []
    for seed in FAMILY_SEEDS:
        for n in FAMILY_N:
            for coupling in FAMILY_COUPLINGS:
                name = f"atlas:{seed}:{n}:{FAMILY_RHO}:{coupling}"
                g = atlas_problem(seed, n, FAMILY_RHO, coupling, 0.0)[0].g
                out += [(name, e * float(np.median(np.abs(g))), e) for e in FAMILY_EPS_REL]
    return out


def table_tasks(samples: int) -> list[tuple]:
    return [("article", 0.1, B, betas, LR, warm, samples, SEED) for betas in BETAS for B in TABLE_B for warm in WARMUPS]


def family_tasks(samples: int) -> list[tuple]:
    return [(name, eps, B, betas, LR, FAMILY_WARMUP, samples, SEED) for name, eps, _ in family_problems()
            for betas in MOMENTUM_BETAS for B in TABLE_B]


def curve_tasks(samples: int) -> list[tuple]:
    return [(name, eps, betas, LR, CURVE_WARMUP, warm_B, protocol, CURVE_B, samples, SEED) for name, eps in PROBLEMS
            for betas in BETAS for warm_B in WARM_B for protocol in momentum.PROTOCOLS]


def summary(rows: list[dict], model: str) -> tuple[float, float, float]:
    """(median ratio, share within 10% for every point of the 95% interval, share for some point)."""
    ratio = np.array([r["models"][model] / r["eta"] for r in rows])
    lo = np.array([r["models"][model] / (r["eta"] + 1.96 * r["stderr"]) for r in rows])
    hi = np.array([r["models"][model] / (r["eta"] - 1.96 * r["stderr"]) for r in rows])
    surely = np.mean((np.abs(lo - 1) <= 0.1) & (np.abs(hi - 1) <= 0.1))
    maybe = np.mean((np.abs(lo - 1) <= 0.1) | (np.abs(hi - 1) <= 0.1) | ((lo - 1) * (hi - 1) <= 0))
    return float(np.median(ratio)), float(surely), float(maybe)


def two_digits(x: float) -> str:
    """x to 2 significant digits, keeping a trailing zero (1.0, not 1)."""
    text = f"{x:.2g}"
    return text + ".0" if ("." not in text and "e" not in text and abs(x) < 10) else text


def _share(surely: float, maybe: float) -> str:
    a, b = f"{100 * surely:.0f}%", f"{100 * maybe:.0f}%"
    return a if a == b else f"{a} - {b}"


def run_momentum(root: Path, samples: int = SAMPLES, executor: Executor | None = None, cache: Path | None = None,
                 progress: bool = True) -> Path:
    return render(measure(samples, executor, cache, progress), root, samples)


def measure(samples: int = SAMPLES, executor: Executor | None = None, cache: Path | None = None,
            progress: bool = True) -> dict:
    """task -> result for every task of the document."""
    tables = table_tasks(samples) + family_tasks(samples)
    by = dict(zip(tables, sweep(momentum.frozen_predictions, tables, executor=executor, cache=cache,
                                desc="momentum: frozen states", progress=progress)))
    curves = curve_tasks(samples)
    by.update(zip(curves, sweep(momentum.common_point, curves, executor=executor, cache=cache,
                                desc="momentum: common points", progress=progress)))
    return by


def render(by: dict, root: Path, samples: int = SAMPLES) -> Path:
    """Write docs/momentum.md and its figure under ``root`` from :func:`measure`'s results."""
    out = (_header(samples) + _table(by, samples) + _family(by, samples)
           + _curves(by, samples, root / "docs" / "figures") + _answers(by, samples) + [stamp("softsign_scaling.sim.momentum_report")])
    path = root / "docs" / "momentum.md"
    write_text(path, "\n".join(out) + "\n")
    return path


def _header(samples: int) -> list[str]:
    return [
        "# Is SoftSign a good model of Adam? Momentum and the averaged second moment against real torch Adam",
        "",
        "Generated by `python derivations/momentum.py` (fixed seeds; needs `pip install -e '.[sim]'`). Issue 12, "
        "steps M-1 .. M-12. A fresh Adam's first step is SignSGD-like whatever its betas (bias correction gives "
        "m^ = g~, v^ = g~^2), so the comparison is made from a warmed-up state: one real torch Adam trajectory "
        f"(float64, lr = {LR}, from w0 = H^-1 g, seed {SEED}) on the noisy quadratic model (independent Gaussian "
        "minibatch noise, diagonal Sigma) runs `warmup` steps at batch size B; its state "
        f"(w, m, v, step) is frozen and the next minibatch drawn {samples} times; eta*_local = E[g^T u]/E[u^T H u] "
        "(u: the step at lr = 1) is the best learning rate for that next step, with a 95% delta-method interval. "
        "The predictions, all at the frozen g = H w:",
        "",
        *[f"* `{m}`: {TITLES[m]}" for m in MODELS],
        "",
        "`state` puts the measured m_(t-1), v_(t-1) into M-5's Gaussian update (v's new term at its expectation, "
        "torch's bias corrections and eps outside the root); `averaged` is the closed form M-6 with beta1 and the "
        "stationary v = g^2 + sigma^2/B; `softsign_momentum` is the article's model at B (1 + beta1)/(1 - beta1). "
        "Ratios are model/eta*_local, to 2 significant digits; \"within 10%\" counts |ratio - 1| <= 0.1, a range "
        "where the 95% interval straddles the edge.",
        "",
    ]


def _table(by: dict, samples: int) -> list[str]:
    out = ["## 1. The local optimum at a warmed-up state ('article' problem, eps = 0.1)", ""]
    rows, groups = [], {"momentum": [], "control": []}
    for betas in BETAS:
        for B in TABLE_B:
            for warm in WARMUPS:
                r = by[("article", 0.1, B, betas, LR, warm, samples, SEED)]
                groups["control" if betas == (0.0, 0.0) else "momentum"].append(r)
                rows.append((str(betas), f"{B:g}", str(warm), with_ci(r["eta"], r["stderr"]),
                             *(two_digits(r["models"][m] / r["eta"]) for m in MODELS)))
    out += table(("betas", "B", "warmup", "eta*_local", *(f"{m}/local" for m in MODELS)), rows)
    out += ["", "**Summary** (momentum rows: betas (0.9, 0.95) and (0.9, 0.999), 12 rows; control: betas (0, 0), 6 rows)",
            ""]
    summary_rows = []
    for m in MODELS:
        med, a, b = summary(groups["momentum"], m)
        cmed, ca, cb = summary(groups["control"], m)
        summary_rows.append((m, f"{med:.2f}", _share(a, b), f"{cmed:.2f}", _share(ca, cb)))
    out += table(("model", "momentum: median ratio", "momentum: within 10%", "control: median ratio",
                  "control: within 10%"), summary_rows)
    out.append("")
    return out


def family_ratios(by: dict, samples: int) -> dict[tuple[float, float], dict[str, np.ndarray]]:
    """(eps/median|g|, B) -> model -> the ratios model/eta*_local over section 2's rows there."""
    out: dict = {(e, B): {m: [] for m in MODELS} for e in FAMILY_EPS_REL for B in TABLE_B}
    for name, eps, eps_rel in family_problems():
        for betas in MOMENTUM_BETAS:
            for B in TABLE_B:
                r = by[(name, eps, B, betas, LR, FAMILY_WARMUP, samples, SEED)]
                for m in MODELS:
                    out[(eps_rel, B)][m].append(r["models"][m] / r["eta"])
    return {key: {m: np.array(v) for m, v in ms.items()} for key, ms in out.items()}


def _spread(values: np.ndarray) -> str:
    return f"{two_digits(float(np.median(values)))} ({two_digits(float(values.min()))} .. {two_digits(float(values.max()))})"


def _family(by: dict, samples: int) -> list[str]:
    ratios = family_ratios(by, samples)
    problems = len(family_problems()) // len(FAMILY_EPS_REL)
    per_cell = len(next(iter(ratios.values()))[MODELS[0]])
    out = ["## 2. More problems and eps (the atlas's random family)", "",
           f"{problems} problems of the atlas's random family (docs/atlas.md, layer 4: seeds {list(FAMILY_SEEDS)}, "
           f"n in {{{', '.join(map(str, FAMILY_N))}}}, rho = {FAMILY_RHO}, random and aligned couplings) at "
           f"eps = eps_rel median|g|; betas (0.9, 0.95) and (0.9, 0.999), {FAMILY_WARMUP} warm-up steps at the "
           f"batch size B of the row, measured as in section 1: {per_cell} rows per cell. Each cell: the median "
           "ratio model/eta*_local (min .. max).", ""]
    rows = [(f"{e:g}", f"{B:g}", *(_spread(ratios[(e, B)][m]) for m in MODELS)) for e in FAMILY_EPS_REL for B in TABLE_B]
    every = {m: np.concatenate([v[m] for v in ratios.values()]) for m in MODELS}
    rows.append(("all", "all", *(_spread(every[m]) for m in MODELS)))
    out += table(("eps / median|g|", "B", *(f"{m}/local" for m in MODELS)), rows)
    out.append("")
    return out


def _curve(by: dict, samples: int, name: str, eps: float, betas, warm_B: float, protocol: str) -> dict:
    return by[(name, eps, betas, LR, CURVE_WARMUP, warm_B, protocol, CURVE_B, samples, SEED)]


def curve_max(curve: dict, key: str | None = None) -> tuple[float, float, float]:
    """(max over finite B of eta*(B)/eta*(oo), its 95% half-width (measured only), that B); ``key``: a model."""
    values = np.array(curve["eta"] if key is None else curve["models"][key])
    normalised = values[:-1] / values[-1]
    k = int(np.argmax(normalised))
    half = 0.0 if key is not None else 1.96 * curve["stderr"][k] / values[-1]
    return float(normalised[k]), float(half), float(curve["B"][k])


PROTOCOL_TEXT = {"frozen": "state frozen", "rebuilt": "state rebuilt at B"}


def _measured(curve: dict) -> str:
    value, half, B = curve_max(curve)
    return f"{value:.3f} ± {half:.3f} ({B:g})"


def _modelled(curve: dict, model: str) -> str:
    value, _, B = curve_max(curve, model)
    return f"{value:.2f} ({B:g})"


def _curves(by: dict, samples: int, figures: Path) -> list[str]:
    plt = pyplot()
    finite = [B for B in CURVE_B if math.isfinite(B)]
    out = ["## 3. eta*(B) at one common point, normalised by its B -> oo value", "",
           f"One point w per (problem, betas, warm-up batch B_w): {CURVE_WARMUP} torch Adam steps at batch size B_w; "
           "g = H w is then the same for every B. Two protocols: **state frozen**: m, v and the step count are the "
           "warm-up's, the same for every B, and only the size of the next minibatch changes; **state rebuilt at B**: "
           f"at the same w, m and v are rebuilt from scratch by {CURVE_WARMUP} minibatches of size B with w held "
           "(lr = 0), the state M-5/M-6 assume for batch size B, then the next step at B. eta*(oo) is the noiseless "
           "step under the same protocol. The next step's noise is one draw for every B (common random numbers). "
           "With betas (0, 0) the step reads no state, and the two protocols coincide. "
           "Top: the 'article' problem (eps = 0.1); bottom: the surge problem of docs/simulation.md "
           "(g = [1]*6 + [-1e-3]*4, H = ones(10) + 0.1 I, eps = 3e-3). The figure: B_w = 16; points: measured "
           "(95% intervals), solid lines: `state` for each protocol; dashed: the models that read only g and B "
           "(the same for both protocols).", "",
           "![eta*(B)/eta*(oo)](figures/momentum_curves.png)", "",
           "Max over finite B of eta*(B)/eta*(oo) (at that B; measured: with its 95% half-width). A maximum at the "
           "largest B, 1024, below 1 means eta*(B) rises to its B -> oo value: no surge.", ""]
    rows = []
    with plt.rc_context({"figure.figsize": (9.0, 5.6), "font.size": 7}):
        fig, axes = plt.subplots(len(PROBLEMS), len(BETAS))
        for row, (name, eps) in enumerate(PROBLEMS):
            for col, betas in enumerate(BETAS):
                ax = axes[row, col]
                for warm_B in WARM_B:
                    frozen = _curve(by, samples, name, eps, betas, warm_B, "frozen")
                    rebuilt = _curve(by, samples, name, eps, betas, warm_B, "rebuilt")
                    rows.append((name, str(betas), f"{warm_B:g}", _measured(frozen), _modelled(frozen, "state"),
                                 _measured(rebuilt), _modelled(rebuilt, "state"),
                                 *(_modelled(rebuilt, m) for m in MODELS[1:])))
                for protocol, colour, marker in (("frozen", "k", "o"), ("rebuilt", "C3", "s")):
                    curve = _curve(by, samples, name, eps, betas, FIGURE_WARM_B, protocol)
                    top = curve["eta"][-1]
                    measured = np.array(curve["eta"][:-1]) / top
                    err = 1.96 * np.array(curve["stderr"][:-1]) / top
                    ax.errorbar(finite, measured, yerr=err, fmt=marker, ms=3, color=colour,
                                label=f"torch Adam, {PROTOCOL_TEXT[protocol]}")
                    state = np.array(curve["models"]["state"])
                    ax.plot(finite, state[:-1] / state[-1], lw=1, color=colour, label=f"state, {PROTOCOL_TEXT[protocol]}")
                curve = _curve(by, samples, name, eps, betas, FIGURE_WARM_B, "rebuilt")
                for k, m in enumerate(MODELS[1:]):
                    values = np.array(curve["models"][m])
                    ax.plot(finite, values[:-1] / values[-1], lw=1, ls="--", color=f"C{k}", label=m)
                ax.axhline(1.0, color="k", lw=0.4)
                ax.set_xscale("log")
                ax.set_title(f"{name}, betas = {betas}")
                ax.set_xlabel("B")
            axes[row, 0].set_ylabel("eta*(B) / eta*(oo)")
        axes[0, 0].legend(fontsize=5)
        fig.tight_layout()
        save_figure(fig, figures / "momentum_curves.png")
        plt.close(fig)
    out += table(("problem", "betas", "B_w", "measured, state frozen", "state, frozen", "measured, state rebuilt at B",
                  "state, rebuilt", *MODELS[1:]), rows)
    out.append("")
    return out


def surge_maxima(by: dict, samples: int, name: str, betas, protocol: str) -> list[tuple[float, float, float]]:
    """The measured (max, half-width, at B) on ``name`` for each warm-up batch B_w."""
    eps = dict(PROBLEMS)[name]
    return [curve_max(_curve(by, samples, name, eps, betas, warm_B, protocol)) for warm_B in WARM_B]


def _range(maxima: list[tuple[float, float, float]]) -> str:
    values = [v for v, _, _ in maxima]
    above = sum(v - h > 1.0 for v, h, _ in maxima)
    return f"{min(values):.3f} .. {max(values):.3f} (above 1 beyond its interval for {above} of {len(maxima)} B_w)"


def _answers(by: dict, samples: int) -> list[str]:
    momentum_rows = [by[("article", 0.1, B, betas, LR, warm, samples, SEED)] for betas in MOMENTUM_BETAS
                     for B in TABLE_B for warm in WARMUPS]
    stats = {m: summary(momentum_rows, m) for m in MODELS}
    every = {m: np.concatenate([v[m] for v in family_ratios(by, samples).values()]) for m in MODELS}
    fresh = 1 / every["fresh_anchored"]
    out = ["## 4. Answers", "",
           "**Which regime predicts warmed-up Adam's best next learning rate?** Over the 12 momentum rows of section 1: "
           + "; ".join(f"`{m}` median ratio {stats[m][0]:.2f}, within 10% on {_share(*stats[m][1:])}" for m in MODELS)
           + ". `state` is given the optimizer's own m and v, so its agreement is close to a consistency check: it "
           "shows that M-5's Gaussian step is the right form (the remaining randomness, v's new term, is small), not "
           "that m and v can be predicted. Its stationary version `averaged` (v -> E[g~^2], m at its stationary law) "
           f"is low by a factor {1 / stats['averaged'][0]:.1f} (median), and the models that divide by a current "
           f"|g~| or |m| are low by factors {1 / stats['softsign_momentum'][0]:.0f} (`softsign_momentum`) and "
           f"{1 / stats['fresh_anchored'][0]:.0f} (the article's step): a warmed-up Adam divides by an averaged v. "
           f"Over the {every['fresh_anchored'].size} rows of section 2 (the atlas's random family, three eps) the "
           f"article's one-step model is low by a factor {np.median(fresh):.0f} at the median "
           f"({fresh.min():.1f} .. {fresh.max():.0f}); the factor is largest where the noise dominates the gradient "
           "(small B, small eps), since momentum averages the noise away and the fresh model charges it in full. "
           "All of this is on the noisy quadratic model with independent noise. In the control (betas (0, 0)) no "
           "averaged model applies; there the per-step models are off mainly by the eps convention (torch puts eps "
           "outside the root; docs/simulation.md, section 3a).", ""]
    parts = []
    for betas in BETAS:
        for protocol in momentum.PROTOCOLS:
            parts.append(f"betas {betas}, {PROTOCOL_TEXT[protocol]}: "
                         + _range(surge_maxima(by, samples, "surge", betas, protocol)))
    cases = [(name, eps, betas, warm_B) for name, eps in PROBLEMS for betas in MOMENTUM_BETAS for warm_B in WARM_B]
    frozen = [curve_max(_curve(by, samples, name, eps, betas, warm_B, "frozen")) for name, eps, betas, warm_B in cases]
    rebuilt = [curve_max(_curve(by, samples, name, eps, betas, warm_B, "rebuilt")) for name, eps, betas, warm_B in cases]
    averaged = [curve_max(_curve(by, samples, name, eps, betas, warm_B, "rebuilt"), "averaged")
                for name, eps, betas, warm_B in cases]
    heights = [a[0] / r[0] for a, r in zip(averaged, rebuilt)]
    out += ["**Does the surge survive momentum?** On the surge problem (section 3), max eta*(B)/eta*(oo) over the "
            "three warm-up batches: " + "; ".join(parts) + ". With the state frozen, only the next minibatch "
            "depends on B; with beta1 = 0.9 it enters m with weight 0.1 and v with weight 1 - beta2, so the update is "
            "nearly affine in it, and an affine update's E[g^T u] does not depend on B while E[u^T H u] falls with "
            f"B: eta* rises towards its B -> oo value (a peak above 1 in {sum(v - h > 1 for v, h, _ in frozen)} of the "
            f"{len(cases)} momentum cases of section 3, both problems), and the surge of the momentum-free step is "
            "gone. A surge in B then needs the state itself to depend on B, as it does in a run at batch size B: "
            "with the state rebuilt at B (the stationary state M-6 assumes) eta*(B) peaks above its B -> oo value in "
            f"{sum(v - h > 1 for v, h, _ in rebuilt)} of the {len(cases)} cases, on the 'article' problem too (the "
            "averaged regime surges more easily: M-9, S_nu > 2 c T_H; in one component iff beta1 > 1/3, M-7); the "
            f"stationary `averaged` model predicts a peak above 1 in {sum(v > 1 for v, _, _ in averaged)} of them, "
            f"at {min(heights):.2f} .. {max(heights):.2f} times the measured height. The softsign(m) model's "
            "prediction (M-4: the peak at (1 - beta1)/(1 + beta1) times the batch size) is about a Signum/Lion-like "
            "update, not about Adam.", ""]
    return out
