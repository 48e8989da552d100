"""The correlated-noise model: the update's cross-component covariance to first order (Stein/Bussgang).

Every per-component model takes the update's components as independent: E[u^T H u] = m^T H m + sum_i v_i H_ii.
Real minibatch gradients g~ = g + xi, xi ~ N(0, Sigma/B), have a full covariance Sigma.  For u_i = phi_i(g~_i)
(the SoftSign update, either placement) the Mehler expansion of a bivariate Gaussian gives

    Cov(u_i, u_j) = sum_{k >= 1} (Sigma_ij/B)^k/k! E[phi_i^(k)] E[phi_j^(k)]        (i != j)

whose first term (Stein's lemma, Bussgang) is s_i s_j Sigma_ij/B with s_i = E[phi_i'(g~_i)] = dm_i/dg_i, the slope
of the component's mean m_i(g_i) = E[u_i].  The model keeps that term off the diagonal and the exact variance on
it:

    Cov(u) ~ diag(v) + offdiag(S Sigma S)/B,   S = diag(s),   v_i the exact Var(u_i) (the base model's moments),

that is Cov(u) ~ diag(v - s^2 sigma^2/B) + S Sigma S/B, a sum of two positive semidefinite matrices (Var phi(x) >=
Cov(phi(x), x)^2/Var x = s^2 sigma^2/B, Cauchy-Schwarz with Stein's Cov(phi(x), x) = s Var x), so the model's
E[u^T H u] > 0 for every Sigma.  The denominator of eta* gains C/B with

    C = tr(H S Sigma S) - sum_i H_ii s_i^2 Sigma_ii = tr(H S Sigma_off S),   Sigma_off = Sigma - diag(Sigma),

and eta* = sum_i m_i g_i / (m^T H m + sum_i v_i H_ii + C/B).  The numerator is the base model's (a mean reads
one marginal).  "~" here: exact on the diagonal and for a linear phi (eps -> oo: the SGD update), first order in
Sigma_ij/B off it; the residual is the k >= 2 terms, k = 2 vanishing where E[phi''] = 0 (g_i = 0: phi odd).  The
slope in reduced variables: a = g sqrt(B)/sigma, so dm/dg = (sqrt(B)/sigma) dm/da, from the base model's mean by
a five-point central difference in a (step 1e-2: truncation ~1e-10, the tables' 1e-10 noise amplified to ~1e-8).
Where b >= B_FAR (eps sqrt(B)/sigma_i >= 1e50) the update is deterministic and s_i is phi's own slope at g_i.

Sigma never appears as a matrix.  The problem carries it as ``Problem(noise=...)``, an object with

* ``n`` (the number of components) and
* ``correction(problem, slopes) -> C``: C for each row of ``slopes`` (rows, n),
* ``rescaled(c)``: the same noise in units c times larger (Sigma / c^2),

two of which are here: :class:`LowRankNoise` (Sigma_off = offdiag(P diag(l) P^T), C by quadratic forms of H:
O(n r) for an operator H, r matvecs per batch size) and :class:`ProjectedNoise` (projections of sampled gradient
deviations on H's top eigenvectors, grouped so that S acts per group: what a statistics file stores; O(n r) per
batch size, never the deviations themselves).  ``noise=None`` means Sigma = diag(sigma^2): C = 0 and the model
is its base model, bit for bit.

>>> import numpy as np
>>> from softsign_scaling import numeric
>>> H = np.array([[2.0, 0.5], [0.5, 1.0]])
>>> p = numeric.Problem([0.3, -0.2], [1.0, 1.0], H, 0.1)
>>> float(numeric.eta_star(16, p, model="correlated")) == float(numeric.eta_star(16, p, model="exact"))
True
>>> rho = 0.8  # Sigma = [[1, rho], [rho, 1]]: off the diagonal P diag(l) P^T with P = (1, 1)/sqrt(2), l = 2 rho
>>> q = numeric.Problem([0.3, -0.2], [1.0, 1.0], H, 0.1, noise=LowRankNoise(np.ones((2, 1)) / np.sqrt(2), [2 * rho]))
>>> bool(numeric.eta_star(16, q, model="correlated") < numeric.eta_star(16, p, model="exact"))  # H_12 rho > 0: less room
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ._checks import finite
from .families import is_far
from . import models as _models
from .models import Model, get_model, register_model
from .problem import Problem

SLOPE_STEP = 1e-2  # the difference step in a (reduced units: the mean's scale in a is >= 1 for every b)


def _check_rows(name: str, array, n: int, ndim: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if ndim == 2 and array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} rows but the problem has n = {n} components")
    finite(array, name)
    return array


@dataclass(frozen=True, eq=False)
class LowRankNoise:
    """Sigma = diag(sigma^2) + offdiag(P diag(l) P^T): the minibatch noise's covariance off the diagonal, rank r.

    ``P`` (n, r), ``l`` (r,) >= 0.  The diagonal of Sigma is the problem's sigma^2 (only the off-diagonal part
    enters C).  From k sampled deviations d_e (rows of D, (k, n)) of a per-example gradient from its mean:
    :meth:`from_deviations` (P = D^T, l = 1/k: the sample covariance).  C = sum_k l_k [q_k^T H q_k - sum_i H_ii
    q_ki^2], q_k = s o p_k: r quadratic forms of H per batch size, and 0 for a diagonal H."""

    P: np.ndarray
    l: np.ndarray

    def __post_init__(self) -> None:
        P = np.asarray(self.P, dtype=np.float64)
        if P.ndim != 2:
            raise ValueError(f"P must be an (n, r) array, got shape {P.shape}")
        finite(P, "P")
        l = np.asarray(self.l, dtype=np.float64).reshape(-1)
        if l.size != P.shape[1]:
            raise ValueError(f"l has {l.size} values but P has {P.shape[1]} columns")
        finite(l, "l")
        if (l < 0).any():
            raise ValueError("l must be >= 0 (a covariance)")
        for name, value in (("P", P), ("l", l)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def from_deviations(cls, deviations) -> "LowRankNoise":
        """The sample covariance (1/k) sum_e d_e d_e^T of k deviations (rows of a (k, n) array) off the diagonal."""
        D = np.asarray(deviations, dtype=np.float64)
        if D.ndim != 2 or D.shape[0] < 1:
            raise ValueError(f"deviations must be a (k, n) array with k >= 1, got shape {D.shape}")
        return cls(D.T.copy(), np.full(D.shape[0], 1.0 / D.shape[0]))

    @property
    def n(self) -> int:
        return self.P.shape[0]

    def rescaled(self, c: float) -> "LowRankNoise":
        return LowRankNoise(self.P, self.l / (c * c))

    def correction(self, problem: Problem, slopes: np.ndarray) -> np.ndarray:
        """C = tr(H S Sigma_off S) for each row of ``slopes`` (rows, n)."""
        slopes = np.atleast_2d(slopes)
        out = np.zeros(slopes.shape[0])
        if not problem.coupled:
            return out  # tr(H S Sigma_off S) reads only diag(S Sigma_off S) = 0 when H is diagonal
        for row, s in enumerate(slopes):
            q = (s[:, None] * self.P).T  # (r, n)
            whole = np.asarray(problem.quadratic(q), dtype=float).reshape(-1)
            diagonal = (q * q) @ np.asarray(problem.diagonal, dtype=float)
            out[row] = float(self.l @ (whole - diagonal))
        return out


@dataclass(frozen=True, eq=False)
class ProjectedNoise:
    """C from k sampled gradient deviations projected on H's top-r eigenvectors, per group of components.

    H ~ U diag(lam) U^T + diag(rest) (U (n, r) orthonormal, the statistics' sketch).  Then (diag(rest) has no
    off-diagonal part)

        C = sum_j lam_j [u_j^T S Sigma S u_j - sum_i U_ij^2 s_i^2 Sigma_ii],

    and u_j^T S Sigma S u_j = E_e[(sum_i U_ij s_i d_ei)^2] for deviations d_e with E[d d^T] = Sigma.  The
    components are split into G groups (``groups`` (n,), values 0 .. G-1, or -1: left out, e.g. sigma_i = 0) in
    which t_i = s_i sigma_i is nearly constant for every (B, eps), so sum_i U_ij s_i d_ei = sum_i U_ij t_i (d_ei/
    sigma_i) ~ sum_G tbar_jG c_ejG with the stored projections of the standardized deviations ``projections[e, j,
    G]`` = sum_{i in G} U_ij d_ei/sigma_i (k, r, G) (``scale`` = sigma) and tbar_jG the mean of t_i over G with
    weights U_ij^2 (``weights`` (n, r): U_ij^2 Var(d_i/scale_i)).  Standardizing matters: t_i = sqrt(B) dm/da is
    one function of (|g_i|/sigma_i, eps/sigma_i), nearly constant in a quantile bin of both, while s_i itself
    carries 1/sigma_i across a bin's whole sigma range (on the digits MLP the 64 groups kept 99.5% of C standardized,
    81% not).  The diagonal is removed with the same samples, ``diagonal[j, G]`` = (1/k) sum_e sum_{i in G}
    U_ij^2 (d_ei/sigma_i)^2, so that

        C_hat = sum_j lam_j [(1/k) sum_e (c_ej . tbar_j)^2 - diagonal_j . tbar_j^2]

    is the off-diagonal part of the sample covariance seen through S: unbiased for C_r,G (C with H's top-r part and
    S constant within groups) when the k deviations are drawn uniformly from the population whose covariance is
    Sigma, with a standard error ~ 1/sqrt(k) (:meth:`correction_se`: the spread over the k samples).  The
    remaining biases are (r) the residual H - U diag(lam) U^T's off-diagonal part, which C_hat leaves out, and
    (G) the spread of s_i within a group; neither is estimable from the file (tests/test_correlated.py measures
    both against the full sum).  Each sample is scaled so that E[d d^T] = Sigma, the per-example covariance (the
    deviation of a b-example minibatch gradient from the mean of K such, on K ranks, times sqrt(b K/(K - 1)))."""

    values: np.ndarray       # lam (r,)
    groups: np.ndarray       # (n,) int, -1 left out
    weights: np.ndarray      # (n, r) U_ij^2 sigma_i^2
    projections: np.ndarray  # (k, r, G)
    diagonal: np.ndarray     # (r, G)
    scale: np.ndarray | None = None  # (n,) the deviations were projected as d_i/scale_i (None: 1)
    _sums: np.ndarray = field(init=False, repr=False)  # (r, G) the weights summed per group
    _kept_groups: np.ndarray = field(init=False, repr=False)  # the groups of the components in one (groups >= 0)
    _kept_weights: np.ndarray = field(init=False, repr=False)  # (r, those components) their weights, row by row

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        groups = np.asarray(self.groups).reshape(-1)
        if groups.dtype.kind not in "iu":
            raise ValueError(f"groups must be integers, not dtype {groups.dtype}")
        groups = groups.astype(np.int64)
        r = values.size
        weights = _check_rows("weights", self.weights, groups.size, 2)
        projections = np.asarray(self.projections, dtype=np.float64)
        if projections.ndim != 3 or projections.shape[1] != r or projections.shape[0] < 1:
            raise ValueError(f"projections must be (k, r = {r}, G) with k >= 1, got shape {projections.shape}")
        G = projections.shape[2]
        diagonal = np.asarray(self.diagonal, dtype=np.float64)
        if diagonal.shape != (r, G):
            raise ValueError(f"diagonal must be (r, G) = ({r}, {G}), got shape {diagonal.shape}")
        if weights.shape[1] != r:
            raise ValueError(f"weights must be (n, r = {r}), got shape {weights.shape}")
        if groups.min() < -1 or groups.max() >= G:
            raise ValueError(f"groups must be in -1 .. {G - 1}")
        for name, value in (("values", values), ("projections", projections), ("diagonal", diagonal)):
            finite(value, name)
        scale = np.ones(groups.size) if self.scale is None else np.asarray(self.scale, dtype=np.float64).reshape(-1)
        if scale.shape != groups.shape or not np.isfinite(scale).all() or (scale < 0).any():
            raise ValueError(f"scale must be {groups.size} finite numbers >= 0")
        sums = np.zeros((r, G))
        kept = groups >= 0
        every = bool(kept.all())
        kept_groups = groups if every else groups[kept]
        kept_weights = np.ascontiguousarray((weights if every else weights[kept]).T)  # contiguous rows: group_slopes'
        if every:  # r sums read them; ``weights`` then a view of the same numbers (one copy in memory, not two)
            weights = kept_weights.T
        for j in range(r):
            sums[j] = np.bincount(kept_groups, weights=kept_weights[j], minlength=G)
        for name, value in (("values", values), ("groups", groups), ("weights", weights), ("projections", projections),
                            ("diagonal", diagonal), ("scale", scale), ("_sums", sums), ("_kept_groups", kept_groups),
                            ("_kept_weights", kept_weights)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n(self) -> int:
        return self.groups.size

    @property
    def samples(self) -> int:
        return self.projections.shape[0]

    def rescaled(self, c: float) -> "ProjectedNoise":
        # d -> d/c and s -> c s: the stored d_i/scale_i stay, with scale/c; s_i scale_i is unchanged
        return ProjectedNoise(self.values, self.groups, self.weights, self.projections, self.diagonal, self.scale / c)

    def group_slopes(self, slopes: np.ndarray) -> np.ndarray:
        """sbar (r, G) of one row of slopes (n,): the weighted mean of s_i per group, for each eigenvector."""
        out = np.zeros(self._sums.shape)
        kept_slopes = slopes if self._kept_groups is self.groups else slopes[self.groups >= 0]
        for j in range(self.values.size):
            top = np.bincount(self._kept_groups, weights=self._kept_weights[j] * kept_slopes, minlength=out.shape[1])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[j] = np.where(self._sums[j] > 0, top / np.where(self._sums[j] > 0, self._sums[j], 1.0), 0.0)
        return out

    def _per_sample(self, slopes: np.ndarray) -> np.ndarray:
        """(k,) per-sample terms whose mean is C_hat, for one row of slopes."""
        sbar = self.group_slopes(np.asarray(slopes, dtype=float) * self.scale)
        inner = np.einsum("ejg,jg->ej", self.projections, sbar)  # (k, r)
        return (inner * inner) @ self.values - float(self.values @ (self.diagonal * sbar * sbar).sum(axis=1))

    def correction(self, problem: Problem, slopes: np.ndarray) -> np.ndarray:
        slopes = np.atleast_2d(slopes)
        return np.array([float(self._per_sample(s).mean()) for s in slopes])

    def correction_se(self, slopes: np.ndarray) -> np.ndarray:
        """The standard error of C_hat over the k samples, per row of slopes (the 1/sqrt(k) part of its error)."""
        slopes = np.atleast_2d(slopes)
        k = self.samples
        return np.array([float(self._per_sample(s).std(ddof=1) / math.sqrt(k)) if k > 1 else math.inf
                         for s in slopes])

    def shuffled(self, seed: int = 0) -> "ProjectedNoise":
        """A negative control: each group's samples permuted independently of the other groups' (one permutation
        per group, the same for every eigenvector), which keeps every group's own projections and destroys the
        correlation between groups: C_hat keeps only its within-group part (the sum of (c_ejg tbar_jg)^2 minus the
        diagonal), which no permutation of projected samples can remove; a per-component shuffle of the deviations
        before projection (real/validate.py's control) removes all of it."""
        rng = np.random.default_rng(seed)
        k, r, G = self.projections.shape
        mixed = np.empty_like(self.projections)
        for g in range(G):
            order = rng.permutation(k)  # the same permutation for every j keeps within-group structure
            mixed[:, :, g] = self.projections[order, :, g]
        return ProjectedNoise(self.values, self.groups, self.weights, mixed, self.diagonal, self.scale)


GROUP_BINS = (8, 8)  # quantile bins of |g_i|/sigma_i and of sigma_i: 64 groups


def quantile_groups(g, sigma, bins: tuple[int, int] = GROUP_BINS) -> np.ndarray:
    """Each component's group for :class:`ProjectedNoise`: quantile bins of |g_i|/sigma_i (the S-curve's variable
    a/sqrt(B), so s_i sigma_i/sqrt(B) = dm/da is one function of it per b) times quantile bins of log sigma_i (b's
    scale); -1 where sigma_i = 0 (no noise).  Within a group s_i = (sqrt(B)/sigma_i) dm/da(a_i, b_i) varies only
    through the bins' widths, for every (B, eps)."""
    g = np.asarray(g, dtype=np.float64).reshape(-1)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    out = np.full(g.size, -1, dtype=np.int64)
    noisy = sigma > 0
    if not noisy.any():
        return out
    ratio = np.abs(g[noisy]) / sigma[noisy]
    scale = np.log(sigma[noisy])

    def binned(values, count):
        edges = np.quantile(values, np.linspace(0.0, 1.0, count + 1)[1:-1])
        return np.searchsorted(edges, values, side="right")

    out[noisy] = binned(ratio, bins[0]) * bins[1] + binned(scale, bins[1])
    return out


class ProjectionSketch:
    """Accumulates :class:`ProjectedNoise`'s projections from deviations given in blocks of rows, O(r G) per row.

    ``vectors`` U (n, r), ``groups`` (n,) from :func:`quantile_groups`, ``scale`` (n,) sigma_i (the deviations are
    projected standardized, d_i/sigma_i; 0 where sigma_i = 0).  :meth:`add` takes a (rows, n) block of deviations
    d_e (each scaled so that E[d d^T] = Sigma); :meth:`noise` makes the ProjectedNoise."""

    def __init__(self, vectors, groups, count: int | None = None, scale=None):
        self.vectors = np.asarray(vectors, dtype=np.float64)
        self.groups = np.asarray(groups, dtype=np.int64).reshape(-1)
        self.scale = np.ones(self.groups.size) if scale is None else np.asarray(scale, dtype=np.float64).reshape(-1)
        self._inverse = np.where(self.scale > 0, 1.0 / np.where(self.scale > 0, self.scale, 1.0), 0.0)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != self.groups.size or self.vectors.shape[1] < 1:
            raise ValueError(f"vectors must be (n, r >= 1) with n = {self.groups.size}, got {self.vectors.shape}")
        self.count = int(self.groups.max()) + 1 if count is None else int(count)
        self.members = [np.flatnonzero(self.groups == k) for k in range(self.count)]
        self.rows: list[np.ndarray] = []
        self.squares = np.zeros((self.vectors.shape[1], self.count))

    def project(self, deviations) -> tuple[np.ndarray, np.ndarray]:
        """(projections (rows, r, G), the block's diagonal sums (r, G)) of a (rows, n) block of deviations."""
        block = np.atleast_2d(np.asarray(deviations, dtype=np.float64)) * self._inverse
        out = np.zeros((block.shape[0], self.vectors.shape[1], self.count))
        squares = np.zeros((self.vectors.shape[1], self.count))
        for k, members in enumerate(self.members):
            if members.size:
                part, U = block[:, members], self.vectors[members]
                out[:, :, k] = part @ U
                squares[:, k] = (part * part).sum(axis=0) @ (U * U)
        return out, squares

    def add(self, deviations) -> None:
        self.add_projected(*self.project(deviations))

    def add_projected(self, projections, squares) -> None:
        """Add rows already projected (e.g. gathered from other ranks) and their diagonal sums."""
        projections = np.asarray(projections, dtype=np.float64)
        if projections.ndim != 3 or projections.shape[1:] != (self.vectors.shape[1], self.count):
            raise ValueError(f"projections must be (rows, {self.vectors.shape[1]}, {self.count}), got {projections.shape}")
        self.rows.append(projections)
        self.squares += np.asarray(squares, dtype=np.float64)

    @property
    def samples(self) -> int:
        return sum(block.shape[0] for block in self.rows)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(projections (k, r, G), diagonal (r, G)): what a statistics file stores."""
        k = self.samples
        if k < 1:
            raise ValueError("no deviations were added")
        return np.concatenate(self.rows), self.squares / k

    def noise(self, values, sigma2) -> "ProjectedNoise":
        projections, diagonal = self.arrays()
        return projected_noise(values, self.vectors, self.groups, sigma2, projections, diagonal, self.scale)


def projected_noise(values, vectors, groups, sigma2, projections, diagonal, scale=None) -> "ProjectedNoise":
    """A :class:`ProjectedNoise` from the arrays a statistics file holds (the weights U_ij^2 sigma_i^2/scale_i^2
    made here; ``scale``: what the deviations were divided by, None: 1)."""
    U = np.asarray(vectors, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64).reshape(-1)
    scale = np.ones(sigma2.size) if scale is None else np.asarray(scale, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.where(scale > 0, sigma2 / np.where(scale > 0, scale, 1.0) ** 2, 0.0)
    return ProjectedNoise(values, groups, U * U * variance[:, None], projections, diagonal, scale)


# --------------------------------------------------------------------------------------------
# The slopes s_i = dm_i/dg_i.


STENCIL_CACHE_BYTES = 2**28  # the derivatives kept per problem (256 MB: 16 batch sizes at n = 1e6)


def _derivatives(problem: Problem, B: float, mean, near: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dm/da, d^3m/da^3) at the components ``near`` (None: all) at batch size B, from one stencil of the mean at
    a +- h, a +- 2h (h = SLOPE_STEP): the five-point difference (8 (f1 - m1) - (f2 - m2))/(12 h) and the third
    difference (f2 - 2 f1 + 2 m1 - m2)/(2 h^3).  The slopes (the model's terms) and the skew check (real.predict)
    at the same (problem, B, mean) share it: kept on the problem per batch size (up to STENCIL_CACHE_BYTES, the
    oldest dropped first); a ``mean`` that compares equal (a family's bound ``near_mean``) is the same function."""
    key = (float(B), mean, near is None or bool(near.all()))
    cache = problem.__dict__.setdefault("_derivatives", {})
    if key in cache:
        return cache[key]
    g = np.asarray(problem.g, dtype=np.float64)
    sigma = np.asarray(problem.sigma, dtype=np.float64)
    root = math.sqrt(B)
    if not key[2]:
        g, sigma = g[near], sigma[near]
    a, b = g * root / sigma, problem.eps * root / sigma
    h = SLOPE_STEP
    f2, f1, m1, m2 = (np.asarray(mean(shifted, b), dtype=float) for shifted in (a + 2 * h, a + h, a - h, a - 2 * h))
    found = ((8.0 * (f1 - m1) - (f2 - m2)) / (12.0 * h), (f2 - 2.0 * f1 + 2.0 * m1 - m2) / (2.0 * h**3))
    while cache and (len(cache) + 1) * 2 * a.nbytes > STENCIL_CACHE_BYTES:
        del cache[next(iter(cache))]
    if 2 * a.nbytes <= STENCIL_CACHE_BYTES:
        cache[key] = found
    return found


def release(problem: Problem) -> None:
    """Drop the derivatives :func:`_derivatives` keeps on ``problem`` (a problem evaluated once, e.g. a bootstrap
    draw, need not hold them: 2 n floats per batch size)."""
    problem.__dict__.pop("_derivatives", None)


def _deterministic_slope(problem: Problem, g: np.ndarray) -> np.ndarray:
    """eps times phi'(g): the slope of the noiseless update, in SGD units (b -> oo)."""
    ratio = np.abs(g) / problem.eps
    if problem.placement == "outside":
        return 1.0 / (1.0 + ratio) ** 2  # d/dg g/(|g| + eps) = eps/(|g| + eps)^2
    return (1.0 + ratio * ratio) ** -1.5  # d/dg g/sqrt(g^2 + eps^2) = eps^2/(g^2 + eps^2)^(3/2)


def slopes(problem: Problem, B: float, mean, unit: float) -> np.ndarray:
    """unit * dm_i/dg_i at batch size B (finite) for every component: (sqrt(B)/sigma_i) dm/da from ``mean(a, b)``
    by the five-point central difference (8 (f1 - m1) - (f2 - m2))/(12 h), or the deterministic slope where
    b_i >= B_FAR."""
    g = np.asarray(problem.g, dtype=np.float64)
    sigma = np.asarray(problem.sigma, dtype=np.float64)
    root = math.sqrt(B)
    with np.errstate(over="ignore"):
        b = problem.eps * root / sigma
    far = is_far(b)  # the one regime mask (numeric.families)
    out = np.empty(g.size)
    if (~far).any():
        out[~far] = _derivatives(problem, B, mean, ~far)[0] * (root / sigma[~far]) * unit
    if far.any():
        out[far] = _deterministic_slope(problem, g[far]) * (unit / problem.eps)
    return out


def third_derivative_in_a(problem: Problem, B: float, mean) -> np.ndarray:
    """d^3 m/da^3 at every component by the central difference (f2 - 2 f1 + 2 m1 - m2)/(2 h^3) on the slopes'
    points (h = SLOPE_STEP = 0.01): truncation h^2/4 |m^(5)| <= 6e-5 (|m^(5)| <= 2 max|phi^(4)| = 2.4 for a
    monotone update with range [-1, 1]), and the tables' error (~1e-10 each) amplified by 6/(2 h^3) to at most 3e-4,
    against |m'''| <= 2 max|phi''| = 0.80.  Measured against Stein's E[u(a + z) He_3(z)] at 30 digits
    (tests/test_correlated.py): at most 6e-5 over b = 1e-9 .. 30, both placements (the truncation at a = 0); the
    former separate stencil, h = 0.05: 1.5e-3."""
    return _derivatives(problem, B, mean)[1]


def skewed_numerator(problem: Problem, B: float, skewness, mean) -> tuple[float, float]:
    """(sum_i g_i m_i, sum_i g_i m_i^E): the numerator of eta* under Gaussian noise, and with the first Edgeworth
    term of skewed noise, m^E = m + gamma_i/(6 sqrt(B)) m'''(a) (gamma_i the per-example skewness: a B-example
    mean has skewness gamma_i/sqrt(B); E_edge[f(Z)] = E[f(Z)] + (gamma/6) E[f(Z) He_3(Z)], and E[f He_3] is the
    mean of f's third derivative by Stein).  For the sign update this is erf(a/sqrt2) + 2 phi(a) (a^2 - 1)
    gamma/(6 sqrt(B)), the Edgeworth expansion of 2 P(mean > 0) - 1.  A second sum <= 0: the real step ascends in
    expectation.  ``mean(a, b)``: the update's mean in reduced variables (finite B, b < B_FAR)."""
    g = np.asarray(problem.g, dtype=np.float64)
    sigma = np.asarray(problem.sigma, dtype=np.float64)
    root = math.sqrt(B)
    a, b = g * root / sigma, problem.eps * root / sigma
    m = np.asarray(mean(a, b), dtype=float)
    shift = np.asarray(skewness, dtype=float) / (6.0 * root) * third_derivative_in_a(problem, B, mean)
    return float(g @ m), float(g @ (m + shift))


# --------------------------------------------------------------------------------------------
# The model.


@dataclass(frozen=True, eq=False)
class CorrelatedModel(Model):
    """A base per-component model ("exact") plus C/B in the denominator (see the module docstring)."""

    name: str = "correlated"
    base_name: str = "exact"
    doc: str = ("the exact moments (either placement) plus the noise's cross-component covariance to first order "
                "(Stein/Bussgang): Cov(u) ~ diag(v) + offdiag(S Sigma S)/B, S = diag(dm_i/dg_i); Sigma from "
                "Problem(noise=LowRankNoise or ProjectedNoise); without noise= (Sigma diagonal) it is the base model")
    options: Mapping = field(default_factory=lambda: MappingProxyType({}), init=False)  # none
    beta1_meaning: str = ""
    placements = ("inside", "outside")
    needs_noise = True  # a consumer holding statistics without the noise sketch refuses it (real.predict)

    @property
    def base(self) -> Model:
        return get_model(self.base_name)

    def terms(self, problem: Problem, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(num, den, unit) of the base model at the (effective) batch sizes B, with unit^2 C/B added to den."""
        base = self.base
        num, den, unit = base.terms(problem, B)
        noise = problem.noise
        if noise is None:
            return num, den, unit
        mean_only = self.mean_function(problem)
        flat = np.asarray(B, dtype=float).reshape(-1)
        den = den.copy()
        for k, batch in enumerate(flat):
            if not math.isfinite(batch):
                continue  # C/B = 0 at B = oo
            s = slopes(problem, float(batch), mean_only, float(unit[k]))
            den[k] = den[k] + float(noise.correction(problem, s[None, :])[0]) / batch
        return num, den, unit

    def mean_function(self, problem: Problem):
        """The base model's mean m(a, b) alone in reduced variables for the problem's placement (the same bits as
        its moments' mean, without the variance)."""
        return self.base.mean_for(problem)

    def eta_star(self, problem, B, options):
        num, den, unit = self.terms(problem, self.batch_for(problem, B))
        return unit * (num / den)

    def loss_decrease(self, problem, B, options):
        num, den, _ = self.terms(problem, self.batch_for(problem, B))  # the unit cancels
        return num * num / (2.0 * den)

    def eta_and_decrease(self, problem, B, options):
        num, den, unit = self.terms(problem, self.batch_for(problem, B))  # once: the slopes cost most
        return unit * (num / den), num * num / (2.0 * den)

    def atlas_variants(self):
        return {}  # the atlas's problems have diagonal noise: there the model is its base model


def _register() -> None:
    """"correlated" joins the registry as a built-in (numeric/__init__.py imports this module after models.py)."""
    register_model(CorrelatedModel(beta1_meaning=_models._MOMENTUM))
    _models._BUILT_IN.add("correlated")


_register()
