"""Time `derive` from a cold start and `verify` (the CLI's default: a forkserver pool of 2), each in a fresh process,
and print the figures as ratios measured in this one run.  verify's run also reports the CPU seconds of every work
item and of each worker process (pipeline.verify's ``timings``): its total CPU, the derive's share, the top 10 checks.

Run: python benchmarks/bench_pipeline.py [--methods] [--profile] [--suite]
Targets on a 2-core machine: derive <= 10 s, verify <= 60 s wall: its total CPU (imports, each worker's derives, the
checks) at most ~115 s, and both cores busy all along (verify's schedule: pipeline.Schedule).
``--methods`` also times verify on fork and spawn executors.
``--profile`` also times every check and proof group on one core (what verify's schedule orders by).
``--suite`` also times the default test run, `pytest`, in a fresh clone of the committed checkout (target <= 4 min;
the golden tests under limited numpy dispatch that .ci/run adds on AVX512F CPUs are timed on their own).
The load average is printed first: on a shared machine the absolute times scale with it, the ratios less.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 60.0

VERIFY_WITH = """
import multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor
from softsign_scaling.pipeline import verify
if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(sys.argv[1])) as pool:
        results = verify(executor=pool)
    assert not any(r.verdict == "fail" for r in results), [r.name for r in results if r.verdict == "fail"]
"""

VERIFY_TIMED = """
import json, sys, time
from softsign_scaling.pipeline import verify
if __name__ == "__main__":
    timings = []
    start = time.perf_counter()
    results = verify(timings=timings)
    wall = time.perf_counter() - start
    failed = [r.label + " " + r.name for r in results if r.verdict == "fail"]
    json.dump(dict(wall=wall, main_cpu=time.process_time(), timings=timings, checks=len(results), failed=failed),
              sys.stdout)
"""

PROFILE = """
import time
from softsign_scaling.pipeline import PROOF_GROUPS, derive, run_check, run_proofs
clock = time.process_time  # CPU seconds of this process: steady on a loaded machine, unlike wall time
start = clock()
derived = derive()
derive_cpu = clock() - start
costs = []
for step in derived.steps:
    for index, check in enumerate(step.checks):
        start = clock()
        run_check(step, index)
        costs.append((clock() - start, f"{step.label} {check.name[:50]}"))
groups = []
for names in PROOF_GROUPS:
    start = clock()
    run_proofs(derived, names)
    groups.append((clock() - start, "proofs: " + ", ".join(names)))
checks = sum(cost for cost, _ in costs)
proofs = sum(cost for cost, _ in groups)
longest = max(cost for cost, _ in costs + groups)
print(f"  derive {derive_cpu:.2f} s, checks {checks:.2f} s, proofs {proofs:.2f} s (CPU, one core)")
estimate = max(derive_cpu + (checks + proofs) / 2, derive_cpu + longest)
print(f"  2 idle cores, derive + max(work / 2, longest item) = {estimate:.2f} s  ({estimate / 60:.2f} of the 60 s budget)")
for cost, name in sorted(costs + groups, reverse=True)[:15]:
    print(f"  {cost:6.2f} s  {name}")
"""


def timed(args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


SUITE_BUDGET = 240.0


def suite() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = dict(os.environ, PYTHONPATH=str(clone))
        for name, extra, limited in (("pytest", [], False), ("pytest -m golden, numpy dispatch limited", ["-m", "golden"], True)):
            run_env = env
            if limited:
                sys.path.insert(0, str(clone / "tests"))
                import platform_math

                if platform_math.numpy_uses_libm():
                    print(f"{name}: not run (numpy uses libm's exp/log on this CPU)")
                    continue
                run_env = dict(env, **platform_math.LIMITED_DISPATCH)
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], cwd=clone,
                                    env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            seconds = time.perf_counter() - start
            summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
            budget = f"   target <= {SUITE_BUDGET:.0f} s  ({seconds / SUITE_BUDGET:.2f} of budget)" if not extra else ""
            print(f"{name:<42}: {seconds:6.1f} s{budget}   [{summary}]")
            for line in result.stdout.splitlines():  # what failed, by name (the run's own report stays in the clone)
                if line.startswith(("FAILED", "ERROR")):
                    print(f"    {line}")


def timed_verify() -> tuple[float, dict]:
    """verify in a fresh process on the default pool, with every work item's CPU seconds: (wall, its report)."""
    import json

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", VERIFY_TIMED], check=True, cwd=ROOT, stdout=subprocess.PIPE, env=env,
                         text=True).stdout
    return time.perf_counter() - start, json.loads(out)


def report_verify(wall: float, report: dict) -> None:
    """verify's wall time, its total CPU (main process and each worker: imports, derives, checks), the top 10 items."""
    timings = report["timings"]
    workers = {}
    for timing in timings:
        workers[timing["pid"]] = max(workers.get(timing["pid"], 0.0), timing["process_cpu"])
    items = [t for t in timings if not t["what"].startswith("plan:")]
    derive = sum(sum(t["derive"].values()) for t in timings if "derive" in t)
    total = report["main_cpu"] + sum(workers.values())
    plans = ", ".join(f"{name} {cpu:.1f}" for t in timings for name, cpu in t.get("derive", {}).items())
    print(f"verify (default pool of 2 workers) : {wall:6.2f} s   target <= {BUDGET:.0f} s  ({wall / BUDGET:.2f} of budget); "
          f"{report['checks']} checks, {len(report['failed'])} fail")
    print(f"  CPU: total {total:.1f} s = main {report['main_cpu']:.1f} s + workers "
          f"{' + '.join(f'{cpu:.1f}' for cpu in workers.values())} s; checks {sum(t['cpu'] for t in items):.1f} s, "
          f"derives {derive:.1f} s ({plans})")
    print(f"  2 cores busy {total / 2 / wall:.0%} of the wall time; the top 10 work items by CPU:")
    for timing in sorted(items, key=lambda t: -t["cpu"])[:10]:
        print(f"  {timing['cpu']:6.2f} s  {timing['what']}")


def main() -> None:
    import mpmath.libmp

    # gmpy2 (a dependency) makes mpmath's quadratures ~20% cheaper; without it the figures below are not comparable
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; mpmath backend "
          f"{mpmath.libmp.BACKEND}")
    baseline = timed(["-m", "softsign_scaling", "--help"])  # interpreter start and argparse: the floor
    derive = timed(["-m", "softsign_scaling", "derive"])
    wall, report = timed_verify()
    by_method = ({method: timed(["-c", VERIFY_WITH, method]) for method in ("fork", "spawn")}
                 if "--methods" in sys.argv else {})
    print(f"python -m softsign_scaling --help : {baseline:6.2f} s")
    print(f"derive (cold, no cache)            : {derive:6.2f} s   target <= 10 s  ({derive / 10:.2f} of budget)")
    report_verify(wall, report)
    verify = wall
    for method, seconds in by_method.items():
        print(f"verify (executor: {method:<6} pool, 2) : {seconds:6.2f} s   ({seconds / BUDGET:.2f} of budget; "
              f"CLI default / this = {verify / seconds:.2f})")
    if "--suite" in sys.argv:
        suite()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if "--profile" in sys.argv:
        print("one core, in process:")
        subprocess.run([sys.executable, "-c", PROFILE], check=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))


if __name__ == "__main__":
    main()
