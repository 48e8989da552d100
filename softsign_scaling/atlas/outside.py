"""Section 8 of the atlas: eps outside the root (PyTorch's Adam, X-1 .. X-15) and the conversion between placements.

On section 4's problem family (``meanfield.problem``; eps/median|g| > 0, where the placements differ) with the
outside placement, every (problem, B) pair's eta* is compared with the exact outside model's:

* the registered models that take placement="outside" (``numeric.placement_models``): clip (shared, X-2) and
  whatever else is registered for it (the anchored outside form X-12 .. X-15);
* the article's models fed PyTorch's eps as if it were inside the root (exact and anchored, placement="inside"
  at the same eps): what you get if you use the article's model for torch's Adam;
* the conversion eps_in = c eps_out with the best single constant c (the c on a log grid with the smallest worst
  |log ratio| over the family; and the one with the most pairs within 10%), and X-11's exact map
  (``numeric.eps_inside_equivalent``), whose residual is the root finder's.

The error map (figure ``atlas_outside_conversion.png``) is per component, in the reduced variables a = g sqrt(B)/sigma,
b = eps_out sqrt(B)/sigma: one component's eta* is (g/h) E[u]/E[u^2] (E-5), so the placements agree when
rho = E[u]/E[u^2] does.  Left: X-11's exact c(a, b) = b_in/b_out (the root of rho_in(a, b_in) = rho_out(a, b_out));
right: the one-component eta* ratio rho_in(a, c b)/rho_out(a, b) with the family's best constant c.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import numeric
from ..export.markdown import table
from . import meanfield

REPEATS = {False: 1, True: 3}  # seeds per setting (default, --full)
EPS_REL = tuple(e for e in meanfield.EPS_REL_VALUES if e > 0)
CONSTANTS = np.round(np.geomspace(0.8, 20.0, 57), 4)  # the best-constant search grid (log spaced, 4 figures)
MAP_A = np.geomspace(1e-2, 1e2, 81)
MAP_B = np.geomspace(1e-4, 1e3, 91)
FIGURE = "atlas_outside_conversion.png"


def _problems(repeats: int):
    """Section 4's problems (the same seeds: ``meanfield.settings``) with eps > 0."""
    for seed, n, rho, eps_rel, coupling, _ in meanfield.settings(repeats):
        if eps_rel > 0:
            yield eps_rel, meanfield.problem(seed, n, rho, eps_rel, coupling)


def _with(p: numeric.Problem, eps: float, placement: str) -> numeric.Problem:
    return numeric.Problem(p.g, p.sigma, p.H, eps, placement=placement)


def measure(repeats: int) -> dict:
    """Per (problem, B): each row's eta*/exact outside, the exact conversion c = eps_in/eps_out, and (per constant
    of CONSTANTS) exact inside at c eps over exact outside; plus eps/median|g| of each pair."""
    rows: dict[str, list[np.ndarray]] = {}
    by_c, c_exact, residual, eps_of = [], [], [], []
    for eps_rel, p in _problems(repeats):
        q = p.problem
        out = _with(q, q.eps, "outside")
        exact = numeric.eta_star(p.B, out, model="exact")
        for name in numeric.placement_models("outside"):
            if name != "exact":
                rows.setdefault(f"{name}[outside]", []).append(numeric.eta_star(p.B, out, model=name) / exact)
        inside = _with(q, q.eps, "inside")
        for name in ("exact", "anchored"):
            rows.setdefault(f"{name}[inside], same eps", []).append(numeric.eta_star(p.B, inside, model=name) / exact)
        by_c.append(np.array([numeric.eta_star(p.B, _with(q, c * q.eps, "inside"), model="exact") / exact
                              for c in CONSTANTS]))
        converted = np.array([numeric.eps_inside_equivalent(B, out) for B in p.B])
        c_exact.append(converted / q.eps)
        residual.append(np.array([float(numeric.eta_star(B, _with(q, e, "inside"), model="exact"))
                                  for B, e in zip(p.B, converted)]) / exact)
        eps_of.append(np.full(p.B.shape, eps_rel))
    return {"rows": {k: np.concatenate(v) for k, v in rows.items()}, "by_c": np.concatenate(by_c, axis=1),
            "c_exact": np.concatenate(c_exact), "residual": np.concatenate(residual), "eps": np.concatenate(eps_of)}


def _summary(x: np.ndarray) -> tuple[str, ...]:
    worst = x[int(np.argmax(np.abs(np.log(x))))]
    return (f"{np.median(x):.3f}", f"{np.percentile(x, 10):.3f}", f"{np.percentile(x, 90):.3f}", f"{worst:.3f}",
            f"{100 * np.mean(np.abs(x - 1) <= 0.1):.1f}%")


