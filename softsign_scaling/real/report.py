"""docs/real-model.md: the held-out validation on four small networks (``python -m softsign_scaling.real.report``).

The measurement (:mod:`.heldout`: torch, about 15 minutes of one CPU core, cached per architecture in
``.cache/heldout``) is run by ``--measure`` and written to docs/real-model.json (numbers rounded to 6 significant
digits); the document and its figure are written from that file alone, without torch, so they regenerate byte
for byte (tests/test_real_report.py).  The document's stamp is the digest of :mod:`.heldout`'s code (and
everything it imports: the statistics, the predictions) and of the model registry *at the measurement*, kept in
the json: a change to the predictions' code or a new registered model leaves the stamp stale until ``--measure``
runs again (tests/test_documented_commands.py).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from ..files import write_text

JSON = Path("docs") / "real-model.json"
DOCUMENT = Path("docs") / "real-model.md"
FIGURE = Path("docs") / "figures" / "real-heldout.png"
GENERATOR = "softsign_scaling.real.heldout"
# The recommended model: the first of these that the measurement has (the registered correlated model once it
# exists; until then the in-memory first-order correlated reference).
PRIMARY = ("correlated[outside]", "exact[outside]+corr")
SHOWN = ("exact[outside]", "exact[inside]", "mean_field[inside]", "exact[outside]+corr", "correlated[outside]",
         "correlated[outside](shuffled)")
WITHIN = (1.25, 1.5)
SLOPE = (8, 128)
SLOPE_TOLERANCE = 0.15
QUADRATIC = 1.25  # eta_q/eta_real beyond this factor: the loss is not quadratic over the step
SMALL_B = 4
ORACLE = "exact[outside]+corr@population"  # the first-order correlated model from the population's own statistics


# ------------------------------------------------------------------------------------------------ data


def _round(value):
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def _number(value) -> float:
    return math.nan if value is None else float(value)


def measure(names=None, progress: bool = True) -> dict:
    """Run :func:`.heldout.run` (torch) and return its json-ready result with the inputs' digest."""
    from ..export.provenance import digest
    from . import heldout

    result = heldout.run(names=names, progress=progress)
    result["inputs"] = digest(GENERATOR)
    return _round(result)


def primary(arch: dict) -> str:
    names = set(arch["rows"][0]["models"])
    return next(name for name in PRIMARY if name in names)


def ratio(row: dict, model: str) -> float:
    return _number(row["models"].get(model)) / _number(row["eta_real"])


def summary(arch: dict, model: str) -> dict:
    """Median ratio over the rows with a measured optimum; shares within 1.25x and 1.5x over every row (a row
    where the real step ascends counts as a miss: the model still gives a learning rate); the slopes."""
    rows = arch["rows"]
    values = np.array([ratio(row, model) for row in rows])
    finite = values[np.isfinite(values)]
    shares = [float(np.mean(np.isfinite(values) & (np.abs(np.log(np.where(np.isfinite(values), values, 1.0)))
                                                    <= math.log(w)))) for w in WITHIN]
    cells = slopes(arch, model)
    good = [abs(p - m) <= SLOPE_TOLERANCE for _, _, m, p in cells]
    return {"median": float(np.median(finite)) if finite.size else math.nan, "within": shares, "rows": len(rows),
            "ascent": int(np.sum(~np.isfinite(values))),
            "slope_measured": float(np.median([m for _, _, m, _ in cells])) if cells else math.nan,
            "slope_predicted": float(np.median([p for _, _, _, p in cells])) if cells else math.nan,
            "slope_share": float(np.mean(good)) if cells else math.nan, "cells": len(cells)}


def slopes(arch: dict, model: str) -> list[tuple[int, float, float, float]]:
    """(step, eps, measured, predicted) d log eta*/d log B between B = 8 and 128, per (checkpoint, eps)."""
    out = []
    lo, hi = SLOPE
    for step in arch["checkpoints"]:
        for eps in sorted({row["eps"] for row in arch["rows"]}):
            pick = {row["B"]: row for row in arch["rows"] if row["step"] == step and row["eps"] == eps}
            if lo not in pick or hi not in pick:
                continue
            a, b = pick[lo], pick[hi]
            measured = [_number(a["eta_real"]), _number(b["eta_real"])]
            predicted = [_number(a["models"].get(model)), _number(b["models"].get(model))]
            if all(math.isfinite(v) and v > 0 for v in measured + predicted):
                scale = math.log(hi / lo)
                out.append((step, eps, math.log(measured[1] / measured[0]) / scale,
                            math.log(predicted[1] / predicted[0]) / scale))
    return out


