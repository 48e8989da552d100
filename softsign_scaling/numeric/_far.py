"""The moments far from the origin that are still typed by hand: clip's large-b form, and the large-|a| forms.

b >= B_FAR, in SGD units (m = (a/b) mu, v = nu/b^2): there b^4 (in the closed forms) would overflow float64 and v
underflow, so the closed forms and quadratures cannot be used as they stand.  The exact, approx, anchored and
outside families' forms there are derived (steps L-1 .. L-4: the limits as b -> oo at fixed r = a/b, relative error
O(1/b^2) <= 1e-100) and printed into numeric/generated/limits.py; clip's stays here:

* clip: clip(x/b) is linear up to the corner at |x| = b: with t = b - |a|,
  E[min(z, t)] = t Q(t) - phi(t) and Var(min(z, t)) give mu = 1 + E[min(z, t)]/|a| and nu
  (the lower corner at -b lies 2b away).

At b = B_FAR the regular forms and these agree to float64 resolution (tests/test_numeric_registry.py).
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

from . import anchored_closed as _anchored

B_FAR = 1e50

_SQRT_HALF = np.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def clip(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = np.abs(a)
    t = b - size  # distance to the upper corner; in float64 it is 0 or huge once b >= B_FAR
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # the branches not taken may overflow
        tail = 0.5 * sc.erfc(t * _SQRT_HALF)  # Q(t)
        density = _INV_SQRT_2PI * np.exp(-0.5 * np.minimum(t * t, 1e4))
        first = t * tail - density  # E[min(z, t)]
        second = (1.0 - tail) - t * density + t * t * tail  # E[min(z, t)^2]
        mu = np.where(t > 40.0, 1.0, np.where(t < -40.0, b / size, 1.0 + first / size))
        nu = np.where(t > 40.0, 1.0, np.where(t < -40.0, 0.0, second - first * first))
    return mu, nu


# --------------------------------------------------------------------------------------------
# |a| >= A_FAR with b < B_FAR: the noise is negligible against |a| (relative 1/a^2 <= 1e-100), so
# the update is deterministic, m = f(a), v = f'(a)^2 (the delta method), written without a^2.

A_FAR = 1e50

B_TINY = 1e-150  # below, the clip and exact moments are their b = 0 limits to float64 (corrections O(b)), and
#                  the regular forms' 1/b^2 would overflow


def steady_exact(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) = x/sqrt(x^2 + b^2): m = a/R, v = (b^2/R^3)^2, R = hypot(a, b)."""
    R = np.hypot(a, b)
    slope = (b / R) ** 2 / R
    return a / R, slope * slope


def steady_clip(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|a| - b exceeds float64's spacing at 1e50 (~1e34): the clip is at +-1, its tails e^(-(|a| - b)^2/2) = 0."""
    return np.sign(a), np.zeros(a.shape)


def steady_approx(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E-9/E-12 with R3 = sqrt(a^2 + b^2 + pi/2) formed by hypot: m = a/R3, v = (pi/2)/R3^2."""
    R3 = np.hypot(np.hypot(a, b), np.sqrt(np.pi / 2))
    return a / R3, (np.pi / 2) / R3 / R3


def steady_anchored(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A-3/A-4 at |a| >= A_FAR: :func:`anchored_steady` with the inside anchors k0(b), s0(b), C(b) (A-1 .. A-4)."""
    return anchored_steady(a, b, _anchored.k0(b), _anchored.s0(b), _anchored.c_gap(b))


def anchored_steady(a: np.ndarray, b: np.ndarray, k0: np.ndarray, s0: np.ndarray,
                    C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A-3's shapes through anchors (k0, s0, C) at b, divided through by a^2 (x = 1/a): m = a k0/hypot(a k0, 1),
    v = x^2 [C + s0 ((b x)^2 + (pi/2) x^2)/k0^2] / ((1 + (x/k0)^2)(1 + (b x)^2 + (pi/2) x^2)).  The one runtime copy
    for both placements (the outside anchors are X-12 .. X-15's, numeric/generated/outside.py)."""
    x = 1.0 / a
    bx2 = (b * x) ** 2
    px2 = (np.pi / 2) * x * x
    v = x * x * (C + s0 * (bx2 + px2) / (k0 * k0)) / ((1.0 + (x / k0) ** 2) * (1.0 + bx2 + px2))
    return a * k0 / np.hypot(a * k0, 1.0), v


# eps outside the root: f(x) = x/(|x| + b).

def steady_outside(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|a| >= A_FAR: m = a/(|a| + b), v = (b/(|a| + b)^2)^2."""
    R = np.abs(a) + b
    slope = (b / R) / R
    return a / R, slope * slope
