"""Reference values by high-precision quadrature, independent of every closed form.

E over z ~ N(0, 1) of f(z) is integrated with ``mp.quad`` on intervals split at
the integrand's kinks (the clip points) and at the Gaussian's centre, as mpmath's
quadrature docs advise; tanh-sinh's error estimate is checked, and Gauss-Legendre
is run as a second rule on the same intervals.  Disagreement raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache, wraps

import mpmath as mp


def _cached(f):
    """Memoise a reference on (arguments, working precision): several checks share the same points."""
    @lru_cache(maxsize=4096)
    def at(dps, *args):
        with mp.workdps(dps):
            return f(*[mp.mpf(x) for x in args])

    @wraps(f)
    def wrapper(*args):
        return at(mp.mp.dps, *[str(x) if not isinstance(x, str) else x for x in args])
    return wrapper


class QuadratureError(ArithmeticError):
    """The quadrature rules disagree, or tanh-sinh's error estimate is above tolerance."""


CROSS_CHECK_DIGITS = 30  # at or above this working precision a second rule confirms every value


def gaussian_expectation(f: Callable[[mp.mpf], mp.mpf], kinks: Iterable[mp.mpf], cross_check: bool | None = None,
                         even: bool = False) -> mp.mpf:
    """E[f(z)], z ~ N(0, 1), for |f| <= 1, at the current working precision (call inside ``mp.workdps``).

    ``cross_check`` (default: when the working precision is >= CROSS_CHECK_DIGITS, i.e. for identity
    checks) reruns Gauss-Legendre on the same intervals; below that (error measurements, which need a few
    digits) tanh-sinh's own error estimate must be within tolerance.  ``even``: f(-z) = f(z), so twice the
    integral over z >= 0 (half the work)."""
    if cross_check is None:
        cross_check = mp.mp.dps >= CROSS_CHECK_DIGITS
    # |f| <= 1 for every integrand here, so truncating at +-L costs < 2 Phi(-L) < 10^-(dps+2).
    half_width = int(mp.ceil(mp.sqrt(2 * (mp.mp.dps + 3) * mp.log(10)))) + 1
    grid = [mp.mpf(k) for k in range(-half_width, half_width + 1, 4)]
    inside = [mp.mpf(k) for k in kinks if -half_width < k < half_width]
    nodes = sorted(set(grid + inside))
    norm = 1 / mp.sqrt(2 * mp.pi)
    if even:
        nodes = [node for node in nodes if node >= 0]
        nodes = nodes if nodes[0] == 0 else [mp.mpf(0)] + nodes
        norm *= 2

    def integrand(z: mp.mpf) -> mp.mpf:
        return f(z) * mp.exp(-z * z / 2) * norm

    value, error = mp.quad(integrand, nodes, method="tanh-sinh", error=True)
    tol = mp.mpf(10) ** (-mp.mp.dps + 10)
    scale = max(abs(value), mp.mpf(1))
    if cross_check:  # tanh-sinh's own estimate is pessimistic at times: the second rule decides
        other = mp.quad(integrand, nodes, method="gauss-legendre")
        if abs(other - value) > tol * scale:
            raise QuadratureError(
                f"quadrature rules disagree: tanh-sinh {mp.nstr(value, 20)} vs gauss-legendre {mp.nstr(other, 20)}"
                f" (tanh-sinh error estimate {mp.nstr(error, 3)})"
            )
    elif error > tol * scale:
        raise QuadratureError(f"tanh-sinh error estimate {mp.nstr(error, 3)} above {mp.nstr(tol, 3)}")
    return value


def _clip(u: mp.mpf) -> mp.mpf:
    return max(mp.mpf(-1), min(mp.mpf(1), u))


@_cached
def clip_mean(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[clip((a + z)/b, -1, 1)] (the defining integral of E-7/E-8)."""
    return gaussian_expectation(lambda z: _clip((a + z) / b), [-a - b, -a + b])


@_cached
def clip_second_moment(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[clip((a + z)/b, -1, 1)^2] (the defining integral of E-11)."""
    return gaussian_expectation(lambda z: _clip((a + z) / b) ** 2, [-a - b, -a + b])


def _softsign_cuts(a: mp.mpf, b: mp.mpf) -> list[mp.mpf]:
    """Cuts at -a +- b*4^k: the softsign's transition has width b, resolved on a geometric mesh."""
    cuts, width = [-a], b
    while width < 4:
        cuts += [-a - width, -a + width]
        width *= 4
    return cuts


@_cached
def softsign_mean(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)/sqrt((a + z)^2 + b^2)]: the exact SoftSign mean, no clip."""
    return gaussian_expectation(lambda z: (a + z) / mp.sqrt((a + z) ** 2 + b * b), _softsign_cuts(a, b))


@_cached
def softsign_second_moment(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)^2/((a + z)^2 + b^2)]: the exact SoftSign second moment, no clip."""
    return gaussian_expectation(lambda z: (a + z) ** 2 / ((a + z) ** 2 + b * b), _softsign_cuts(a, b))


@_cached
def sign_mean(a: mp.mpf) -> mp.mpf:
    """E[sign(a + z)] (P-17's defining integral)."""
    return gaussian_expectation(lambda z: mp.sign(a + z), [-a])
