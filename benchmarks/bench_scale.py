"""Benchmark eta* at the scale of a network (issue 13, parts 2-4); every ratio is measured in this one run.

Run: python benchmarks/bench_scale.py [--quick] [--exact-n N] [--sizes 1e6,1e7,1e8]
(exit status 1 when a measured target is missed; projected targets are printed, not enforced).  The machine is
shared: targets are judged on CPU seconds (numpy's elementwise loops run on one core, so on an idle machine
CPU and wall time agree); both are printed.

Problems: g ~ N(0, 1), sigma ~ U(0.5, 2), diag H ~ U(0.1, 1), eps = 1e-3, 20 batch sizes log-spaced in [1, 1e4].
Every eta* timing prints its breakdown: the time inside the model's per-component moments (timed by a
registered copy of the model whose ``moments`` is wrapped) and the rest (a, b, the row sums, the blocks);
after the fast moments land (issue 13 part 1), re-run: the moment share is what shrinks.

1. eta* at n = 10^6, 20 batch sizes, diagonal H: "anchored" (target <= 2 s) and "mean_field", each against
   the current implementation's path (the pre-blocking ``terms`` loop, copied here as ``unblocked``) and a
   plain numpy evaluation of the same formula on whole (20, n) arrays; "exact", eps inside and outside the
   root, on ``--exact-n`` components (default 10^6; target <= 10 s wall), with the fitted-table moments,
   against the previous implementation (the quadrature moments, unblocked: measured on 2*10^4 components and
   scaled) and plain numpy with the same moments; the moments' CPU seconds per thread.  Blocked against
   unblocked sums: the largest relative difference.
2. Memory-mapped diagonal-H problems (float64 .npy files under /tmp, deleted afterwards) at n = 10^6, 10^7,
   10^8, each in a fresh process: Problem construction, mean_field at 20 batch sizes, anchored at 1 batch
   size; peak resident memory (ru_maxrss, which counts the mapped file pages read) <= 4 GB, and the time
   per component at each size (linear in n: the per-component times agree within 2x).
3. A dense n = 3000 H: Problem construction with the positive-definiteness check (first time; a second
   Problem with the same H, through the checksum cache; check_pd=False) against one eta* call.
4. surge_peak at n = 2*10^5 ("anchored"; target <= 5 s once the moments are fast: measured today, and the
   number of eta* evaluations it needs), and against the old algorithm (a 401-point grid, copied here) at
   n = 2*10^4, where that one still runs in reasonable time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _timing import best_of  # noqa: E402

from softsign_scaling import numeric  # noqa: E402
from softsign_scaling.numeric import _far, models  # noqa: E402
from softsign_scaling.numeric import _quadrature as _q  # noqa: E402
from softsign_scaling.numeric.models import THREADS  # noqa: E402

SEED = 20261129
EPS = 1e-3
BATCHES = np.geomspace(1.0, 1e4, 20)
MOMENT_SPEEDUP = 100.0  # issue 13 part 1's target for the exact moments


def problem_arrays(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n), rng.uniform(0.5, 2.0, n), rng.uniform(0.1, 1.0, n)


class Timed:
    """A registered copy of a per-component model whose moments are timed (CPU seconds accumulate in .moments;
    per thread in .threads).  ``field``: "moments", or "outside" for the placement="outside" moments."""

    def __init__(self, name: str, field: str = "moments"):
        base = numeric.get_model(name)
        self.moments = 0.0
        self.threads: dict[int, float] = {}

        def timed(a, b, inner=getattr(base, field)):  # per-thread CPU: blocks run on threads (models.THREADS)
            start = time.thread_time()
            out = inner(a, b)
            spent = time.thread_time() - start
            self.moments += spent
            ident = threading.get_ident()
            self.threads[ident] = self.threads.get(ident, 0.0) + spent
            return out

        self.name = f"{name}_timed"
        numeric.register_model(dataclasses.replace(base, name=self.name, **{field: timed}), replace=True)

    def run(self, B, problem) -> tuple[np.ndarray, float, float]:
        """eta*, total CPU seconds, CPU seconds inside the moments; self.wall: the call's wall seconds."""
        self.moments = 0.0
        self.threads = {}
        start, cpu = time.perf_counter(), time.process_time()
        values = numeric.eta_star(B, problem, model=self.name)
        self.wall = time.perf_counter() - start
        return values, time.process_time() - cpu, self.moments


