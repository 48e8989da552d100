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

H may also be a linear operator, given with its diagonal: a ``scipy.sparse.linalg.LinearOperator``, any
object with ``.matvec`` and ``.shape``, a scipy.sparse matrix, or a plain callable x -> H x.  No n x n
matrix is formed then; each m^T H m costs one matrix-vector product.

>>> op = Problem(g=[1.0, -0.5], sigma=[2.0, 1.0], H=lambda x: np.array([2 * x[0] + 0.3 * x[1], 0.3 * x[0] + x[1]]),
...              H_diagonal=[2.0, 1.0], eps=0.1)
>>> round(op.S_nu, 12) == round(p.S_nu, 12), op.T_H
(True, 3.0)
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._checks import finite, plain, positive, real

KAPPA2 = ("mean", "harmonic", "ratio", "median", "numerator-weighted")
"""The averages of kappa_i^2 = sigma_i^2/(g_i^2 + eps^2) that E-14's mean field can use (``kappa2=``)."""

PLACEMENTS = ("inside", "outside")  # where eps sits: inside the square root, sqrt(x^2 + eps^2) (the article's
#                                     SoftSign, optax's eps_root), or outside it, |x| + eps (PyTorch, Keras; steps X-1 ..)

_DENSE_BLOCK = 1 << 21  # rows x n x n per block of the deterministic quadratic form

WIDTH = 1 << 16  # components per block.  Up to this n every sum runs over the whole row as before (the same
#                  bits as an unblocked sum); above it, sums are accumulated block by block, in float64.
COPY_LIMIT = 1 << 20  # up to this n the arrays are copied (as float64); above it, and for every np.memmap,
#                       they are kept as given (read-only views) and read in float64 blocks: memory O(block)
_VERIFIED_PD: dict[tuple, bool] = {}  # (shape, CRC-32, trace) of a dense H found positive definite (8 kept)


def host_array(value) -> object:
    """A torch tensor (or anything with ``.detach().cpu().numpy()``) as a numpy array on the host; else ``value``.

    Duck typing: torch itself is never imported here."""
    if all(hasattr(value, name) for name in ("detach", "cpu", "numpy")):
        return value.detach().cpu().numpy()
    return value


def _vector(value, name: str, n: int | None = None) -> np.ndarray:
    """A real 1-D array, not converted or copied (a float32 or memory-mapped array stays what it is)."""
    value = host_array(value)
    try:
        array = np.asanyarray(value)  # keeps np.memmap (so it is never copied)
    except Exception as error:  # pragma: no cover - numpy raises for ragged nested sequences
        raise TypeError(f"{name} must be an array of real numbers ({error})") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), not dtype {array.dtype}")
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a 1-D array of length n >= 1 (got shape {array.shape})")
    if n is not None and array.size != n:
        raise ValueError(f"{name} has length {array.size} but g has length {n}")
    return array


def _kept(array: np.ndarray) -> np.ndarray:
    """The array as the Problem stores it: a read-only float64 copy for n <= COPY_LIMIT (unless memory-mapped),
    else a read-only view of the array given, never copied whole."""
    if array.size <= COPY_LIMIT and not isinstance(array, np.memmap):
        kept = array.astype(np.float64, copy=True)
    else:
        kept = array.view()
    kept.setflags(write=False)
    return kept


def _spans(n: int, width: int = WIDTH) -> Iterator[tuple[int, int]]:
    for start in range(0, n, width):
        yield start, min(start + width, n)


def _matvec_of(H) -> tuple[Callable[[np.ndarray], np.ndarray], tuple | None] | None:
    """H's matrix-vector product and its shape (None when unknown) if H is an operator, else None."""
    if hasattr(H, "matvec") and callable(H.matvec):  # scipy.sparse.linalg.LinearOperator and look-alikes
        return H.matvec, tuple(getattr(H, "shape", ())) or None
    if hasattr(H, "tocsr") and hasattr(H, "shape"):  # a scipy.sparse matrix (not imported here)
        return (lambda x: H @ x), tuple(H.shape)
    if callable(H) and not isinstance(H, np.ndarray):
        return H, None
    return None


