"""Exact moments of the SoftSign update under the Gaussian model, by vectorised fixed quadrature.

With x = a + z, z ~ N(0, 1), f(x) = x/sqrt(x^2 + b^2) (the SoftSign of (a + z)/b):

mean, m(a, b) = E[f(x)]
    1/sqrt(x^2 + b^2) = (2/sqrt(pi)) int_0^oo exp(-(x^2 + b^2) s^2) ds, and the Gaussian
    integral over x done in closed form, give a positive integrand with no kink:
    m = (2a/sqrt(pi)) int_0^oo exp(-b^2 s^2) (1 + 2s^2)^(-3/2) exp(-a^2 s^2/(1 + 2s^2)) ds.
    Its features sit at s ~ 1/c (c = sqrt(2 + a^2 + b^2)), s ~ 1 and s ~ 1/b, each O(1) wide
    in log s; s = sinh(v)/c makes the integrand even and smooth in v, analytic in |Im v| < pi/4,
    so the trapezoid rule with step 1/8 converges to ~ exp(-2 pi (pi/4) 8) ~ 1e-17.
second moment, s2(a, b) = E[f(x)^2]
    1 - s2 = E[b^2/(x^2 + b^2)] = b sqrt(pi/2) Re w((a + ib)/sqrt2), w the Faddeeva function (a
    Voigt profile): used where 1 - s2 <= 1/2.  Elsewhere (then b > 0.6) s2 is summed directly by
    the trapezoid rule in z (step 1/8 on [-10, 10]): f^2 is analytic in |Im z| < b, and the
    rule's error ~ exp(b^2/2 - 2 pi b/h) < 1e-13.
variance, s2 - m^2 = E[(f - m)^2]
    Summed as squares so that it keeps its digits when m is near +-1.  Away from the kink
    (b >= 0.7 or |a| >= 18) by the trapezoid rule in z with f(x) - f(a) written without
    cancellation; near it, by Gauss-Legendre panels on each side of x = 0: graded in
    t = asinh(x/b) on [0, 1] (the kink's scale b to 1), then of length <= 1 out to the
    Gaussian's edge, with 1 - f = 1 - tanh(t) computed directly.

Every rule is fixed (the same nodes for every point), so one call evaluates many points as
numpy arrays, chunked to bound memory.  Each point's weighted sum is a row sum in a fixed order
(numpy's pairwise sum over the row), never a BLAS matrix-vector product, whose kernels depend on
the number of rows: a point gives the same bits alone and inside an array.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

_SQRT_PI = np.sqrt(np.pi)
_SQRT_2 = np.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)

# Mean: trapezoid in v, s = sinh(v)/c.
_MEAN_STEP = 0.125
_MEAN_SPAN = 22.0  # the tail beyond is < 1e-17 of the integral (s^-2 decay from s ~ e^22/(2c))
_V = np.arange(0.0, _MEAN_SPAN + _MEAN_STEP / 2, _MEAN_STEP)
_V_SINH = np.sinh(_V)
_V_WEIGHT = _MEAN_STEP * np.cosh(_V)
_V_WEIGHT[0] *= 0.5

# Trapezoid in z on [-10, 10] (Gaussian weight beyond: < 1e-23).
_Z_STEP = 0.125
_Z = np.arange(-10.0, 10.0 + _Z_STEP / 2, _Z_STEP)
_Z_WEIGHT = _Z_STEP * _INV_SQRT_2PI * np.exp(-_Z**2 / 2)

# Kink regime: Gauss-Legendre panels.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(10)
_GRADED_PANELS = 20
_LINEAR_LENGTH = 1.0
_HALF_WIDTH = 10.0  # Gaussian half-width covered around a
_KINK_B = 0.7  # below this b (and |a| < _FAR_A) the kink needs the graded rule
_FAR_A = 18.0  # beyond, the kink's Gaussian weight Q(|a|) is below 1e-72

_CHUNK_NODES = 2_000_000  # points x nodes per chunk


def _chunks(size: int, nodes: int):
    step = max(1, _CHUNK_NODES // nodes)
    for start in range(0, size, step):
        yield slice(start, min(size, start + step))


def mean_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """E[(a + z)/sqrt((a + z)^2 + b^2)] for 1-D float64 arrays a (real), b >= 0 of one shape."""
    out = np.empty(a.shape)
    for part in _chunks(a.size, _V.size):
        A, Bb = a[part, None], b[part, None]
        c = np.sqrt(2.0 + A * A + Bb * Bb)
        s2 = (_V_SINH / c) ** 2
        one = 1.0 + 2.0 * s2
        integrand = np.exp(-Bb * Bb * s2 - A * A * s2 / one) / (one * np.sqrt(one))
        out[part] = (2.0 / _SQRT_PI) * a[part] * (integrand * _V_WEIGHT).sum(axis=1) / c[:, 0]
    return np.clip(out, -1.0, 1.0)  # |m| < 1; near saturation the sum may round one ulp above


def _second_moment_trapezoid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape)
    for part in _chunks(a.size, _Z.size):
        x = a[part, None] + _Z
        x2 = x * x
        out[part] = (x2 / (x2 + b[part, None] ** 2) * _Z_WEIGHT).sum(axis=1)
    return out


def one_minus_second_moment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - E[f^2] = E[b^2/(x^2 + b^2)] = b sqrt(pi/2) Re w((a + ib)/sqrt2)."""
    return b * np.sqrt(np.pi / 2) * sc.wofz((a + 1j * b) / _SQRT_2).real


