"""The sketched correlated model against validate.py's `+corr` on the digits MLP (docs/real-model.md's set-up).

For each checkpoint (50, 2000 Adam steps), eps in {1e-8, 1e-3, 1e-2} and B in {1, 8, 64, 512}, placement outside:

* ``+corr[64]``: validate.correlated_prediction with 64 pool examples' full gradients and one exact HVP each (the
  column of docs/real-model.md);
* ``+corr[all]``: the same with every pool example (597): the first-order correction without sampling error;
* ``correlated``: the registered model from the statistics alone, H from the rank-8 sketch + diagonal (what
  ``predict`` uses), and ``correlated[hvp]``: the same noise sketch with exact HVPs for m^T H m.

Prints the ratios correlated/+corr, the noise sketch's size in the .npz and the seconds per (B, eps).
``python benchmarks/bench_correlated.py`` (needs the torch extra; ~5 min on one core).
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main() -> int:
    import torch

    from softsign_scaling.real import example, validate
    from softsign_scaling.real.predict import prediction

    torch.set_num_threads(1)
    x_train, y_train, x_held, y_held = example.digits(0)
    model = example.mlp((64,), 0)
    saved = example.train(model, x_train, y_train, steps=2000, checkpoints=(50, 2000), lr=1e-3, batch=32, seed=0)
    rows = []
    for step in (50, 2000):
        model.load_state_dict(saved[step])
        pool = validate.Pool(model, example.loss_fn, x_held, y_held)
        start = time.perf_counter()
        stats = validate.pool_statistics(pool, 64, 8, 0, f"step {step}")
        collect_seconds = time.perf_counter() - start
        # the arrays' bytes as the .npz stores them (np.savez is uncompressed: plus a few hundred bytes of headers)
        size = (stats.noise_groups.astype(np.int16).nbytes + stats.noise_projections.astype(np.float32).nbytes
                + np.asarray(stats.noise_diagonal).nbytes)
        print(f"step {step}: collect (with the noise sketch, k = {stats.noise_projections.shape[0]}) "
              f"{collect_seconds:.1f} s; noise sketch {size / 1e3:.0f} kB in the .npz", flush=True)
        for eps in (1e-8, 1e-3, 1e-2):
            for B in (1, 8, 64, 512):
                t0 = time.perf_counter()
                few = validate.correlated_prediction(pool, stats, eps, B, "outside", "exact", 64, 0)
                t1 = time.perf_counter()
                every = validate.correlated_prediction(pool, stats, eps, B, "outside", "exact", pool.P, 0)
                t2 = time.perf_counter()
                sketched = prediction(stats, eps, [B], placement="outside", models="correlated",
                                      surge=False).models["correlated"].eta[0]
                t3 = time.perf_counter()
                exact_h = prediction(stats, eps, [B], placement="outside", models=("correlated", "exact"),
                                     H=stats.extra["hvp"], surge=False)
                rows.append((step, eps, B, few, every, sketched, exact_h.models["correlated"].eta[0],
                             exact_h.models["exact"].eta[0], t1 - t0, t3 - t2))
                r = rows[-1]
                print(f"{step} {eps:g} {B}: +corr[64] {few:.3g} +corr[all] {every:.3g} correlated {sketched:.3g} "
                      f"correlated[hvp] {r[6]:.3g} exact {r[7]:.3g}; ratio correlated/+corr[64] {sketched / few:.2f}, "
                      f"/+corr[all] {sketched / every:.2f}; seconds +corr[64] {r[8]:.1f}, correlated {r[9]:.2f}",
                      flush=True)
    data = np.array([r[3:] for r in rows], dtype=float)
    for label, column in (("+corr[64]", 0), ("+corr[all]", 1)):
        for name, mine in (("correlated", 2), ("correlated[hvp]", 3), ("exact", 4)):
            ratio = data[:, mine] / data[:, column]
            print(f"{name}/{label}: median {np.median(ratio):.2f}, range {ratio.min():.2f} .. {ratio.max():.2f}")
    print(f"seconds per (B, eps): +corr[64] median {np.median(data[:, 5]):.1f}, correlated {np.median(data[:, 6]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
