"""The quadratic model's inputs as one validated value: :class:`Problem` (g, sigma, H, eps).

A ``Problem`` is checked once, when it is made, and holds the aggregates every model reads:
nu_i = softsign(g_i, eps), G_nu = sum nu_i g_i, S_nu = nu^T H nu, T_H = tr H (E-14),
B_simple = sum sigma_i^2/(g^T g + n eps^2), and the averages of kappa_i^2 = sigma_i^2/(g_i^2 + eps^2)
(:data:`KAPPA2`).  These are the only definitions of them: ``numeric.eta_star`` and the error
atlas (``atlas/meanfield.py``) both read them from here.

>>> p = Problem(g=[1.0, -0.5], sigma=[2.0, 1.0], H=[[2.0, 0.3], [0.3, 1.0]], eps=0.1)
>>> round(p.G_nu, 10), round(p.T_H, 10), round(p.B_simple, 10)
(1.4853275281, 3.0, 3.937007874)
>>> sorted(p.kappa2_averages())
['harmonic', 'mean', 'median', 'numerator-weighted', 'ratio']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._checks import finite, plain, positive, real

KAPPA2 = ("mean", "harmonic", "ratio", "median", "numerator-weighted")
"""The averages of kappa_i^2 = sigma_i^2/(g_i^2 + eps^2) that E-14's mean field can use (``kappa2=``)."""

PLACEMENTS = ("inside", "outside")  # where eps sits: inside the square root, sqrt(x^2 + eps^2) (the article's
#                                     SoftSign, optax's eps_root), or outside it, |x| + eps (PyTorch, Keras; steps X-1 ..)

_DENSE_BLOCK = 1 << 21  # rows x n x n per block of the deterministic quadratic form


