"""The anchored closed form (A-1 .. A-4) evaluated: the anchors k0(b), s0(b), C(b) and A-3/A-4's moments.

Hand-written runtime (issue 24): the expressions and series coefficients are generated from the steps
(numeric/generated/anchored.py); this module picks the form per b (the closed forms below B_SWITCH, A-4's
series in w2 = 1/b^2 from it on, sqrt(2/pi) below 1e-150) and evaluates them.  The closed forms go through scipy's
kve and erfcx: the reference route, ~0.5 us a point; the models take the fitted table (numeric/anchored_fast.py).
"""

import numpy

from ._series import horner
from .generated import anchored as _forms

B_SWITCH = _forms.B_SWITCH


def k0(b):
    """A-1: the slope of the exact SoftSign mean at a = 0 (b >= 0; b = 0 gives sqrt(2/pi))."""
    b = numpy.asarray(b, dtype=float)
    small = numpy.maximum(b, 1e-150)  # at b < 1e-150, b^2/4 underflows; k0 is sqrt(2/pi) to float64 there
    big = numpy.maximum(b, B_SWITCH)
    w2 = 1.0 / (big * big)
    with numpy.errstate(over='ignore', invalid='ignore'):
        closed = _forms.k0_closed(small)
    series = horner(_forms.BK0_SERIES, w2) / big
    return numpy.where(b >= B_SWITCH, series, numpy.where(b > 1e-150, closed, numpy.sqrt(2 / numpy.pi)))


def one_minus_s0(b):
    """1 - A-2: one minus the exact SoftSign second moment at a = 0."""
    b = numpy.asarray(b, dtype=float)
    big = numpy.maximum(b, B_SWITCH)
    w2 = 1.0 / (big * big)
    closed = _forms.one_minus_s0_closed(b)
    series = horner(_forms.ONE_MINUS_S0_SERIES, w2)
    return numpy.where(b >= B_SWITCH, series, closed)


def s0(b):
    """A-2: the exact SoftSign second moment at a = 0 (its large-b series has no leading 1 to cancel)."""
    b = numpy.asarray(b, dtype=float)
    big = numpy.maximum(b, B_SWITCH)
    w2 = 1.0 / (big * big)
    series = w2 * horner(_forms.S0_SERIES, w2)
    return numpy.where(b >= B_SWITCH, series, 1.0 - one_minus_s0(numpy.minimum(b, B_SWITCH)))


def c_gap(b):
    """A-4: C = 1/k0^2 - (1 - s0)(b^2 + pi/2) > 0, the numerator coefficient of the anchored variance."""
    b = numpy.asarray(b, dtype=float)
    big = numpy.maximum(b, B_SWITCH)
    w2 = 1.0 / (big * big)
    low = numpy.minimum(b, B_SWITCH)
    closed = _forms.c_closed(low, k0(low), one_minus_s0(low))
    series = horner(_forms.C_SERIES, w2)
    return numpy.where(b >= B_SWITCH, series, closed)


def mean_closed(a, b):
    """A-3: a/sqrt(a^2 + 1/k0^2) (closed forms: the reference route)."""
    return _forms.mean_shape(a, k0(b))


def variance_closed(a, b):
    """A-3/A-4: s - m^2, without cancellation (closed forms: the reference route)."""
    return _forms.variance_shape(a, b, k0(b), s0(b), c_gap(b))


def moments_closed(a, b):
    """(mean_closed(a, b), variance_closed(a, b)), bit for bit, with k0 and 1 - s0 evaluated once per point.

    c_gap's closed form reads k0(low) and one_minus_s0(low), low = min(b, B_SWITCH): where b < B_SWITCH, low is b
    itself, so k0(b) serves; where b >= B_SWITCH the series is taken and the closed value discarded."""
    b = numpy.asarray(b, dtype=float)
    big = numpy.maximum(b, B_SWITCH)
    w2 = 1.0 / (big * big)
    low = numpy.minimum(b, B_SWITCH)
    k0_, oms0_low = k0(b), one_minus_s0(low)
    s0_ = numpy.where(b >= B_SWITCH, w2 * horner(_forms.S0_SERIES, w2), 1.0 - oms0_low)
    C = numpy.where(b >= B_SWITCH, horner(_forms.C_SERIES, w2), _forms.c_closed(low, k0_, oms0_low))
    return _forms.mean_shape(a, k0_), _forms.variance_shape(a, b, k0_, s0_, C)
