"""CPU cost of X-6's two Laplace-integral identities (issue 11): SymPy's printed quad at 45 digits (the first
route) against checks/evaluate.py's route (the integrand lambdified once with shared subexpressions, 38 digits),
both against the same z-quadrature references, measured in this one run; the ratio is what to read.

Run: PYTHONPATH=$PWD python benchmarks/bench_outside_checks.py
Each route starts with cold reference caches (the references are cached per working precision, and the two
routes work at different precisions), so both totals include the references' quadrature.
"""

import os
import time

import mpmath as mp
import sympy as sp

from softsign_scaling.checks.evaluate import compare
from softsign_scaling.pipeline import derive
from softsign_scaling.sections import ORDER


def _first_route(step, index, check) -> tuple[int, float]:
    """The route before issue 11's fix: lambdify's printed quad of the whole Integral, 15 guard digits."""
    f = sp.lambdify(check.domain.symbols, step.result[index], modules="mpmath")
    start = time.process_time()
    cmp = compare(f, check.reference, check.domain.points(), check.digits, 15)
    return cmp.failures, time.process_time() - start


def _current_route(step, index, check) -> tuple[int, float]:
    start = time.process_time()
    result = check.run(step)
    return (0 if result.verdict == "pass" else 1), time.process_time() - start


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared)")
    derived = derive(ORDER[:ORDER.index("outside") + 1])
    step = derived["X-6"]
    totals = {}
    for name, route in (("first route (45 digits, printed quad)", _first_route),
                        ("current route (38 digits, shared subexpressions)", _current_route)):
        total = 0.0
        for index, check in enumerate(step.checks):
            failures, seconds = route(step, index, check)
            total += seconds
            print(f"  {name}: check {index} ({check.name[:40]}...): {seconds:.1f} s CPU, {failures} failures")
        totals[name] = total
        print(f"{name}: {total:.1f} s CPU")
    first, current = totals.values()
    print(f"ratio first/current: {first / current:.2f}x")


if __name__ == "__main__":
    with mp.workdps(15):
        main()
