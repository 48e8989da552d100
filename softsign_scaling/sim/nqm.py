"""The noisy quadratic model (NQM) and its noise families, numpy only.

Loss L(w) = 1/2 (w - w*)^T H (w - w*); at w the true gradient is g = H (w - w*), and a minibatch of B
examples gives g~_B = g + Sigma^(1/2) z / sqrt(B), z a standardised noise vector (zero mean, identity
covariance) from a noise family:

* :class:`Gaussian`: z ~ N(0, I) (the article's assumption);
* :class:`StudentT`: independent Student-t components with nu > 2 degrees of freedom, scaled to unit
  variance (heavy tails at the minibatch level);
* :class:`FiniteData`: a data set of N per-example gradients g + d_j (the d_j centred, with covariance
  exactly Sigma), the minibatch the mean of B distinct examples drawn without replacement; its
  covariance is (Sigma/B)(N - B)/(N - 1), the finite-population correction, so the family differs
  from the Gaussian in its tails and in its variance.

Sigma is a length-n vector (its diagonal, the article's assumption) or an (n, n) SPD matrix
(correlated components).  Every sampler is vectorised over the Monte Carlo samples: it returns a
(samples, n) float64 array, never a Python loop per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class SimulationInputError(ValueError):
    """A bad input to the simulation (shown as a one-line error by ``softsign-scaling simulate``)."""


def _vector(value, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise SimulationInputError(f"{name} must be a 1-D array of length n >= 1 (got shape {array.shape})")
    if not np.isfinite(array).all():
        raise SimulationInputError(f"{name} must be finite")
    return array


def _spd(value, n: int, name: str) -> np.ndarray:
    """A length-n positive vector (a diagonal) or an (n, n) SPD matrix, as given."""
    array = np.asarray(value, dtype=float)
    if not np.isfinite(array).all():
        raise SimulationInputError(f"{name} must be finite")
    if array.ndim == 1:
        if array.size != n:
            raise SimulationInputError(f"{name} (a diagonal) has length {array.size}, expected {n}")
        if not (array > 0).all():
            raise SimulationInputError(f"{name} must be > 0 on its diagonal")
        return array
    if array.shape != (n, n):
        raise SimulationInputError(f"{name} must be a length-{n} vector or an {n} x {n} matrix, got {array.shape}")
    if not np.allclose(array, array.T, rtol=0, atol=1e-12 * np.abs(array).max()):
        raise SimulationInputError(f"{name} is not symmetric")
    try:
        np.linalg.cholesky(array)
    except np.linalg.LinAlgError:
        raise SimulationInputError(f"{name} is not positive definite") from None
    return (array + array.T) / 2


@dataclass(frozen=True)
class Problem:
    """One point of the NQM: true gradient g, noise covariance Sigma (per example), curvature H, eps.

    ``Sigma`` and ``H`` are length-n vectors (diagonals) or (n, n) SPD matrices.  ``sigma`` is
    sqrt(diag Sigma), the per-component noise scale that ``numeric.eta_star`` takes.
    """

    g: np.ndarray
    Sigma: np.ndarray
    H: np.ndarray
    eps: float
    root: np.ndarray = field(init=False, repr=False, compare=False)  # Sigma^(1/2): a vector or lower Cholesky

    def __post_init__(self):
        g = _vector(self.g, "g")
        object.__setattr__(self, "g", g)
        object.__setattr__(self, "Sigma", _spd(self.Sigma, g.size, "Sigma"))
        object.__setattr__(self, "H", _spd(self.H, g.size, "H"))
        eps = float(self.eps)
        if not (math.isfinite(eps) and eps >= 0):
            raise SimulationInputError(f"eps must be finite and >= 0, got {self.eps!r}")
        object.__setattr__(self, "eps", eps)
        root = np.sqrt(self.Sigma) if self.Sigma.ndim == 1 else np.linalg.cholesky(self.Sigma)
        object.__setattr__(self, "root", root)

    @property
    def n(self) -> int:
        return self.g.size

    @property
    def sigma(self) -> np.ndarray:
        return np.sqrt(self.Sigma if self.Sigma.ndim == 1 else np.diag(self.Sigma))

    def with_eps(self, eps: float) -> Problem:
        return Problem(self.g, self.Sigma, self.H, eps)

    def quadratic(self, u: np.ndarray) -> np.ndarray:
        """u_i^T H u_i for each row u_i of u."""
        if self.H.ndim == 1:
            return (u * u) @ self.H
        return np.sum((u @ self.H) * u, axis=1)

    def colour(self, z: np.ndarray) -> np.ndarray:
        """Sigma^(1/2) z for each row z of z (standardised noise -> per-example noise)."""
        return z * self.root if self.root.ndim == 1 else z @ self.root.T

    def eta_star(self, B, model: str):
        """``numeric.eta_star`` of this problem (Sigma's diagonal only: the models assume independent noise)."""
        from .. import numeric

        return numeric.eta_star(B, self.g, self.sigma, self.H, self.eps, model=model)


# --------------------------------------------------------------------------------------------
# Noise families: each draws standardised minibatch noise, (samples, n), for a batch size B.


@dataclass(frozen=True)
class Gaussian:
    """z ~ N(0, I): the article's assumption.  Any B > 0 (B = inf gives no noise)."""

    name = "gaussian"

    def minibatch_noise(self, problem: Problem, B: float, samples: int, rng: np.random.Generator) -> np.ndarray:
        return problem.colour(rng.standard_normal((samples, problem.n))) / math.sqrt(B)

    def label(self) -> str:
        return "Gaussian"


@dataclass(frozen=True)
class StudentT:
    """Independent Student-t components with ``nu`` > 2 degrees of freedom, scaled to unit variance."""

    nu: float
    name = "student_t"

    def __post_init__(self):
        if not (math.isfinite(self.nu) and self.nu > 2):
            raise SimulationInputError(f"Student-t needs nu > 2 degrees of freedom (finite variance), got {self.nu!r}")

    def minibatch_noise(self, problem: Problem, B: float, samples: int, rng: np.random.Generator) -> np.ndarray:
        t = rng.standard_t(self.nu, size=(samples, problem.n)) * math.sqrt((self.nu - 2) / self.nu)
        return problem.colour(t) / math.sqrt(B)

    def label(self) -> str:
        return f"Student-t, nu = {self.nu:g}"


@dataclass(frozen=True)
class FiniteData:
    """N per-example gradients g + d_j, minibatches of B distinct examples (without replacement).

    The d_j are drawn once (seed ``data_seed``) from a centred, standardised distribution
    (``shape``: "gaussian" or "exponential", the latter skewed), then whitened so that their
    empirical covariance is exactly Sigma.  B must be an integer in [1, N].
    """

    N: int
    data_seed: int = 0
    shape: str = "gaussian"
    name = "finite"

    def __post_init__(self):
        if int(self.N) != self.N or self.N < 2:
            raise SimulationInputError(f"a finite data set needs N >= 2 examples, got {self.N!r}")
        if self.shape not in ("gaussian", "exponential"):
            raise SimulationInputError(f"FiniteData shape must be 'gaussian' or 'exponential', not {self.shape!r}")

    def examples(self, problem: Problem) -> np.ndarray:
        """The N per-example noise vectors d_j, (N, n), with mean 0 and covariance (1/N) sum d d^T = Sigma."""
        if self.N <= problem.n:
            raise SimulationInputError(f"FiniteData needs N > n = {problem.n} examples to have covariance Sigma")
        rng = np.random.default_rng(self.data_seed)
        raw = rng.standard_normal((self.N, problem.n)) if self.shape == "gaussian" else \
            rng.standard_exponential((self.N, problem.n))
        raw -= raw.mean(axis=0)
        whiten = np.linalg.cholesky(raw.T @ raw / self.N)
        white = np.linalg.solve(whiten, raw.T).T  # empirical covariance exactly I
        return problem.colour(white)

    def minibatch_noise(self, problem: Problem, B: float, samples: int, rng: np.random.Generator) -> np.ndarray:
        if int(B) != B or not 1 <= B <= self.N:
            raise SimulationInputError(f"FiniteData needs an integer batch size in [1, {self.N}], got {B!r}")
        B = int(B)
        data = self.examples(problem)
        out = np.empty((samples, problem.n))
        chunk = max(1, (1 << 22) // max(self.N, B * problem.n))
        for start in range(0, samples, chunk):  # chunks bound the (chunk, N) permutation array
            rows = min(chunk, samples - start)
            index = rng.permuted(np.broadcast_to(np.arange(self.N), (rows, self.N)), axis=1)[:, :B]
            out[start:start + rows] = data[index].mean(axis=1)
        return out

    def variance_factor(self, B: int) -> float:
        """Cov(minibatch noise) = factor * Sigma/B with factor (N - B)/(N - 1)."""
        return (self.N - B) / (self.N - 1)

    def label(self) -> str:
        return f"finite data, N = {self.N} ({self.shape})"


NOISE_FAMILIES = {"gaussian": Gaussian, "student_t": StudentT, "finite": FiniteData}


def minibatch_gradients(problem: Problem, B: float, samples: int, rng: np.random.Generator,
                        family=Gaussian()) -> np.ndarray:
    """g~_B for ``samples`` independent minibatches: a (samples, n) float64 array."""
    if not (B > 0):
        raise SimulationInputError(f"B must be > 0, got {B!r}")
    if samples < 2 or int(samples) != samples:
        raise SimulationInputError(f"samples must be an integer >= 2, got {samples!r}")
    if math.isinf(B):
        return np.broadcast_to(problem.g, (samples, problem.n)).copy()
    return problem.g + family.minibatch_noise(problem, B, int(samples), rng)
