"""Layer 5: the surge.  eta*(B) for several eps under each model against exact, and the peak batch sizes.

Two problems from the layer-4 family: one with a surge ("aligned" couplings, rho = 0.9: S_nu > 2 T_H at
small eps) and one without ("random" couplings, rho = 0.3).  Peaks: ``numeric.surge_peak`` (E-15's
closed form for the mean-field models; every interior local maximum of eta*(B) for exact, clip, approx,
anchored).  B_peak is the first local maximum (inf: eta* increases for every B), whether or not it rises
above eta*(oo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numeric
from .meanfield import REFERENCE, problem

CASES = {"with surge": (7, 16, 0.9, "aligned"), "without surge": (11, 16, 0.3, "random")}
EPS_REL = (0.0, 0.3, 3.0)


def models() -> tuple[str, ...]:
    """Every registered model with atlas rows (``numeric.MODELS``), in registration order."""
    # a model of another regime (the averaged second moment) has no atlas rows: it is no approximation of exact
    return tuple(name for name in numeric.MODELS if numeric.get_model(name).atlas_variants())


@dataclass(frozen=True)
class PeakRow:
    case: str
    eps_rel: float
    model: str
    peak: float  # B at the first local maximum of eta*(B) (inf: none, eta* increases for every B)
    exact_peak: float
    maxima: tuple = ()  # B of every interior local maximum

    @property
    def ratio(self) -> float:
        if np.isinf(self.peak) and np.isinf(self.exact_peak):
            return 1.0
        return self.peak / self.exact_peak


def peaks() -> list[PeakRow]:
    rows = []
    for case, (seed, n, rho, coupling) in CASES.items():
        for eps_rel in EPS_REL:
            p = problem(seed, n, rho, eps_rel, coupling)
            exact = numeric.surge_peak(p.problem, model=REFERENCE).first
            for model in models():
                found = numeric.surge_peak(p.problem, model=model)
                rows.append(PeakRow(case, eps_rel, model, found.first, exact, tuple(peak.B for peak in found.peaks)))
    return rows


def plot(path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .layers import save_figure

    fig, axes = plt.subplots(len(CASES), len(EPS_REL), figsize=(12, 7), sharex=True)
    for row, (case, (seed, n, rho, coupling)) in enumerate(CASES.items()):
        for col, eps_rel in enumerate(EPS_REL):
            p = problem(seed, n, rho, eps_rel, coupling)
            Bs = np.geomspace(p.B[0] / 10, p.B[-1] * 10, 160)
            ax = axes[row, col]
            for model in models():
                style = dict(color="k", lw=2.2) if model == REFERENCE else dict(lw=1.1, ls="--")
                ax.plot(Bs, numeric.eta_star(Bs, p.problem, model=model), label=model, **style)
            peak = numeric.surge_peak(p.problem, model=REFERENCE).first
            if np.isfinite(peak):
                ax.axvline(peak, color="k", lw=0.6, ls=":")
            ax.set_xscale("log")
            ax.set_title(f"{case}, eps = {eps_rel:g} median|g|", fontsize=11)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("batch size B", fontsize=11)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\eta^*(B)$", fontsize=11)
    # One legend for all panels, below them; it names the dotted line too.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(matplotlib.lines.Line2D([], [], color="k", lw=0.8, ls=":"))
    labels.append("B_peak of the exact model")
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, path)
    plt.close(fig)
