"""Exact moments of the update with eps outside the root, u = x/(|x| + b), x = a + z, z ~ N(0, 1).

(steps X-1 .. X-8; PyTorch's Adam at beta1 = beta2 = 0.)  For a >= 0 (the mean is odd in a, the
second moment and the variance even), with f(x) = x/(x + b) on x > 0 and the weights
w+(x) = phi(x - a), w-(x) = phi(x + a):

mean      m  = int_0^oo f(x) (w+ - w-) dx, with w+ - w- = phi(x - a) (1 - e^(-2ax)) (-expm1: no cancellation,
               a positive integrand, so m keeps its relative digits down to a -> 0 and out to b -> oo);
second    s2 = int_0^oo f(x)^2 (w+ + w-) dx (positive);
variance  E[(y - E y)^2] with y = 1 - u = b/(x + b) on the positive side, (2x + b)/(x + b) on the negative
               side (so that it keeps its digits when m is near 1).

u has a kink at x = 0 (|x|), and f a pole at x = -b: X-6's Laplace form cancels for b << 1 (X-5's
note), so the integrals are taken in x with Gauss-Legendre panels: graded in t = asinh(x/b) on
[0, asinh(1/b)] (panels of length <= 0.6 in t: the pole is 0.88 away from t = 0 and the Gaussian weight
varies on a scale >= 1 in t there), then of length <= 1 out to a + 10.  For a >= A_SHIFT the kink's
weight is below e^-32 of the Gaussian's and the integral is taken in z on [-10, 10] (20 panels); there the
variance sums the deviations u(x) - u(a) = b z/((x + b)(a + b)), which keep their digits for any a + b.
Every rule is fixed per chunk of points; row sums only (as _quadrature.py).
"""

from __future__ import annotations

import numpy as np

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_GRADED_STEP = 0.6  # panel length in t = asinh(x/b)
_HALF_WIDTH = 10.0  # Gaussian half-width covered (weight beyond < 1e-23)
A_SHIFT = 18.0  # from here on the kink at x = 0 is ignored: in z, f(a + z) with a + z >= 8
_CHUNK_NODES = 2_000_000


def _panel_nodes(lengths: np.ndarray, starts: np.ndarray, panels: int) -> tuple[np.ndarray, np.ndarray]:
    offsets = (np.arange(panels)[:, None] + (_GL_X[None, :] + 1) / 2).ravel() / panels
    weights = np.tile(_GL_W / 2, panels) / panels
    return starts[:, None] + lengths[:, None] * offsets, lengths[:, None] * weights


def _chunks(size: int, nodes: int):
    step = max(1, _CHUNK_NODES // max(nodes, 1))
    for start in range(0, size, step):
        yield slice(start, min(size, start + step))


def _near(a: np.ndarray, b: np.ndarray):
    """Nodes x > 0 and weights dx (per row) for 0 <= a < A_SHIFT: graded then linear panels."""
    top = np.arcsinh(1.0 / b)
    graded = _graded_panels(b).max()  # one bucket per call (moment() groups rows by bucket)
    t, wt = _panel_nodes(top, np.zeros_like(top), graded)
    x_graded = b[:, None] * np.sinh(t)
    w_graded = wt * b[:, None] * np.cosh(t)
    linear = int(np.ceil(A_SHIFT + _HALF_WIDTH - 1.0))
    x_linear, w_linear = _panel_nodes(np.maximum(a + _HALF_WIDTH - 1.0, 0.0), np.ones_like(a), linear)
    return np.concatenate([x_graded, x_linear], axis=1), np.concatenate([w_graded, w_linear], axis=1)


def _graded_panels(b: np.ndarray) -> np.ndarray:
    """Panels of the graded part: ceil(asinh(1/b)/0.6) rounded up to a power of two (a point's rule depends
    on its own b only, so it gives the same bits alone and inside an array)."""
    needed = np.maximum(np.ceil(np.arcsinh(1.0 / b) / _GRADED_STEP), 1.0)
    return (2.0 ** np.ceil(np.log2(needed))).astype(int)


def _moments_near(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    x, dx = _near(a, b)
    A, Bb = a[:, None], b[:, None]
    f = x / (x + Bb)
    w_plus = _INV_SQRT_2PI * np.exp(-0.5 * (x - A) ** 2) * dx
    if kind == "mean":
        return (f * w_plus * (-np.expm1(-2.0 * A * x))).sum(axis=1)
    w_minus = _INV_SQRT_2PI * np.exp(-0.5 * (x + A) ** 2) * dx
    if kind == "second moment":
        return (f * f * (w_plus + w_minus)).sum(axis=1)
    # Near m = 1 in y = 1 - u (y = b/(x + b) and (2x + b)/(x + b)); elsewhere in u itself (for b >> 1, u ~ x/b
    # and y ~ 1: the spread would be lost in y's rounding).
    m = (f * w_plus * (-np.expm1(-2.0 * A * x))).sum(axis=1)[:, None]
    y_plus, y_minus = Bb / (x + Bb), (2.0 * x + Bb) / (x + Bb)
    mean_y = (y_plus * w_plus + y_minus * w_minus).sum(axis=1)[:, None]
    in_y = ((y_plus - mean_y) ** 2 * w_plus + (y_minus - mean_y) ** 2 * w_minus).sum(axis=1)
    in_u = ((f - m) ** 2 * w_plus + (f + m) ** 2 * w_minus).sum(axis=1)
    return np.where(m[:, 0] > 0.5, in_y, in_u)


def _moments_far(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    z, dz = _panel_nodes(np.full_like(a, 2 * _HALF_WIDTH), np.full_like(a, -_HALF_WIDTH), 20)
    w = _INV_SQRT_2PI * np.exp(-0.5 * z * z) * dz
    x, Bb = a[:, None] + z, b[:, None]  # x >= 8 here
    if kind == "mean":
        return (x / (x + Bb) * w).sum(axis=1)
    if kind == "second moment":
        return ((x / (x + Bb)) ** 2 * w).sum(axis=1)
    # the deviation from the deterministic update, u(x) - u(a) = b z/((x + b)(a + b)), formed without cancellation:
    # centring u or y = 1 - u on their computed means would lose eps (a + b) relative (u and y are of order one
    # there, their spread b/(a + b)^2)
    d = Bb * z / ((x + Bb) * (a[:, None] + Bb))
    mean_d = (d * w).sum(axis=1)[:, None]
    return ((d - mean_d) ** 2 * w).sum(axis=1)


def moment(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    """``kind`` ("mean", "second moment", "variance") for 1-D float64 arrays a >= 0, b > 0."""
    out = np.empty(a.shape)
    near = a < A_SHIFT
    for mask, function in ((near, _moments_near), (~near, _moments_far)):
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            continue
        buckets = _graded_panels(b[rows]) if function is _moments_near else np.zeros(rows.size, dtype=int)
        for bucket in np.unique(buckets):
            group = rows[buckets == bucket]
            for part in _chunks(group.size, _GL_X.size * (bucket + 40)):
                index = group[part]
                out[index] = function(a[index], b[index], kind)
    return out


def mean_outside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.copysign(moment(np.abs(a), b, "mean"), a)


def second_moment_outside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return moment(np.abs(a), b, "second moment")


def variance_outside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return moment(np.abs(a), b, "variance")
