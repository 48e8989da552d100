"""LaplaceIdentity: a NumericIdentity for expressions holding Laplace integrals (X-6's comparison), with each
integral's value cached per (integral, point, precision).  Moved here from sections/outside.py (a check class lives
with the checks; issue 24)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath as mp
import sympy as sp

from ..steps import Step
from .base import NumericIdentity, as_expr, check_result
from .evaluate import quadrature_of
from .reference import remembered


@dataclass(frozen=True)
class LaplaceIdentity(NumericIdentity):
    """X-6's comparison: NumericIdentity's, point by point at ``digits + guard`` working digits, with two economies
    that change no verdict.  Each Laplace integral's value is cached per (integral, point, precision), so an
    expression that reuses an integral (the result times a constant, its negative, the other element of the
    Tuple) costs no new quadrature; and the first point outside the tolerance ends the comparison (the verdict
    is "fail" from there whatever the other points give; the evidence then names that point).  A passing
    check has evaluated every point, as before."""

    def run(self, step: Step):
        expr = as_expr(self.build(step))
        integrals = sorted(expr.atoms(sp.Integral), key=sp.default_sort_key)
        names = [sp.Symbol(f"_laplace_{k}") for k in range(len(integrals))]
        outer = sp.lambdify(names + list(self.domain.symbols), expr.xreplace(dict(zip(integrals, names))),
                            modules="mpmath")
        worst_abs, worst_rel, worst_at, failures, done = 0.0, 0.0, (), 0, 0
        dps = self.digits + self.guard
        with mp.workdps(dps):
            tol = mp.mpf(10) ** (-self.digits)
            for point in self.domain.points():
                args = [mp.mpf(p) for p in point]
                values = [laplace_value(integral, tuple(self.domain.symbols), tuple(point), dps)
                          for integral in integrals]
                left, right = outer(*values, *args), self.reference(*args)
                err = abs(left - right)
                done += 1
                size = max(abs(left), abs(right))
                rel = err / size if size > 0 else err
                if not mp.isfinite(err) or float(err) >= worst_abs:
                    worst_abs, worst_at = (float(err) if mp.isfinite(err) else math.inf), tuple(point)
                worst_rel = max(worst_rel, float(rel) if mp.isfinite(rel) else math.inf)
                if not mp.isfinite(err) or err > tol * max(mp.mpf(1), size):
                    failures += 1
                    break
        points = len(self.domain.points())
        detail = (f"{failures} of {points} points outside 1e-{self.digits} (relative)" if not failures else
                  f"point {done} of {points} outside 1e-{self.digits} (relative); the comparison stopped there")
        return check_result(step, name=self.name, kind=self.kind, method="numeric",
                       verdict="pass" if failures == 0 else "fail", max_abs_error=worst_abs,
                       max_rel_error=worst_rel, digits=self.digits, points=done,
                       where=f"worst at {dict(zip(map(str, self.domain.symbols), worst_at))}", detail=detail)


@lru_cache(maxsize=4096)
def laplace_value(integral: sp.Integral, symbols: tuple, point: tuple[str, ...], dps: int):
    """One Laplace integral at one point (mp.quad of its lambdified integrand, checks/evaluate.py's route)."""
    with mp.workdps(dps):
        return _compiled(integral, symbols)(*[mp.mpf(p) for p in point])


@lru_cache(maxsize=64)
def _compiled(integral: sp.Integral, symbols: tuple):
    return quadrature_of(integral, symbols, functions=_MEMOISED)


# A Laplace integrand is e^(-b s) K(a, s): at every b of the domain, and in the other moment's integrand, the
# quadrature's nodes s and the erfc and exp of K(a, s) there are the same numbers.
_MEMOISED = {"erfc": remembered(mp.erfc, 200_000), "exp": remembered(mp.exp, 200_000)}
