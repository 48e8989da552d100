"""High-precision evaluation of SymPy expressions, and comparisons with tolerances from precision.

Library code never sets the global ``mp.dps``: everything runs inside
``mp.workdps``.  A comparison at ``digits`` significant digits is evaluated with
``GUARD`` extra digits, so cancellation in a closed form (erf differences at tiny
b, say) cannot eat into the digits being compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath as mp
import sympy as sp

DIGITS = 30  # digits every numeric identity is verified to
GUARD = 40  # extra working digits against cancellation

Evaluator = Callable[..., mp.mpf]


def mp_function(expr: sp.Basic, symbols: Sequence[sp.Symbol]) -> Evaluator:
    """An mpmath function of ``symbols`` evaluating ``expr`` (call it inside ``mp.workdps``).

    An unevaluated one-dimensional ``Integral`` in ``expr`` is taken by ``mp.quad`` over its range, with
    its integrand lambdified once with common subexpressions shared (X-6's Laplace integrands repeat each
    erfc three times: sharing them is 2-3x fewer special-function calls than SymPy's printed quad)."""
    free = expr.free_symbols - set(symbols)
    if free:
        raise ValueError(f"expression has free symbols {sorted(map(str, free))} not among {list(map(str, symbols))}")
    integrals = sorted(expr.atoms(sp.Integral), key=sp.default_sort_key)
    if not integrals:
        return sp.lambdify(tuple(symbols), expr, modules="mpmath")
    names = {integral: sp.Function(f"_integral_{k}") for k, integral in enumerate(integrals)}
    module = {str(function): quadrature_of(integral, tuple(symbols)) for integral, function in names.items()}
    outer = expr.xreplace({integral: function(*symbols) for integral, function in names.items()})
    return sp.lambdify(tuple(symbols), outer, modules=[module, "mpmath"])


def quadrature_of(integral: sp.Integral, symbols: tuple[sp.Symbol, ...], functions: dict | None = None) -> Evaluator:
    """mp.quad of a one-dimensional Integral over its limits (which may depend on ``symbols``); ``functions``: names
    the integrand's printed code looks up there before mpmath (memoised versions of mpmath's, say)."""
    if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
        raise ValueError(f"only one-dimensional definite integrals are evaluated, not {integral}")
    variable, low, high = integral.limits[0]
    modules = [functions, "mpmath"] if functions else "mpmath"
    integrand = sp.lambdify((variable,) + symbols, integral.function, modules=modules, cse=True)
    bounds = sp.lambdify(symbols, sp.Tuple(low, high), modules="mpmath")

    def value(*args):
        lo, hi = bounds(*args)
        return mp.quad(lambda t: integrand(t, *args), [lo, hi])
    return value


@dataclass(frozen=True)
class Comparison:
    max_abs_error: float
    max_rel_error: float
    worst_point: tuple[str, ...]
    failures: int
    points: int


def compare(
    left: Evaluator,
    right: Evaluator,
    points: Sequence[tuple[str, ...]],
    digits: int = DIGITS,
    guard: int = GUARD,
) -> Comparison:
    """|left - right| <= 10^-digits * max(1, |left|, |right|) at every point (worst point reported).

    Both sides are evaluated at ``digits + guard`` working digits."""
    worst_abs, worst_rel, worst_at, failures = 0.0, 0.0, (), 0
    with mp.workdps(digits + guard):
        tol = mp.mpf(10) ** (-digits)
        for point in points:
            args = [mp.mpf(p) for p in point]
            lv, rv = left(*args), right(*args)
            err = abs(lv - rv)
            scale = max(mp.mpf(1), abs(lv), abs(rv))
            if not mp.isfinite(err) or err > tol * scale:
                failures += 1
            rel = err / max(abs(lv), abs(rv)) if max(abs(lv), abs(rv)) > 0 else err
            if not mp.isfinite(err) or float(err) >= worst_abs:
                worst_abs, worst_at = float(err) if mp.isfinite(err) else float("inf"), tuple(point)
            worst_rel = max(worst_rel, float(rel) if mp.isfinite(rel) else float("inf"))
    return Comparison(worst_abs, worst_rel, worst_at, failures, len(points))


@dataclass(frozen=True)
class ErrorMeasure:
    max_abs_error: float
    max_rel_error: float
    argmax_abs: tuple[str, ...]
    points: int


def measure_error(
    approx: Evaluator,
    exact: Evaluator,
    points: Sequence[tuple[str, ...]],
    digits: int = 20,
) -> ErrorMeasure:
    """Largest absolute and relative error of ``approx`` against ``exact`` over ``points``.

    Evaluated at ``digits`` working digits: an error measure needs a few correct digits, not 30."""
    worst_abs, worst_rel, where = -1.0, 0.0, ()
    with mp.workdps(digits):
        for point in points:
            args = [mp.mpf(p) for p in point]
            e, x = exact(*args), approx(*args)
            if not (mp.isfinite(e) and mp.isfinite(x)):
                raise ArithmeticError(f"non-finite value at {point}: exact={e}, approx={x}")
            err = abs(x - e)
            if float(err) > worst_abs:
                worst_abs, where = float(err), tuple(point)
            if e != 0:
                worst_rel = max(worst_rel, float(err / abs(e)))
    return ErrorMeasure(worst_abs, worst_rel, where, len(points))


def sup_error_1d(
    approx: Evaluator,
    exact: Evaluator,
    low: float,
    high: float,
    samples: int = 400,
    digits: int = 20,
) -> tuple[float, float]:
    """sup |approx - exact| on [low, high]: dense grid, then a local refinement of the best cell.

    Returns (sup, argmax).  The refinement is a golden-section search on the
    grid cell around the largest sample; the error function is smooth there.
    """
    with mp.workdps(digits + GUARD):
        def err(x: mp.mpf) -> mp.mpf:
            return abs(approx(x) - exact(x))

        xs = mp.linspace(mp.mpf(low), mp.mpf(high), samples)
        values = [err(x) for x in xs]
        k = max(range(samples), key=lambda i: values[i])
        lo, hi = xs[max(k - 1, 0)], xs[min(k + 1, samples - 1)]
        invphi = (mp.sqrt(5) - 1) / 2
        c, d = hi - invphi * (hi - lo), lo + invphi * (hi - lo)
        for _ in range(120):
            if err(c) > err(d):
                hi = d
            else:
                lo = c
            c, d = hi - invphi * (hi - lo), lo + invphi * (hi - lo)
        x_best = (lo + hi) / 2
        best = max(err(x_best), values[k])
        return float(best), float(x_best if err(x_best) >= values[k] else xs[k])
