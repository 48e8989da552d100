"""Benchmark softsign_scaling.numeric against its targets; every ratio is measured in this one run.

Run: python benchmarks/bench_numeric.py   (exit status 1 when a target is missed)

* import: ``import softsign_scaling.numeric`` on top of numpy and scipy.special, fresh interpreters,
  best of 7: <= 0.15 s, and SymPy not imported.
* eta_star(model="mean_field") over 10^6 batch sizes: <= 1.3 x the same formula hand-written in numpy.
* mean_clip, second_moment_clip over 10^6 points: <= 2 x a naive numpy expression of the same formula.
* mean_exact, second_moment_exact over 10^4 points: <= 2 s, and >= 100 x faster than mpmath.quad per
  point at 15 digits (mpmath timed on a sample of the same points, per point, and scaled to 10^4).
* eta_star(model="anchored") over 10^5 batch sizes (n = 50, dense H): <= 2 x the same formula hand-written
  in numpy with BLAS products (the fixed-order row sums that make a point's bits independent of the
  array it sits in cost this ratio).
* 1000 scalar eta_star calls with a numeric.Problem (validated once) against the spelled-out
  (g, sigma, H, eps) (validated on every call): reported, target >= 1.

Points follow the hostile grid's spread: a = +-10^U(-12, 4), b = 10^U(-12, 8) (log-uniform).
Timings are the best of several repeats (the least disturbed by other load).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import mpmath as mp
import numpy as np
import scipy.special as sc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _timing  # noqa: E402  (the shared timing helper)

from softsign_scaling import numeric  # noqa: E402

SEED = 20241127


def best_of(function, repeats: int = 7) -> float:
    return _timing.best_of(function, repeats)


def hostile_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-12, 4, n)
    b = 10.0 ** rng.uniform(-12, 8, n)
    return a, b


def import_cost() -> tuple[float, bool]:
    code = ("import time, sys\n"
            "import numpy, scipy.special\n"
            "t = time.perf_counter()\n"
            "import softsign_scaling.numeric\n"
            "print(time.perf_counter() - t, 'sympy' in sys.modules or 'matplotlib' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = []
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        runs.append((float(out[0]), out[1] == "True"))
    return min(r[0] for r in runs), any(r[1] for r in runs)


def naive_mean(a, b):
    """E-8 as printed: 1/2 [erf(p) + erf(m)] + a/(2b) [erf(p) - erf(m)] + (exp(-(a+b)^2/2) - exp(-(a-b)^2/2))/(b sqrt(2 pi))."""
    Ep, Em = sc.erf((a + b) / np.sqrt(2)), sc.erf((a - b) / np.sqrt(2))
    return (0.5 * (Ep + Em) + a / (2 * b) * (Ep - Em)
            + (np.exp(-(a + b) ** 2 / 2) - np.exp(-(a - b) ** 2 / 2)) / (b * np.sqrt(2 * np.pi)))


def naive_second_moment(a, b):
    """E-11 in its compact form: 1 + (a^2 + 1 - b^2)(E+ - E-)/(2b^2) + ((a - b) G+ - (a + b) G-)/b^2."""
    Ep, Em = sc.erf((a + b) / np.sqrt(2)), sc.erf((a - b) / np.sqrt(2))
    Gp = np.exp(-(a + b) ** 2 / 2) / np.sqrt(2 * np.pi)
    Gm = np.exp(-(a - b) ** 2 / 2) / np.sqrt(2 * np.pi)
    return 1 + (a * a + 1 - b * b) * (Ep - Em) / (2 * b * b) + ((a - b) * Gp - (a + b) * Gm) / (b * b)


def mpmath_quad_per_point(a: np.ndarray, b: np.ndarray, squared: bool) -> float:
    """Seconds per point of mpmath.quad at 15 digits, split at the kink z = -a."""
    start = time.perf_counter()
    with mp.workdps(15):
        for av, bv in zip(a, b):
            A, Bv = mp.mpf(av), mp.mpf(bv)
            if squared:
                f = lambda z: (A + z) ** 2 / ((A + z) ** 2 + Bv * Bv) * mp.npdf(z)  # noqa: E731
            else:
                f = lambda z: (A + z) / mp.sqrt((A + z) ** 2 + Bv * Bv) * mp.npdf(z)  # noqa: E731
            mp.quad(f, [-mp.inf, -A, mp.inf])
    return (time.perf_counter() - start) / len(a)


def main() -> int:
    rng = np.random.default_rng(SEED)
    rows, ok = [], True

    def report(name: str, value: float, target: str, passed: bool) -> None:
        nonlocal ok
        ok &= passed
        rows.append(f"{name:<58} {value:>10.3f}   {target:<12} {'ok' if passed else 'MISSED'}")

    seconds, sympy_loaded = import_cost()
    report("import softsign_scaling.numeric over numpy+scipy [s]", seconds, "<= 0.15", seconds <= 0.15)
    report("  ... sympy or matplotlib imported (1 = yes)", float(sympy_loaded), "== 0", not sympy_loaded)

    # eta* over 10^6 batch sizes, mean field, against the same formula hand-written in numpy.
    n = 50
    g = rng.standard_normal(n)
    sigma = 10 ** rng.uniform(-1, 1, n)
    M = rng.standard_normal((n, n))
    H = M @ M.T / n + np.eye(n)
    eps = 0.1
    B = 10 ** rng.uniform(0, 8, 10**6)
    nu = g / np.sqrt(g * g + eps * eps)
    G, S, T = nu @ g, nu @ H @ nu, np.trace(H)
    kappa2 = np.mean(sigma**2 / (g * g + eps * eps))

    def hand_written():  # E-14 as printed, with numpy's fastest spelling of (1 + x)^(-1/2)
        beta = 1 / np.sqrt(1 + (np.pi / 2 * kappa2) / B)
        beta2 = beta * beta
        return beta * G / (beta2 * S + (1 - beta2) * T)

    reference = hand_written()
    ours = numeric.eta_star(B, g, sigma, H, eps, model="mean_field")
    assert np.allclose(ours, reference, rtol=1e-12, atol=0)
    ratio = best_of(lambda: numeric.eta_star(B, g, sigma, H, eps, model="mean_field")) / best_of(hand_written)
    report("eta_star(mean_field), 1e6 B, / hand-written numpy", ratio, "<= 1.3", ratio <= 1.3)

    # eta* per component (the default model) over 10^5 batch sizes, against hand-written numpy with BLAS.
    from softsign_scaling.numeric import anchored_fast as _anchored

    problem = numeric.Problem(g, sigma, H, eps)
    B5 = B[:10**5]

    def hand_written_anchored():
        root = np.sqrt(B5)[:, None]
        A, Bb = g * root / sigma, eps * root / sigma
        m, v = _anchored.mean_anchored(A, Bb), _anchored.variance_anchored(A, Bb)
        return (m @ g) / (np.einsum("ki,ij,kj->k", m, H, m, optimize=True) + v @ np.diag(H))

    assert np.allclose(numeric.eta_star(B5, problem), hand_written_anchored(), rtol=1e-12, atol=0)
    ratio = best_of(lambda: numeric.eta_star(B5, problem), repeats=3) / best_of(hand_written_anchored, repeats=3)
    report("eta_star(anchored), 1e5 B, n = 50, / hand-written numpy+BLAS", ratio, "<= 2", ratio <= 2.0)
    scalars = B[:1000]
    spelled = best_of(lambda: [numeric.eta_star(x, g, sigma, H, eps) for x in scalars], repeats=3)
    with_problem = best_of(lambda: [numeric.eta_star(x, problem) for x in scalars], repeats=3)
    report("1000 scalar eta_star calls: spelled out / with a Problem", spelled / with_problem, ">= 1",
           spelled >= with_problem)

    # Clipped moments over 10^6 points against the naive numpy expressions.
    a, b = hostile_points(10**6, rng)
    with np.errstate(all="ignore"):
        for name, ours, naive in (("mean_clip", numeric.mean_clip, naive_mean),
                                  ("second_moment_clip", numeric.second_moment_clip, naive_second_moment)):
            ratio = best_of(lambda: ours(a, b)) / best_of(lambda: naive(a, b))
            report(f"{name}, 1e6 points, / naive numpy", ratio, "<= 2", ratio <= 2.0)

    # Exact moments over 10^4 points, and mpmath.quad per point at 15 digits on a sample.
    a, b = hostile_points(10**4, rng)
    for name, ours, squared in (("mean_exact", numeric.mean_exact, False),
                                ("second_moment_exact", numeric.second_moment_exact, True)):
        seconds = best_of(lambda: ours(a, b), repeats=3)
        per_point = mpmath_quad_per_point(a[:100], b[:100], squared)
        speedup = per_point * a.size / seconds
        report(f"{name}, 1e4 points [s]", seconds, "<= 2", seconds <= 2.0)
        report(f"  ... mpmath.quad at 15 digits (x 1e4) / {name}", speedup, ">= 100", speedup >= 100)

    print(f"{'measure':<58} {'value':>10}   {'target':<12}")
    print("\n".join(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
