"""Time `derive` from a cold start and `verify` under each process start method, each in a fresh process,
and print the figures as ratios measured in this one run.

Run: python benchmarks/bench_pipeline.py [--profile] [--suite]
Targets on a 2-core machine: derive <= 10 s, verify <= 60 s (the CLI's default: a forkserver pool of 2).
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


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    baseline = timed(["-m", "softsign_scaling", "--help"])  # interpreter start and argparse: the floor
    derive = timed(["-m", "softsign_scaling", "derive"])
    verify = timed(["-m", "softsign_scaling", "verify", "--json"])
    by_method = {method: timed(["-c", VERIFY_WITH, method]) for method in ("fork", "spawn")}
    print(f"python -m softsign_scaling --help : {baseline:6.2f} s")
    print(f"derive (cold, no cache)            : {derive:6.2f} s   target <= 10 s  ({derive / 10:.2f} of budget)")
    print(f"verify (CLI: forkserver pool of 2) : {verify:6.2f} s   target <= {BUDGET:.0f} s  ({verify / BUDGET:.2f} of budget)")
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
