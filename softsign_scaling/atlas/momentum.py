"""Layer 6: the momentum models (M-steps).  What M-9's mean field costs for the averaged second moment.

softsign(m), the SoftSign of the momentum (M-2 .. M-4: a Signum/Lion-like update, not Adam with beta2 = 0), is
every per-step model at the effective batch B (1 + beta1)/(1 - beta1):
its eta*(B; beta1) is eta*(B_eff; 0), so its errors are layer 4's and its peaks layer 5's at B_eff, and it
needs no rows of its own.  The averaged regime (beta2 -> 1, M-6) has an exact closed form at any n; its surge
is derived in mean field (M-9: exact when all kappa_i^2 are equal) and its large-B side exactly (M-10's a_1).
The rows compare M-9 and M-10 with the exact M-6 (``numeric.surge_peak(model="averaged")``, a bracketed
maximum of the closed form) on layer 5's two problems and on layer 4's random family.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numeric
from ..export.markdown import table
from ..numeric.momentum import averaged_large_b, averaged_surge_mean_field
from .meanfield import problem
from .surge import CASES

BETA1 = (0.0, 0.5, 0.9, 0.99)
EPS_REL = (0.0, 0.3, 3.0)
FAMILY = tuple((seed, n, rho, coupling) for seed in (1, 2, 3) for n in (4, 16) for rho in (0.0, 0.7)
               for coupling in ("random", "aligned"))


def _with_beta1(p: numeric.Problem, beta1: float) -> numeric.Problem:
    return numeric.Problem(p.g, p.sigma, p.H, p.eps, beta1=beta1)


def _exact(p: numeric.Problem) -> tuple[float, float]:
    """(B_peak, eta*(B_peak)/eta*(oo)) of the exact M-6; (inf, 1) without a surge."""
    peak = numeric.surge_peak(p, model="averaged")
    if math.isinf(peak):
        return peak, 1.0
    values = numeric.eta_star(np.array([peak, math.inf]), p, model="averaged")
    return peak, float(values[0] / values[1])


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.3g}"


KAPPA2 = "harmonic"  # the layer-5 rows' kappa^2 average: the closest B_peak on the family (table below)


def section() -> list[str]:
    rows = []
    for case, (seed, n, rho, coupling) in CASES.items():
        for eps_rel in EPS_REL:
            base = problem(seed, n, rho, eps_rel, coupling).problem
            for beta1 in BETA1:
                p = _with_beta1(base, beta1)
                c = (1 - beta1) / (1 + beta1)
                surge, mf_peak, mf_height = averaged_surge_mean_field(p, KAPPA2)
                peak, height = _exact(p)
                ratio = "inf" if math.isinf(peak) and math.isinf(mf_peak) else _fmt(mf_peak / peak)
                rows.append((case, f"{eps_rel:g}", f"{beta1:g}", f"{p.S_nu / (2 * c * p.T_H):.3g}",
                             f"{averaged_large_b(p):.3g}", _fmt(peak), _fmt(mf_peak), ratio, f"{height:.3f}",
                             f"{mf_height:.3f}"))
    agree = positive_ok = positive = 0
    log_ratios: dict[str, list[float]] = {kind: [] for kind in numeric.KAPPA2}
    total = 0
    for seed, n, rho, coupling in FAMILY:
        for eps_rel in EPS_REL:
            base = problem(seed, n, rho, eps_rel, coupling).problem
            for beta1 in BETA1:
                p = _with_beta1(base, beta1)
                peak, _ = _exact(p)
                exact_surge = not math.isinf(peak)
                total += 1
                if averaged_large_b(p) > 0:
                    positive += 1
                    positive_ok += int(exact_surge)
                for kind in numeric.KAPPA2:
                    surge, mf_peak, _ = averaged_surge_mean_field(p, kind)
                    if kind == KAPPA2:  # the condition does not depend on kappa^2
                        agree += int(surge == exact_surge)
                    if surge and exact_surge:
                        log_ratios[kind].append(math.log(mf_peak / peak))
    out = [
        "## 7. Momentum: the averaged second moment's surge (M-8 .. M-10)",
        "",
        "softsign(m), the SoftSign of the momentum (M-2 .. M-4: a Signum/Lion-like update; Adam with beta2 = 0 would "
        "divide by the current |g~_t| instead), is every per-step model at B_eff = B (1 + beta1)/(1 - beta1): its errors "
        "are layers 4 and 5 at B_eff, so it has no rows here. For beta2 -> 1 (the `averaged` model, M-6, exact at any "
        "n), M-9's mean field predicts a surge iff S_nu > 2 c T_H (c = (1 - beta1)/(1 + beta1)) at B_peak = c kappa^2 "
        "T_H/(S_nu - 2 c T_H) (kappa^2: the harmonic mean of kappa_i^2); M-10's a_1 > 0 says exactly that eta* approaches "
        "eta*(oo) from above. Reference: the peak of M-6 itself (`numeric.surge_peak(model=\"averaged\")`).",
        "",
    ]
    out += table(("problem", "eps / median\\|g\\|", "beta1", "S_nu/(2 c T_H)", "a_1 (M-10)", "B_peak (M-6)",
                  "B_peak (M-9)", "M-9/M-6", "height (M-6)", "height (M-9)"), rows)
    out += ["", f"Random family of layer 4 ({len(FAMILY)} problems: seeds 1-3, n in {{4, 16}}, rho in {{0, 0.7}}, "
            f"random/aligned) x eps/median|g| in {list(EPS_REL)} x beta1 in {list(BETA1)}: {total} cases. M-9's "
            f"condition agrees with M-6's surge in {100 * agree / total:.1f}% of them; a_1 > 0 in {positive} cases, "
            f"of which {positive_ok} surge (M-10: a_1 > 0 implies a surge). M-9's B_peak against M-6's where both "
            "surge, for each kappa^2 average (the rows above use the harmonic one):", ""]
    summary = []
    for kind, values in log_ratios.items():
        v = np.array(values)
        summary.append((kind, str(v.size), f"{math.exp(np.median(v)):.3g}", f"{math.exp(np.median(np.abs(v))):.3g}",
                        f"{math.exp(np.abs(v).max()):.3g}"))
    out += table(("kappa^2", "cases", "median M-9/M-6", "median factor", "worst factor"), summary)
    out += ["", "M-9 decides whether the averaged model surges (its condition is kappa^2-free) but places the peak "
            "only within a factor of a few: with unequal kappa_i^2 the peak is set by the components whose kappa_i^2 "
            "is small, which no single average captures; use the closed form M-6 (`model=\"averaged\"`) for B_peak.", ""]
    return out