def _checked_dense(H: np.ndarray, check_pd: bool) -> np.ndarray:
    """H symmetrised, after checking it symmetric and positive definite; with ``check_pd`` False, H as given
    (a copy; trusted, no check: one O(n^2) pass).

    Symmetric: max |H - (H + H^T)/2| <= 1e-12 max|H|/2.  The factorisation is skipped for an H whose bytes
    passed before (a cache keyed by the shape, the CRC-32 of the bytes and the trace) and for a strictly
    diagonally dominant H with a positive diagonal (positive definite by Gershgorin, O(n^2))."""
    if not check_pd:
        return np.array(H, dtype=np.float64)
    scale = np.abs(H).max()
    dense = (H + H.T) / 2
    difference = np.subtract(H, dense)
    if not np.abs(difference, out=difference).max() <= 0.5e-12 * scale:
        raise ValueError("H is not symmetric")
    key = (dense.shape, zlib.crc32(np.ascontiguousarray(dense).data), float(np.trace(dense)))
    if key in _VERIFIED_PD:
        return dense
    diagonal = np.diag(dense)
    if not ((diagonal > 0).all() and (diagonal > np.abs(dense).sum(axis=1) - diagonal).all()):
        try:
            np.linalg.cholesky(dense)
        except np.linalg.LinAlgError:
            raise ValueError("H is not positive definite (check_pd=False skips this check)") from None
    if len(_VERIFIED_PD) >= 8:
        _VERIFIED_PD.pop(next(iter(_VERIFIED_PD)))
    _VERIFIED_PD[key] = True
    return dense


