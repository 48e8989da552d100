"""The one-step agreement on a real network (digits MLP): predicted-to-measured ratio with stated error bars.

One real ``torch.optim.Adam(betas=(0, 0))`` step per minibatch, on a small trained digits MLP (64 -> 4 -> 10,
310 parameters, float64) with a pool of 200 held-out examples; diag H exact (310 HVPs), quadratic forms by HVPs.

* Agreement (what the models assume, made true): minibatch noise replaced by independent Gaussian noise of the
  pool's per-component variance.  Then exact[outside] (PyTorch's placement) must equal eta_q, the optimum of
  the loss's quadratic model under the real torch update, within z * SE (delta method, SE from 512 updates);
  z = 3.29 (two-sided 1e-3) per check, 2 checks: family-wise false-failure rate <= 2e-3.
* Negative control (must fail): the same prediction against real minibatches of the pool (correlated,
  non-Gaussian per-example noise) is off by far more than z * SE, in the direction docs/real-model.md reports.
* The quadratic model against the real loss: eta_q/eta_real within 15% here (the bootstrap intervals are
  printed in the assertion message).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[torch]'")
pytest.importorskip("sklearn", reason="needs scikit-learn: pip install -e '.[torch]'")

from dataclasses import replace  # noqa: E402

from softsign_scaling.real import example, validate  # noqa: E402

Z = 3.29  # two-sided 1e-3


@pytest.fixture(scope="module")
def pool():
    torch.set_num_threads(1)
    x_train, y_train, x_held, y_held = example.digits(0)
    model = example.mlp((4,), seed=0)
    example.train(model, x_train, y_train, steps=300, checkpoints=(), lr=1e-2, seed=0)
    pool = validate.Pool(model, example.loss_fn, x_held[:200], y_held[:200])
    stats = validate.pool_statistics(pool, probes=4, sketch_rank=2, seed=0)
    exact = replace(stats, diag_H=validate.exact_diagonal(pool))
    exact.extra["hvp"] = stats.extra["hvp"]
    return pool, exact


@pytest.mark.parametrize("eps, B", [(1e-8, 4), (1e-3, 64)])
def test_prediction_matches_the_real_step_under_independent_noise(pool, eps, B):
    pool, stats = pool
    measured = validate.measure_one_step(pool, eps, B, samples=512, seed=11, resamples=50, noise="independent")
    predicted = validate.predictions(stats, eps, [B], "outside")["exact"][0]
    z = (predicted - measured["eta_q"]) / measured["eta_q_se"]
    assert abs(z) < Z, f"exact[outside]/eta_q = {predicted / measured['eta_q']:.4f} ({z:+.2f} SE)"
    ratio = measured["eta_q"] / measured["eta_real"]
    assert abs(ratio - 1) < 0.15, (f"eta_q/eta_real = {ratio:.3f}; eta_real in "
                                   f"({measured['eta_real_low']:.3g}, {measured['eta_real_high']:.3g})")


def test_negative_control_real_minibatch_noise_breaks_the_prediction(pool):
    pool, stats = pool
    measured = validate.measure_one_step(pool, 1e-8, 4, samples=512, seed=11, resamples=50, noise="examples")
    predicted = validate.predictions(stats, 1e-8, [4], "outside")["exact"][0]
    z = (predicted - measured["eta_q"]) / measured["eta_q_se"]
    assert z > 10 * Z, f"expected a large overestimate, got {predicted / measured['eta_q']:.3f} ({z:+.1f} SE)"
