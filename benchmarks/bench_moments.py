"""The fast exact moments against the quadrature they replace; every ratio is measured in this one run.

Run: python benchmarks/bench_moments.py [--points N]   (exit status 1 when a target is missed)

Per point (best of several repeats, the least disturbed by other load), on three point sets:
* "typical": a = +-U(0, 10), b = 10^U(-8, 2) (a network's components: a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma);
* "hostile": a = +-10^U(-12, 4), b = 10^U(-12, 8) (tests/test_numeric_accuracy.py's spread);
* "kink": |a| = U(6, 30), b = 10^U(-30, -2) (m near +-1, tiny variances: the quadrature's costliest rule).
For each: the old quadrature (numeric/_quadrature.py, one thread) and the new tables (numeric/_fast.py), both
called on the regular domain as numeric.* calls them, for mean_exact, second_moment_exact, variance_exact and the
pair moments_exact (old: mean_exact + variance_exact).  The tables are timed four ways: the numpy path on one
thread and on every core, and the compiled kernel (numeric/_kernel.py, the extra ``fast``; skipped without numba) on one thread
and on every core (_threads.THREADS, the default).  Ratios: old over the default (kernel, all cores) and old over
the kernel on one thread (per core).  Then the public
numeric.moments_exact (input validation and the b = 0 / far-field dispatch included).  As a floor, the
plain numpy closed forms E-9/E-12 (numeric.mean_approx + variance_approx: a few ufuncs a point).

Also eps outside the root: the pair (mean, variance) of u = x/(|x| + b) from the quadrature of
numeric/_outside.py (the previous route of the exact model with placement="outside") against its tables
(``_fast.outside_moments``), with the same target.

Targets: the pair and each of mean_exact and variance_exact >= 100 x faster than the quadrature on the
typical and hostile sets, by the default path (exit status 1 and a MISSED line otherwise).
(second_moment_exact's old route is mostly one Faddeeva call; its ratio is reported, not targeted.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from softsign_scaling import numeric  # noqa: E402
from softsign_scaling.numeric import _fast, _outside, _threads  # noqa: E402
from softsign_scaling.numeric import _quadrature as quadrature  # noqa: E402

SEED = 20261129
TARGET = 100.0


def best_of(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def point_sets(n: int, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    sign = rng.choice([-1.0, 1.0], n)
    return {
        "typical": (sign * rng.uniform(0, 10, n), 10.0 ** rng.uniform(-8, 2, n)),
        "hostile": (sign * 10.0 ** rng.uniform(-12, 4, n), 10.0 ** rng.uniform(-12, 8, n)),
        "kink": (sign * rng.uniform(6, 30, n), 10.0 ** rng.uniform(-30, -2, n)),
    }


def old_functions():
    """The quadrature on the regular domain (as numeric called it before; a >= 0 where it is even/odd)."""
    def mean(a, b):
        return np.copysign(quadrature.mean_exact(np.abs(a), b), a)

    def pair(a, b):
        return mean(a, b), quadrature.variance_exact(np.abs(a), b)

    return {"mean_exact": mean, "second_moment_exact": lambda a, b: quadrature.second_moment_exact(a, b),
            "variance_exact": lambda a, b: quadrature.variance_exact(np.abs(a), b), "moments_exact (pair)": pair}


def new_functions():
    return {"mean_exact": _fast.mean_exact, "second_moment_exact": _fast.second_moment_exact,
            "variance_exact": _fast.variance_exact, "moments_exact (pair)": _fast.moments}


class Route:
    """The tables' path for a timing: the numpy path or the kernel, on one thread or on every core."""

    def __init__(self, kernel: bool, threads: int):
        self.kernel, self.threads = kernel, threads

    def __enter__(self):
        self.saved = _fast.kernel, _threads.THREADS
        if not self.kernel:
            _fast.kernel = lambda: None
        _threads.THREADS = self.threads

    def __exit__(self, *exc):
        _fast.kernel, _threads.THREADS = self.saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000, help="points per set for the new code (default 1e5)")
    parser.add_argument("--old-points", type=int, default=2_000,
                        help="points per set for the quadrature (default 2000)")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    sets = point_sets(args.points, rng)
    numeric.moments_exact(0.5, 0.5)  # load the tables (and compile or load the kernel) before timing
    _fast.outside_moments(np.array([0.5]), np.array([0.5]))
    compiled = _fast.kernel() is not None
    paths = {"numpy 1T": Route(False, 1), f"numpy {_threads.THREADS}T": Route(False, _threads.THREADS)}
    if compiled:
        paths.update({"kernel 1T": Route(True, 1), f"kernel {_threads.THREADS}T": Route(True, _threads.THREADS)})
    default = list(paths)[-1]
    missed = []
    print(f"per point in us, best of repeats; new: {args.points} points, old: {args.old_points} points (same draws)")
    print(f"default path: {default} (numba {'installed' if compiled else 'not installed'}; numeric.exact_backend() = "
          f"{numeric.exact_backend()!r})")
    print(f"{'set':<8} {'function':<22} {'old':>8} " + " ".join(f"{name:>10}" for name in paths)
          + f" {'old/default':>12} {'old/kernel 1T':>14}")

    def row(name, function, old, new_call):
        times = {}
        for label, path in paths.items():
            with path:
                times[label] = best_of(new_call, 5) / args.points
        ratio = old / times[default]
        per_core = old / times["kernel 1T"] if compiled else float("nan")
        print(f"{name:<8} {function:<22} {old * 1e6:8.2f} " + " ".join(f"{t * 1e6:10.3f}" for t in times.values())
              + f" {ratio:12.0f} {per_core:14.0f}")
        return ratio

    for name, (a, b) in sets.items():
        few = slice(0, args.old_points)
        for function in new_functions():
            old = best_of(lambda: old_functions()[function](a[few], b[few]), 3) / args.old_points
            ratio = row(name, function, old, lambda: new_functions()[function](a, b))
            if name != "kink" and function != "second_moment_exact" and ratio < TARGET:
                missed.append(f"{name} {function}: {ratio:.0f} x < {TARGET:.0f} x")
        few_a, few_b = np.abs(a[few]), b[few]
        old = best_of(lambda: (np.copysign(_outside.mean_outside(few_a, few_b), a[few]),
                               _outside.variance_outside(few_a, few_b)), 3) / args.old_points
        ratio = row(name, "outside pair", old, lambda: _fast.outside_moments(a, b))
        if name != "kink" and ratio < TARGET:
            missed.append(f"{name} outside pair: {ratio:.0f} x < {TARGET:.0f} x")
        public = best_of(lambda: numeric.moments_exact(a, b), 5) / args.points
        print(f"{name:<8} {'numeric.moments_exact':<22} {'':>8} {public * 1e6:10.3f}   (public API, pair, default path)")
        floor = best_of(lambda: (numeric.mean_approx(a, b), numeric.variance_approx(a, b)), 5) / args.points
        print(f"{name:<8} {'plain numpy E-9/E-12':<22} {'':>8} {floor * 1e6:10.3f}   (closed-form floor, pair)")
    for line in missed:
        print("MISSED:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
