"""E-3, E-4: two approximations of an S-curve S (odd, increasing, range (-1, 1), slope k at 0)."""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ..checks.base import MatchesPrinted, SupError1D, ZeroIdentity
from ..checks.domain import domain
from ..checks.evaluate import mp_function
from ..steps import Derivation, Step, approximation
from ..symbols import k, x
from .common import build_in_order, clip

SECTION = "scurves"

c, d = sp.symbols("c d", positive=True)
S = sp.Function("S")
K_ERF = 2 / sp.sqrt(sp.pi)  # erf'(0)

# sup over x of |x/sqrt(x^2 + pi/4) - erf(x)| = 0.10784 (at x = 1.330), of |clip(2x/sqrt(pi)) - erf(x)|
# = 0.21009 (at the kink x = sqrt(pi)/2): acceptance bounds are these rounded up at two figures.
E3_SUP = 0.11
E4_SUP = 0.22
# The sup error does not see the constant: x/sqrt(x^2 + pi/6) is closer to erf in sup norm (0.066) than the
# article's pi/4.  Near 0 the slope decides: on [0, 0.1] the error is 3.3656e-4 (at x = 0.1) with pi/4 and
# 0.0066 with k^-3 in place of k^-2.
E3_NEAR_ZERO_SUP = 0.00034


def erf_slope() -> sp.Expr:
    """k for erf, derived: d/dx erf(x) at 0."""
    return sp.diff(sp.erf(x), x).subs(x, 0)


def s_curve_conditions(curve: sp.Expr) -> sp.Tuple:
    """What makes ``curve`` an S-curve with slope k: S(+-oo) = +-1, S'(0) = k (zero when they hold)."""
    if curve.has(sp.Piecewise):  # constant beyond its last kink (sympy's limit cannot order the pieces)
        ends = curve.subs(x, sp.oo), curve.subs(x, -sp.oo)
    else:
        ends = sp.limit(curve, x, sp.oo), sp.limit(curve, x, -sp.oo)
    return sp.Tuple(ends[0] - 1, ends[1] + 1, sp.diff(curve, x).subs(x, 0) - k)


def _e3(previous: Derivation) -> Step:
    """E-3: the softsign-shaped curve c x / sqrt(x^2 + d) with the same range and slope at 0."""
    template = c * x / sp.sqrt(x**2 + d)
    conditions = [sp.Eq(sp.limit(template, x, sp.oo), 1), sp.Eq(sp.diff(template, x).subs(x, 0), k)]
    (solution,) = sp.solve(conditions, [c, d], dict=True)
    k_erf = erf_slope()
    return Step(
        label="E-3",
        section=SECTION,
        statement="S(x) ~= x / sqrt(x^2 + 1/k^2): the softsign-shaped curve with S's range and slope k at 0",
        definition=sp.Tuple(*conditions),
        result=template.subs(solution),
        printed=x / sp.sqrt(x**2 + 1 / k**2),
        relation=approximation("error measured for S = erf (k = 2/sqrt(pi)) as sup |error| on the real line"),
        checks=(
            MatchesPrinted(domain=domain((x, "real"), (k, "positive"))),
            ZeroIdentity(name="S(+-oo) = +-1 and S'(0) = k", build=lambda s: s_curve_conditions(s.result)),
            SupError1D(name="erf ~= x/sqrt(x^2 + pi/4): sup error on R",
                       approx=lambda s: mp_function(s.result.subs(k, s.extra("k_erf")), (x,)), exact=mp.erf,
                       low=0, high=12, bound=E3_SUP,
                       tail="both odd; for x > 12 the error is < pi/(8 x^2) < 3e-3"),
            SupError1D(name="erf ~= x/sqrt(x^2 + pi/4) near 0, where the slope decides: sup error on [0, 0.1]",
                       approx=lambda s: mp_function(s.result.subs(k, s.extra("k_erf")), (x,)), exact=mp.erf,
                       low=0, high=0.1, bound=E3_NEAR_ZERO_SUP, tail="both odd"),
        ),
        extras=(("k_erf", k_erf),),
    )


def _e4(previous: Derivation) -> Step:
    """E-4: the piecewise-linear curve with slope k at 0, saturating where k x = +-1."""
    x_saturate = sp.solve(sp.Eq(k * x, 1), x)[0]
    k_erf = previous["E-3"].extra("k_erf")
    return Step(
        label="E-4",
        section=SECTION,
        statement="S(x) ~= clip(k x, -1, 1): piecewise linear, slope k at 0, easier to integrate",
        definition=sp.Eq(sp.Symbol("x_sat"), x_saturate),
        result=sp.Piecewise((-1, x <= -x_saturate), (k * x, x < x_saturate), (1, True)),
        printed=clip(k * x),
        relation=approximation("error measured for S = erf (k = 2/sqrt(pi)) as sup |error| on the real line"),
        checks=(
            # Max/Min (the printed clip) against a Piecewise: SymPy's attempts fail (~0.5 s), the comparison is numeric
            MatchesPrinted(domain=domain((x, "real"), (k, "positive")), try_symbolic=False),
            ZeroIdentity(name="S(+-oo) = +-1 and S'(0) = k", build=lambda s: s_curve_conditions(s.result)),
            # Saturation exactly at the defining x_sat: continuous there, so |S| <= 1 with no jump.
            ZeroIdentity(name="S(x_sat) = 1 and S(-x_sat) = -1 (continuous at the kinks)",
                         build=lambda s: sp.Tuple(s.result.subs(x, s.definition.rhs) - 1,
                                                  s.result.subs(x, -s.definition.rhs) + 1)),
            SupError1D(name="erf ~= clip(2x/sqrt(pi)): sup error on R",
                       approx=lambda s: mp_function(s.result.subs(k, k_erf), (x,)), exact=mp.erf,
                       low=0, high=6, bound=E4_SUP,
                       tail="both odd; for x > 6 both are within 2e-17 of 1"),
        ),
        depends=("E-3",),
    )


def steps(previous: Derivation) -> list[Step]:
    return build_in_order(previous, (_e3, _e4))
