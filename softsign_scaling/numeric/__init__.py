"""Numeric functions of the SoftSign scaling law, generated from the derivation.

``from softsign_scaling import numeric``.  Everything here is float64 numpy, and
importing it does not import SymPy: the closed forms live in ``_generated.py``,
printed by ``softsign-scaling derive`` from the pipeline's expressions (through
the stable forms of :mod:`softsign_scaling.stable`); the exact moments are
vectorised fixed quadratures (``_quadrature.py``).

Reduced variables, per component: a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma.

Moments of the update, as functions of (a, b) (numpy broadcasting; a 0-d
input gives a float):

* :func:`mean_clip`, :func:`second_moment_clip`, :func:`variance_clip`: E-8,
  E-11 and E-11 - E-8^2, the moments of clip((a + z)/b, -1, 1), z ~ N(0, 1);
* :func:`mean_exact`, :func:`second_moment_exact`, :func:`variance_exact`: the
  moments of the SoftSign (a + z)/sqrt((a + z)^2 + b^2) itself, by quadrature;
* :func:`mean_approx`, :func:`second_moment_approx`, :func:`variance_approx`:
  E-9/E-10 and E-12 (a/sqrt(a^2 + b^2 + pi/2), 1 - b^2/(a^2 + b^2 + pi/2)).

Learning rates: :func:`eta_star` (SoftSignSGD, six models; default "anchored"), :func:`eta_star_sgd`
(P-10) and :func:`surge_peak` (the batch size where eta* peaks).

>>> from softsign_scaling import numeric
>>> round(numeric.mean_clip(1.0, 0.5), 12)
0.663020472723
>>> float(numeric.eta_star(float("inf"), [1.0, -2.0], [1.0, 1.0], [1.0, 1.0], 0.0))
1.5
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import _anchored
from . import _generated as _g
from . import _quadrature as _q

__all__ = [
    "DEFAULT_MODEL",
    "KAPPA2",
    "MODELS",
    "eta_star",
    "eta_star_sgd",
    "mean_approx",
    "mean_clip",
    "mean_exact",
    "second_moment_approx",
    "second_moment_clip",
    "second_moment_exact",
    "surge_peak",
    "variance_approx",
    "variance_clip",
    "variance_exact",
]

MODELS = ("exact", "clip", "approx", "mean_field", "mean_field_bsimple", "anchored")

KAPPA2 = ("mean", "harmonic", "ratio")


# --------------------------------------------------------------------------------------------
# Input checks: every error names the parameter.


def _real(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; TypeError unless it holds real numbers (bool, complex, str, object are refused)."""
    try:
        array = np.asarray(value)
    except Exception as error:  # pragma: no cover - numpy raises for ragged nested sequences
        raise TypeError(f"{name} must be a real number or an array of real numbers ({error})") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), not dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def _finite(array: np.ndarray, name: str) -> None:
    if not np.isfinite(array).all():
        what = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{name} contains {what}; it must be finite")


def _positive(array: np.ndarray, name: str, allow_inf: bool = False) -> None:
    if not (array > 0).all():  # also catches NaN
        if np.isnan(array).any():
            raise ValueError(f"{name} contains NaN")
        raise ValueError(f"{name} must be > 0 (smallest value {array.min()!r})")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} contains inf; it must be finite")


def _pair(a, b) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """a (finite real) and b (finite, > 0) broadcast and flattened, and the broadcast shape."""
    a, b = _real(a, "a"), _real(b, "b")
    _finite(a, "a")
    _positive(b, "b")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"a (shape {a.shape}) and b (shape {b.shape}) do not broadcast") from None
    flat_a = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)
    flat_b = np.ascontiguousarray(np.broadcast_to(b, shape)).reshape(-1)
    return flat_a, flat_b, shape


def _shaped(values: np.ndarray, shape: tuple[int, ...], what: str):
    if np.isnan(values).any():  # never a silent NaN
        raise FloatingPointError(f"{what} produced NaN for finite input; please report the input")
    return float(values[0]) if shape == () else values.reshape(shape)


