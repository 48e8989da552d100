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

def remembered(function: Callable[[mp.mpf], mp.mpf], kept: int) -> Callable:
    """``function`` (of one mpmath real) remembered by (argument, working precision), up to ``kept`` values (then
    forgotten all at once): each value the same number as computed afresh.  Quadratures evaluate their integrands at
    the same nodes again and again (every point of a check's domain, the other moment's integrand), so the costly
    parts of an integrand are mostly computed already.  A non-mpf argument is passed through uncached."""
    values: dict[tuple, mp.mpf] = {}

    def at(argument):
        if not isinstance(argument, mp.mpf):
            return function(argument)
        key = (argument._mpf_, mp.mp.prec)
        value = values.get(key)
        if value is None:
            if len(values) >= kept:
                values.clear()
            value = values[key] = function(argument)
        return value
    return at


# exp(-z^2/2): the quadrature nodes between the grid's fixed nodes are the same numbers for every point (a, b) a
# check evaluates (and for every reference with the same grid).
_gaussian_weight = remembered(lambda z: mp.exp(-z * z / 2), 400_000)



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
        return f(z) * _gaussian_weight(z) * norm

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


_ONE, _MINUS_ONE = mp.mpf(1), mp.mpf(-1)  # exact at every precision


def _clip(u: mp.mpf) -> mp.mpf:
    return max(_MINUS_ONE, min(_ONE, u))


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
    def integrand(z: mp.mpf) -> mp.mpf:
        x = a + z
        return x / mp.sqrt(x ** 2 + b * b)

    return gaussian_expectation(integrand, _softsign_cuts(a, b))