def unblocked(problem: numeric.Problem, B: np.ndarray, moments) -> np.ndarray:
    """The current implementation's per-component path before blocking (diagonal H, finite B, no far rows):
    all n components of a row at once, rows in chunks of 2^20 values."""
    g, sigma, diagonal, eps = problem.g, problem.sigma, problem.diagonal, problem.eps
    num, den = np.empty(B.size), np.empty(B.size)
    step = max(1, (1 << 20) // problem.n)
    for start in range(0, B.size, step):
        root = np.sqrt(B[start:start + step])[:, None]
        a = g * root / sigma
        b = eps * root / sigma
        assert not (b >= _far.B_FAR).any(axis=1).any()
        m, v = moments(a.reshape(-1), b.reshape(-1))
        m, v = m.reshape(a.shape), v.reshape(a.shape)
        num[start:start + step] = (m * g).sum(axis=-1)
        den[start:start + step] = (m * m * diagonal).sum(axis=-1) + (v * diagonal).sum(axis=-1)
    return num / den


def old_anchored_moments():
    """The anchored moments as the current implementation calls them: two generated calls."""
    from softsign_scaling.numeric import _anchored

    return models._with_limits(
        lambda a, b: (np.clip(_anchored.mean_anchored(a, b), -1.0, 1.0), _anchored.variance_anchored(a, b)),
        _far.steady_anchored, False)


def plain_numpy(g, sigma, h, B, mean, variance) -> np.ndarray:
    """The same formula in plain numpy on whole (len(B), n) arrays (no limits, no blocks)."""
    root = np.sqrt(B)[:, None]
    a, b = g * root / sigma, EPS * root / sigma
    m, v = mean(a, b), variance(a, b)
    return (m @ g) / ((m * m) @ h + v @ h)


def old_numeric_peak(eta, problem) -> float:
    """The surge_peak algorithm before this change (401-point grids, Brent on the global maximum)."""
    from scipy.optimize import minimize_scalar

    def at(log_b):
        return eta(np.exp(np.asarray(log_b, dtype=float)))

    scale = math.log(max(problem.B_simple, 1e-300))
    limit = float(eta(np.array([math.inf]))[0])
    low, high = scale - 25.0, scale + 25.0
    for _ in range(8):
        grid = np.linspace(low, high, 401)
        values = at(grid)
        k = int(np.argmax(values))
        if values[k] <= limit * (1 + 1e-13):
            return math.inf
        if k < grid.size - 1:
            break
        low, high = high - 1.0, high + 50.0
    bracket = (grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)])
    best = minimize_scalar(lambda x: -float(at(np.array([x]))[0]), bounds=bracket, method="bounded",
                           options={"xatol": 1e-9})
    return float(math.exp(best.x))


def best_cpu(function, repeats: int = 3) -> float:
    return best_of(function, repeats, clock=time.process_time)


def line(label: str, seconds: float, moments: float | None = None, extra: str = "") -> None:
    split = "" if moments is None else f"  (moments {moments:7.3f} s, rest {seconds - moments:7.3f} s)"
    print(f"  {label:<46s} {seconds:8.3f} s{split}{extra}")


def section_eta(exact_n: int, quick: bool) -> list[tuple[str, bool]]:
    from softsign_scaling.numeric import _anchored

    verdicts = []
    n = 10**5 if quick else 10**6
    g, sigma, h = problem_arrays(n)
    problem = numeric.Problem(g, sigma, h, EPS)
    print(f"1. eta* at n = {n:.0e}, {BATCHES.size} batch sizes, diagonal H, eps = {EPS:g} (CPU seconds; wall shown)")
    for name in ("anchored", "mean_field"):
        if name == "mean_field":
            fresh = lambda: numeric.eta_star(BATCHES, numeric.Problem(g, sigma, h, EPS), model=name)  # noqa: E731
            ours = best_cpu(fresh, 3)
            line(f"{name} (new Problem each time: aggregates)", ours)
            continue
        timed = Timed(name)
        values, total, inside = timed.run(BATCHES, problem)
        wall = timed.wall
        for _ in range(2):
            again = timed.run(BATCHES, problem)
            if again[1] < total:
                _, total, inside = again
            wall = min(wall, timed.wall)
        base = old_anchored_moments()
        start = time.process_time()
        old = unblocked(problem, BATCHES, base)
        old_seconds = time.process_time() - start
        start = time.process_time()
        plain = plain_numpy(g, sigma, h, BATCHES, lambda a, b: _anchored.mean_anchored(a, b),
                            lambda a, b: _anchored.variance_anchored(a, b))
        plain_seconds = time.process_time() - start
        line(f"{name}: blocked (this change)", total, inside, extra=f"   wall {wall:.3f} s")
        line(f"{name}: current implementation's path and moments", old_seconds,
             extra=f"   blocked/current = {total / old_seconds:.2f}")
        line(f"{name}: plain numpy, same formula", plain_seconds,
             extra=f"   blocked/numpy = {total / plain_seconds:.2f}")
        print(f"    blocked vs unblocked sums: max relative difference {np.max(np.abs(values / old - 1)):.1e}; "
              f"vs plain numpy {np.max(np.abs(values / plain - 1)):.1e}")
        per = total / (n * BATCHES.size) * 1e6
        print(f"    {per:.3f} us per component and batch size; the moments are {100 * inside / total:.0f}% of it")
        target = total * 10**6 / n
        verdicts.append((f"anchored eta* at n = 1e6, 20 B: {wall * 10**6 / n:.2f} wall s on {THREADS} threads <= 2 s "
                         f"(CPU {target:.2f} s)", wall * 10**6 / n <= 2.0))
    for placement in ("inside", "outside"):
        verdicts.append(exact_rows(exact_n, placement))
    numeric.unregister_model("anchored_timed")
    return verdicts