def best_constants(by_c: np.ndarray) -> tuple[int, int]:
    """(index of the c with the smallest worst |log ratio|, index of the c with the most pairs within 10%)."""
    worst = np.max(np.abs(np.log(by_c)), axis=1)
    share = np.mean(np.abs(by_c - 1) <= 0.1, axis=1)
    return int(np.argmin(worst)), int(np.argmax(share))


def _rho(a: np.ndarray, b: np.ndarray, placement: str) -> np.ndarray:
    if placement == "inside":
        m, s = numeric.mean_exact(a, b), numeric.second_moment_exact(a, b)
    else:
        m, s = numeric.mean_outside(a, b), numeric.second_moment_outside(a, b)
    return np.asarray(m) / np.asarray(s)


def conversion_map(c: float) -> tuple[np.ndarray, np.ndarray]:
    """(exact c(a, b) = b_in/b_out, rho_in(a, c b)/rho_out(a, b)) on MAP_A x MAP_B (rows a, columns b).

    The exact c by bisection in log b_in (rho_in increases with b at a > 0), 90 halvings of [b_out/e, 1e4 b_out]."""
    A, Bo = np.meshgrid(MAP_A, MAP_B, indexing="ij")
    target = _rho(A.ravel(), Bo.ravel(), "outside")
    low, high = np.log(Bo.ravel()) - 1.0, np.log(Bo.ravel()) + math.log(1e4)
    if not (np.all(_rho(A.ravel(), np.exp(low), "inside") < target)
            and np.all(_rho(A.ravel(), np.exp(high), "inside") > target)):
        raise ArithmeticError("the conversion map's bracket does not hold everywhere")
    for _ in range(90):
        mid = 0.5 * (low + high)
        above = _rho(A.ravel(), np.exp(mid), "inside") > target
        high, low = np.where(above, mid, high), np.where(above, low, mid)
    exact_c = (np.exp(0.5 * (low + high)) / Bo.ravel()).reshape(A.shape)
    ratio = (_rho(A.ravel(), c * Bo.ravel(), "inside") / target).reshape(A.shape)
    return exact_c, ratio


def plot(exact_c: np.ndarray, ratio: np.ndarray, c: float, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, TwoSlopeNorm

    from .layers import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.0), sharey=True, layout="constrained")
    image = axes[0].pcolormesh(MAP_B, MAP_A, exact_c, shading="auto", cmap="viridis",
                               norm=LogNorm(vmin=1.0, vmax=float(exact_c.max())))
    lines = axes[0].contour(MAP_B, MAP_A, exact_c, levels=[1.1, 1.5, 2, 5, 20, 100], colors="w", linewidths=0.8)
    axes[0].clabel(lines, fmt="%g", fontsize=9)
    fig.colorbar(image, ax=axes[0], label="c = eps_in / eps_out (exact, X-11)")
    axes[0].set_title("the eps inside the root that gives the same eta*\n(one component)", fontsize=12)
    image = axes[1].pcolormesh(MAP_B, MAP_A, ratio, shading="auto", cmap="RdBu_r",
                               norm=TwoSlopeNorm(vcenter=1.0, vmin=min(0.5, float(ratio.min())),
                                                 vmax=max(1.5, float(ratio.max()))))
    lines = axes[1].contour(MAP_B, MAP_A, ratio, levels=[0.9, 1.1], colors="k", linewidths=1.0)
    axes[1].clabel(lines, fmt="%g", fontsize=9)
    fig.colorbar(image, ax=axes[1], label=f"eta*_inside(c eps) / eta*_outside(eps), c = {c:g}")
    axes[1].set_title(f"error of the best single constant c = {c:g}\n(black: the 10% contours)", fontsize=12)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("b = eps_out sqrt(B)/sigma", fontsize=11)
    axes[0].set_ylabel("a = |g| sqrt(B)/sigma", fontsize=11)
    save_figure(fig, path)
    plt.close(fig)


