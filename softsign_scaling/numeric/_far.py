"""The regime bounds of the moments far from the origin, and the two far forms that pick among generated ones.

b >= B_FAR, in SGD units (m = (a/b) mu, v = nu/b^2): there b^4 (in the closed forms) would overflow float64 and v
underflow, so the closed forms and quadratures cannot be used as they stand.  Every family's forms there are
derived as steps (L-1 .. L-4: the limits as b -> oo at fixed r = a/b; L-7: clip without its lower corner, with its
t -> +-oo limits) and so are the large-|a| forms (L-5, L-6, L-8; approx's E-9/E-12 by hypot; anchored's A-3/A-4
divided by a^2): numeric/generated/limits.py prints them.  This module holds the bounds and picks clip's form per
point (t = b - |a| against T_FLAT, printed with L-7).

At b = B_FAR the regular forms and these agree to float64 resolution (tests/test_numeric_registry.py).
"""

from __future__ import annotations

import numpy as np

from . import anchored_closed as _anchored
from .generated import limits as _limits

B_FAR = 1e50


def clip(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L-7 where |t| <= T_FLAT, its t -> oo limit above, its t -> -oo limit below (t = b - |a|)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    t = b - np.abs(a)  # distance to the upper corner; in float64 it is 0 or huge once b >= B_FAR
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # the branches not taken may overflow
        mu, nu = _limits.far_clip(a, b)
        mu_above, nu_above = _limits.far_clip_above(a, b)
        mu_below, nu_below = _limits.far_clip_below(a, b)
        mu = np.where(t > _limits.T_FLAT, mu_above, np.where(t < -_limits.T_FLAT, mu_below, mu))
        nu = np.where(t > _limits.T_FLAT, nu_above, np.where(t < -_limits.T_FLAT, nu_below, nu))
    return mu, nu


# --------------------------------------------------------------------------------------------
# |a| >= A_FAR with b < B_FAR: the noise is negligible against |a| (relative 1/a^2 <= 1e-100), so
# the update is deterministic, m = f(a), v = f'(a)^2 (the delta method, derived for exact and outside as L-5, L-6;
# clip's pinned update as L-8), written without a^2.

A_FAR = 1e50

B_TINY = 1e-150  # below, the clip and exact moments are their b = 0 limits to float64 (corrections O(b)), and
#                  the regular forms' 1/b^2 would overflow


def steady_clip(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L-8: |a| - b exceeds float64's spacing at 1e50 (2^114): the clip is at +-1, its tails Q(|a| - b) = 0."""
    mean, variance = _limits.steady_clip(a, b)
    return mean, np.full(np.shape(a), variance, dtype=float)


def steady_anchored(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A-3/A-4 at |a| >= A_FAR: generated/limits.py's anchored_steady with the inside anchors k0(b), s0(b), C(b)."""
    return _limits.anchored_steady(a, b, _anchored.k0(b), _anchored.s0(b), _anchored.c_gap(b))