def exact_rows(n: int, placement: str) -> tuple[str, bool]:
    """The exact model at n components, 20 batch sizes (tables, blocked, threaded) against the previous
    implementation (the quadrature moments in the unblocked path, kept as the baseline; measured on at most 2*10^4
    components and scaled linearly) and a plain numpy evaluation of the same formula with the same table moments on
    whole (20, n) arrays.  CPU seconds of the process, wall seconds, and the moments' CPU seconds per thread."""
    from softsign_scaling.numeric import _fast, _outside

    g, sigma, h = problem_arrays(n, SEED + 1)
    problem = numeric.Problem(g, sigma, h, EPS, placement=placement)
    timed = Timed("exact", "moments" if placement == "inside" else "outside")
    values, total, inside = timed.run(BATCHES, problem)
    wall, threads = timed.wall, sorted(timed.threads.values(), reverse=True)
    base_n = min(n, 2 * 10**4)
    reference = numeric.Problem(g[:base_n], sigma[:base_n], h[:base_n], EPS, placement=placement)
    if placement == "inside":
        previous = lambda a, b: (_q.mean_exact(a, b), _q.variance_exact(a, b))  # noqa: E731
        tables = _fast.moments
    else:
        previous = lambda a, b: (_outside.mean_outside(a, b), _outside.variance_outside(a, b))  # noqa: E731
        tables = _fast.outside_moments
    start = time.process_time()
    old = unblocked(reference, BATCHES, previous)
    old_seconds = (time.process_time() - start) * n / base_n
    start = time.process_time()
    plain = plain_numpy_pair(g, sigma, h, BATCHES, tables)
    plain_seconds = time.process_time() - start
    check = numeric.eta_star(BATCHES, reference, model="exact")
    label = f"exact ({placement}) at n = {n:.0e}"
    line(f"{label}: blocked, tables", total, inside,
         extra=f"   wall {wall:.3f} s on {THREADS} threads; moments CPU per thread " + ", ".join(f"{t:.2f}" for t in threads)
         + " s")
    line(f"{label}: previous (quadrature, unblocked)", old_seconds,
         extra=f"   (measured at n = {base_n:.0e}, scaled)   previous/tables = {old_seconds / total:.1f}")
    line(f"{label}: plain numpy, same table moments", plain_seconds, extra=f"   numpy/tables = {plain_seconds / total:.2f}")
    print(f"    tables vs quadrature eta*: max relative difference {np.max(np.abs(check / old - 1)):.1e}; "
          f"vs plain numpy {np.max(np.abs(values / plain - 1)):.1e}; "
          f"{total / (n * BATCHES.size) * 1e9:.0f} ns CPU per component and batch size")
    scale = 10**6 / n
    numeric.unregister_model("exact_timed")
    return (f"exact ({placement}) eta* at n = 1e6, 20 B: {wall * scale:.2f} wall s on {THREADS} threads <= 10 s "
            f"(CPU {total * scale:.2f} s; measured at n = {n:.0e})", wall * scale <= 10.0)


def plain_numpy_pair(g, sigma, h, B, moments) -> np.ndarray:
    """The same formula in plain numpy on whole (len(B), n) arrays, moments (mean, variance) from one call."""
    root = np.sqrt(B)[:, None]
    a, b = g * root / sigma, EPS * root / sigma
    m, v = moments(a.reshape(-1), b.reshape(-1))
    m, v = m.reshape(a.shape), v.reshape(a.shape)
    return (m @ g) / ((m * m) @ h + v @ h)