def section(full: bool, figures) -> list[str]:
    """The atlas's markdown lines for the outside placement (and the figure, written under ``figures``)."""
    repeats = REPEATS[full]
    found = measure(repeats)
    by_c, eps = found["by_c"], found["eps"]
    worst_i, share_i = best_constants(by_c)
    c_best = float(CONSTANTS[worst_i])
    pairs = by_c.shape[1]
    out = [
        "## 8. eps outside the root (PyTorch's Adam, X-1 .. X-15) and the conversion (X-11)",
        "",
        f"Section 4's family with eps/median|g| in {list(EPS_REL)} ({pairs // len(meanfield.B_EXPONENTS)} problems x "
        f"{len(meanfield.B_EXPONENTS)} batch sizes = {pairs} pairs), the update x/(|x| + eps). Ratio eta*_row / "
        "eta*_exact,outside (`numeric.eta_star(..., Problem(placement=\"outside\"), model=\"exact\")`). Rows: the "
        "models registered for placement=\"outside\" (clip is shared by both placements, X-2; anchored[outside] is "
        "X-12 .. X-15); the article's models given PyTorch's eps as if it sat inside the root (\"same eps\"); the "
        f"best single constant c in eps_in = c eps_out (searched on {len(CONSTANTS)} log-spaced values in "
        f"[{CONSTANTS[0]:g}, {CONSTANTS[-1]:g}]: the c with the smallest worst error); X-11's exact conversion "
        "(`numeric.eps_inside_equivalent`, per problem and B).",
        "",
    ]
    rows = [(name, *_summary(x)) for name, x in found["rows"].items()]
    rows.append((f"exact[inside] at c eps, c = {c_best:.3g} (best worst case)", *_summary(by_c[worst_i])))
    rows.append((f"exact[inside] at c eps, c = {float(CONSTANTS[share_i]):.3g} (most within 10%)",
                 *_summary(by_c[share_i])))
    rows.append(("exact[inside] at X-11's exact eps_in", *_summary(found["residual"])))
    rows.sort(key=lambda r: -float(r[-1].rstrip("%")))
    out += table(("row", "median", "p10", "p90", "worst", "within 10%"), rows)
    residual = float(np.max(np.abs(found["residual"] - 1)))
    out += ["", f"X-11's exact conversion reproduces exact outside's eta* within {residual:.1g} (the root finder's "
            "tolerance); what it costs is a root per (problem, B). Its c = eps_in/eps_out over the family, and the best "
            "constant's error, by eps/median|g|:", ""]
    per_eps = []
    for e in EPS_REL:
        mask = eps == e
        c = found["c_exact"][mask]
        ratio = by_c[worst_i][mask]
        same = found["rows"]["exact[inside], same eps"][mask]
        per_eps.append((f"{e:g}", f"{np.median(c):.3g}", f"{c.min():.3g}", f"{c.max():.3g}",
                        f"{np.median(same):.3f}", f"{same.min():.3f}",
                        f"{100 * np.mean(np.abs(ratio - 1) <= 0.1):.1f}%", f"{ratio[np.argmax(np.abs(np.log(ratio)))]:.3f}"))
    out += table(("eps / median\\|g\\|", "exact c: median", "min", "max", "exact[inside] same eps: median", "min",
                  f"c = {c_best:g}: within 10%", "worst"), per_eps)
    exact_c, ratio = conversion_map(c_best)
    plot(exact_c, ratio, c_best, figures / FIGURE)
    i, j = np.unravel_index(int(np.argmax(exact_c)), exact_c.shape)
    k, l = np.unravel_index(int(np.argmax(np.abs(np.log(ratio)))), ratio.shape)
    within = float(np.mean(np.abs(ratio - 1) <= 0.1))
    out += ["", f"Per component ({MAP_A.size} x {MAP_B.size} points, a in [{MAP_A[0]:g}, {MAP_A[-1]:g}], b in "
            f"[{MAP_B[0]:g}, {MAP_B[-1]:g}], log): the exact c runs from {exact_c.min():.3g} (large b: c -> 1, X-11) to "
            f"{exact_c.max():.3g} at a = {MAP_A[i]:.3g}, b = {MAP_B[j]:.3g} (small eps with a strong gradient: "
            f"eps_in ~ sqrt(2 |g| eps_out)); the constant c = {c_best:g} is within 10% on {100 * within:.1f}% of the map "
            f"and worst ({ratio[k, l]:.3g}) at a = {MAP_A[k]:.3g}, b = {MAP_B[l]:.3g}. Where one eps stands in for the other: "
            "for b = eps sqrt(B)/sigma >~ 10 (right of the left panel's 1.1 contour) eps_in = eps_out (c -> 1; a constant "
            "c > 1 overshoots there by c, the right panel's red); for b << 1 with a <~ 1 eta* hardly depends on eps "
            "(SignSGD-like) and any c is within 10% (white); in between (0.1 <~ b <~ 10) and wherever the gradient "
            "dominates (a >~ 3) c depends on a and b, and no constant converts.", "", f"![the conversion between placements](figures/{FIGURE})", ""]
    return out
