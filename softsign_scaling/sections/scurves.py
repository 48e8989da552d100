"""E-3, E-4: two approximations of an S-curve S (odd, increasing, range (-1, 1), slope k at 0)."""

from __future__ import annotations

import mpmath as mp
import sympy as sp

from ..checks.base import MatchesPrinted, SupError1D
from ..checks.domain import domain
from ..checks.evaluate import mp_function
from ..steps import Derivation, Step, approximation
from ..symbols import k, x
from .common import clip

SECTION = "scurves"

c, d = sp.symbols("c d", positive=True)
S = sp.Function("S")
K_ERF = 2 / sp.sqrt(sp.pi)  # erf'(0)


def erf_slope() -> sp.Expr:
    """k for erf, derived: d/dx erf(x) at 0."""
    return sp.diff(sp.erf(x), x).subs(x, 0)


def steps(previous: Derivation) -> list[Step]:
    # E-3: the softsign-shaped curve c x / sqrt(x^2 + d) with the same range and slope at 0.
    template = c * x / sp.sqrt(x**2 + d)
    conditions = [sp.Eq(sp.limit(template, x, sp.oo), 1), sp.Eq(sp.diff(template, x).subs(x, 0), k)]
    (solution,) = sp.solve(conditions, [c, d], dict=True)
    e3_result = template.subs(solution)
    k_erf = erf_slope()
    e3 = Step(
        label="E-3",
        section=SECTION,
        statement="S(x) ~= x / sqrt(x^2 + 1/k^2): the softsign-shaped curve with S's range and slope k at 0",
        definition=sp.Tuple(*conditions),
        result=e3_result,
        printed=x / sp.sqrt(x**2 + 1 / k**2),
        relation=approximation("error measured for S = erf (k = 2/sqrt(pi)) as sup |error| on the real line"),
        checks=(
            MatchesPrinted(domain=domain((x, "real"), (k, "positive"))),
            SupError1D(name="erf ~= x/sqrt(x^2 + pi/4): sup error on R",
                       approx=lambda s: mp_function(s.result.subs(k, k_erf), (x,)), exact=mp.erf,
                       low=0, high=12, bound=0.12,
                       tail="both odd; for x > 12 the error is < pi/(8 x^2) < 3e-3"),
        ),
        extras=(("k_erf", k_erf),),
    )
    # E-4: the piecewise-linear curve with slope k at 0, saturating where k x = +-1.
    x_saturate = sp.solve(sp.Eq(k * x, 1), x)[0]
    e4_result = sp.Piecewise((-1, x <= -x_saturate), (k * x, x < x_saturate), (1, True))
    e4 = Step(
        label="E-4",
        section=SECTION,
        statement="S(x) ~= clip(k x, -1, 1): piecewise linear, slope k at 0, easier to integrate",
        definition=sp.Eq(sp.Symbol("x_sat"), x_saturate),
        result=e4_result,
        printed=clip(k * x),
        relation=approximation("error measured for S = erf (k = 2/sqrt(pi)) as sup |error| on the real line"),
        checks=(
            MatchesPrinted(domain=domain((x, "real"), (k, "positive"))),
            SupError1D(name="erf ~= clip(2x/sqrt(pi)): sup error on R",
                       approx=lambda s: mp_function(s.result.subs(k, k_erf), (x,)), exact=mp.erf,
                       low=0, high=6, bound=0.25,
                       tail="both odd; for x > 6 both are within 2e-17 of 1"),
        ),
        depends=("E-3",),
    )
    return [e3, e4]
