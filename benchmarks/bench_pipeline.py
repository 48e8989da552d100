"""Time `derive` from a cold start and `verify`, each in a fresh process (no cache), and print the figures.

Run: python benchmarks/bench_pipeline.py
Targets on a 2-core machine: derive <= 10 s, verify <= 60 s.
"""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "softsign_scaling", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    baseline = timed(["--help"])  # interpreter start and argparse: the floor of any command
    derive = timed(["derive"])
    verify = timed(["verify", "--json"])
    print(f"python -m softsign_scaling --help : {baseline:6.2f} s")
    print(f"derive (cold, no cache)            : {derive:6.2f} s   target <= 10 s  ({derive / 10:.2f} of budget)")
    print(f"verify (all checks, 2 workers)     : {verify:6.2f} s   target <= 60 s  ({verify / 60:.2f} of budget)")


if __name__ == "__main__":
    main()