def second_moment_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """E[(a + z)^2/((a + z)^2 + b^2)] for 1-D float64 arrays a (real), b >= 0 of one shape (even in a)."""
    a = np.abs(a)
    deficit = one_minus_second_moment(a, b)
    out = 1.0 - deficit
    far = ~(deficit <= 0.5)
    if far.any():
        out[far] = _second_moment_trapezoid(a[far], b[far])
    return out


def _softsign_gap(x: np.ndarray, b: np.ndarray, fx: np.ndarray, a: np.ndarray, fa: np.ndarray) -> np.ndarray:
    """f(x) - f(a) without cancellation: b^2 (x - a)(x + a)/(r_x r_a (x r_a + a r_x)) when x a > 0."""
    rx, ra = np.sqrt(x * x + b * b), np.sqrt(a * a + b * b)
    same = x * a > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = b * b * (x - a) * (x + a) / (rx * ra * (x * ra + a * rx))
    return np.where(same, smooth, fx - fa)


def _variance_smooth(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape)
    for part in _chunks(a.size, _Z.size):
        A, Bb = a[part, None], b[part, None]
        x = A + _Z
        fx = x / np.sqrt(x * x + Bb * Bb)
        fa = A / np.sqrt(A * A + Bb * Bb)
        gap = _softsign_gap(x, Bb, fx, A, fa)
        first = (gap * _Z_WEIGHT).sum(axis=1)
        out[part] = (gap * gap * _Z_WEIGHT).sum(axis=1) - first * first
    return np.maximum(out, 0.0)


def _panel_nodes(lengths: np.ndarray, starts: np.ndarray, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on ``panels`` equal panels of [start, start + length], per row."""
    offsets = (np.arange(panels)[:, None] + (_GL_X[None, :] + 1) / 2).ravel() / panels
    weights = np.tile(_GL_W / 2, panels) / panels
    return starts[:, None] + lengths[:, None] * offsets, lengths[:, None] * weights


def _variance_kink(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Variance for 0 <= a < _FAR_A, 0 < b < _KINK_B: panels on both sides of the kink at x = 0."""
    out = np.empty(a.shape)
    linear_pos = int(np.ceil((_FAR_A + _HALF_WIDTH - 1.0) / _LINEAR_LENGTH))
    linear_neg = int(np.ceil((_HALF_WIDTH - 1.0) / _LINEAR_LENGTH))
    nodes = 2 * _GRADED_PANELS * _GL_X.size + (linear_pos + linear_neg) * _GL_X.size
    for part in _chunks(a.size, nodes):
        A, Bb = a[part], b[part]
        # Graded part, t = asinh(x/b) on [0, asinh(1/b)], both sides (x = +-b sinh t).
        top = np.arcsinh(1.0 / Bb)
        t, wt = _panel_nodes(top, np.zeros_like(top), _GRADED_PANELS)
        x = Bb[:, None] * np.sinh(t)
        jac = wt * Bb[:, None] * np.cosh(t)
        tanh = np.tanh(t)
        w_pos = jac * _INV_SQRT_2PI * np.exp(-0.5 * (x - A[:, None]) ** 2)
        w_neg = jac * _INV_SQRT_2PI * np.exp(-0.5 * (x + A[:, None]) ** 2)
        y_pos, y_neg = 1.0 - tanh, 1.0 + tanh  # 1 - f at x and at -x
        # Linear part: x in [1, a + 10] and [-10, -1], panels of length <= 1.
        xp, wp = _panel_nodes(A + _HALF_WIDTH - 1.0, np.ones_like(A), linear_pos)
        xn, wn = _panel_nodes(np.full_like(A, _HALF_WIDTH - 1.0), np.ones_like(A), linear_neg)
        bb = Bb[:, None] ** 2
        rp, rn = np.sqrt(xp * xp + bb), np.sqrt(xn * xn + bb)
        yp = bb / (rp * (rp + xp))  # 1 - x/r for x > 0, without cancellation
        yn = 1.0 + xn / rn  # 1 - f(-x) = 1 + x/r
        wp = wp * _INV_SQRT_2PI * np.exp(-0.5 * (xp - A[:, None]) ** 2)
        wn = wn * _INV_SQRT_2PI * np.exp(-0.5 * (xn + A[:, None]) ** 2)
        y = np.concatenate([y_pos, y_neg, yp, yn], axis=1)
        w = np.concatenate([w_pos, w_neg, wp, wn], axis=1)
        mean_y = (y * w).sum(axis=1) / w.sum(axis=1)
        out[part] = ((y - mean_y[:, None]) ** 2 * w).sum(axis=1) / w.sum(axis=1)
    return out


def variance_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """E[f^2] - E[f]^2 for 1-D float64 arrays a (real), b > 0 of one shape, summed as squares."""
    a = np.abs(a)
    out = np.empty(a.shape)
    kink = (b < _KINK_B) & (a < _FAR_A)
    if kink.any():
        out[kink] = _variance_kink(a[kink], b[kink])
    if (~kink).any():
        out[~kink] = _variance_smooth(a[~kink], b[~kink])
    return out
