"""The moments far from the origin that are still typed by hand (clip's large-b and large-|a| forms), the anchored
large-|a| form's anchors, and the regime bounds.

b >= B_FAR, in SGD units (m = (a/b) mu, v = nu/b^2): there b^4 (in the closed forms) would overflow float64 and v
underflow, so the closed forms and quadratures cannot be used as they stand.  The exact, approx, anchored and
outside families' forms there are derived (steps L-1 .. L-4: the limits as b -> oo at fixed r = a/b, relative error
O(1/b^2) <= 1e-100), and so are the exact and outside large-|a| forms (L-5, L-6), approx's (E-9/E-12 by hypot) and
anchored's (A-3/A-4 divided by a^2): numeric/generated/limits.py prints them.  Clip's stays here:

* clip: clip(x/b) is linear up to the corner at |x| = b: with t = b - |a|,
  E[min(z, t)] = t Q(t) - phi(t) and Var(min(z, t)) give mu = 1 + E[min(z, t)]/|a| and nu
  (the lower corner at -b lies 2b away).

At b = B_FAR the regular forms and these agree to float64 resolution (tests/test_numeric_registry.py).
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

from . import anchored_closed as _anchored
from .generated import limits as _limits

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
# the update is deterministic, m = f(a), v = f'(a)^2 (the delta method, derived for exact and outside as L-5, L-6),
# written without a^2.

A_FAR = 1e50

B_TINY = 1e-150  # below, the clip and exact moments are their b = 0 limits to float64 (corrections O(b)), and
#                  the regular forms' 1/b^2 would overflow


def steady_clip(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|a| - b exceeds float64's spacing at 1e50 (~1e34): the clip is at +-1, its tails e^(-(|a| - b)^2/2) = 0."""
    return np.sign(a), np.zeros(a.shape)


def steady_anchored(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A-3/A-4 at |a| >= A_FAR: generated/limits.py's anchored_steady with the inside anchors k0(b), s0(b), C(b)."""
    return _limits.anchored_steady(a, b, _anchored.k0(b), _anchored.s0(b), _anchored.c_gap(b))
