"""Layer 1: the S-curve approximations E-3 and E-4 for four S-curves.

For S in {erf, tanh, softsign, x/(|x|+1)} with slope k = S'(0): the sup over the
real line of |S - x/sqrt(x^2 + 1/k^2)| (E-3) and of |S - clip(k x, -1, 1)| (E-4), and
where it is attained.  Reference: mpmath at 20 digits (``checks.evaluate.sup_error_1d``:
dense grid, then golden-section refinement); all four curves are odd, so [0, 40] covers R
(the tails' errors are below the values reported, decaying like 1/x^2 or faster).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath as mp

from ..checks.evaluate import sup_error_1d

CURVES = {
    "erf": (mp.erf, 2 / mp.sqrt(mp.pi)),
    "tanh": (mp.tanh, mp.mpf(1)),
    "softsign x/sqrt(x^2+1)": (lambda t: t / mp.sqrt(t * t + 1), mp.mpf(1)),
    "PyTorch form x/(|x|+1)": (lambda t: t / (abs(t) + 1), mp.mpf(1)),
}


@dataclass(frozen=True)
class SCurveRow:
    curve: str
    slope: float
    e3_sup: float
    e3_at: float
    e4_sup: float
    e4_at: float


def measure(curve: str) -> SCurveRow:
    f, k = CURVES[curve]
    e3 = lambda t: t / mp.sqrt(t * t + 1 / (k * k))  # noqa: E731
    e4 = lambda t: max(mp.mpf(-1), min(mp.mpf(1), k * t))  # noqa: E731
    s3, x3 = sup_error_1d(e3, f, 0, 40, samples=800)
    s4, x4 = sup_error_1d(e4, f, 0, 40, samples=800)
    return SCurveRow(curve, float(k), s3, x3, s4, x4)


def table() -> list[SCurveRow]:
    return [measure(name) for name in CURVES]
