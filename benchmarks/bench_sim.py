"""Benchmark the simulation: samples/s per real optimizer; every ratio is measured in this one run.

Run: python benchmarks/bench_sim.py   (needs pip install -e '.[sim]'; exit status 1 when a target is missed)

* Per optimizer: one library call on 2^17 minibatch gradients of an n = 8 problem (float64), and the
  whole one-step sample (noise + library call + X = g^T u, Y = u^T H u) through onestep.step_samples;
  samples/s, and the ratio of the library call to the same formula written in numpy.
* Target: every optimizer's one-step sample >= 2e5 samples/s (the default ``simulate`` run draws
  ~3e7 samples), and the library call within 20 x the numpy formula (the vectorisation works: a
  Python loop per sample would be ~1e4 x slower).
* The import of softsign_scaling.sim (without torch/jax) and the first library call (imports, jit).

Timings are the best of 5 repeats (the least disturbed by other load on a shared machine).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _timing  # noqa: E402  (the shared timing helper)

from softsign_scaling.sim import onestep, optimizers  # noqa: E402
from softsign_scaling.sim.experiments import named_problem  # noqa: E402

ROWS = 1 << 17


def best_of(function, repeats: int = 5) -> float:
    return _timing.best_of(function, repeats)


def main() -> int:
    missing = optimizers.missing_libraries()
    if missing:
        print(f"needs {', '.join(missing)}: {optimizers.INSTALL_HINT}")
        return 1
    problem = named_problem("article", 0.1)
    grads = problem.g + np.random.default_rng(0).standard_normal((ROWS, problem.n))
    ok = True
    print(f"{'optimizer':<16} {'first call s':>12} {'call samples/s':>15} {'numpy samples/s':>16} "
          f"{'call/numpy':>10} {'one-step samples/s':>19}")
    for name, opt in optimizers.OPTIMIZERS.items():
        start = time.perf_counter()
        opt.update(grads[:16], 0.1)
        first = time.perf_counter() - start
        call = best_of(lambda: opt.update(grads, 0.1))
        numpy = best_of(lambda: opt.reference(grads, 0.1))
        whole = best_of(lambda: onestep.step_samples(problem, 16.0, name, ROWS, seed=1), repeats=3)
        ratio = call / numpy
        rate = ROWS / whole
        ok &= rate >= 2e5 and ratio <= 20
        print(f"{name:<16} {first:>12.2f} {ROWS / call:>15.3g} {ROWS / numpy:>16.3g} {ratio:>10.1f} {rate:>19.3g}")
    print("targets (one-step >= 2e5 samples/s, call <= 20 x numpy):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
