"""High-precision references for the numeric tests: the pipeline's own expressions, evaluated by mpmath.

``closed_form(label)`` evaluates a step's derived expression in (a, b) with as many digits as
it needs: at least 50, more where the expression cancels (E-8 at tiny b or tiny a, a variance
near 1e-300), until two evaluations 30 digits apart agree to 1e-25.
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath as mp
import numpy as np
import sympy as sp

from softsign_scaling.checks.evaluate import mp_function
from softsign_scaling.codegen.numeric_code import derivation_for_numeric
from softsign_scaling.symbols import a, b


@lru_cache(maxsize=1)
def derivation():
    return derivation_for_numeric()


@lru_cache(maxsize=None)
def _function(name: str):
    d = derivation()
    e8, e9, e11, e12 = (d[label].result for label in ("E-8", "E-9", "E-11", "E-12"))
    exprs = {"E-8": e8, "E-11": e11, "variance": e11 - e8**2, "E-9": e9, "E-12": e12, "variance approx": e12 - e9**2}
    if name == "variance upper form":
        # E[y^2] - E[y]^2 with y = 1 - clip: proved equal to E-11 - E-8^2 (stable.prove_tail_forms) and free of
        # the cancellation that makes E-11 - E-8^2 need ~1000 digits for a variance of 1e-1000.
        from softsign_scaling import stable

        mean = stable.tail_form(stable._clip_pieces(d, 1), bulk=2)
        square = stable.tail_form(stable._clip_pieces(d, 2), bulk=2)
        return mp_function(stable.to_elementary(stable.canonical(square - mean**2)), (a, b))
    return mp_function(exprs[name], (a, b))


# Expressions whose cancellation is bounded (by ~2 |log10 b| digits), not tied to the value's smallness.
_BOUNDED_CANCELLATION = {"variance upper form"}


def evaluate(name: str, av: float, bv: float, digits: int = 50) -> mp.mpf:
    """The expression ``name`` at (av, bv) (exact binary floats), resolved to ``digits`` significant digits."""
    f = _function(name)
    work = digits + 30
    if name in _BOUNDED_CANCELLATION:
        av = abs(av)  # the variance is even; the upper form is free of cancellation for a >= 0
        with mp.workdps(digits + 50):
            value = f(mp.mpf(av), mp.mpf(bv))
        with mp.workdps(digits + 80):
            check = f(mp.mpf(av), mp.mpf(bv))
        if abs(value - check) > abs(check) * mp.mpf(10) ** (-digits):
            raise ArithmeticError(f"{name} at ({av!r}, {bv!r}) unresolved at {digits + 80} digits")
        return check
    previous = None
    for _ in range(16):
        with mp.workdps(work):
            value = f(mp.mpf(av), mp.mpf(bv))
        if value == 0:  # total cancellation, or a true zero (a = 0 in an odd function): look much closer
            if work > 1500:
                return value
            previous, work = None, 2 * work + 200
            continue
        if previous is not None and abs(value - previous) <= abs(previous) * mp.mpf(10) ** (-25):
            return value
        previous = value
        work = max(work + 30, int(-mp.log10(abs(value))) + digits + 40)
    raise ArithmeticError(f"{name} at ({av!r}, {bv!r}) did not settle up to {work} digits")


def relative_error(value: float, reference: mp.mpf, floor: float = 1e-300) -> float:
    """|value - reference| / |reference|, with an absolute floor below float64's normal range."""
    error = abs(mp.mpf(value) - reference)
    if abs(reference) < floor:
        return float(error / floor)
    return float(error / abs(reference))


def softsign_moments_s_integral(av: float, bv: float, dps: int = 25) -> tuple[mp.mpf, mp.mpf]:
    """(mean, second moment) of the SoftSign by two representations independent of the tested code's rules:

    mean = (2a/sqrt pi) int_0^oo exp(-b^2 s^2) (1 + 2 s^2)^(-3/2) exp(-a^2 s^2/(1 + 2 s^2)) ds (mp.quad,
    split at the integrand's scales), second moment = 1 - b sqrt(pi/2) Re w((a + ib)/sqrt2) with
    w(z) = exp(-z^2) erfc(-iz) in mpmath's complex erfc.
    """
    # 1 - (b sqrt(pi/2) Re w) cancels ~2 log10(b) digits when b is large (the second moment ~ (a^2 + 1)/b^2).
    with mp.workdps(dps + 5 + 2 * max(0, int(math.log10(bv)) + 1 if bv > 0 else 0)):
        A, Bv = mp.mpf(av), mp.mpf(bv)
        c = mp.sqrt(2 + A * A + Bv * Bv)

        def integrand(s):
            one = 1 + 2 * s * s
            return mp.exp(-Bv * Bv * s * s - A * A * s * s / one) / one**1.5

        cuts = [0, 1 / c, 1] + ([1 / Bv] if Bv > 0 else []) + [mp.inf]
        cuts = sorted(set(cuts))
        mean = 2 * A / mp.sqrt(mp.pi) * mp.quad(integrand, cuts)
        z = (A + 1j * Bv) / mp.sqrt(2)
        w = mp.exp(-z * z) * mp.erfc(-1j * z)
        second = 1 - Bv * mp.sqrt(mp.pi / 2) * mp.re(w)
        return mean, second


# --- seeded (a, b) grids for the fitted tables' accuracy tests (drawn independently of the fitting nodes) ---


def log_uniform(rng, low, high, size):
    return 10.0 ** rng.uniform(low, high, size)


def regions(edges_low: float, edges_name: str) -> tuple:
    """(name, |a| sampler, b sampler) for each region of the (a, b) plane; the last, the b edges, reaches down to
    10^edges_low (the inside tables hold to 1e-300, the outside tables' skeletons take over below 1e-150)."""
    return (
        ("core: |a| < 6, 1e-4 < b < 100", lambda r, n: r.uniform(0, 6, n), lambda r, n: log_uniform(r, -4, 2, n)),
        ("small b: 1e-13 < b < 1e-4", lambda r, n: log_uniform(r, -3, 1.2, n), lambda r, n: log_uniform(r, -13, -4, n)),
        ("near m = +-1, kink: 6 < |a| < 30, b < 1e-2", lambda r, n: r.uniform(6, 30, n),
         lambda r, n: log_uniform(r, -30, -2, n)),
        ("large |a|: 20 < |a| < 1e8", lambda r, n: log_uniform(r, 1.3, 8, n), lambda r, n: log_uniform(r, -12, 9, n)),
        ("large b: 100 < b < 1e9", lambda r, n: log_uniform(r, -3, 8, n), lambda r, n: log_uniform(r, 2, 9, n)),
        (edges_name, lambda r, n: log_uniform(r, -3, 1.6, n),
         lambda r, n: np.where(r.uniform(size=n) < 0.5, log_uniform(r, edges_low, -13, n), log_uniform(r, 9, 40, n))),
    )


def seeded_grid(per_region: int, seed: int, among: tuple) -> list[tuple[str, float, float]]:
    """per_region points of each region (a's sign drawn separately): [(region name, a, b)]."""
    rng = np.random.default_rng(seed)
    points = []
    for name, size, scale in among:
        a_ = size(rng, per_region) * rng.choice([-1.0, 1.0], per_region)
        b_ = scale(rng, per_region)
        points += [(name, float(x), float(y)) for x, y in zip(a_, b_)]
    return points