def reason(row: dict) -> str:
    """Why a row can miss, from the measurement alone (not from the prediction)."""
    if not math.isfinite(_number(row["eta_real"])):
        return "ascent (mean g^T u <= 0: no eta > 0 lowers the loss)"
    if row.get("edge"):
        return "minimum at the grid's edge"
    q = _number(row["eta_q"]) / _number(row["eta_real"])
    if not (1 / QUADRATIC <= q <= QUADRATIC):
        return f"non-quadratic (eta_q/eta_real = {q:.2f})"
    oracle = ratio(row, ORACLE)
    if math.isfinite(oracle) and abs(math.log(oracle)) <= math.log(WITHIN[1]):
        return f"statistics (from the population itself, {ORACLE} is {_fmt(oracle)})"
    if row["B"] <= SMALL_B:
        return f"small B (B <= {SMALL_B}; the quadratic model holds, in-sample statistics do not help)"
    return "noise model (the quadratic model holds, and in-sample statistics do not help)"


def failing(arch: dict, model: str, limit: float = WITHIN[1]) -> list[tuple[dict, float, str]]:
    out = []
    for row in arch["rows"]:
        r = ratio(row, model)
        if not (math.isfinite(r) and abs(math.log(r)) <= math.log(limit)):
            out.append((row, r, reason(row)))
    return out


# ------------------------------------------------------------------------------------------------ writing


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.2g}" if abs(value) < 10 else f"{value:.0f}"


