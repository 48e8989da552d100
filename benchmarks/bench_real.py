"""Benchmark the real-model statistics: time and peak memory of ``collect`` against the parameter count.

Run: python benchmarks/bench_real.py [--sizes 16,128,300]   (needs pip install -e '.[torch]'; exit 1 if a target is missed)

* Models: the digits MLP 64 -> h -> h -> 10 (tanh, float64) for each hidden width h; statistics over the 1200
  training examples with 16 Hutchinson probes and a rank-8 Lanczos sketch (``softsign-scaling stats`` defaults
  use 32 probes: about 16 more HVPs).
* Each size runs in a fresh subprocess, so its peak resident memory (ru_maxrss) is its own; reported with the
  memory per parameter above the smallest run's baseline (O(n) memory: the per-parameter cost stays flat).
* Time per stage is not split: the total, and its ratio to the smallest run (linear in n: ratio ~ n ratio), and
  the same in training steps of that model (one torch Adam step at batch 32, timed in the same process).
* ``collect`` includes the noise sketch (256 examples' gradient deviations projected on the sketch's vectors per
  group, the ``correlated`` model's input); the file's size is printed.
* Prediction from the .npz alone: ``predict.prediction`` with the recommended ``correlated`` model (outside), no
  bands, from a freshly loaded file (after one warm-up call that compiles the kernel): one (B, eps), everything
  included (the problem and the noise sketch built from the file); and per (B, eps) of a sweep of 4 eps x 11 B
  (one call per eps).  Wall and CPU seconds (the moments run on two threads: CPU > wall on idle cores).  Loading
  the file (``statsfile.load``, once per file whatever the number of (B, eps)) is timed on its own.
* Targets: issue 14, about 1e5 parameters within a few minutes (300 s) on 2 shared CPU cores; issue 22, about 1e6
  parameters in at most 5 minutes with O(n) memory (``--sizes 16,300,1000``: n ~ 1.07e6), and a prediction from
  the file in at most 1 s per (B, eps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import os, tempfile
import torch
from softsign_scaling.real import example
from softsign_scaling.real.collect import collect
from softsign_scaling.real.predict import prediction
from softsign_scaling.real.statsfile import load
h = {h}
x, y, _, _ = example.digits(0)
model = example.mlp((h, h), seed=0)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
steps = 5
start = time.perf_counter()
for i in range(steps):
    optimizer.zero_grad()
    example.loss_fn(model(x[32 * i:32 * i + 32]), y[32 * i:32 * i + 32]).backward()
    optimizer.step()
train_step = (time.perf_counter() - start) / steps
start = time.perf_counter()
stats = collect(model, example.loss_fn, example.batches(x, y, 256), probes=16, sketch_rank=8, seed=0, progress=False)
seconds = time.perf_counter() - start
folder = tempfile.mkdtemp()
path = stats.save(os.path.join(folder, "stats.npz"))
size = os.path.getsize(path)
prediction(load(path), 1e-8, [64.0], placement="outside", models="correlated", surge=False)  # warm (numba, tables)
start = time.perf_counter()
loaded = load(path)
load_seconds = time.perf_counter() - start
start, cpu = time.perf_counter(), time.process_time()
result = prediction(loaded, 1e-8, [64.0], placement="outside", models="correlated", surge=False)
predict_seconds, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
assert "correlated" in result.models, result.refused
grid = [2.0 ** k for k in range(11)]  # B = 1 .. 1024 at four eps: what predict prints for a sweep
start, cpu = time.perf_counter(), time.process_time()
for eps in (1e-8, 1e-6, 1e-3, 1e-2):
    prediction(loaded, eps, grid, placement="outside", models="correlated", surge=False)
cells = 4 * len(grid)
grid_seconds, grid_cpu = (time.perf_counter() - start) / cells, (time.process_time() - cpu) / cells
print(json.dumps({{"n": stats.n, "seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "train_step": train_step, "file_mb": size / 2**20, "predict_seconds": predict_seconds,
                  "predict_cpu": predict_cpu, "grid_seconds": grid_seconds, "grid_cpu": grid_cpu,
                  "load_seconds": load_seconds}}))
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
    print("| n parameters | collect (s) | in training steps | time ratio | n ratio | peak RSS (MB) "
          "| (RSS - smallest) per parameter (bytes) | .npz (MB) | load the .npz (s) | predict one (B, eps): wall (CPU) s "
          "| predict per (B, eps) of 4 eps x 11 B: wall (CPU) s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        extra = (row["rss_mb"] - base["rss_mb"]) * 2**20 / max(row["n"] - base["n"], 1) if row is not base else float("nan")
        print(f"| {row['n']} | {row['seconds']:.1f} | {row['seconds'] / row['train_step']:.0f} "
              f"| {row['seconds'] / base['seconds']:.2f} | {row['n'] / base['n']:.1f} "
              f"| {row['rss_mb']:.0f} | {extra:.0f} | {row['file_mb']:.1f} | {row['load_seconds']:.2f} "
              f"| {row['predict_seconds']:.2f} ({row['predict_cpu']:.2f}) | {row['grid_seconds']:.2f} ({row['grid_cpu']:.2f}) |")
    largest = rows[-1]
    limit = 300.0
    ok = not (largest["n"] >= 1e5 and largest["seconds"] > limit) and largest["predict_seconds"] <= 1.0
    print(f"target: n = {largest['n']} in {largest['seconds']:.0f} s (<= {limit:.0f} s), a prediction from the file in "
          f"{largest['predict_seconds']:.2f} s for one (B, eps), {largest['grid_seconds']:.2f} s per (B, eps) in a sweep "
          f"(<= 1 s): {'met' if ok else 'MISSED'}; load average {os.getloadavg()[0]:.1f} (2 idle cores expected)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