def _closed_form(function: Callable, a, b, name: str):
    """A closed form of (a, b) that is defined at b = 0 too (E-9/E-12): a finite, b finite and >= 0."""
    a, b = _real(a, "a"), _real(b, "b")
    _finite(a, "a"), _finite(b, "b")
    if (b < 0).any():
        raise ValueError("b must be >= 0")
    shape = np.broadcast_shapes(a.shape, b.shape)
    values = np.broadcast_to(np.asarray(function(a, b), dtype=float), shape)
    return _shaped(values.reshape(-1), shape, name)


def _odd(function: Callable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.copysign(function(np.abs(a), b), a)


# --------------------------------------------------------------------------------------------
# Moments in reduced variables.


def mean_clip(a, b):
    """E-8: E[clip((a + z)/b, -1, 1)] for z ~ N(0, 1); a real, b > 0 (numpy broadcasting).

    Evaluated in the stable forms of softsign_scaling/stable.py (a b-series for
    small b, an a-series for small a, erfc tail forms elsewhere): within 1e-12
    relative of a 50-digit evaluation of E-8 for |a| <= 1e4, 1e-12 <= b <= 1e8.
    Odd in a, increasing, with range (-1, 1).

    >>> mean_clip(0.0, 1.0)
    0.0
    >>> round(mean_clip(2.0, 1e-9), 15)  # b -> 0: erf(a/sqrt2)
    0.954499736103642
    >>> mean_clip([-1.0, 1.0], 0.5).round(12).tolist()
    [-0.663020472723, 0.663020472723]
    """
    a, b, shape = _pair(a, b)
    return _shaped(_odd(_g.mean_clip_nonneg, a, b), shape, "mean_clip")


def second_moment_clip(a, b):
    """The closed form of E-11: E[clip((a + z)/b, -1, 1)^2]; a real, b > 0 (numpy broadcasting).

    Even in a, in (0, 1], increasing in |a|; 1 - O(b) as b -> 0, (a^2 + 1)/b^2 as b -> oo.

    >>> round(second_moment_clip(0.0, 1e-8), 12)  # 1 - (4/3) phi(0) b
    0.999999994681
    >>> round(second_moment_clip(3.0, 1e4) * 1e8, 6)  # (a^2 + 1)/b^2
    10.0
    """
    a, b, shape = _pair(a, b)
    return _shaped(_g.second_moment_clip_nonneg(np.abs(a), b), shape, "second_moment_clip")


def variance_clip(a, b):
    """E-11 - E-8^2, the variance of the clipped update, summed so that it keeps its digits.

    Where the mean is near +-1 it is E[y^2] - E[y]^2 with y = 1 - clip; where the
    clip is mostly linear, 1/b^2 minus tail terms (the bulk terms cancel
    symbolically).  Even in a, >= 0.

    >>> f"{variance_clip(6.0, 0.5):.12e}"  # s and m^2 agree to 8 digits: s - m^2 would keep 8
    '4.293940034321e-09'
    """
    a, b, shape = _pair(a, b)
    return _shaped(_g.variance_clip_nonneg(np.abs(a), b), shape, "variance_clip")


def mean_exact(a, b):
    """E[(a + z)/sqrt((a + z)^2 + b^2)], z ~ N(0, 1): the SoftSign mean without the clip.

    Vectorised quadrature (see ``_quadrature.py``): relative error below 1e-12
    (and below 1e-10 everywhere: the issue's bound) against mpmath quadrature.

    >>> round(mean_exact(1.0, 1e-9), 12)  # b -> 0: erf(1/sqrt2)
    0.682689492137
    >>> round(mean_exact(3.0, 1e6) * 1e6, 9)  # b -> oo: a/b
    3.0
    """
    a, b, shape = _pair(a, b)
    return _shaped(_q.mean_exact(a, b), shape, "mean_exact")


def second_moment_exact(a, b):
    """E[(a + z)^2/((a + z)^2 + b^2)], z ~ N(0, 1): the SoftSign second moment without the clip.

    1 - E[...] is b sqrt(pi/2) Re w((a + ib)/sqrt2) (Faddeeva function) where
    that is <= 1/2; elsewhere a trapezoid rule in z.

    >>> round(second_moment_exact(0.0, 1.0), 12)  # 1 - sqrt(pi/2) e^(1/2) erfc(1/sqrt2)
    0.344320457581
    """
    a, b, shape = _pair(a, b)
    return _shaped(_q.second_moment_exact(a, b), shape, "second_moment_exact")


def variance_exact(a, b):
    """second_moment_exact - mean_exact^2, summed as E[(f - m)^2] so that it keeps its digits near m = +-1.

    >>> f"{variance_exact(8.0, 1e-6):.10e}"
    '2.4883683585e-15'
    """
    a, b, shape = _pair(a, b)
    return _shaped(_q.variance_exact(a, b), shape, "variance_exact")


def mean_approx(a, b):
    """E-9 (E-10 per component): a/sqrt(a^2 + b^2 + pi/2).

    >>> round(mean_approx(1.0, 0.0), 12)  # 1/sqrt(1 + pi/2)
    0.623686242953
    """
    return _closed_form(_g.mean_approx, a, b, "mean_approx")


def second_moment_approx(a, b):
    """E-12: 1 - b^2/(a^2 + b^2 + pi/2).

    >>> second_moment_approx(1.0, 0.0)
    1.0
    """
    return _closed_form(_g.second_moment_approx, a, b, "second_moment_approx")


def variance_approx(a, b):
    """E-12 - E-9^2, derived in closed form: (pi/2)/(a^2 + b^2 + pi/2) (no cancellation).

    >>> round(variance_approx(0.0, 0.0), 12)
    1.0
    """
    return _closed_form(_g.variance_approx, a, b, "variance_approx")


# --------------------------------------------------------------------------------------------
# The quadratic model: g, sigma, H, eps.


class _Problem:
    """Checked inputs of eta*: g, sigma (length n), H (n x n, or its diagonal), eps >= 0."""

    def __init__(self, g, sigma, H, eps):
        g, sigma = _real(g, "g"), _real(sigma, "sigma")
        for array, name in ((g, "g"), (sigma, "sigma")):
            if array.ndim != 1 or array.size == 0:
                raise ValueError(f"{name} must be a 1-D array of length n >= 1 (got shape {array.shape})")
            _finite(array, name)
        if sigma.shape != g.shape:
            raise ValueError(f"sigma has length {sigma.size} but g has length {g.size}")
        _positive(sigma, "sigma")
        if not g.any():
            raise ValueError("g is zero in every component: eta* is undefined")
        H = _real(H, "H")
        _finite(H, "H")
        n = g.size
        if H.ndim == 1:
            if H.size != n:
                raise ValueError(f"H (the diagonal of H) has length {H.size} but g has length {n}")
            if not (H > 0).all():
                raise ValueError("H is not positive definite: its diagonal has an entry <= 0")
            self.diagonal, self.dense = H, None
        elif H.ndim == 2:
            if H.shape[0] != H.shape[1]:
                raise ValueError(f"H must be square, got shape {H.shape}")
            if H.shape[0] != n:
                raise ValueError(f"H is {H.shape[0]} x {H.shape[1]} but g has length {n}")
            scale = np.abs(H).max()
            if not np.allclose(H, H.T, rtol=0.0, atol=1e-12 * scale):
                raise ValueError("H is not symmetric")
            H = (H + H.T) / 2
            try:
                np.linalg.cholesky(H)
            except np.linalg.LinAlgError:
                raise ValueError("H is not positive definite") from None
            self.diagonal, self.dense = np.diag(H).copy(), H
        else:
            raise ValueError(f"H must be an (n, n) matrix or a length-n vector, got {H.ndim} dimensions")
        eps = _real(eps, "eps")
        if eps.ndim != 0:
            raise ValueError(f"eps must be a scalar, got shape {eps.shape}")
        _finite(eps, "eps")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {float(eps)!r}")
        self.g, self.sigma, self.eps, self.n = g, sigma, float(eps), n

    def quadratic(self, m: np.ndarray) -> np.ndarray:
        """m^T H m for each row of m."""
        if self.dense is None:
            return (m * m) @ self.diagonal
        return np.einsum("...i,ij,...j->...", m, self.dense, m)

    @property
    def nu(self) -> np.ndarray:
        """softsign(g_i, eps) (sign(g_i) at eps = 0, 0 where g_i = 0)."""
        if self.eps == 0:
            return np.sign(self.g)
        return self.g / np.hypot(self.g, self.eps)

    def aggregates(self) -> tuple[float, float, float]:
        """G_nu = sum nu_i g_i, S_nu = nu^T H nu, T_H = tr H (E-14)."""
        nu = self.nu
        return float(nu @ self.g), float(self.quadratic(nu)), float(self.diagonal.sum())

    def kappa2(self, kind) -> float:
        """The mean-field kappa^2, an average of sigma_i^2/(g_i^2 + eps^2)."""
        signal = self.g**2 + self.eps**2
        if isinstance(kind, str):
            if kind == "mean":
                with np.errstate(divide="ignore"):
                    value = float(np.mean(self.sigma**2 / signal))
            elif kind == "harmonic":
                value = self.n / float(np.sum(signal / self.sigma**2))
            elif kind == "ratio":
                value = float(np.sum(self.sigma**2) / np.sum(signal))
            else:
                raise ValueError(f"kappa2 must be one of {KAPPA2} or a number > 0, not {kind!r}")
            if not math.isfinite(value):
                raise ValueError("kappa2='mean' is infinite: some g_i = 0 with eps = 0; use kappa2='harmonic' "
                                 "or 'ratio', or eps > 0")
            return value
        value = _real(kind, "kappa2")
        if value.ndim != 0 or not (math.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"kappa2 must be one of {KAPPA2} or a finite number > 0, not {kind!r}")
        return float(value)

    def b_simple(self) -> float:
        """B_simple = sum sigma_i^2/(g^T g + n eps^2)."""
        return float(np.sum(self.sigma**2) / (self.g @ self.g + self.n * self.eps**2))


def _batch(B) -> np.ndarray:
    B = _real(B, "B")
    _positive(B, "B", allow_inf=True)
    return B


def _model(model, kappa2) -> str:
    """The model's name, checked; kappa2's form is checked for every model, so a typo is never ignored."""
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    if isinstance(kappa2, str):
        if kappa2 not in KAPPA2:
            raise ValueError(f"kappa2 must be one of {KAPPA2} or a number > 0, not {kappa2!r}")
    else:
        value = _real(kappa2, "kappa2")
        if value.ndim != 0 or not (math.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"kappa2 must be one of {KAPPA2} or a finite number > 0, not {kappa2!r}")
    return model


def _noise_scale(problem: _Problem, model: str, kappa2) -> float:
    """c_noise with q = c_noise/B: pi kappa2/2 (mean_field) or B_simple (mean_field_bsimple)."""
    if model == "mean_field":
        return math.pi * problem.kappa2(kappa2) / 2
    return problem.b_simple()


def _moments(model: str, a: np.ndarray, b: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-component mean and variance of the update in reduced variables (flat arrays)."""
    if model == "approx":
        return _g.mean_approx(a, b), _g.variance_approx(a, b)
    if model == "anchored":  # exact at a = 0 for every b, including b = 0
        return _anchored.mean_anchored(a, b), _anchored.variance_anchored(a, b)
    if eps == 0:  # clip and exact are both the sign update at b = 0
        return np.copysign(_g.mean_clip_b0(np.abs(a)), a), _g.variance_clip_b0(np.abs(a))
    if model == "clip":
        return _odd(_g.mean_clip_nonneg, a, b), _g.variance_clip_nonneg(np.abs(a), b)
    return _q.mean_exact(a, b), _q.variance_exact(a, b)


def _full_batch_mean(problem: _Problem, model: str) -> np.ndarray:
    """The update's mean at B = oo, where it is deterministic (variance 0)."""
    if problem.eps == 0:
        return np.sign(problem.g)
    if model == "clip":
        return np.clip(problem.g / problem.eps, -1.0, 1.0)
    return problem.nu  # exact, approx and anchored (E-10 and A-3 -> softsign(g, eps))


_CHUNK = 1 << 20  # batch sizes x components per block (bounds memory for long B arrays)


def _eta_per_component(problem: _Problem, model: str, B: np.ndarray) -> np.ndarray:
    flat = B.reshape(-1)
    out = np.empty(flat.shape)
    finite = np.isfinite(flat)
    index = np.flatnonzero(finite)
    step = max(1, _CHUNK // problem.n)
    for start in range(0, index.size, step):
        block = index[start:start + step]
        root = np.sqrt(flat[block])[:, None]
        a = problem.g * root / problem.sigma
        b = problem.eps * root / problem.sigma
        m, v = _moments(model, a.reshape(-1), b.reshape(-1), problem.eps)
        m, v = m.reshape(a.shape), v.reshape(a.shape)
        out[block] = (m @ problem.g) / (problem.quadratic(m) + v @ problem.diagonal)
    if not finite.all():
        m = _full_batch_mean(problem, model)
        out[~finite] = (m @ problem.g) / problem.quadratic(m)
    return out


DEFAULT_MODEL = "anchored"  # the closest closed form to exact in docs/atlas.md (98% of cases within 10%)


def eta_star(B, g, sigma, H, eps, model=DEFAULT_MODEL, kappa2="mean"):
    """The optimal learning rate of one SoftSignSGD step on the quadratic model (E-5).

    B: batch size, a scalar or an array (the result has its shape); B = inf is the
    full-batch limit.  g, sigma: length-n arrays (gradient, noise scale > 0).  H: an
    (n, n) symmetric positive definite matrix, or a length-n vector meaning diag(H).
    eps >= 0 (eps = 0 is SignSGD).  ``model``:

    * "exact": eta* = sum m_i g_i / (m^T H m + sum_i (s_i - m_i^2) H_ii) with the exact
      SoftSign moments (:func:`mean_exact`, :func:`variance_exact`);
    * "clip": the same with E-8 and E-11 (:func:`mean_clip`, :func:`variance_clip`);
    * "approx": the same with E-10 and E-12 per component (:func:`mean_approx`, :func:`variance_approx`);
    * "mean_field": E-14, beta G_nu / (beta^2 S_nu + (1 - beta^2) T_H) with
      beta = (1 + pi kappa2/(2B))^(-1/2), nu_i = softsign(g_i, eps);
    * "mean_field_bsimple": E-14's shape with beta = (1 + B_simple/B)^(-1/2),
      B_simple = sum sigma_i^2/(g^T g + n eps^2) (the closure of kexue.fm 11280);
    * "anchored" (the default): per component, A-3's closed form, E-9/E-12's shapes anchored at the exact
      slope k0(b) and second moment s0(b) at a = 0 (steps A-1 .. A-4).  In the error atlas (docs/atlas.md)
      it is within 10% of "exact" on 98% of (problem, B) pairs, against 72% for "clip", 59% for "approx"
      and 25% for the article's "mean_field" (kappa2="mean"; 48% with kappa2="harmonic").

    ``kappa2`` (mean_field only) chooses the average of kappa_i^2 = sigma_i^2/(g_i^2 + eps^2):
    "mean" (the arithmetic mean; the default, the article's "an average"), "harmonic"
    (n / sum 1/kappa_i^2), "ratio" (sum sigma_i^2 / sum (g_i^2 + eps^2)), or a number.

    >>> g, sigma, H = [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]
    >>> round(eta_star(64, g, sigma, H, 0.1, model="mean_field"), 10)
    0.5881311379
    >>> round(eta_star(64, g, sigma, H, 0.1), 6), round(eta_star(64, g, sigma, H, 0.1, model="exact"), 6)
    (0.603557, 0.631656)
    >>> eta_star([1, 64, float("inf")], g, sigma, H, 0.1, model="clip").round(10).tolist()
    [0.203646781, 0.6249902429, 0.625]
    """
    problem = _Problem(g, sigma, H, eps)
    model = _model(model, kappa2)
    B = _batch(B)
    if model in ("mean_field", "mean_field_bsimple"):
        G, S, T = problem.aggregates()
        q = _noise_scale(problem, model, kappa2) / B  # 0 at B = oo
        values = np.asarray(_g.eta_star_mean_field(q, G, S, T), dtype=float)
    else:
        values = _eta_per_component(problem, model, B)
    return _shaped(values.reshape(-1), B.shape, "eta_star")


def eta_star_sgd(B, g, sigma, H):
    """P-10: the optimal learning rate of SGD, g^T g / (g^T H g + tr(Sigma H)/B), Sigma = diag(sigma^2).

    >>> round(eta_star_sgd(10, [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]), 10)
    0.4385964912
    """
    problem = _Problem(g, sigma, H, 0.0)
    B = _batch(B)
    gg = float(problem.g @ problem.g)
    gHg = float(problem.quadratic(problem.g))
    trSH = float(problem.sigma**2 @ problem.diagonal)
    values = np.asarray(_g.eta_star_sgd(B, gg, gHg, trSH), dtype=float)
    return _shaped(values.reshape(-1), B.shape, "eta_star_sgd")


def surge_peak(g, sigma, H, eps, model=DEFAULT_MODEL, kappa2="mean"):
    """The batch size where eta*(B) peaks, or inf when eta* increases for every B (no surge).

    Mean-field models use E-15's exact condition: a peak exists iff S_nu > 2 T_H, at
    B_peak = c T_H/(S_nu - 2 T_H) with c = pi kappa2/2 ("mean_field") or B_simple
    ("mean_field_bsimple").  Other models have no closed form: the maximum of
    eta*(B) is bracketed on a log grid of B and refined by Brent's method in log B
    (relative accuracy ~1e-7).

    >>> surge_peak([1.0, 1.0], [1.0, 1.0], [[1.0, 0.9], [0.9, 1.0]], 0.0, model="mean_field")  # S = 3.8 < 2T = 4
    inf
    >>> H = [[1, .9, .9], [.9, 1, .9], [.9, .9, 1]]  # S_nu = 8.4 > 6: B_peak = (pi/2) 3/(8.4 - 6)
    >>> round(surge_peak([1.0, 1.0, 1.0], [1.0] * 3, H, 0.0, model="mean_field"), 10)
    1.9634954085
    >>> round(surge_peak([1.0, 1.0, 1.0], [1.0] * 3, H, 0.0, model="approx"), 6)
    1.963495
    """
    problem = _Problem(g, sigma, H, eps)
    model = _model(model, kappa2)
    if model in ("mean_field", "mean_field_bsimple"):
        _, S, T = problem.aggregates()
        if not bool(_g.has_surge_mean_field(S, T)):
            return math.inf
        return float(_g.b_peak_mean_field(_noise_scale(problem, model, kappa2), S, T))
    return _numeric_peak(problem, model)


def _numeric_peak(problem: _Problem, model: str) -> float:
    from scipy.optimize import minimize_scalar

    def eta(log_b: np.ndarray) -> np.ndarray:
        return _eta_per_component(problem, model, np.exp(np.asarray(log_b, dtype=float)))

    scale = math.log(problem.b_simple())
    limit = float(_eta_per_component(problem, model, np.array([math.inf]))[0])
    low, high = scale - 25.0, scale + 25.0
    for _ in range(8):
        grid = np.linspace(low, high, 401)
        values = eta(grid)
        k = int(np.argmax(values))
        if values[k] <= limit * (1 + 1e-13):
            return math.inf  # eta* below its B = oo limit everywhere on the grid: increasing
        if k < grid.size - 1:
            break
        low, high = high - 1.0, high + 50.0  # the peak lies beyond the grid
    else:  # pragma: no cover
        return math.inf
    bracket = (grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)])
    best = minimize_scalar(lambda x: -float(eta(np.array([x]))[0]), bounds=bracket, method="bounded",
                           options={"xatol": 1e-9})
    return float(math.exp(best.x))