@dataclass(frozen=True, eq=False)
class Problem:
    """g, sigma (length n), H (n x n symmetric positive definite, or its diagonal as a length-n vector), eps >= 0.

    ``placement``: "inside" (softsign(x, eps) = x/sqrt(x^2 + eps^2), the default) or "outside"
    (x/(|x| + eps), PyTorch's Adam, steps X-1 .. X-8; models that do not support it refuse it).  ``beta1``
    in [0, 1) is Adam's momentum (steps M-1 .. M-7): the per-step models read it as "beta2 = 0 with
    momentum" (the model at the effective batch B (1 + beta1)/(1 - beta1)), the "averaged" model as
    beta2 -> 1; a model for which it has no meaning refuses beta1 > 0.
    The arrays are stored as read-only float64 copies; ``H`` keeps the form it was given in.
    """

    g: np.ndarray
    sigma: np.ndarray
    H: np.ndarray
    eps: float
    placement: str = "inside"
    beta1: float = 0.0
    diagonal: np.ndarray = field(init=False, repr=False)  # diag(H)
    dense: np.ndarray | None = field(init=False, repr=False)  # H symmetrised, or None when H was a diagonal

    def __post_init__(self) -> None:
        g, sigma = real(self.g, "g"), real(self.sigma, "sigma")
        for array, name in ((g, "g"), (sigma, "sigma")):
            if array.ndim != 1 or array.size == 0:
                raise ValueError(f"{name} must be a 1-D array of length n >= 1 (got shape {array.shape})")
            finite(array, name)
        if sigma.shape != g.shape:
            raise ValueError(f"sigma has length {sigma.size} but g has length {g.size}")
        positive(sigma, "sigma")
        if not g.any():
            raise ValueError("g is zero in every component: eta* is undefined")
        H = real(self.H, "H")
        finite(H, "H")
        n = g.size
        if H.ndim == 1:
            if H.size != n:
                raise ValueError(f"H (the diagonal of H) has length {H.size} but g has length {n}")
            if not (H > 0).all():
                raise ValueError("H is not positive definite: its diagonal has an entry <= 0")
            diagonal, dense = H.copy(), None
        elif H.ndim == 2:
            if H.shape[0] != H.shape[1]:
                raise ValueError(f"H must be square, got shape {H.shape}")
            if H.shape[0] != n:
                raise ValueError(f"H is {H.shape[0]} x {H.shape[1]} but g has length {n}")
            scale = np.abs(H).max()
            if not np.allclose(H, H.T, rtol=0.0, atol=1e-12 * scale):
                raise ValueError("H is not symmetric")
            dense = (H + H.T) / 2
            try:
                np.linalg.cholesky(dense)
            except np.linalg.LinAlgError:
                raise ValueError("H is not positive definite") from None
            diagonal = np.diag(dense).copy()
        else:
            raise ValueError(f"H must be an (n, n) matrix or a length-n vector, got {H.ndim} dimensions")
        eps = real(self.eps, "eps")
        if eps.ndim != 0:
            raise ValueError(f"eps must be a scalar, got shape {eps.shape}")
        finite(eps, "eps")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {plain(eps)}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, not {self.placement!r}")
        beta1 = real(self.beta1, "beta1")
        if beta1.ndim != 0:
            raise ValueError(f"beta1 must be a scalar, got shape {beta1.shape}")
        if not (0.0 <= float(beta1) < 1.0):  # also refuses nan
            raise ValueError(f"beta1 (momentum) must be in [0, 1), not {plain(self.beta1)}")
        arrays = {"g": g.copy(), "sigma": sigma.copy(), "H": (dense if dense is not None else diagonal).copy(),
                  "diagonal": diagonal, "dense": dense}
        for name, array in arrays.items():
            if array is not None:
                array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "eps", float(eps))
        object.__setattr__(self, "beta1", float(beta1))

    @classmethod
    def of(cls, problem_or_g, sigma=None, H=None, eps=None) -> "Problem":
        """``problem_or_g`` itself when it is a Problem (then sigma, H, eps must be omitted), else Problem(g, ...)."""
        if isinstance(problem_or_g, Problem):
            if not (sigma is None and H is None and eps is None):
                raise TypeError("sigma, H and eps must be omitted when a Problem is given")
            return problem_or_g
        missing = [name for name, value in (("sigma", sigma), ("H", H), ("eps", eps)) if value is None]
        if missing:
            raise TypeError(f"{missing[0]} is missing: give a Problem, or g, sigma, H and eps")
        return cls(problem_or_g, sigma, H, eps)

    def rescaled(self, c: float) -> "Problem":
        """The same problem in units c times larger: g/c, sigma/c, eps/c (a and b, hence the moments, unchanged).

        eta* scales as c and the loss decrease as c^2 under this change; models use it to keep
        eps^2 and the moments inside the float64 range."""
        new = object.__new__(Problem)
        for name in ("H", "diagonal", "dense", "placement", "beta1"):
            object.__setattr__(new, name, getattr(self, name))
        for name in ("g", "sigma"):
            array = getattr(self, name) / c
            array.setflags(write=False)
            object.__setattr__(new, name, array)
        object.__setattr__(new, "eps", self.eps / c)
        return new

    @property
    def n(self) -> int:
        return self.g.size

    def quadratic(self, m: np.ndarray) -> np.ndarray:
        """m^T H m for each row of m (or for a vector m).

        Each row is summed in the same order whatever the other rows are, so a point gives the
        same bits alone and inside an array (no BLAS, whose kernels depend on the row count)."""
        m = np.asarray(m, dtype=float)
        rows = m.reshape(-1, self.n)
        if self.dense is None:
            out = (rows * rows * self.diagonal).sum(axis=-1)
        else:
            out = np.empty(rows.shape[0])
            step = _DENSE_BLOCK // (self.n * self.n)
            if step >= 1:
                for start in range(0, rows.shape[0], step):
                    block = rows[start:start + step]
                    Hm = (block[:, :, None] * self.dense).sum(axis=1)  # sum_i m_i H_ij, in i order
                    out[start:start + step] = (Hm * block).sum(axis=-1)
            else:  # n > 1448: one matrix-vector product per row (the same call for every row)
                for k, row in enumerate(rows):
                    out[k] = float(((self.dense @ row) * row).sum())
        return out.reshape(m.shape[:-1]) if m.ndim > 1 else float(out[0])

    @cached_property
    def nu(self) -> np.ndarray:
        """softsign(g_i, eps) (sign(g_i) at eps = 0, 0 where g_i = 0)."""
        if self.eps == 0:
            return np.sign(self.g)
        return self.g / np.hypot(self.g, self.eps)

    @cached_property
    def G_nu(self) -> float:
        """sum nu_i g_i (E-14's numerator)."""
        return float(self.nu @ self.g)

    @cached_property
    def S_nu(self) -> float:
        """nu^T H nu (E-14)."""
        return float(self.quadratic(self.nu))

    @cached_property
    def T_H(self) -> float:
        """tr H (E-14)."""
        return float(self.diagonal.sum())

    @cached_property
    def B_simple(self) -> float:
        """sum sigma_i^2/(g^T g + n eps^2), the simple noise scale (kexue.fm 11280)."""
        if self.eps > 1e100:  # eps^2 would overflow
            return self.B_simple_sgd / self.eps / self.eps
        return float(np.sum(self.sigma**2) / (self.g @ self.g + self.n * self.eps**2))

    @cached_property
    def nu_sgd(self) -> np.ndarray:
        """nu_i eps = g_i eps/sqrt(g_i^2 + eps^2) (-> g_i as eps -> oo): nu in SGD units."""
        return self.g * (self.eps / np.hypot(self.g, self.eps))

    @cached_property
    def B_simple_sgd(self) -> float:
        """B_simple eps^2 = sum sigma_i^2/(|g/eps|^2 + n), without forming eps^2."""
        ratio = self.g / self.eps
        return float(np.sum(self.sigma**2) / (ratio @ ratio + self.n))

    @cached_property
    def kappa2_components(self) -> np.ndarray:
        """kappa_i^2 = sigma_i^2/(g_i^2 + eps^2) (inf where g_i = eps = 0)."""
        with np.errstate(divide="ignore"):
            return self.sigma**2 / (self.g**2 + self.eps**2)

    def kappa2(self, kind, sgd_units: bool = False) -> float:
        """E-14's kappa^2: one of :data:`KAPPA2`, or a finite number > 0 (returned as it is).

        ``sgd_units``: kappa^2 eps^2 instead, computed without forming eps^2 (for eps > 1e100)."""
        if not isinstance(kind, str):
            number = kappa2_number(kind)
            return number * self.eps * self.eps if sgd_units else number
        if sgd_units:
            signal = (self.g / self.eps) ** 2 + 1.0
            components = self.sigma**2 / signal
        else:
            signal = self.g**2 + self.eps**2
            components = self.kappa2_components
        if kind == "mean":
            value = float(np.mean(components))
        elif kind == "harmonic":
            value = self.n / float(np.sum(signal / self.sigma**2))
        elif kind == "ratio":
            value = float(np.sum(self.sigma**2) / np.sum(signal))
        elif kind == "median":
            value = float(np.median(components))
        elif kind == "numerator-weighted":  # weights nu_i g_i: each component's share of sum nu_i g_i
            weights = self.nu * self.g
            kept = weights > 0
            value = float(np.sum(weights[kept] * components[kept]) / np.sum(weights[kept]))
        else:
            raise ValueError(f"kappa2 must be one of {KAPPA2} or a number > 0, not {kind!r}")
        if not math.isfinite(value):
            raise ValueError(f"kappa2={kind!r} is infinite: some g_i = 0 with eps = 0; use kappa2='harmonic' "
                             "or 'ratio', or eps > 0")
        return value

    def kappa2_averages(self) -> dict[str, float]:
        """Every named average of :data:`KAPPA2` (the error atlas compares them)."""
        return {kind: self.kappa2(kind) for kind in KAPPA2}

    @cached_property
    def sgd_terms(self) -> tuple[float, float, float]:
        """g^T g, g^T H g and tr(Sigma H), Sigma = diag(sigma^2) (P-10)."""
        return float(self.g @ self.g), float(self.quadratic(self.g)), float(self.sigma**2 @ self.diagonal)


def kappa2_number(value) -> float:
    """A numeric kappa2, checked: a finite number > 0."""
    array = real(value, "kappa2")
    if array.ndim != 0 or not (math.isfinite(float(array)) and float(array) > 0):
        shown = plain(value) if array.ndim == 0 else f"an array of shape {array.shape}"
        raise ValueError(f"kappa2 must be one of {KAPPA2} or a finite number > 0, not {shown}")
    return float(array)


def check_kappa2(kind) -> None:
    """kappa2's form (name or number), checked without a problem."""
    if isinstance(kind, str):
        if kind not in KAPPA2:
            raise ValueError(f"kappa2 must be one of {KAPPA2} or a number > 0, not {kind!r}")
    else:
        kappa2_number(kind)