def write_npy(path: Path, n: int, kind: str, seed: int) -> None:
    """A float64 .npy of n values, written in blocks (never whole in memory)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n,))
    rng = np.random.default_rng(seed)
    step = 1 << 22
    for start in range(0, n, step):
        size = min(step, n - start)
        out[start:start + size] = {"g": lambda: rng.standard_normal(size),
                                   "sigma": lambda: rng.uniform(0.5, 2.0, size),
                                   "h": lambda: rng.uniform(0.1, 1.0, size)}[kind]()
    out.flush()
    del out


def child(folder: str, anchored_batches: int) -> None:
    """In a fresh process: the mmap problem's timings and this process's peak memory, as JSON."""
    folder = Path(folder)
    load = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ("g", "sigma", "h")}
    wall, start = time.perf_counter(), time.process_time()
    problem = numeric.Problem(load["g"], load["sigma"], load["h"], EPS)
    built = time.process_time() - start
    start = time.process_time()
    numeric.eta_star(BATCHES, problem, model="mean_field")
    mean_field = time.process_time() - start
    start = time.process_time()
    numeric.eta_star(BATCHES[:anchored_batches], problem, model="anchored")
    anchored = time.process_time() - start
    wall = time.perf_counter() - wall
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(json.dumps({"n": problem.n, "built": built, "mean_field": mean_field, "anchored": anchored, "wall": wall,
                      "anchored_batches": anchored_batches, "maxrss": rss}))


def section_mmap(sizes: list[int]) -> list[tuple[str, bool]]:
    print("2. memory-mapped diagonal H (float64 .npy under /tmp), each size in a fresh process")
    verdicts, rows = [], []
    for n in sizes:
        folder = Path(tempfile.mkdtemp(prefix="bench_scale_", dir="/tmp"))
        try:
            start = time.perf_counter()
            for k, name in enumerate(("g", "sigma", "h")):
                write_npy(folder / f"{name}.npy", n, name, SEED + k)
            written = time.perf_counter() - start
            out = subprocess.run([sys.executable, __file__, "--child", str(folder), "1"], capture_output=True,
                                 text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            row = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append(row)
        print(f"  n = {n:.0e}: files {3 * 8 * n / 1e9:.2f} GB written in {written:.1f} s; Problem {row['built']:.2f} s, "
              f"mean_field (20 B) {row['mean_field']:.2f} s, anchored (1 B) {row['anchored']:.2f} s (CPU; all three "
              f"{row['wall']:.2f} s wall); peak memory {row['maxrss'] / 1e9:.2f} GB")
        verdicts.append((f"mmap n = {n:.0e}: peak memory {row['maxrss'] / 1e9:.2f} GB <= 4 GB", row["maxrss"] <= 4e9))
    if len(rows) >= 2:
        for key in ("built", "mean_field", "anchored"):
            per = [r[key] / r["n"] * 1e9 for r in rows]
            print(f"  {key}: ns per component " + ", ".join(f"{p:.1f} (n = {r['n']:.0e})" for p, r in zip(per, rows)))
        first, last = rows[0], rows[-1]
        spread = (last["anchored"] / last["n"]) / (first["anchored"] / first["n"])
        verdicts.append((f"anchored time per component, n = {last['n']:.0e} vs {first['n']:.0e}: x{spread:.2f} "
                         "(linear: within 2x)", 0.5 <= spread <= 2.0))
        big = rows[-1]
        print(f"  anchored at n = 1e8, 20 B, extrapolated from n = {big['n']:.0e}, 1 B: "
              f"{big['anchored'] * 1e8 / big['n'] * 20:.0f} s")
    return verdicts


def section_dense() -> list[tuple[str, bool]]:
    n = 3000
    rng = np.random.default_rng(SEED)
    A = rng.standard_normal((n, n)) / math.sqrt(n)
    H = A @ A.T + 0.05 * np.eye(n)  # positive definite, not diagonally dominant: the factorisation runs
    g, sigma, _ = problem_arrays(n)
    print(f"3. dense H, n = {n} (CPU seconds, best of 3)")
    from softsign_scaling.numeric import problem as problem_module

    problem_module._VERIFIED_PD.clear()  # the first construction below pays the factorisation
    start = time.process_time()
    problem = numeric.Problem(g, sigma, H, EPS)
    first = time.process_time() - start
    second = best_cpu(lambda: numeric.Problem(g, sigma, H, EPS))
    unchecked = best_cpu(lambda: numeric.Problem(g, sigma, H, EPS, check_pd=False))
    symmetric = best_cpu(lambda: (np.allclose(H, H.T), np.linalg.cholesky((H + H.T) / 2)))
    call = best_cpu(lambda: numeric.eta_star(BATCHES, problem, model="anchored"))
    line("Problem, first time (Cholesky)", first)
    line("Problem, same H again (checksum cache)", second, extra=f"   / call = {second / call:.2f}")
    line("Problem, check_pd=False", unchecked, extra=f"   / call = {unchecked / call:.2f}")
    line("the check as it was (allclose + Cholesky)", symmetric, extra=f"   / call = {symmetric / call:.2f}")
    line("one eta* call (anchored, 20 B)", call)
    return [(f"dense n = 3000: check_pd=False {unchecked:.3f} s vs a call {call:.3f} s (far less: <= 1/5)",
             unchecked <= call / 5),
            (f"dense n = 3000: the cached check {second:.3f} s vs the check as it was {symmetric:.3f} s (<= 1/3)",
             second <= symmetric / 3)]


def section_surge(quick: bool) -> list[tuple[str, bool]]:
    print("4. surge_peak (anchored; CPU seconds)")
    verdicts = []
    small_n = 2 * 10**3 if quick else 2 * 10**4
    g, sigma, h = problem_arrays(small_n, SEED + 2)
    small = numeric.Problem(g, sigma, h, EPS)
    old_model = dataclasses.replace(numeric.get_model("anchored"), name="anchored_old", moments=old_anchored_moments())
    start = time.process_time()
    new_small = numeric.surge_peak(small, model="anchored")
    new_seconds = time.process_time() - start
    start = time.process_time()
    old_small = old_numeric_peak(lambda B: old_model.eta_star(small, B, {}), small)
    old_seconds = time.process_time() - start
    line(f"n = {small_n:.0e}: new", new_seconds, extra=f"   peaks {[round(p.B, 4) for p in new_small.peaks]}")
    line(f"n = {small_n:.0e}: old algorithm (401-point grid)", old_seconds,
         extra=f"   old/new = {old_seconds / new_seconds:.1f}; old B {old_small:.6g}, new {float(new_small):.6g}")
    n = 2 * 10**4 if quick else 2 * 10**5
    g, sigma, h = problem_arrays(n, SEED + 3)
    problem = numeric.Problem(g, sigma, h, EPS)
    timed = Timed("anchored")
    count = [0]
    inner = models.PerComponentModel.eta_star

    def counting(self, problem_, B, options):
        count[0] += np.size(B)
        return inner(self, problem_, B, options)

    models.PerComponentModel.eta_star = counting
    try:
        timed.moments = 0.0
        start, cpu = time.perf_counter(), time.process_time()
        found = numeric.surge_peak(problem, model=timed.name)
        wall, seconds = time.perf_counter() - start, time.process_time() - cpu
    finally:
        models.PerComponentModel.eta_star = inner
        numeric.unregister_model(timed.name)
    line(f"n = {n:.0e}: new", seconds, timed.moments,
         extra=f"   wall {wall:.2f} s; {count[0]} batch sizes evaluated; peaks {[round(p.B, 4) for p in found.peaks]}")
    after = (seconds - timed.moments) + timed.moments / MOMENT_SPEEDUP
    print(f"    with anchored's moments {MOMENT_SPEEDUP:.0f}x faster this would be {after:.2f} s; "
          f"per batch size and component today: {seconds / count[0] / n * 1e6:.3f} us")
    verdicts.append((f"surge_peak anchored n = {n:.0e}: {wall:.2f} wall s on {THREADS} threads <= 5 s (CPU {seconds:.2f} s)",
                     wall <= 5.0))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--exact-n", type=int, default=10**6, help="components for the exact model's timing")
    parser.add_argument("--sizes", default="1e6,1e7,1e8", help="mmap sizes, comma-separated")
    parser.add_argument("--only", default="1234", help="sections to run, e.g. 13")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    sizes = [int(float(x)) for x in args.sizes.split(",")] if not args.quick else [10**5, 10**6]
    verdicts = []
    if "1" in args.only:
        verdicts += section_eta(args.exact_n if not args.quick else 2000, args.quick)
    if "2" in args.only:
        verdicts += section_mmap(sizes)
    if "3" in args.only:
        verdicts += section_dense()
    if "4" in args.only:
        verdicts += section_surge(args.quick)
    print("targets:")
    failed = False
    for text, ok in verdicts:
        print(f"  [{'info' if ok is None else ('ok' if ok else 'MISSED')}] {text}")
        failed |= ok is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
