"""Figures for the appendix and docs, drawn from the derived expressions (matplotlib, Agg, byte-stable PNG).

* scurves.png: erf with its two S-curve approximations E-3 and E-4 (the article's figure).
* mean.png: E-8 (clipped mean), E-9 and the exact SoftSign mean against a, for three b.
* second_moment.png: E-11, E-12 and the exact SoftSign second moment against a, for three b.
* surge.png: E-14's eta*(B) with and without a surge (S > 2T), and its peak B_peak (E-15).

:func:`eta_figure` draws eta*(B) curves of any models on log-log axes (the ``eta --plot`` and ``predict`` figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mpmath as mp
import numpy as np
import sympy as sp

from ..steps import Derivation
from ..symbols import B, G_nu, S_nu, T_H, a, b, k, kappa2, x

FIGURES = ("scurves.png", "mean.png", "second_moment.png", "surge.png")
B_VALUES = (0.3, 1.0, 3.0)


def _numpy(expr: sp.Expr, symbols) -> callable:
    return sp.lambdify(symbols, expr, modules=["scipy", "numpy"])


def _exact(reference, a_values: np.ndarray, b_value: float) -> np.ndarray:
    with mp.workdps(15):
        return np.array([float(reference(mp.mpf(float(av)), mp.mpf(b_value))) for av in a_values])


def save_png(fig, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    from ..artifacts import write_text_bytes

    write_text_bytes(path, buffer.getvalue())


def draw(derivation: Derivation, out_dir: Path) -> list[Path]:
    """Draw every figure into ``out_dir``; returns the paths (written only when their bytes change)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..checks import reference

    # Local style: a global rcParams update would leak into later figures (the atlas's) in the same process.
    # Sizes for GitHub's page width (~880 px): 11-12 pt text at 110 dpi stays legible when scaled down.
    with plt.rc_context({"figure.figsize": (6.4, 3.8), "font.size": 11, "legend.fontsize": 10,
                         "axes.titlesize": 12, "axes.labelsize": 11}):
        return _draw(derivation, out_dir, plt, reference)


def _draw(derivation: Derivation, out_dir: Path, plt, reference) -> list[Path]:
    paths = []

    # The article's figure: erf, E-3 and E-4 with k = 2/sqrt(pi).
    k_erf = derivation["E-3"].extra("k_erf")
    xs = np.linspace(-3, 3, 601)
    fig, ax = plt.subplots()
    from scipy.special import erf

    ax.plot(xs, erf(xs), "k", label="erf(x)")
    ax.plot(xs, _numpy(derivation["E-3"].result.subs(k, k_erf), (x,))(xs), "--", label=r"E-3: $x/\sqrt{x^2+\pi/4}$")
    e4 = _numpy(derivation["E-4"].printed.subs(k, k_erf), (x,))
    ax.plot(xs, [float(e4(v)) for v in xs], ":", label=r"E-4: clip$(2x/\sqrt{\pi}, -1, 1)$")
    ax.set_xlabel("x")
    ax.set_ylabel("S(x)")
    ax.set_title("erf and its two S-curve approximations")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(out_dir / "scurves.png")
    save_png(fig, paths[-1])
    plt.close(fig)

    a_values = np.linspace(-4, 4, 41)
    for name, clip_label, approx_label, ref, y_label in (
        ("mean.png", "E-8", "E-9", reference.softsign_mean, r"mean $\mathbb{E}[\tilde\varphi]$"),
        ("second_moment.png", "E-11", "E-12", reference.softsign_second_moment,
         r"second moment $\mathbb{E}[\tilde\varphi^2]$"),
    ):
        clip_f = _numpy(derivation[clip_label].result, (a, b))
        approx_f = _numpy(derivation[approx_label].result, (a, b))
        fig, axes = plt.subplots(1, len(B_VALUES), sharey=True, figsize=(8.0, 3.6))
        for ax, bv in zip(axes, B_VALUES):
            ax.plot(a_values, _exact(ref, a_values, bv), "k", lw=2, label="exact SoftSign (quadrature)")
            ax.plot(a_values, clip_f(a_values, bv), "--", lw=1.8, label=f"{clip_label} (clipped)")
            ax.plot(a_values, np.broadcast_to(approx_f(a_values, bv), a_values.shape), ":", lw=2.2,
                    label=f"{approx_label} (S-curve form)")
            ax.set_title(f"b = {bv:g}")
            ax.set_xlabel(r"$a = g\sqrt{B}/\sigma$")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(y_label)
        # One legend for the three panels, below them, so it covers no curve.
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        paths.append(out_dir / name)
        save_png(fig, paths[-1])
        plt.close(fig)

    # E-14 against B, with and without a surge; kappa^2 = 1, T = 1, G = 1.
    eta = derivation["E-14"].result.subs(sp.Symbol("beta", positive=True), derivation["E-14"].extra("beta(B)"))
    eta_f = _numpy(eta.subs({kappa2: 1, T_H: 1, G_nu: 1}), (B, S_nu))
    b_peak = derivation["E-15"].extra("B_peak")
    Bs = np.geomspace(1e-2, 1e3, 400)
    fig, ax = plt.subplots()
    for S_value in (0.5, 1.5, 3.0, 6.0):
        ax.plot(Bs, eta_f(Bs, S_value), lw=1.8, label=f"S = {S_value:g} T")
        if S_value > 2:
            peak = float(b_peak.subs({kappa2: 1, T_H: 1, S_nu: S_value}))
            ax.plot([peak], [eta_f(peak, S_value)], "ko", ms=5)
    ax.plot([], [], "ko", ms=5, label=r"$B_{\text{peak}}$ (E-15)")
    ax.set_xscale("log")
    ax.set_xlabel(r"batch size $B$  ($\kappa^2 = 1$, $T = \sum_i H_{ii} = 1$)")
    ax.set_ylabel(r"$\eta^*$ (E-14)")
    ax.set_title(r"A surge iff $S = \sum_{ij} \nu_i\nu_j H_{ij} > 2T$")
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(out_dir / "surge.png")
    save_png(fig, paths[-1])
    plt.close(fig)
    return paths


@dataclass(frozen=True)
class EtaCurve:
    """One model's eta*(B) for :func:`eta_figure`: points at finite B, and optionally its B -> oo level
    (drawn dotted in the curve's colour) and a band (low, high) at the same B (shaded)."""

    label: str
    batch: Sequence[float]
    eta: Sequence[float]
    limit: float | None = None
    band: tuple[Sequence[float], Sequence[float]] | None = None


def eta_figure(curves: Sequence[EtaCurve], path: Path, title: str) -> None:
    """eta*(B) of every curve, log-log (B in powers of 2), written to ``path`` (its suffix picks the format)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for curve in curves:
        line, = axes.plot(curve.batch, curve.eta, marker="o", markersize=3, label=curve.label)
        if curve.limit is not None:
            axes.axhline(curve.limit, color=line.get_color(), linestyle=":", linewidth=1)
        if curve.band is not None:
            axes.fill_between(curve.batch, *curve.band, color=line.get_color(), alpha=0.2)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("batch size B")
    axes.set_ylabel(r"optimal learning rate $\eta^*(B)$")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
