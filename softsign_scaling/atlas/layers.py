"""Layers 2 and 3: the clip layer (E-6, E-8, E-11) and the S-curve on the result (E-9, E-12), on (a, b) grids.

By symmetry (means odd, second moments even in a) a >= 0 covers the plane.  References:
``numeric.mean_exact`` / ``numeric.second_moment_exact`` (float64 quadrature, relative error
<= 1e-10), with the worst point of each map re-evaluated by mpmath at 30 digits
(``checks.reference``, two quadrature rules) to confirm the reference there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import mpmath as mp
import numpy as np
import sympy as sp

from .. import numeric
from ..checks import reference
from ..steps import Derivation
from ..symbols import a as a_sym
from ..symbols import b as b_sym


@dataclass(frozen=True)
class Grid:
    a: np.ndarray  # shape (na,)
    b: np.ndarray  # shape (nb,)

    @staticmethod
    def default(full: bool = False) -> "Grid":
        na, nb = (321, 241) if full else (121, 97)
        # a = 0 plus log-spaced magnitudes: the worst errors sit near a ~ b ~ 1 and in the noise-free corner.
        return Grid(np.concatenate([[0.0], np.geomspace(1e-3, 1e4, na - 1)]), np.geomspace(1e-4, 1e4, nb))

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        return np.meshgrid(self.a, self.b, indexing="ij")


@dataclass(frozen=True)
class ErrorMap:
    name: str
    approx: str
    exact: str
    error: np.ndarray  # |approx - exact| on the grid, shape (na, nb)
    worst_a: float
    worst_b: float
    max_abs: float
    mpmath_exact_at_worst: float  # the reference re-evaluated at 30 digits
    reference_float64_at_worst: float

    @property
    def reference_agreement(self) -> float:
        return abs(self.mpmath_exact_at_worst - self.reference_float64_at_worst)


def _numpy(expr: sp.Expr):
    return sp.lambdify((a_sym, b_sym), expr, modules=["scipy", "numpy"])


def curves(derivation: Derivation) -> dict[str, callable]:
    """The approximations of this layer as numpy functions of (a, b), from the derived expressions."""
    return {
        "E-8 (clip mean)": numeric.mean_clip,
        "E-9 first form": _numpy(derivation["E-9"].extra("first")),
        "E-9 second form": _numpy(derivation["E-9"].result),
        "E-11 (clip second moment)": numeric.second_moment_clip,
        "E-12": _numpy(derivation["E-12"].result),
    }


EXACT = {"mean": (partial(numeric.mean_exact, method="quadrature"), reference.softsign_mean),
         "second moment": (partial(numeric.second_moment_exact, method="quadrature"),
                           reference.softsign_second_moment)}  # the quadrature: the most accurate float64 route

COMPARISONS = (
    # (name, approximation, reference: "mean"/"second moment" exact, or another approximation)
    ("E-8 vs exact mean", "E-8 (clip mean)", "mean"),
    ("E-11 vs exact second moment", "E-11 (clip second moment)", "second moment"),
    ("E-9 (first) vs E-8", "E-9 first form", "E-8 (clip mean)"),
    ("E-9 (second) vs E-8", "E-9 second form", "E-8 (clip mean)"),
    ("E-9 (first) vs exact mean", "E-9 first form", "mean"),
    ("E-9 (second) vs exact mean", "E-9 second form", "mean"),
    ("E-12 vs E-11", "E-12", "E-11 (clip second moment)"),
    ("E-12 vs exact second moment", "E-12", "second moment"),
)


TIE = 1e-12  # errors this close (relative) to the largest count as ties: far above float64 noise (~1e-16)


def _worst(err: np.ndarray) -> tuple[int, int]:
    """The worst grid point: the first (smallest a, then b) within TIE of the largest error.

    A plain argmax would let last-bit differences between machines choose among near-equal errors
    (along a = b, the clip's error tends to 1 - 1/sqrt2), and the report prints the point."""
    k = int(np.flatnonzero(err.ravel() >= err.max() * (1 - TIE))[0])
    return np.unravel_index(k, err.shape)


def error_maps(derivation: Derivation, grid: Grid) -> list[ErrorMap]:
    A, Bm = grid.mesh()
    funcs = curves(derivation)
    values = {name: np.broadcast_to(np.asarray(f(A, Bm), dtype=float), A.shape) for name, f in funcs.items()}
    exact = {key: f(A, Bm) for key, (f, _) in EXACT.items()}
    maps = []
    for name, approx, ref in COMPARISONS:
        target = exact[ref] if ref in exact else values[ref]
        err = np.abs(values[approx] - target)
        i, j = _worst(err)
        wa, wb = float(grid.a[i]), float(grid.b[j])
        if ref in EXACT:
            with mp.workdps(30):
                precise = float(EXACT[ref][1](mp.mpf(wa), mp.mpf(wb)))
            ref64 = float(target[i, j])
        else:
            precise = ref64 = float(target[i, j])
        maps.append(ErrorMap(name, approx, ref, err, wa, wb, float(err[i, j]), precise, ref64))
    return maps


def heatmap(maps: list[ErrorMap], grid: Grid, path) -> None:
    """One panel per comparison: log10 |error| over (a, b), worst point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = (len(maps) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.6 * rows), sharex=True, sharey=True,
                             layout="constrained")  # room for the titles and the colour bar
    for ax, m in zip(axes.flat, maps):
        image = ax.pcolormesh(grid.b, grid.a[1:], np.log10(np.maximum(m.error[1:], 1e-16)), shading="auto",
                              vmin=-8, vmax=0, cmap="viridis")
        ax.plot([m.worst_b], [max(m.worst_a, grid.a[1])], "rx", ms=7, mew=2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{m.name}\nmax {m.max_abs:.3g} at\na = {m.worst_a:.3g}, b = {m.worst_b:.3g}", fontsize=10)
    for ax in axes.flat[len(maps):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("b = eps sqrt(B)/sigma")
    for ax in axes[:, 0]:
        ax.set_ylabel("a = g sqrt(B)/sigma")
    fig.colorbar(image, ax=axes, shrink=0.8, label="log10 |error|")
    save_figure(fig, path)
    plt.close(fig)


def save_figure(fig, path) -> None:
    import io

    from ..artifacts import write_text_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    write_text_bytes(Path(path), buffer.getvalue())
