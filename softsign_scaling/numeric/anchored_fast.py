"""The anchored model's fast route (what the ``anchored`` model and numeric.mean_anchored call): Kr, S, C from the
piecewise polynomial table in y = log b (``generated/anchored_table.py``, fitted and certified by codegen/anchored_code.py,
which evaluates this module's ``table_values`` in its certificate), then A-3's mean and A-4's variance.

Hand-written runtime code (issue 24: only expressions and coefficients are generated): the table is generated, this
module evaluates it; the closed route (A-1 .. A-4's closed forms and series) is numeric/anchored_closed.py.
"""

import functools

import numpy

# The table's layout (codegen/anchored_code.py fits the table to it): y = log b on segments of width 1/INV_H centred
# at Y_LO + i/INV_H, y in [Y_LO, Y_HI]; degree DEGREE per segment.  Width 1/16 and degree 6: truncation ~7e-15 (the
# functions are analytic within pi/2 of the real y axis: K_nu's cut at b^2 < 0), against 5e-13 at degree 5; degree 8
# at width 1/8 costs 27 gathers a point, not 21.
Y_LO, Y_HI, INV_H = -40, 20, 16
SEGMENTS = (Y_HI - Y_LO) * INV_H + 1
DEGREE = 6
HALF_PI = numpy.pi / 2
BLOCK = 1 << 14  # points per block (the temporaries stay in the core's cache)


@functools.lru_cache(maxsize=1)
def committed_table():
    """The table's monomial coefficients, float64 (3, DEGREE + 1, SEGMENTS): function (Kr, S, C), power of t, segment."""
    from .generated import anchored_table as table
    from ._fast import decode

    integers = decode(table.COEFFICIENTS, SEGMENTS)
    return numpy.ldexp(integers.astype(float), -table.QUANTUM_BITS).reshape(3, DEGREE + 1, SEGMENTS)


def table_values(b, count=3, table=None):
    """The first ``count`` of Kr = 1/(k0^2 (b^2 + pi/2)), S = s0 (b^2 + pi/2), C = c_gap at b (1-D float64, b >= 0):
    segment i = rint((log b - Y_LO) INV_H) (clamped to the table), t = (log b - Y_LO) INV_H - i, Horner in t."""
    coefficients = committed_table() if table is None else table
    with numpy.errstate(divide="ignore"):  # b = 0: log b = -inf, clamped to the first segment's centre
        s = numpy.log(b)
    s *= INV_H
    s -= Y_LO * INV_H
    numpy.maximum(s, 0.0, out=s)  # two ufuncs: cheaper than numpy.clip's wrapper on small blocks
    numpy.minimum(s, SEGMENTS - 1.0, out=s)
    centre = numpy.rint(s)
    s -= centre  # t in [-1/2, 1/2]
    index = centre.astype(numpy.intp)
    scratch = numpy.empty(s.shape)
    values = []
    for rows in coefficients[:count]:
        total = rows[DEGREE].take(index, mode="clip")  # every index is in range: "clip" skips the bounds check
        for row in rows[DEGREE - 1::-1]:
            total *= s
            total += row.take(index, out=scratch, mode="clip")
        values.append(total)
    return values


def _moments_block(a, b, mean, variance, table):
    kr, big_s, c = table_values(b, 3, table)
    r = b * b
    r += HALF_PI  # b^2 + pi/2
    k = kr
    k *= r  # K = 1/k0^2
    a2 = a * a
    q = a2 + k
    numpy.sqrt(q, out=mean)
    numpy.divide(a, mean, out=mean)  # a/sqrt(a^2 + 1/k0^2)
    c *= a2
    big_s *= k
    c += big_s  # C a^2 + s0 (b^2 + pi/2)/k0^2
    r += a2
    q *= r
    numpy.divide(c, q, out=variance)  # A-4's variance


def moments_anchored(a, b, table=None):
    """(mean, variance) of the anchored model at (a, b) from the table: A-3's mean a/sqrt(a^2 + K) and A-4's variance
    (C a^2 + S K)/((a^2 + K)(a^2 + b^2 + pi/2)), K = Kr (b^2 + pi/2) = 1/k0^2; within ~1e-14 of the closed forms
    evaluated exactly (tests/test_numeric_anchored.py), for |a| < 1e50 and 0 <= b < 1e50.  Elementwise: a point
    gives the same bits alone and inside an array."""
    a, b = numpy.broadcast_arrays(numpy.asarray(a, dtype=float), numpy.asarray(b, dtype=float))
    shape = a.shape
    a, b = a.ravel(), b.ravel()
    mean, variance = numpy.empty(a.size), numpy.empty(a.size)
    for start in range(0, a.size, BLOCK):
        part = slice(start, start + BLOCK)
        _moments_block(a[part], b[part], mean[part], variance[part], table)
    return mean.reshape(shape), variance.reshape(shape)


def mean_anchored(a, b):
    """A-3 (the fast route: moments_anchored's mean)."""
    return moments_anchored(a, b)[0]


def variance_anchored(a, b):
    """A-3/A-4 (the fast route: moments_anchored's variance)."""
    return moments_anchored(a, b)[1]