def _slope(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "-"


def _models(arch: dict) -> list[str]:
    names = sorted(arch["rows"][0]["models"])
    return sorted(names, key=lambda name: (abs(math.log(summary(arch, name)["median"]))
                                           if math.isfinite(summary(arch, name)["median"]) else math.inf, name))


def write(data: dict, root: Path) -> Path:
    root = Path(root)
    (root / FIGURE).parent.mkdir(parents=True, exist_ok=True)
    _figure(data, root / FIGURE)
    config, archs = data["config"], data["architectures"]
    lines = [
        "# eta*(B, eps) of real networks, held out: predicted vs measured",
        "",
        "Generated by `python -m softsign_scaling.real.report` from docs/real-model.json (no torch needed);",
        "`python -m softsign_scaling.real.report --measure` measures again (needs `pip install -e '.[torch]'`; about",
        "15 minutes of one CPU core here: ~10 for the measurements, cached per architecture in .cache/heldout, the",
        "rest for the statistics and the predictions) and rewrites the json. Seeded,",
        "float64, one thread; the last digits depend on torch's kernels. Ratios are predicted/measured, printed to 2",
        "significant figures; intervals are 95%.",
        "",
        "## Set-up",
        "",
        "| network | n (parameters) | statistics on | population | checkpoints (Adam steps) | updates S | B |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for arch in archs:
        lines.append(f"| {arch['name']}: {arch['description']} | {arch['n']} | {arch['stats']} training examples "
                     f"(of {arch['train']}) | {arch['population']} held-out examples | "
                     f"{', '.join(map(str, arch['checkpoints']))} (lr {arch['lr']:g}) | {arch['samples']} | "
                     f"{', '.join(map(str, arch['batch']))} |")
    eps_list = ", ".join(f"{e:g}" for e in config["eps"])
    lines += [
        "",
        f"eps in {{{eps_list}}} at every checkpoint and B. Fewer B on the CNN and the transformer, and fewer updates S",
        "there, because one population loss costs 10-40 ms on them (against 1-2 ms on the MLP and the teacher).",
        "The digits have 1797 images: 1000 train, 797 are the population, so there the population is smaller than",
        "the MLP's parameter count; the teacher-student population is ~110 times its parameter count.",
        "",
        "* **Training**: real `torch.optim.Adam` (betas 0.9/0.999, eps 1e-8), batch 32, minibatches drawn from the",
        "  training examples (the teacher-student task draws fresh inputs every step).",
        f"* **Statistics** (what a user has): `softsign_scaling.real.collect` on the first training examples: g,",
        f"  sigma^2, diag H by Hutchinson ({config['probes']} probes) deflated by a rank-{config['sketch_rank']} Lanczos "
        "sketch of H.",
        "* **Predicted**: every registered model from those statistics alone, H the file's sketch (U diag(lambda) U^T",
        "  plus the diagonal remainder), `[outside]` = eps outside the root (PyTorch's placement, the one measured),",
        "  `[inside]` = the article's SoftSign. `+corr`: the same model plus the noise's cross-component correlations",
        "  to first order (Stein/Mehler: Cov(u_i, u_j) ~ s_i s_j Sigma_ij/B, s_i = dm_i/dg_i), from every statistics",
        "  example's gradient deviation and the sketch of H (an in-memory reference: the .npz file does not hold the",
        "  deviations). `+corr(shuffled)`: the same with each component's deviations permuted independently across",
        "  examples (variances kept, correlations destroyed): a negative control that must fall back to the plain model.",
        "  `correlated[...]`: the registered correlated model (`numeric.correlated`: the same first-order term) from",
        "  what a statistics file holds: the sketch of H and the deviations' projections on its eigenvectors, grouped",
        "  by quantiles of |g_i|/sigma_i and sigma_i (k x r x G numbers); `correlated[outside](shuffled)`: those",
        "  projections permuted across examples per group (`ProjectedNoise.shuffled`), its negative control.",
        "  `@population`: exact[outside] and its +corr from the population's own statistics and deviations (in-sample,",
        "  not held out): what the held-out predictions lose to the training sample.",
        "* **Measured** (held out: the statistics never see the population): minibatches of B population examples",
        "  drawn with replacement; one real `torch.optim.Adam(lr=1, betas=(0, 0), eps=eps)` step from a fresh state",
        "  each, u = g~/(|g~| + eps) (the definition of `real/validate.py`: a fresh step, not a warmed-up state);",
        "  **eta_real** = the minimum over eta of the population's mean loss L(w - eta u) averaged over the S updates,",
        "  on a half-octave grid around eta_q widened until the minimum is inside, refined by the parabola (in eta)",
        "  through the three points around it, 95% interval by a bootstrap over the updates; **eta_q** =",
        "  mean(g^T u)/mean(u^T H u) with the population's g and H (u^T H u by central second differences of the",
        "  population loss): the optimum of the loss's quadratic model under the real update's mean and covariance.",
        "  eta_q far from eta_real means the loss is not quadratic over the step; eta_q close to eta_real with the",
        "  prediction far off means the noise model (or the statistics) failed.",
        f"* Scores: the median ratio over the rows where the real step descends; the shares within 1.25x and 1.5x",
        "  over every row (a row where the real step ascends counts as a miss: every model still gives a learning",
        f"  rate); the slope d log eta*/d log B between B = {SLOPE[0]} and {SLOPE[1]}, per (checkpoint, eps), its median",
        f"  predicted and measured, and the share of cells where they agree within +-{SLOPE_TOLERANCE}.",
        "",
        "## Headline",
        "",
    ]
    for arch in archs:
        best = primary(arch)
        s = summary(arch, best)
        lines.append(f"* **{arch['name']}** ({best}): median {_fmt(s['median'])}, within 1.25x on {s['within'][0]:.0%}, "
                     f"within 1.5x on {s['within'][1]:.0%} of {s['rows']} rows; slope {_slope(s['slope_predicted'])} "
                     f"predicted against {_slope(s['slope_measured'])} measured (within +-{SLOPE_TOLERANCE} in "
                     f"{s['slope_share']:.0%} of {s['cells']} cells).")
    lines += ["", "![predicted vs measured eta*(B)](figures/real-heldout.png)", ""]
    for arch in archs:
        lines += [f"### {arch['name']} (n = {arch['n']})", "",
                  "| model | median | within 1.25x | within 1.5x | slope predicted | slope measured | slopes within "
                  f"+-{SLOPE_TOLERANCE} |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for name in _models(arch):
            s = summary(arch, name)
            lines.append(f"| {name} | {_fmt(s['median'])} | {s['within'][0]:.0%} | {s['within'][1]:.0%} | "
                         f"{_slope(s['slope_predicted'])} | {_slope(s['slope_measured'])} | {s['slope_share']:.0%} |")
        ascent = sum(1 for row in arch["rows"] if not math.isfinite(_number(row["eta_real"])))
        lines += ["", f"{len(arch['rows'])} rows, {ascent} where the real step ascends in expectation.", ""]
    lines += ["## Rows the recommended model misses", "",
              f"Rows where the recommended model is off by more than {WITHIN[1]}x, with the reason read from the",
              f"measurement: `ascent`; `non-quadratic` (eta_q/eta_real beyond {QUADRATIC}x); `statistics` (the",
              f"first-order correlated model from the population's own statistics, {ORACLE}, is within",
              f"{WITHIN[1]}x: the training sample's statistics are what misses); `small B` (B <= {SMALL_B}, where the",
              "per-example noise is far from Gaussian and a fresh step's sign follows the few examples drawn; the skew",
              "itself is not measured here); otherwise the noise model (the loss is quadratic over the step, so the",
              "model's update moments are what is wrong).", ""]
    for arch in archs:
        best = primary(arch)
        missed = failing(arch, best)
        counts: dict[str, int] = {}
        for _, _, why in missed:
            key = why.split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
        lines.append(f"* **{arch['name']}** ({best}): {len(missed)} of {len(arch['rows'])} rows"
                     + (": " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "") + ".")
        for row, r, why in missed:
            lines.append(f"  * step {row['step']}, eps {row['eps']:g}, B {row['B']}: ratio {_fmt(r)}; {why}")
    lines += ["", "## Controls", "",
              "**Independent noise** (the plain models' assumption made true): at the middle checkpoint, the minibatch",
              "gradient replaced by the population's g plus independent Gaussian noise of its per-component variance",
              "sigma_i^2/B; the plain models predicted from the population's own statistics (collected the same way).",
              "They must come back to ~1.", "",
              "| network | step | eps | B | eta_real (95%) | eta_q/eta_real | exact[outside] | anchored[outside] | "
              "exact[inside] |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for arch in archs:
        for row in arch["control"]:
            lines.append(f"| {arch['name']} | {row['step']} | {row['eps']:g} | {row['B']} | {_interval(row)} | "
                         f"{_q(row)} | " + " | ".join(_fmt(ratio(row, m)) for m in
                                                      ("exact[outside]", "anchored[outside]", "exact[inside]")) + " |")
    pairs = [name for name in ("exact[outside]+corr", "exact[outside]+corr(shuffled)", "correlated[outside]",
                               "correlated[outside](shuffled)") if name in archs[0]["rows"][0]["models"]]
    lines += ["", "**Shuffled deviations** (must lose the correlated correction): the median (and range) over every",
              "row of each correlated prediction divided by the plain exact[outside].", "",
              "| network | " + " | ".join(f"{name} / exact[outside]" for name in pairs) + " |",
              "| --- " * (1 + len(pairs)) + "|"]
    for arch in archs:
        plain = np.array([_number(row["models"]["exact[outside]"]) for row in arch["rows"]])
        parts = []
        for name in pairs:
            q = np.array([_number(row["models"][name]) for row in arch["rows"]]) / plain
            parts.append(f"{np.median(q):.3g} ({q.min():.3g} .. {q.max():.3g})")
        lines.append(f"| {arch['name']} | " + " | ".join(parts) + " |")
    lines += ["", "`+corr(shuffled)` permutes each component's deviations on its own: the correlations go, all of the",
              "correction with them. `correlated[outside](shuffled)` permutes the stored projections per group, with one",
              "permutation for every eigenvector (`ProjectedNoise.shuffled`): the correlation between groups goes, the",
              "part within a group stays, so it keeps some of the correction."]
    lines += ["", "**Training examples against the population** (what holding out costs): the statistics' mean",
              "gradient against the population's, at each checkpoint.", "",
              "| network | step | training loss | population loss | cos(g_train, g_population) | "
              "abs(g_train)/abs(g_population) |", "| --- | --- | --- | --- | --- | --- |"]
    for arch in archs:
        for c in arch["checks"]:
            lines.append(f"| {arch['name']} | {c['step']} | {c['train_loss']:.3g} | {c['population_loss']:.3g} | "
                         f"{c['gradient_cosine']:.2f} | {c['gradient_norm_ratio']:.2f} |")
    lines += ["", "## Every setting", ""]
    for arch in archs:
        shown = [name for name in SHOWN if name in arch["rows"][0]["models"]]
        lines += [f"### {arch['name']}", "",
                  "| step | eps | B | eta_real (95%) | eta_q/eta_real | " + " | ".join(shown) + " |",
                  "| --- " * (5 + len(shown)) + "|"]
        for row in arch["rows"]:
            lines.append(f"| {row['step']} | {row['eps']:g} | {row['B']} | {_interval(row)} | {_q(row)} | "
                         + " | ".join(_fmt(ratio(row, name)) for name in shown) + " |")
        lines.append("")
    if data.get("momentum"):
        spec = config["momentum"]
        lines += ["## Momentum", "",
                  f"{spec['architecture']}, last checkpoint: Adam{tuple(spec['betas'])} warmed up for {spec['warmup']} steps "
                  f"(lr {spec['lr']:g}, eps {spec['eps']:g}) on minibatches of the population; its state frozen and copied "
                  f"into {spec['samples']} replicas, each taking one more step (`validate.measure_momentum`: eta_real on a "
                  "log grid x1/4 .. x4 of eta_q, 4 points per octave, parabola in log eta). `momentum` = the model with "
                  f"beta1 = {spec['betas'][0]} (softsign(m), the SoftSign of the momentum, a Signum/Lion-like update: the "
                  "per-step model at the effective batch B(1 + beta1)/(1 - beta1); `averaged`: beta2 -> 1); `fresh` = "
                  "the one-step model (beta1 = 0). Statistics on the training examples at the frozen point (held out).",
                  ""]
        names = sorted(data["momentum"][0]["models"])
        lines.append("| B | eta_real (95%) | eta_q/eta_real | " + " | ".join(names) + " |")
        lines.append("| --- " * (3 + len(names)) + "|")
        for row in data["momentum"]:
            lines.append(f"| {row['B']} | {_interval(row)} | {_q(row)} | "
                         + " | ".join(_fmt(ratio(row, n)) for n in names) + " |")
        lines.append("")
    lines += [f"<!-- inputs: {data['inputs']} (the digest of {GENERATOR}'s export-layer code and the model registry; "
              "tests/test_documented_commands.py) -->", ""]
    path = root / DOCUMENT
    write_text(path, "\n".join(lines))
    return path


def _interval(row: dict) -> str:
    eta = _number(row["eta_real"])
    if not math.isfinite(eta):
        return f"ascent (eta_q = {_number(row['eta_q']):.3g})"
    edge = " edge" if row.get("edge") else ""
    return f"{eta:.3g} ({_number(row['eta_real_low']):.3g} .. {_number(row['eta_real_high']):.3g}){edge}"


def _q(row: dict) -> str:
    eta = _number(row["eta_real"])
    return f"{_number(row['eta_q']) / eta:.2f}" if math.isfinite(eta) else "-"


def _figure(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = data["architectures"]
    columns = max(len(arch["checkpoints"]) for arch in archs)
    figure, axes = plt.subplots(len(archs), columns, figsize=(4.0 * columns, 3.3 * len(archs)), dpi=100,
                                squeeze=False)
    colours = {1e-8: "tab:blue", 1e-2: "tab:red"}
    for i, arch in enumerate(archs):
        best = primary(arch)
        for j, step in enumerate(arch["checkpoints"]):
            ax = axes[i][j]
            for eps, colour in colours.items():
                rows = [r for r in arch["rows"] if r["step"] == step and r["eps"] == eps]
                B = np.array([r["B"] for r in rows], dtype=float)
                eta = np.array([_number(r["eta_real"]) for r in rows])
                ok = np.isfinite(eta)
                low = np.array([_number(r["eta_real_low"]) for r in rows])[ok]
                high = np.array([_number(r["eta_real_high"]) for r in rows])[ok]
                ax.errorbar(B[ok], eta[ok], yerr=[eta[ok] - low, high - eta[ok]], fmt="o", color=colour, ms=3,
                            capsize=2, label=f"measured, eps {eps:g}")
                ax.plot(B, [_number(r["models"][best]) for r in rows], "-", color=colour, label=f"{best}, eps {eps:g}")
                ax.plot(B, [_number(r["models"]["exact[outside]"]) for r in rows], ":", color=colour,
                        label=f"exact[outside], eps {eps:g}")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{arch['name']}, step {step}", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
            if i == len(archs) - 1:
                ax.set_xlabel("batch size B")
            if j == 0:
                ax.set_ylabel(r"$\eta^*(B)$")
        axes[i][0].legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m softsign_scaling.real.report", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".", help="project root to write docs/real-model.md into (default: .)")
    parser.add_argument("--measure", action="store_true",
                        help="measure again (torch; cached in .cache/heldout) and rewrite docs/real-model.json first")
    parser.add_argument("--only", default=None, help="with --measure: comma-separated architectures (default: all)")
    args = parser.parse_args(argv)
    root = Path(args.out)
    if args.measure:
        names = tuple(args.only.split(",")) if args.only else None
        if names:
            from .heldout import CONFIG

            unknown = [n for n in names if n not in CONFIG["architectures"]]
            if unknown:
                print(f"error: unknown architecture(s) {', '.join(unknown)}; known: {', '.join(CONFIG['architectures'])}",
                      file=sys.stderr)
                return 2
        data = measure(names)
        (root / JSON).parent.mkdir(parents=True, exist_ok=True)
        write_text(root / JSON, json.dumps(data, indent=1, sort_keys=True) + "\n")
    source = root / JSON
    if not source.is_file():
        print(f"error: {source} not found: run with --measure first", file=sys.stderr)
        return 2
    data = json.loads(source.read_text(encoding="utf-8"))
    print(f"wrote {write(data, root)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
