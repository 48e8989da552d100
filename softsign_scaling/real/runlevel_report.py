"""docs/run-level.md: the critical batch size and the best learning rate of a whole run (``softsign-scaling
critical-batch``).

The measurement (:mod:`softsign_scaling.real.runlevel`, minutes of torch) is cached in docs/run-level.json;
the document and its figures are computed from that file alone, so they are byte-reproducible (numbers printed to
3 significant digits).  ``--measure`` reruns the measurement and rewrites the cache.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from ..export.provenance import stamp
from ..files import write_text, write_text_bytes
from ..sections.runlevel import critical_batch

CACHE = "docs/run-level.json"
DOCUMENT = "docs/run-level.md"
FIGURES = ("figures/run-level-tradeoff.png", "figures/run-level-lr.png", "figures/run-level-noise.png")
SLOPE_RANGE = (8, 128)  # the range for the best learning rate's slope
SATURATED = 0.25  # a best-lr slope at B >= 16 below this: "stops growing with B" (half the square-root rule's)


def fmt(value) -> str:
    """3 significant digits (the claimed accuracy of every printed measurement)."""
    if value is None or not np.isfinite(value):
        return "--"
    return f"{float(value):.3g}"


def slope(B, values, low=SLOPE_RANGE[0], high=SLOPE_RANGE[1]) -> float:
    """Least-squares slope of log(values) against log(B) for low <= B <= high."""
    B, values = np.asarray(B, dtype=float), np.asarray(values, dtype=float)
    keep = (B >= low) & (B <= high) & np.isfinite(values) & (values > 0)
    return float(np.polyfit(np.log(B[keep]), np.log(values[keep]), 1)[0])


def analyse_setting(result: dict) -> dict:
    """B_crit and S_min per seed (fit S = S_min (1 + B_crit/B)), the best lr's slope per seed; medians, ranges."""
    rows = result["rows"]
    B = np.array([row["B"] for row in rows], dtype=float)
    S = np.array([row["S"] for row in rows], dtype=float)  # (B, seeds)
    lr = np.array([row["best_lr"] for row in rows], dtype=float)
    fits = [critical_batch(B, S[:, s]) for s in range(S.shape[1])]
    crit = np.array([f[0] for f in fits])
    smin = np.array([f[1] for f in fits])
    slopes = np.array([slope(B, lr[:, s]) for s in range(lr.shape[1])])
    slopes_all = np.array([slope(B, lr[:, s], B.min(), B.max()) for s in range(lr.shape[1])])
    geo = np.exp(np.log(S).mean(axis=1))
    crit_geo, smin_geo = critical_batch(B, geo)
    return {"B": B, "S": S, "lr": lr, "B_crit": crit, "S_min": smin, "slope": slopes, "slope_all": slopes_all,
            "S_geo": geo, "B_crit_geo": crit_geo, "S_min_geo": smin_geo,
            "lr_median": np.median(lr, axis=1), "lr_low": lr.min(axis=1), "lr_high": lr.max(axis=1)}


