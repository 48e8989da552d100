"""eta* from Monte Carlo samples of an update, with confidence intervals (numpy only).

For an update u (a random vector) applied at w with learning rate eta, the quadratic loss changes by

    L(w - eta u) - L(w) = -eta X + eta^2 Y / 2,   X = g^T u,   Y = u^T H u,

so the expected decrease is maximised at eta* = E[X]/E[Y], a ratio of two means: "eta* in closed
form from the update's mean and covariance" (E[X] = g^T E[u], E[Y] = E[u]^T H E[u] + tr(H Cov u)).
Its estimate is Xbar/Ybar; the confidence interval is the delta method's (normal, from the sample
covariance of (X, Y)), cross-checked by a percentile bootstrap; :func:`decrease_on_grid` evaluates
the expected change directly on a grid of eta.

For a statistical test that must hold at a stated error rate even when rare events (a sign flip of
probability 3e-7) never appear in the sample, :func:`bernstein_test` uses the empirical Bernstein
bound (Maurer and Pontil 2009, Theorem 4), valid at every sample size for a variable of known range:
its range term covers what the sample may not show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri


@dataclass(frozen=True)
class Estimate:
    """eta*_MC = mean(X)/mean(Y) with a delta-method interval (level ``level``) and its standard error."""

    eta: float
    stderr: float
    low: float
    high: float
    level: float
    samples: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def relative_halfwidth(self) -> float:
        return (self.high - self.low) / (2 * abs(self.eta))


def _z(level: float) -> float:
    return float(ndtri(0.5 + level / 2))


def ratio_estimate(X: np.ndarray, Y: np.ndarray, level: float = 0.95) -> Estimate:
    """Xbar/Ybar with the delta method's standard error sqrt(Var(X - r Y)/N)/Ybar."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    N = X.size
    mean_x, mean_y = X.mean(), Y.mean()
    if not mean_y > 0:
        raise FloatingPointError("mean of u^T H u is not > 0: the update is zero in every sample")
    r = mean_x / mean_y
    residual = X - r * Y
    stderr = float(np.sqrt(residual.var(ddof=1) / N) / mean_y)
    half = _z(level) * stderr
    return Estimate(float(r), stderr, float(r - half), float(r + half), level, N)


def bootstrap_interval(X: np.ndarray, Y: np.ndarray, level: float = 0.95, resamples: int = 400,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of Xbar/Ybar (resampling rows; vectorised through multinomial weights)."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    N = X.size
    rng = np.random.default_rng(seed)
    ratios = np.empty(resamples)
    block = max(1, (1 << 24) // N)
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        weights = rng.multinomial(N, np.full(N, 1.0 / N), size=rows).astype(float)
        ratios[start:start + rows] = (weights @ X) / (weights @ Y)
    alpha = (1 - level) / 2
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return float(low), float(high)


def decrease_on_grid(X: np.ndarray, Y: np.ndarray, etas: np.ndarray) -> np.ndarray:
    """The estimated E[L(w - eta u)] - L(w) at each eta (common random numbers: one sample for all eta)."""
    etas = np.asarray(etas, dtype=float)
    return -etas * X.mean() + etas**2 * Y.mean() / 2


def grid_argmin(X: np.ndarray, Y: np.ndarray, etas: np.ndarray) -> float:
    """The eta of the grid with the largest estimated decrease (a direct check of Xbar/Ybar)."""
    return float(np.asarray(etas)[int(np.argmin(decrease_on_grid(X, Y, etas)))])


@dataclass(frozen=True)
class BernsteinTest:
    """H0: E[X - eta0 Y] = 0 (that is, eta* = eta0), tested with the empirical Bernstein bound."""

    eta0: float
    mean: float          # mean of Z = X - eta0 Y
    bound: float         # reject when |mean| > bound
    alpha: float         # the test's false-rejection probability is at most alpha (finite samples)
    eta_interval: tuple[float, float]  # eta0 values the test would not reject (given this sample)

    @property
    def rejected(self) -> bool:
        return abs(self.mean) > self.bound

    def relative_shift(self) -> float:
        """How far eta0 is from the sample's eta*, in units of the test's half-width (|.| > 1 rejects)."""
        return self.mean / self.bound


def bernstein_bound(variance: float, value_range: float, N: int, alpha: float) -> float:
    """Two-sided empirical Bernstein radius: P(|mean - E| > radius) <= alpha for values in an interval of this range.

    Maurer and Pontil (2009), Theorem 4, with delta = alpha/2 on each side:
    sqrt(2 V ln(4/alpha)/N) + 7 R ln(4/alpha)/(3 (N - 1)), V the unbiased sample variance.
    """
    log_term = math.log(4 / alpha)
    return math.sqrt(2 * variance * log_term / N) + 7 * value_range * log_term / (3 * (N - 1))


def bernstein_test(X: np.ndarray, Y: np.ndarray, eta0: float, x_range: float, y_range: float,
                   alpha: float) -> BernsteinTest:
    """Test eta* = eta0 from samples of X in an interval of width x_range and Y of width y_range.

    Z = X - eta0 Y lies in an interval of width x_range + eta0 y_range; the test rejects when |Zbar|
    exceeds the empirical Bernstein radius, so it falsely rejects with probability <= alpha whatever
    the distribution (no normal approximation, no reliance on the sample having seen rare events).
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    N = X.size
    Z = X - eta0 * Y
    bound = bernstein_bound(float(Z.var(ddof=1)), x_range + abs(eta0) * y_range, N, alpha)
    # The accepted set of eta0 (solving |Xbar - e Ybar| <= bound(e), with the variance at e) by bisection.
    mean_x, mean_y = X.mean(), Y.mean()

    def excess(e: float) -> float:
        z = X - e * Y
        return abs(mean_x - e * mean_y) - bernstein_bound(float(z.var(ddof=1)), x_range + abs(e) * y_range, N, alpha)

    center = mean_x / mean_y

    def edge(direction: int) -> float:
        inside, step = center, abs(center) * 1e-4 + 1e-300
        outside = center + direction * step
        for _ in range(200):
            if excess(outside) > 0:
                break
            inside, step = outside, step * 2
            outside = center + direction * step
        for _ in range(60):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if excess(middle) <= 0 else (inside, middle)
        return inside

    return BernsteinTest(eta0, float(Z.mean()), bound, alpha, (edge(-1), edge(+1)))
