"""Benchmark the real-model statistics: time and peak memory of ``collect`` against the parameter count.

Run: python benchmarks/bench_real.py [--sizes 16,128,300]   (needs pip install -e '.[torch]'; exit 1 if a target is missed)

* Models: the digits MLP 64 -> h -> h -> 10 (tanh, float64) for each hidden width h; statistics over the 1200
  training examples with 16 Hutchinson probes and a rank-8 Lanczos sketch (``softsign-scaling stats`` defaults
  use 32 probes: about 16 more HVPs).
* Each size runs in a fresh subprocess, so its peak resident memory (ru_maxrss) is its own; reported with the
  memory per parameter above the smallest run's baseline (O(n) memory: the per-parameter cost stays flat).
* Time per stage is not split: the total, and its ratio to the smallest run (linear in n: ratio ~ n ratio).
* Target (issue 14): about 1e5 parameters within a few minutes (300 s) on 2 shared CPU cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import torch
from softsign_scaling.real import example
from softsign_scaling.real.collect import collect
h = {h}
x, y, _, _ = example.digits(0)
model = example.mlp((h, h), seed=0)
start = time.perf_counter()
stats = collect(model, example.loss_fn, example.batches(x, y, 256), probes=16, sketch_rank=8, seed=0, progress=False)
seconds = time.perf_counter() - start
print(json.dumps({{"n": stats.n, "seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="16,128,300", help="hidden widths h (default 16,128,300: n ~ 1.5e3 .. 1.1e5)")
    args = parser.parse_args(argv)
    rows = []
    for h in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), h=h)], capture_output=True, text=True,
                             check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print("| n parameters | time (s) | time ratio | n ratio | peak RSS (MB) | (RSS - smallest) per parameter (bytes) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        extra = (row["rss_mb"] - base["rss_mb"]) * 2**20 / max(row["n"] - base["n"], 1) if row is not base else float("nan")
        print(f"| {row['n']} | {row['seconds']:.1f} | {row['seconds'] / base['seconds']:.2f} | {row['n'] / base['n']:.1f} "
              f"| {row['rss_mb']:.0f} | {extra:.0f} |")
    largest = rows[-1]
    ok = not (largest["n"] >= 1e5 and largest["seconds"] > 300)
    print(f"target: n = {largest['n']} in {largest['seconds']:.0f} s (<= 300 s): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