@dataclass(frozen=True, eq=False)
class Problem:
    """g, sigma (length n), H (n x n symmetric positive definite, its diagonal, or an operator), eps >= 0.

    ``H`` is one of: a length-n vector (diag H); an (n, n) matrix (dense; symmetrised); or an operator,
    for which ``H_diagonal`` (length n, > 0) must be given too and no n x n matrix is ever formed: a
    ``scipy.sparse.linalg.LinearOperator``, any object with ``.matvec`` and ``.shape``, a scipy.sparse
    matrix (its diagonal is read when ``H_diagonal`` is omitted), or a callable x -> H x.  With an operator
    each m^T H m (one per batch size for the per-component models, nu^T H nu for the mean field) costs one
    matvec; the operator is trusted to be symmetric positive definite (its diagonal is checked > 0).

    ``check_pd``: a dense H is checked symmetric and positive definite (Cholesky, O(n^3)) once per matrix
    content: a diagonally dominant H needs no factorisation, and a passed H is remembered by its shape,
    the CRC-32 of its bytes and its trace, so a second Problem with the same H skips the factorisation.
    ``check_pd=False`` trusts H: no symmetry or definiteness check and no symmetrisation, one copy (an H
    that is exactly symmetric gives the same bits either way).

    ``placement``: "inside" (softsign(x, eps) = x/sqrt(x^2 + eps^2), the default) or "outside"
    (x/(|x| + eps), PyTorch's Adam, steps X-1 .. X-8; models that do not support it refuse it).  ``beta1``
    in [0, 1) is Adam's momentum (steps M-1 .. M-7): the per-step models read it as softsign(m), the
    SoftSign of the momentum (a Signum/Lion-like update, not Adam with beta2 = 0: the model at the effective
    batch B (1 + beta1)/(1 - beta1)), the "averaged" model as
    beta2 -> 1; a model for which it has no meaning refuses beta1 > 0.

    Inputs as users hold them: float32 (or integer) arrays, memory-mapped arrays (``np.load(path,
    mmap_mode="r")``) and torch tensors (converted by ``.detach().cpu().numpy()``; torch is not imported).
    For n <= COPY_LIMIT the arrays are stored as read-only float64 copies; above it, and for every
    memory-mapped array, they are kept as given (do not modify them while the Problem is in use) and
    read in float64 blocks of WIDTH components: validation and the aggregates (G_nu, T_H, B_simple, ...)
    are blockwise sums, so a diagonal-H problem never holds a full float64 copy.
    """

    g: np.ndarray
    sigma: np.ndarray
    H: object
    eps: float
    placement: str = "inside"
    beta1: float = 0.0
    H_diagonal: np.ndarray | None = field(default=None, repr=False)
    check_pd: bool = field(default=True, repr=False)
    # The minibatch noise's covariance off the diagonal (numeric.correlated: LowRankNoise, ProjectedNoise); None:
    # Sigma = diag(sigma^2), the independent noise every model but "correlated" assumes (and that one then too).
    noise: object = field(default=None, repr=False)
    diagonal: np.ndarray = field(init=False, repr=False)  # diag(H)
    dense: np.ndarray | None = field(init=False, repr=False)  # H symmetrised, or None when H is a diagonal or operator
    matvec: Callable[[np.ndarray], np.ndarray] | None = field(init=False, repr=False)  # x -> H x for an operator

    def __post_init__(self) -> None:
        g = _vector(self.g, "g")
        n = g.size
        sigma = _vector(self.sigma, "sigma", n)
        for array, name in ((g, "g"), (sigma, "sigma")):
            for start, stop in _spans(n):
                finite(np.asarray(array[start:stop], dtype=np.float64), name)
        for start, stop in _spans(n):
            positive(np.asarray(sigma[start:stop], dtype=np.float64), "sigma")
        if not any(np.asarray(g[start:stop]).any() for start, stop in _spans(n)):
            raise ValueError("g is zero in every component: eta* is undefined")
        H, matvec, dense = host_array(self.H), None, None
        operator = _matvec_of(H)
        if operator is not None:
            matvec, shape = operator
            if shape is not None and shape != (n, n):
                raise ValueError(f"H (an operator) has shape {shape} but g has length {n}: it must be ({n}, {n})")
            given = self.H_diagonal
            if given is None and hasattr(H, "tocsr"):
                given = H.diagonal()
            if given is None:
                raise ValueError("H is an operator: give its diagonal too, as H_diagonal= (a length-n vector)")
            diagonal = _kept(_vector(given, "H_diagonal", n))
            self._check_diagonal(diagonal, "H_diagonal")
            stored_H = H
        else:
            if self.H_diagonal is not None:
                raise ValueError("H_diagonal is only for an operator H (H here is an array: its diagonal is known)")
            H = np.asanyarray(H) if isinstance(H, np.ndarray) and H.ndim == 1 else real(H, "H")
            if H.ndim == 1:
                if H.size != n:
                    raise ValueError(f"H (the diagonal of H) has length {H.size} but g has length {n}")
                diagonal = _kept(_vector(H, "H"))
                self._check_diagonal(diagonal, "H")
                stored_H = diagonal
            elif H.ndim == 2:
                if H.shape[0] != H.shape[1]:
                    raise ValueError(f"H must be square, got shape {H.shape}")
                if H.shape[0] != n:
                    raise ValueError(f"H is {H.shape[0]} x {H.shape[1]} but g has length {n}")
                finite(H, "H")
                dense = _checked_dense(H, bool(self.check_pd))
                diagonal = np.diag(dense).copy()
                diagonal.setflags(write=False)
                stored_H = dense.copy()
                stored_H.setflags(write=False)
            else:
                raise ValueError(f"H must be an (n, n) matrix, a length-n vector or an operator with H_diagonal=, "
                                 f"got {H.ndim} dimensions")
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
        if dense is not None:
            dense.setflags(write=False)
        check_noise(self.noise, n)
        values = {"g": _kept(g), "sigma": _kept(sigma), "H": stored_H, "diagonal": diagonal, "dense": dense,
                  "matvec": matvec, "H_diagonal": diagonal if matvec is not None else None,
                  "eps": float(eps), "beta1": float(beta1)}
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @staticmethod
    def _check_diagonal(diagonal: np.ndarray, name: str) -> None:
        for start, stop in _spans(diagonal.size):
            block = np.asarray(diagonal[start:stop], dtype=np.float64)
            finite(block, name)
            if not (block > 0).all():
                where = "its diagonal" if name == "H" else f"its diagonal ({name})"
                raise ValueError(f"H is not positive definite: {where} has an entry <= 0")

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
        for name in ("H", "diagonal", "dense", "matvec", "H_diagonal", "check_pd", "placement", "beta1"):
            object.__setattr__(new, name, getattr(self, name))
        object.__setattr__(new, "noise", None if self.noise is None else self.noise.rescaled(c))
        for name in ("g", "sigma"):
            array = np.asarray(getattr(self, name), dtype=np.float64) / c
            array.setflags(write=False)
            object.__setattr__(new, name, array)
        object.__setattr__(new, "eps", self.eps / c)
        return new

    @property
    def n(self) -> int:
        return self.g.size

    @property
    def coupled(self) -> bool:
        """True when H has off-diagonal terms (dense or operator): m^T H m needs whole rows of m."""
        return self.dense is not None or self.matvec is not None

    def spans(self, width: int = WIDTH) -> Iterator[tuple[int, int]]:
        """(start, stop) of each block of components."""
        return _spans(self.n, width)

    def columns(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """g, sigma and diag(H) of components start .. stop - 1, as float64 arrays."""
        return (np.asarray(self.g[start:stop], dtype=np.float64), np.asarray(self.sigma[start:stop], dtype=np.float64),
                np.asarray(self.diagonal[start:stop], dtype=np.float64))

    def _sums(self, terms: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple]) -> tuple[float, ...]:
        """Each of terms(g, sigma, diag H) summed over the blocks of components (one block up to WIDTH: the
        same bits as the expression on the whole arrays)."""
        totals = None
        for start, stop in self.spans():
            parts = tuple(float(x) for x in terms(*self.columns(start, stop)))
            totals = parts if totals is None else tuple(t + x for t, x in zip(totals, parts))
        return totals

    @cached_property
    def sigma_min(self) -> float:
        """min_i sigma_i (where b_i = eps sqrt(B)/sigma_i is largest)."""
        return min(float(np.min(self.sigma[start:stop])) for start, stop in self.spans())

    def quadratic(self, m: np.ndarray) -> np.ndarray:
        """m^T H m for each row of m (or for a vector m); one ``matvec`` per row for an operator H.

        Each row is summed in the same order whatever the other rows are, so a point gives the
        same bits alone and inside an array (no BLAS, whose kernels depend on the row count)."""
        m = np.asarray(m, dtype=float)
        rows = m.reshape(-1, self.n)
        if self.matvec is not None:
            out = np.empty(rows.shape[0])
            for k, row in enumerate(rows):
                out[k] = float((self.apply(row) * row).sum())
        elif self.dense is None:
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

    def apply(self, x: np.ndarray) -> np.ndarray:
        """H x for a vector x (the operator's matvec, checked: a length-n finite float vector)."""
        if self.matvec is None:
            return self.dense @ x if self.dense is not None else self.diagonal * x
        try:
            out = np.asarray(host_array(self.matvec(x)), dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"H's matvec failed on a length-{self.n} vector: {error}") from None
        out = out.reshape(-1) if out.ndim == 2 and 1 in out.shape else out
        if out.shape != (self.n,):
            raise ValueError(f"H's matvec returned shape {out.shape} for a length-{self.n} vector: it must be ({self.n},)")
        if not np.isfinite(out).all():
            raise ValueError("H's matvec returned NaN or inf for a finite vector")
        return out

    def softsign_of(self, g: np.ndarray) -> np.ndarray:
        """softsign(g, eps) of a block of components (sign(g) at eps = 0)."""
        if self.eps == 0:
            return np.sign(g)
        return g / np.hypot(g, self.eps)

    def _diagonal_quadratic(self, form: Callable[[np.ndarray], np.ndarray]) -> float:
        """x^T H x for x = form(g block), blockwise when H is a diagonal, one matvec otherwise."""
        if self.coupled:
            return float(self.quadratic(form(np.asarray(self.g, dtype=np.float64))))

        def term(g, s, h):
            x = form(g)
            return ((x * x * h).reshape(1, -1).sum(axis=-1)[0],)

        return self._sums(term)[0]

    @cached_property
    def nu(self) -> np.ndarray:
        """softsign(g_i, eps) (sign(g_i) at eps = 0, 0 where g_i = 0); a full float64 array."""
        return self.softsign_of(np.asarray(self.g, dtype=np.float64))

    @cached_property
    def _nu_sums(self) -> tuple[float, float | None]:
        """sum nu_i g_i, and nu^T H nu for a diagonal H (None otherwise), in one pass over the blocks."""
        if self.coupled:
            return self._sums(lambda g, s, h: (self.softsign_of(g) @ g,))[0], None

        def terms(g, s, h):
            nu = self.softsign_of(g)
            return nu @ g, (nu * nu * h).reshape(1, -1).sum(axis=-1)[0]

        return self._sums(terms)

    @cached_property
    def G_nu(self) -> float:
        """sum nu_i g_i (E-14's numerator)."""
        return self._nu_sums[0]

    @cached_property
    def S_nu(self) -> float:
        """nu^T H nu (E-14); one matvec for an operator H."""
        if self._nu_sums[1] is not None:
            return self._nu_sums[1]
        return self._diagonal_quadratic(self.softsign_of)

    @cached_property
    def T_H(self) -> float:
        """tr H (E-14): the sum of the diagonal."""
        return self._sums(lambda g, s, h: (h.sum(),))[0]

    @cached_property
    def B_simple(self) -> float:
        """sum sigma_i^2/(g^T g + n eps^2), the simple noise scale (kexue.fm 11280)."""
        if self.eps > 1e100:  # eps^2 would overflow
            return self.B_simple_sgd / self.eps / self.eps
        noise, signal = self._sums(lambda g, s, h: (np.sum(s**2), g @ g))
        return float(noise / (signal + self.n * self.eps**2))

    def _sgd_softsign(self, g: np.ndarray) -> np.ndarray:
        return g * (self.eps / np.hypot(g, self.eps))

    @cached_property
    def nu_sgd(self) -> np.ndarray:
        """nu_i eps = g_i eps/sqrt(g_i^2 + eps^2) (-> g_i as eps -> oo): nu in SGD units."""
        return self._sgd_softsign(np.asarray(self.g, dtype=np.float64))

    @cached_property
    def sgd_nu_terms(self) -> tuple[float, float]:
        """G_nu eps and S_nu eps^2 (nu in SGD units), for eps > 1e100."""
        G = self._sums(lambda g, s, h: (self._sgd_softsign(g) @ g,))[0]
        return G, self._diagonal_quadratic(self._sgd_softsign)

    @cached_property
    def B_simple_sgd(self) -> float:
        """B_simple eps^2 = sum sigma_i^2/(|g/eps|^2 + n), without forming eps^2."""
        noise, signal = self._sums(lambda g, s, h: (np.sum(s**2), (g / self.eps) @ (g / self.eps)))
        return float(noise / (signal + self.n))

    @cached_property
    def kappa2_components(self) -> np.ndarray:
        """kappa_i^2 = sigma_i^2/(g_i^2 + eps^2) (inf where g_i = eps = 0); a full float64 array."""
        g, sigma = np.asarray(self.g, dtype=np.float64), np.asarray(self.sigma, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return sigma**2 / (g**2 + self.eps**2)

    def kappa2(self, kind, sgd_units: bool = False) -> float:
        """E-14's kappa^2: one of :data:`KAPPA2`, or a finite number > 0 (returned as it is).

        ``sgd_units``: kappa^2 eps^2 instead, computed without forming eps^2 (for eps > 1e100).
        Every average but the median is a blockwise sum."""
        if not isinstance(kind, str):
            number = kappa2_number(kind)
            return number * self.eps * self.eps if sgd_units else number
        if kind not in KAPPA2:
            raise ValueError(f"kappa2 must be one of {KAPPA2} or a number > 0, not {kind!r}")

        def parts(g, sigma):
            if sgd_units:
                signal = (g / self.eps) ** 2 + 1.0
                return signal, sigma**2 / signal
            signal = g**2 + self.eps**2
            with np.errstate(divide="ignore"):
                return signal, sigma**2 / signal

        with np.errstate(divide="ignore"):
            if kind == "mean":
                value = self._sums(lambda g, s, h: (np.sum(parts(g, s)[1]),))[0] / self.n
            elif kind == "harmonic":
                value = self.n / self._sums(lambda g, s, h: (np.sum(parts(g, s)[0] / s**2),))[0]
            elif kind == "ratio":
                noise, signal = self._sums(lambda g, s, h: (np.sum(s**2), np.sum(parts(g, s)[0])))
                value = float(noise / signal)
            elif kind == "median":
                g, sigma = np.asarray(self.g, dtype=np.float64), np.asarray(self.sigma, dtype=np.float64)
                value = float(np.median(parts(g, sigma)[1]))
            else:  # numerator-weighted: weights nu_i g_i, each component's share of sum nu_i g_i

                def weighted(g, s, h):
                    weights = self.softsign_of(g) * g
                    kept = weights > 0
                    return np.sum(weights[kept] * parts(g, s)[1][kept]), np.sum(weights[kept])

                top, bottom = self._sums(weighted)
                value = float(top / bottom)
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
        gg, trace = self._sums(lambda g, s, h: (g @ g, s**2 @ h))
        return gg, self._diagonal_quadratic(lambda g: g), trace


def check_noise(noise, n: int) -> None:
    """Refuse a ``noise=`` that is not a noise description for n components (one line)."""
    if noise is None:
        return
    if not (callable(getattr(noise, "correction", None)) and callable(getattr(noise, "rescaled", None))
            and hasattr(noise, "n")):
        raise TypeError("noise must be None (Sigma diagonal), a numeric.LowRankNoise or ProjectedNoise, or an object "
                        "with .n, .correction(problem, slopes) and .rescaled(c)")
    if int(noise.n) != n:
        raise ValueError(f"noise describes {int(noise.n)} components but g has length {n}")


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