def _interval(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{fmt(np.median(values))} ({fmt(values.min())} .. {fmt(values.max())})"


def predicted(checkpoints: list[dict], eps: float, batch) -> dict:
    """The predictions along the reference run at ``eps`` (lists over checkpoints); one-step curves at ``batch``."""
    key = repr(eps)
    batch = np.asarray(batch, dtype=float)
    return {
        "step": [c["step"] for c in checkpoints],
        "loss": [c["held_out_loss"] for c in checkpoints],
        "B_noise_exact": [c["eps"][key]["B_noise_exact"] for c in checkpoints],
        "B_noise_mean_field": [c["eps"][key]["B_noise_mean_field"] for c in checkpoints],
        "B_peak": [c["eps"][key]["B_peak"] if c["eps"][key]["B_peak"] is not None else math.inf
                   for c in checkpoints],
        "B_noise_sgd": [c["B_noise_sgd"] for c in checkpoints],
        "B_simple": [c["B_simple"] for c in checkpoints],
        "eta": [c["eps"][key]["eta_one_step"] for c in checkpoints],
        "B_noise_corr": [c["B_noise_sign_corr"] for c in checkpoints],
        "B_noise_corr_se": [c["B_noise_sign_corr_se"] for c in checkpoints],
        "B_noise_indep": [c["B_noise_sign_indep"] for c in checkpoints],
        "B_noise_sgd_corr": [c["B_noise_sgd_corr"] for c in checkpoints],
        "B_noise_sgd_corr_se": [c["B_noise_sgd_corr_se"] for c in checkpoints],
        "eta_corr": [eta_corr(batch, c) for c in checkpoints],
    }


def eta_corr(B, checkpoint: dict) -> np.ndarray:
    """The correlated SignSGD-like model's one-step optimum at a checkpoint (real/runlevel.correlated_noise)."""
    B = np.asarray(B, dtype=float)
    return (math.sqrt(math.pi / 2) * checkpoint["u_g"] * np.sqrt(B)
            / (checkpoint["uHu"] * (B + checkpoint["B_noise_sign_corr"])))


def _figures(data: dict, analyses: dict, root: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = data["config"]
    checkpoints = data["checkpoints"]
    one_step_B = np.array(config["one_step_batch"], dtype=float)
    colours = dict(zip(analyses, ("C0", "C1", "C2", "C3")))
    p8 = predicted(checkpoints, 1e-8, one_step_B)

    # S against E, measured and predicted (S_min measured, B_noise predicted at the target)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    Bs = np.geomspace(1, 4096, 200)
    for name, an in analyses.items():
        ax.plot(an["S_geo"] * an["B"], an["S_geo"], "o-", color=colours[name], label=f"{name} (measured)")
    for label, value, style in (("B_noise correlated SignSGD-like", p8["B_noise_corr"][-1], "k--"),
                                ("B_noise exact[outside], independent noise", p8["B_noise_exact"][-1], "k:")):
        first = next(iter(analyses.values()))
        S_pred = first["S_min_geo"] * (1 + value / Bs)
        ax.plot(S_pred * Bs, S_pred, style, lw=1, label=f"S_min (1 + B_noise/B), {label} = {fmt(value)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("examples E = S B")
    ax.set_ylabel(f"steps S to held-out loss {config['target']}")
    ax.legend(fontsize=6, loc="lower left")
    ax.set_title("steps-examples trade-off (geometric mean over seeds; predicted at the target)", fontsize=9)
    _save(fig, root / "docs" / FIGURES[0])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for name, an in analyses.items():
        yerr = np.array([an["lr_median"] - an["lr_low"], an["lr_high"] - an["lr_median"]])
        ax.errorbar(an["B"], an["lr_median"], yerr=yerr, fmt="o-", color=colours[name], capsize=2,
                    label=f"{name} (measured, seed range)")
    ax.plot(one_step_B, p8["eta"][-1], "k:", lw=1, label="one-step eta*, exact[outside] (independent noise), target")
    ax.plot(one_step_B, p8["eta_corr"][-1], "k--", lw=1, label="one-step eta*, correlated SignSGD-like, target")
    ref = next(iter(analyses.values()))
    anchor = float(np.interp(np.log(32), np.log(ref["B"]), np.log(ref["lr_median"])))
    ax.plot(one_step_B, np.exp(anchor) * np.sqrt(one_step_B / 32), "k-.", lw=1,
            label="square-root rule (R-3) through the measured lr at B = 32")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=6)
    ax.set_title("the best constant learning rate of the run vs one-step optima", fontsize=9)
    _save(fig, root / "docs" / FIGURES[1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    steps = np.array(p8["step"], dtype=float) + 1
    ax.errorbar(steps, p8["B_noise_corr"], yerr=2 * np.array(p8["B_noise_corr_se"]), fmt="o-", color="C0",
                capsize=2, label="B_noise = B_peak, correlated SignSGD-like (2 s.e.)")
    ax.errorbar(steps, p8["B_noise_sgd_corr"], yerr=2 * np.array(p8["B_noise_sgd_corr_se"]), fmt="x-",
                color="C2", capsize=2, label="SGD's B_noise, correlated")
    ax.plot(steps, p8["B_simple"], "+-", color="C4", label="B_simple = tr(Sigma)/|g|^2")
    ax.plot(steps, p8["B_noise_exact"], "s:", color="C1", label="B_noise exact[outside], independent, eps 1e-8")
    peaks = np.array(p8["B_peak"], dtype=float)
    ax.plot(steps[np.isfinite(peaks)], peaks[np.isfinite(peaks)], "^:", color="C3",
            label="B_peak exact[outside], independent, eps 1e-8")
    for name, an in analyses.items():
        ax.axhline(float(np.median(an["B_crit"])), color=colours[name], lw=0.8, ls=":",
                   label=f"measured B_crit, {name}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("reference run step + 1")
    ax.set_ylabel("batch size")
    ax.legend(fontsize=5.5)
    ax.set_title("B_noise and B_peak along training (reference run, B = 32)", fontsize=9)
    _save(fig, root / "docs" / FIGURES[2])
    plt.close(fig)


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    write_text_bytes(path, buffer.getvalue())


def document(data: dict) -> tuple[str, dict]:
    """The Markdown text and the analyses (per setting)."""
    config = data["config"]
    settings = data["settings"]
    order = [setting["name"] for setting in config["settings"]]  # the configured order (the cache sorts keys)
    analyses = {name: analyse_setting(settings[name]) for name in order}
    checkpoints = data["checkpoints"]
    lines = [
        "# The whole run: critical batch size and best learning rate, measured and predicted",
        "",
        "Generated by `softsign-scaling critical-batch` from the cached measurement docs/run-level.json (issue 23;"
        " `--measure` reruns it: about 10 minutes of one CPU thread). Numbers are printed to 3 significant digits.",
        "",
        "## Set-up",
        "",
        f"* Network: the bundled MLP 64 -> {config['hidden']} -> 10 (tanh) on scikit-learn's digits, float32, one"
        " thread; 1200 training images (minibatches drawn with replacement), 597 held out.",
        f"* Measured: S(B), the steps until the held-out loss reaches {config['target']}, for B ="
        f" {', '.join(str(b) for b in config['batch'])}, with the learning rate tuned per B: a grid of"
        f" {config['points']} learning rates a factor sqrt(2) apart following the optimum (extended at an edge),"
        f" seeds {', '.join(str(s) for s in config['seeds'])} (the seed fixes the initialisation and the"
        " minibatches; the learning rates of a seed share them). The best learning rate and S per seed: the"
        " vertex of a parabola in log lr through log S. Adam is torch.optim.Adam's update (eps outside the root),"
        " checked against it in tests/test_runlevel_real.py.",
        "* Fitted: S(B) = S_min (1 + B_crit/B) per seed (McCandlish et al. 2018; the same as (S/S_min - 1)(E/E_min"
        " - 1) = 1 with E_min = S_min B_crit); the best learning rate's slope d ln lr/d ln B on B ="
        f" {SLOPE_RANGE[0]} .. {SLOPE_RANGE[1]}. Intervals: median (min .. max) over the seeds.",
        "* warmup + cosine: 5% linear warmup, cosine to 0 at a horizon of twice the constant schedule's median S"
        " at that B (so S is the step where the cosine run first reaches the target).",
        f"* Predicted: statistics (`softsign_scaling.real.collect`) of a reference run (float64 torch.optim.Adam"
        f" (0.9, 0.999), eps 1e-8, B = {config['reference']['batch']}, at the measured best learning rate) at"
        f" {len(checkpoints)} checkpoints up to the target; B_noise(eps) = the half-saturation batch of the exact"
        " model with eps outside the root (X-21, `numeric.b_noise(model=\"exact\")`), the article's mean field"
        " (eps inside), SGD's B_noise = tr(H Sigma)/g^T H g and B_simple = tr(Sigma)/|g|^2, the one-step eta*(B)"
        " (exact, outside) and its surge peak B_peak; and, with the noise's correlations, from"
        f" {config['reference']['examples']} per-example gradients and one Hessian-vector product each"
        " (`real.runlevel.correlated_noise`): SGD's tr(H Sigma)/g^T H g with the full Sigma, and the SignSGD-like"
        " B_noise of R-2's leading order (eps -> 0), ((pi/2 - 1) tr H + sum_ij H_ij rho_ij)/(u^T H u), u = g/sigma,"
        " rho the noise's correlation matrix (first order in rho, as the `+corr` models of docs/real-model.md)."
        " The predicted B_crit is the correlated SignSGD-like B_noise at the last checkpoint, where the held-out"
        f" loss is {fmt(checkpoints[-1]['held_out_loss'])} (the target is {config['target']}): the run spends its"
        " hardest steps there.",
        "",
        "## Measured",
        "",
        "| setting | B_crit | S_min | E_min = S_min B_crit | best-lr slope (B = 8 .. 128) | slope (all B) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, an in analyses.items():
        lines.append(f"| {name} | {_interval(an['B_crit'])} | {_interval(an['S_min'])} |"
                     f" {_interval(an['B_crit'] * an['S_min'])} | {_interval(an['slope'])} |"
                     f" {_interval(an['slope_all'])} |")
    lines += ["", "S(B), geometric mean over seeds, and the best learning rate (median over seeds):", "",
              "| setting | " + " | ".join(f"B = {int(b)}" for b in next(iter(analyses.values()))["B"]) + " |",
              "| --- |" + " --- |" * len(next(iter(analyses.values()))["B"])]
    for name, an in analyses.items():
        lines.append(f"| {name}: S | " + " | ".join(fmt(v) for v in an["S_geo"]) + " |")
        lines.append(f"| {name}: lr | " + " | ".join(fmt(v) for v in an["lr_median"]) + " |")

    one_step_B = np.array(config["one_step_batch"], dtype=float)
    p8, p3 = predicted(checkpoints, 1e-8, one_step_B), predicted(checkpoints, 1e-3, one_step_B)
    lines += ["", "## Predicted along the reference run", "",
              "Independent noise (the per-component models; the diagonal statistics):", "",
              "| step | held-out loss | B_noise exact (eps 1e-8) | mean field (1e-8) | B_peak exact (1e-8) |"
              " B_noise exact (1e-3) | mean field (1e-3) | B_peak exact (1e-3) | SGD's tr(H Sigma)/g^T H g |"
              " SignSGD-like (pi/2) tr H/u^T H u |",
              "| --- |" + " --- |" * 9]
    for k, c in enumerate(checkpoints):
        lines.append(f"| {c['step']} | {fmt(c['held_out_loss'])} | {fmt(p8['B_noise_exact'][k])} |"
                     f" {fmt(p8['B_noise_mean_field'][k])} | {fmt(p8['B_peak'][k])} | {fmt(p3['B_noise_exact'][k])} |"
                     f" {fmt(p3['B_noise_mean_field'][k])} | {fmt(p3['B_peak'][k])} | {fmt(p8['B_noise_sgd'][k])} |"
                     f" {fmt(p8['B_noise_indep'][k])} |")
    lines += ["", "With the noise's correlations (per-example gradients, one HVP each; +- one standard error of the"
              " sampled mean), and SGD's B_simple:", "",
              "| step | SignSGD-like B_noise (= its B_peak) | SGD's B_noise | B_simple = tr(Sigma)/abs(g)^2 |",
              "| --- | --- | --- | --- |"]
    for k, c in enumerate(checkpoints):
        lines.append(f"| {c['step']} | {fmt(p8['B_noise_corr'][k])} +- {fmt(p8['B_noise_corr_se'][k])} |"
                     f" {fmt(p8['B_noise_sgd_corr'][k])} +- {fmt(p8['B_noise_sgd_corr_se'][k])} |"
                     f" {fmt(p8['B_simple'][k])} |")

    lines += ["", "## Predicted against measured", "",
              "Predicted B_crit: the correlated SignSGD-like B_noise at the last checkpoint (the target). Slopes of"
              f" the learning rate on B = {SLOPE_RANGE[0]} .. {SLOPE_RANGE[1]}: measured (best constant learning rate"
              " of the run), the one-step optima at the target, and the square-root rule (R-3: 1/2 wherever"
              " B << B_noise).", "",
              "| setting | measured B_crit | predicted | predicted / measured | within 2x | measured slope |"
              " one-step slope, correlated | one-step slope, exact (independent) | square-root rule |"
              " measured - rule | within 0.15 of the rule |",
              "| --- |" + " --- |" * 10]
    verdicts = {}
    s_corr = slope(one_step_B, p8["eta_corr"][-1])
    for name, an in analyses.items():
        eps = settings[name]["setting"]["eps"]
        pred = predicted(checkpoints, eps, one_step_B)
        b_pred = pred["B_noise_corr"][-1]
        measured = float(np.median(an["B_crit"]))
        ratio = b_pred / measured
        s_meas = float(np.median(an["slope"]))
        s_exact = slope(one_step_B, pred["eta"][-1])
        verdicts[name] = (ratio, s_meas, s_corr, s_exact)
        lines.append(f"| {name} | {fmt(measured)} | {fmt(b_pred)} | {fmt(ratio)} |"
                     f" {'yes' if 0.5 <= ratio <= 2 else 'no'} | {fmt(s_meas)} | {fmt(s_corr)} | {fmt(s_exact)} |"
                     f" 0.5 | {fmt(s_meas - 0.5)} | {'yes' if abs(s_meas - 0.5) <= 0.15 else 'no'} |")
    lines += ["", "![S against E](" + FIGURES[0] + ")", "", "![best learning rate](" + FIGURES[1] + ")", "",
              "![B_noise and B_peak along training](" + FIGURES[2] + ")", ""]
    lines += _findings(analyses, verdicts, p8, p3, checkpoints)
    lines += _architectures(data.get("architectures", {}))
    lines += _simulation(data["sim"])
    lines += ["", stamp("softsign_scaling.real.runlevel_report"), ""]
    return "\n".join(lines), analyses


def _findings(analyses, verdicts, p8, p3, checkpoints) -> list[str]:
    """The document's statements, each computed from the numbers above."""
    names = list(analyses)
    first = analyses[names[0]]
    within = [n for n, v in verdicts.items() if 0.5 <= v[0] <= 2]
    rule_ok = [n for n, v in verdicts.items() if abs(v[1] - 0.5) <= 0.15]
    corr = p8["B_noise_corr"]
    out = ["## What this shows", "",
           f"* **B_crit, predicted vs measured.** With the noise's correlations, the SignSGD-like B_noise at the"
           f" target ({fmt(corr[-1])} +- {fmt(p8['B_noise_corr_se'][-1])}) is within 2x of the measured B_crit for"
           f" {len(within)} of {len(names)} settings ({', '.join(within) if within else 'none'}). The"
           f" independent-noise models cannot say it: their B_noise is {fmt(p8['B_noise_exact'][-1])} (exact,"
           f" eps outside) and {fmt(p8['B_noise_sgd'][-1])} (SGD's with the diagonal Sigma), about"
           f" {fmt(float(np.median(first['B_crit'])) / p8['B_noise_exact'][-1])}x below {names[0]}'s, and the mean"
           " field's"
           f" kappa^2 average gives {fmt(p8['B_noise_mean_field'][-1])}: the noise of this network is correlated"
           " across parameters (the same finding as docs/real-model.md for eta*). SGD's correlated B_noise"
           f" ({fmt(p8['B_noise_sgd_corr'][-1])}) is close to the SignSGD-like one; McCandlish et al.'s B_simple"
           f" ({fmt(p8['B_simple'][-1])}) is the closest to the measured B_crit here.",
           f"* **Along training** the correlated B_noise goes {', '.join(fmt(v) for v in corr)} at steps"
           f" {', '.join(str(c['step']) for c in checkpoints)} (held-out loss"
           f" {', '.join(fmt(c['held_out_loss']) for c in checkpoints)}): large at initialisation, then"
           f" {fmt(corr[1])} +- {fmt(p8['B_noise_corr_se'][1])} at step {checkpoints[1]['step']} and"
           f" {fmt(corr[-1])} +- {fmt(p8['B_noise_corr_se'][-1])} at the target, with a dip in between; the"
           " standard errors are large (the per-example terms are heavy-tailed), so after initialisation the rise"
           " McCandlish et al. report is seen only at about two standard errors.",
           "* **B_peak (Li et al. 2024).** In the SignSGD-like model with correlations, eta*(B) ="
           " sqrt(pi/2) (u^T g) sqrt(B)/(u^T H u (B + B_noise)) peaks at B_peak = B_noise (while the a-expansion"
           " holds), so B_peak moves with B_noise (previous item): down from initialisation, then up towards the"
           " target, the late part in Li et al.'s direction (to larger B as training goes on). The"
           " independent-noise exact model has its peak at"
           f" {', '.join(fmt(v) for v in p8['B_peak'])}: the same pattern, at batch sizes far too small.",
           f"* **The best learning rate of the run.** Its measured slope on B = {SLOPE_RANGE[0]} .. {SLOPE_RANGE[1]} is"
           f" {_interval(first['slope'])} ({names[0]}; every setting's is in the tables). The one-step optima"
           f" say {fmt(verdicts[names[0]][2])} (correlated) and {fmt(verdicts[names[0]][3])} (exact, independent):"
           " a single step's optimum does not describe a run (it trades one step's progress against its noise; a"
           " run's constant learning rate also sets how much noise accumulates and how many steps remain). The"
           " square-root rule (R-1 .. R-3), the run-level statement the theory does make for B << B_noise (the same"
           " noise-dominated dynamics in k times fewer steps), says 1/2, strictly only below B_noise ~"
           f" {fmt(corr[-1])}; the measured slope is within 0.15 of it for {len(rule_ok)} of {len(names)} settings"
           f" ({', '.join(rule_ok) if rule_ok else 'none'}). Its level is not predicted here: the run's best"
           " learning rate is "
           f"{fmt(first['lr_median'][list(first['B']).index(32.0)] / float(eta_corr(32.0, checkpoints[-1])))}x"
           " the correlated"
           " one-step optimum at B = 32 and the target.",
           f"* **Large eps.** eps = 1e-3 changes the measured B_crit little (table above); the exact model's"
           f" B_noise goes from {fmt(p8['B_noise_exact'][-1])} (1e-8) to {fmt(p3['B_noise_exact'][-1])} (1e-3), the"
           " mean field's from"
           f" {fmt(p8['B_noise_mean_field'][-1])} to {fmt(p3['B_noise_mean_field'][-1])}.",
           ]
    return out


def _architectures(architectures: dict) -> list[str]:
    """The same measurement and prediction on the other architectures (real/runlevel_arch.py)."""
    if not architectures:
        return []
    lines = ["", "## Other architectures", "",
             "The same protocol (real/runlevel_arch.py: any torch module, replicas under torch.func.vmap, float32) on"
             " the networks of real/architectures.py, Adam (0.9, 0.999), eps 1e-8, constant learning rate; the loss"
             " is measured on each architecture's held-out population. Predicted: the correlated SignSGD-like B_noise"
             " at the last checkpoint of a reference run (B = 32, the measured best learning rate). One architecture is"
             " measured (and added to the cache, the rest kept) with the option `--architecture NAME`.", "",
             "| architecture | target | seeds | measured B_crit | predicted B_noise (correlated) | predicted / measured |"
             " within 2x | independent exact B_noise | measured lr slope (8 .. 128) | one-step slope, correlated |"
             " measured - 1/2 |",
             "| --- |" + " --- |" * 10]
    for name, result in architectures.items():
        config = result["config"]
        an = analyse_setting(result)
        last = result["checkpoints"][-1]
        measured = float(np.median(an["B_crit"]))
        predicted_value = last["B_noise_sign_corr"]
        one_step = np.asarray(config["one_step_batch"], dtype=float)
        s_meas = float(np.median(an["slope"]))
        lines.append(f"| {name} | {config['target']} | {len(config['seeds'])} | {_interval(an['B_crit'])} |"
                     f" {fmt(predicted_value)} +- {fmt(last['B_noise_sign_corr_se'])} | {fmt(predicted_value / measured)} |"
                     f" {'yes' if 0.5 <= predicted_value / measured <= 2 else 'no'} |"
                     f" {fmt(last['eps'][repr(1e-8)]['B_noise_exact'])} | {_interval(an['slope'])} |"
                     f" {fmt(slope(one_step, eta_corr(one_step, last)))} | {fmt(s_meas - 0.5)} |")
    notes = [(name, result["config"]["target_note"]) for name, result in architectures.items()
             if result["config"].get("target_note")]
    if notes:
        lines += ["", "How the targets were chosen (reachable at every B of the grid within the step budget):", ""]
        lines += [f"* {name}: {result_config_target(architectures[name])}, {note}." for name, note in notes]
    lines += ["", "Along the reference run (correlated SignSGD-like B_noise +- one standard error), and what the"
              " measurement says about a miss:", ""]
    for name, result in architectures.items():
        an = analyse_setting(result)
        values = np.array([c["B_noise_sign_corr"] for c in result["checkpoints"]])
        geometric = float(np.exp(np.log(values).mean()))
        measured = float(np.median(an["B_crit"]))
        large = an["B"] >= 16
        late = slope(an["B"], an["lr_median"], 16, an["B"].max())
        if late < SATURATED:
            why = (": where it stops growing with B, a larger batch cannot buy fewer steps by a larger learning"
                   " rate, and the trade-off saturates below B_noise; the efficiency law (X-20 .. X-22) takes the"
                   " learning rate at its optimum for every B.")
        else:
            why = (f": it keeps growing with B (slope >= {SATURATED} there), as the efficiency law (X-20 .. X-22)"
                   " assumes when it takes the learning rate at its optimum for every B.")
        lines.append(f"* {name}: " + ", ".join(
            f"step {c['step']} (loss {fmt(c['held_out_loss'])}): {fmt(c['B_noise_sign_corr'])} +-"
            f" {fmt(c['B_noise_sign_corr_se'])}" for c in result["checkpoints"])
            + f". B_noise {'grows' if values[-1] >= values[0] else 'falls to'} {fmt(values[-1] / values[0])}x over"
            " the run, so no one checkpoint stands for it: the"
            f" geometric mean over the checkpoints is {fmt(geometric)} ({fmt(geometric / measured)}x the measured"
            f" B_crit). The best learning rate at B >= 16 spans {fmt(an['lr_median'][large].min())} ..."
            f" {fmt(an['lr_median'][large].max())} (slope {fmt(late)}; the noise models have it grow)" + why
            + _miss(an, values, measured))
    return lines


def _miss(an: dict, values: np.ndarray, measured: float) -> str:
    """What the measurement says when every checkpoint's B_noise is more than 2x below the measured B_crit."""
    if values.max() >= measured / 2:
        return ""
    predicted_value = float(values[-1])
    B = an["B"]
    E = an["S_geo"] * B
    k = int(np.argmin(np.abs(np.log(B / (2 * predicted_value)))))  # the grid's B nearest 2 B_noise
    return (f" Every checkpoint's B_noise is {fmt(values.min() / measured)} .. {fmt(values.max() / measured)}x the"
            " measured B_crit, so no choice of checkpoint explains the miss: the one-step statistics see less noise"
            " than the run does. The run says so itself: its best learning rate grows as"
            f" B^{fmt(float(np.median(an['slope'])))} on B = {SLOPE_RANGE[0]} .. {SLOPE_RANGE[1]}, past the predicted"
            f" B_peak = B_noise = {fmt(predicted_value)} where the one-step optimum stops growing; and the examples to"
            f" the target, E = S B (geometric mean over seeds), grow {fmt(E[k] / E[0])}x from B = {int(B[0])} to"
            f" B = {int(B[k])}, where S = S_min (1 + B_noise/B) with the predicted B_noise says"
            f" {fmt((B[k] + predicted_value) / (B[0] + predicted_value))}x (E at B = {', '.join(str(int(b)) for b in B)}:"
            f" {', '.join(fmt(v) for v in E)}).")


def result_config_target(result: dict) -> str:
    config = result["config"]
    return f"target {config['target']} within {config['max_steps']} steps"


def _simulation(sim: dict) -> list[str]:
    """The square-root rule for a whole run on the noisy quadratic model (sim/runlevel.py)."""
    config = sim["config"]
    lines = ["", "## The square-root rule for a whole run, on the noisy quadratic model", "",
             f"Real `torch.optim.Adam(betas=(0, 0))` (the SoftSign step, eps outside the root) on the '{config['problem']}'"
             f" NQM (docs/simulation.md), its gradient scaled by s (s = {config['scales'][0]}: noise-dominated,"
             f" B << B_noise; s = 1: the problem itself), under a fixed sample budget K B = {config['budget']}: the"
             f" best constant learning rate of the run ({config['replicas']} runs per learning rate, a log grid,"
             f" parabola-refined) at B = {', '.join(str(b) for b in config['batch'])}, with eps = {config['eps0']}"
             " sqrt(1/B) (the rule's eps/sqrt(k)) or eps fixed at"
             f" {config['eps0']}. Predicted: R-2's leading-order eta*(B) at the start (eps outside: the outside k0, s0),"
             " whose slope is exactly 1/2 with eps scaled (R-3) and c(b)'s slope more with eps fixed (R-5).", "",
             "| s | eps | best lr per B | final loss per B | measured slope | predicted slope (R-2/R-5) |"
             " leading-order eta* / best lr at B = 1 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    slopes = {}
    for key, rows in sim["runs"].items():
        scale, mode = key.split(":")
        B = np.array([r["B"] for r in rows], dtype=float)
        best = np.array([r["best"] for r in rows])
        lead = np.array([r["leading_order"] for r in rows])
        measured, pred = slope(B, best, B.min(), B.max()), slope(B, lead, B.min(), B.max())
        slopes[key] = (measured, pred)
        lines.append(f"| {scale} | {mode} | {', '.join(fmt(v) for v in best)} |"
                     f" {', '.join(fmt(r['loss']) for r in rows)} | {fmt(measured)} | {fmt(pred)} |"
                     f" {fmt(lead[0] / best[0])} |")
    small = config["scales"][0]
    ms, ps = slopes[f"{small}:scaled"]
    mf, pf = slopes[f"{small}:fixed"]
    big_s = slopes[f"{config['scales'][-1]}:scaled"][0]
    losses = [r["loss"] for r in sim["runs"][f"{small}:scaled"]]
    spread = max(losses) / min(losses) - 1
    lines += ["", f"* Noise-dominated (s = {small}), eps scaled: the best learning rate grows as B^{fmt(ms)} (the"
              f" rule: 1/2) and the final loss is the same at every B (within {fmt(100 * spread)}%): the runs at"
              " k B, sqrt(k) eta, eps/sqrt(k) with k times fewer steps end where the run at B ends, as R-3 says."
              " With eps fixed the slope is"
              f" {fmt(mf)}, R-5's {fmt(pf)}: within {fmt(abs(mf - pf))}.",
              f"* The problem itself (s = 1) is not noise-dominated at these B: the slope is {fmt(big_s)} and the final"
              " loss grows with B (docs/simulation.md's B^0.92 at K B = 4096 is measured on this problem): the rule's"
              " condition B << B_noise is what fails there, which R-4 quantifies for one step."]
    return lines


def build(root: Path, measure: bool = False, progress: bool = True, architectures=()) -> list[Path]:
    """Write docs/run-level.md and its figures from the cache (measuring first if asked); the written paths.

    ``architectures`` (names of real/runlevel_arch.ARCH_CONFIG): measure only these and add them to the cache,
    keeping everything else in it (the cache must exist)."""
    cache = root / CACHE
    if architectures:
        from .runlevel_arch import ARCH_CONFIG, run as run_architectures

        unknown = [name for name in architectures if name not in ARCH_CONFIG]
        if unknown:
            raise ValueError(f"unknown architecture {unknown[0]!r}: one of {', '.join(ARCH_CONFIG)}")
        if not cache.is_file():
            raise FileNotFoundError(f"{cache} is missing: run `softsign-scaling critical-batch --measure` first")
        data = json.loads(cache.read_text(encoding="utf-8"))
        data.setdefault("architectures", {}).update(run_architectures(tuple(architectures), progress=progress))
        write_text(cache, json.dumps(data, indent=1, sort_keys=True) + "\n")
    elif measure:
        from .runlevel import run

        from ..sim import runlevel as sim_runlevel

        from .runlevel_arch import run as run_architectures

        data = run(progress=progress)
        data["sim"] = sim_runlevel.run()
        data["architectures"] = run_architectures(progress=progress)
        write_text(cache, json.dumps(data, indent=1, sort_keys=True) + "\n")
    if not cache.is_file():
        raise FileNotFoundError(f"{cache} is missing: run `softsign-scaling critical-batch --measure` (about 10"
                                " minutes of torch)")
    data = json.loads(cache.read_text(encoding="utf-8"))
    text, analyses = document(data)
    write_text(root / DOCUMENT, text)
    _figures(data, analyses, root)
    return [root / DOCUMENT, *(root / "docs" / f for f in FIGURES)]