@_cached
def softsign_second_moment(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)^2/((a + z)^2 + b^2)]: the exact SoftSign second moment, no clip."""
    def integrand(z: mp.mpf) -> mp.mpf:
        square = (a + z) ** 2
        return square / (square + b * b)

    return gaussian_expectation(integrand, _softsign_cuts(a, b))


@_cached
def sign_mean(a: mp.mpf) -> mp.mpf:
    """E[sign(a + z)] (P-17's defining integral)."""
    return gaussian_expectation(lambda z: mp.sign(a + z), [-a])


_THREE_HALVES = mp.mpf(1.5)  # exact


@_cached
def softsign_slope_at_zero(b: mp.mpf) -> mp.mpf:
    """d/da E[softsign(a + z, b)] at a = 0 = E[b^2/(z^2 + b^2)^(3/2)] (A-1's defining integral)."""
    def integrand(t: mp.mpf) -> mp.mpf:
        square = b * b  # once per node, at the quadrature's working precision (the same number as twice)
        return square / (t * t + square) ** _THREE_HALVES

    return gaussian_expectation(integrand, _softsign_cuts(mp.mpf(0), b), even=True)


# Independent routes: each reference above computed another way (no quadrature over z with a kink),
# so that a wrong reference (a typo in an integrand, a wrong kink) cannot go unnoticed.  The checks
# ReferenceCrossCheck compare them at a few points; see tests/test_references.py.

@_cached
def clip_mean_by_erf(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[clip((a + z)/b)] = (1/(2b)) int_{-b}^{b} erf((a - s)/sqrt2) ds.

    clip(u/b) = (1/(2b)) int_{-b}^{b} sign(u - s) ds, and E[sign(a - s + z)] = erf((a - s)/sqrt2):
    a smooth integrand on a finite interval (split where it changes sign)."""
    inner = sorted({-b, b} | ({a} if -b < a < b else set()))
    return mp.quad(lambda s: mp.erf((a - s) / mp.sqrt(2)), inner) / (2 * b)


@_cached
def clip_second_moment_by_tail(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[clip((a + z)/b)^2] = (1/b^2) int_0^b t P(|a + z| > t) 2 dt (min(u^2, b^2) = int_0^b 2t [|u| > t] dt),
    with P(|a + z| > t) = (erfc((t - a)/sqrt2) + erfc((t + a)/sqrt2))/2."""
    inner = sorted({mp.mpf(0), b} | ({abs(a)} if 0 < abs(a) < b else set()))
    return mp.quad(lambda t: t * (mp.erfc((t - a) / mp.sqrt(2)) + mp.erfc((t + a) / mp.sqrt(2))), inner) / (b * b)


@_cached
def softsign_mean_by_s_integral(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)/sqrt((a + z)^2 + b^2)] by the s-integral (as numeric/_quadrature.py, reimplemented in mpmath):
    1/sqrt(x^2 + b^2) = (2/sqrt(pi)) int_0^oo exp(-(x^2 + b^2) s^2) ds, and the Gaussian integral over x in
    closed form: m = (2a/sqrt(pi)) int_0^oo exp(-b^2 s^2) (1 + 2s^2)^(-3/2) exp(-a^2 s^2/(1 + 2s^2)) ds.
    A positive integrand with no kink; split at its features s ~ 1/c, 1, 1/b (c = sqrt(2 + a^2 + b^2))."""
    if a == 0:
        return mp.mpf(0)
    c = mp.sqrt(2 + a * a + b * b)
    nodes = sorted({mp.mpf(0), 1 / c, mp.mpf(1), 1 / b, 10 / b}) + [mp.inf]

    def integrand(s):
        one = 1 + 2 * s * s
        return mp.exp(-b * b * s * s - a * a * s * s / one) / (one * mp.sqrt(one))

    return 2 * a / mp.sqrt(mp.pi) * mp.quad(integrand, nodes)


def faddeeva(zeta: mp.mpc) -> mp.mpc:
    """w(zeta) = exp(-zeta^2) erfc(-i zeta)."""
    return mp.exp(-zeta * zeta) * mp.erfc(-1j * zeta)


@_cached
def softsign_second_moment_by_faddeeva(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)^2/((a + z)^2 + b^2)] = 1 - b sqrt(pi/2) Re w((a + ib)/sqrt2) (a Voigt profile; no quadrature).

    1 - softsign^2 = b^2/(x^2 + b^2) = b Re 1/(b - i x), and E[1/(b - i(a + z))] = sqrt(pi/2) w((a + ib)/sqrt2).
    Extra digits: exp(-zeta^2) and erfc(-i zeta) are large and small for large |a|."""
    with mp.workdps(mp.mp.dps + int(a * a / 4) + 10):
        value = 1 - b * mp.sqrt(mp.pi / 2) * mp.re(faddeeva(mp.mpc(a, b) / mp.sqrt(2)))
    return +value


@_cached
def sign_mean_by_erf(a: mp.mpf) -> mp.mpf:
    """E[sign(a + z)] = erf(a/sqrt2)."""
    return mp.erf(a / mp.sqrt(2))


# Each reference and its independent route, by name (checks name them, so that workers of any
# executor find them and a test can swap a reference for a perturbed one).
ROUTES = {
    "clip_mean": "clip_mean_by_erf",
    "clip_second_moment": "clip_second_moment_by_tail",
    "softsign_mean": "softsign_mean_by_s_integral",
    "softsign_second_moment": "softsign_second_moment_by_faddeeva",
    "sign_mean": "sign_mean_by_erf",
}


@_cached
def softsign_second_moment_at_zero(b: mp.mpf) -> mp.mpf:
    """E[z^2/(z^2 + b^2)] (A-2's defining integral; even integrand: the half line)."""
    return gaussian_expectation(lambda t: t * t / (t * t + b * b), _softsign_cuts(mp.mpf(0), b), even=True)


# eps outside the root (sections/outside.py): u = x/(|x| + b), x = a + z, and the Laplace kernels
# E[x^n exp(-s|x|)] of its exact moments.  One kink, at x = 0 (z = -a); the curve's scale b is resolved
# by the same geometric cuts as the SoftSign's.

@_cached
def outside_mean(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)/(|a + z| + b)]: the exact mean of the update with eps outside the root."""
    def integrand(z: mp.mpf) -> mp.mpf:
        x = a + z
        return x / (abs(x) + b)

    return gaussian_expectation(integrand, _softsign_cuts(a, b))


@_cached
def outside_second_moment(a: mp.mpf, b: mp.mpf) -> mp.mpf:
    """E[(a + z)^2/(|a + z| + b)^2]: its exact second moment."""
    def integrand(z: mp.mpf) -> mp.mpf:
        x = a + z
        return x ** 2 / (abs(x) + b) ** 2

    return gaussian_expectation(integrand, _softsign_cuts(a, b))


@_cached
def outside_kernel_1(a: mp.mpf, s: mp.mpf) -> mp.mpf:
    """E[(a + z) exp(-s|a + z|)] (X-5's first defining integral)."""
    return gaussian_expectation(lambda z: (a + z) * mp.exp(-s * abs(a + z)), [-a])


@_cached
def outside_kernel_2(a: mp.mpf, s: mp.mpf) -> mp.mpf:
    """E[(a + z)^2 exp(-s|a + z|)] (X-5's second defining integral)."""
    return gaussian_expectation(lambda z: (a + z) ** 2 * mp.exp(-s * abs(a + z)), [-a])


@_cached
def outside_power_moment(a: mp.mpf, power: mp.mpf, signed: mp.mpf) -> mp.mpf:
    """E[x^power] for signed = 0 and E[sign(x) |x|^power] for signed = 1, x = a + z (X-9's coefficients).

    The integrand is scaled by (1 + |a|)^-power (|f| <= ~1 where the Gaussian weight is not negligible, as
    gaussian_expectation's truncation assumes), and the scale put back."""
    k, scale = int(power), (1 + abs(a)) ** int(power)
    if signed:
        return scale * gaussian_expectation(lambda z: mp.sign(a + z) * (abs(a + z) / (1 + abs(a))) ** k, [-a])
    return scale * gaussian_expectation(lambda z: (abs(a + z) / (1 + abs(a))) ** k, [-a])
