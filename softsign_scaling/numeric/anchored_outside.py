"""eps outside the root: the anchored form evaluated (X-12 .. X-15), and its large-b form in SGD units.

Hand-written runtime (issue 24): the expressions and series coefficients are generated from the steps
(numeric/generated/outside.py); this module picks the form per b (the closed forms of X-12/X-13 on
(1e-150, B_SWITCH), X-15's series in w = 1/b from B_SWITCH on, the b -> 0 values below 1e-150) and evaluates them.
At b >= B_FAR the form in SGD units is L-9's (X-14 at a = r b, b = 1/w), printed in numeric/generated/limits.py.
"""

import numpy
import scipy.special

from ._series import horner
from .generated import limits as _limits
from .generated import outside as _forms

B_SWITCH = _forms.B_SWITCH


def expi_scaled(y):
    """exp(-y) Ei(y) for 0 < y <= 50 (b < B_SWITCH): the scaled function the closed forms are printed with."""
    return scipy.special.expi(y) * numpy.exp(-y)


def _split(b):
    b = numpy.asarray(b, dtype=float)
    low = numpy.clip(b, 1e-150, B_SWITCH)  # the closed forms' range: q(b) -> 0 like b log(1/b) below 1e-150
    w = 1.0 / numpy.maximum(b, B_SWITCH)
    return b, low, w


def k0_outside(b):
    """X-12: the slope of the exact outside mean at a = 0, E[b/(|z| + b)^2] (b >= 0; sqrt(2/pi) at b = 0)."""
    b, low, w = _split(b)
    closed = _forms.k0_closed(low, expi_scaled)
    series = w * horner(_forms.BK0_SERIES, w)
    return numpy.where(b >= B_SWITCH, series, numpy.where(b > 1e-150, closed, numpy.sqrt(2 / numpy.pi) - b))


def s0_outside(b):
    """X-13: the exact outside second moment at a = 0, E[z^2/(|z| + b)^2]."""
    b, low, w = _split(b)
    closed = _forms.s0_closed(low, expi_scaled)
    series = w * w * horner(_forms.S0B2_SERIES, w)
    return numpy.where(b >= B_SWITCH, series, numpy.where(b > 1e-150, closed, 1.0))


def c_outside(b):
    """X-15: C = 1/k0^2 - (1 - s0)(b^2 + pi/2) > 0 (the anchored variance's numerator coefficient; pi/2 at b = 0)."""
    b, low, w = _split(b)
    k0_, s0_ = k0_outside(low), s0_outside(low)
    closed = 1.0 / (k0_ * k0_) - (1.0 - s0_) * (low * low + numpy.pi / 2)
    series = numpy.maximum(b, B_SWITCH) * horner(_forms.C_OVER_B_SERIES, w)
    return numpy.where(b >= B_SWITCH, series, closed)


def moments_anchored_outside(a, b):
    """X-14/X-15: (mean, variance) of the anchored outside model; the variance as a sum of positive terms."""
    a = numpy.asarray(a, dtype=float)
    b = numpy.asarray(b, dtype=float)
    k0_, s0_, C = k0_outside(b), s0_outside(b), c_outside(b)
    mean = a * k0_ / numpy.sqrt(a * a * k0_ * k0_ + 1.0)
    return numpy.clip(mean, -1.0, 1.0), _forms.variance_shape(a, b, k0_, s0_, C)


def far_anchored_outside(a, b):
    """b >= B_FAR, in SGD units (m = (a/b) mu, v = nu/b^2): L-9 (generated/limits.py) at X-15's series in w = 1/b,
    b k0, b^2 s0 and C/b (all O(1)); where its r^2 b overflows (|r| = |a/b| >~ 1e129 at b = 1e50, else NaN), the same
    moments divided through by r^2 (far_anchored_outside_wide; 0 where even r^2 overflows)."""
    a = numpy.asarray(a, dtype=float)
    b = numpy.asarray(b, dtype=float)
    w = 1.0 / b
    bk0 = horner(_forms.BK0_SERIES, w)
    s0b2 = horner(_forms.S0B2_SERIES, w)
    cb = horner(_forms.C_OVER_B_SERIES, w)
    with numpy.errstate(over='ignore', invalid='ignore', divide='ignore'):  # the rows not taken
        mu, nu = _limits.far_anchored_outside(a, b, bk0, s0b2, cb)
        wide = ~numpy.isfinite(nu)
        if wide.any():
            mu_wide, nu_wide = _limits.far_anchored_outside_wide(a, b, bk0, s0b2, cb)
            mu, nu = numpy.where(wide, mu_wide, mu), numpy.where(wide, nu_wide, nu)
    return mu, nu
