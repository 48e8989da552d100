"""One-step experiments: eta*_MC of a real optimizer's step on the NQM, and every model's prediction.

Common random numbers: the generator is seeded per experiment from ``seed`` only, so every optimizer,
eps and batch size sees the same standardised noise z (scaled by 1/sqrt(B)); differences between
them are not blurred by independent sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estimate import Estimate, bernstein_test, bootstrap_interval, ratio_estimate
from .nqm import Gaussian, Problem, minibatch_gradients
from .optimizers import optimizer

CHUNK = 1 << 17  # samples per library call (bounds memory; the libraries are vectorised within a chunk)


@dataclass(frozen=True)
class Samples:
    """X = g^T u and Y = u^T H u for each Monte Carlo sample of one step's update u."""

    X: np.ndarray
    Y: np.ndarray

    def estimate(self, level: float = 0.95) -> Estimate:
        return ratio_estimate(self.X, self.Y, level)


def step_samples(problem: Problem, B: float, name: str, samples: int, seed: int, family=Gaussian()) -> Samples:
    """Sample one step of optimizer ``name`` at batch size B (``samples`` minibatches, chunked)."""
    update = optimizer(name).update
    rng = np.random.default_rng(seed)
    X, Y = np.empty(samples), np.empty(samples)
    for start in range(0, samples, CHUNK):
        rows = min(CHUNK, samples - start)
        grads = minibatch_gradients(problem, B, rows, rng, family)
        u = update(grads, problem.eps)
        X[start:start + rows] = u @ problem.g
        Y[start:start + rows] = problem.quadratic(u)
    return Samples(X, Y)


def ranges(problem: Problem) -> tuple[float, float]:
    """Widths of the intervals holding X = g^T u and Y = u^T H u when |u_i| <= 1 (bounded updates)."""
    H = np.diag(problem.H) if problem.H.ndim == 1 else problem.H
    return 2 * float(np.abs(problem.g).sum()), float(np.abs(H).sum())


def acceptance(problem: Problem, B: float, samples: int, seed: int, alpha: float, model: str = "exact",
               name: str = "optax_softsign", eps_model: float | None = None):
    """The acceptance test: eta* of one real step agrees with ``model`` (empirical Bernstein, level alpha).

    ``eps_model`` (default: the problem's eps) is the eps given to the model; a negative control passes
    a wrong one.  Returns (the test, the delta-method estimate).
    """
    data = step_samples(problem, B, name, samples, seed)
    eps = problem.eps if eps_model is None else eps_model
    from .. import numeric

    predicted = float(numeric.eta_star(B, problem.g, problem.sigma, problem.H, eps, model=model))
    x_range, y_range = ranges(problem)
    return bernstein_test(data.X, data.Y, predicted, x_range, y_range, alpha), data.estimate()


def model_ratios(problem: Problem, B: float, eta_mc: float, models) -> dict[str, float]:
    """eta*_model / eta*_MC for each model."""
    return {model: float(problem.eta_star(B, model)) / eta_mc for model in models}


def with_bootstrap(data: Samples, level: float = 0.95, resamples: int = 400, seed: int = 0):
    """(delta-method estimate, bootstrap interval) of one sample."""
    return data.estimate(level), bootstrap_interval(data.X, data.Y, level, resamples, seed)
