"""The model registry: every way of computing eta*(B) is one registered :class:`Model`.

A model is an object with its ``name``, its ``doc``, the ``options`` it accepts (name -> default
and check), and three computations on a :class:`~softsign_scaling.numeric.problem.Problem`:
``eta_star(problem, B, options)``, ``loss_decrease(problem, B, options)`` (E-5: the loss decrease
at eta*, (E[phi]^T g)^2 / (2 Tr(E[phi phi^T] H))) and ``surge_peak(problem, options)``.
``numeric.eta_star``, ``loss_decrease``, ``surge_peak``, ``plot_eta_star`` and the error atlas
iterate the registry; none of them names a model.

Two kinds cover the built-in models:

* :class:`PerComponentModel`: per-component moments of the update in reduced variables,
  ``moments(a, b) -> (mean, variance)`` with a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma, its
  full-batch mean (B = oo, where the update is deterministic), and optionally ``far(a, b) ->
  (mu, nu)``, the moments in SGD units m = (a/b) mu, v = nu/b^2 for b >= ``_far.B_FAR`` (where
  b^2 overflows).  Then eta* = m.g / (m^T H m + sum_i v_i H_ii).
* :class:`MeanFieldModel`: E-14's closed form with q = c_noise/B, c_noise from the problem
  (and the model's options).

A new model is one call::

    numeric.register_model(numeric.PerComponentModel(
        "half_approx", moments=lambda a, b: (numeric.mean_approx(a, b) / 2, numeric.variance_approx(a, b)),
        doc="E-9 halved: a toy"))

after which ``eta_star(..., model="half_approx")``, ``surge_peak``, ``numeric.MODELS`` and the
atlas's model tables include it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from . import _threads
from .generated import closed_forms as _g
from . import families as _families
from .families import MomentFamily, is_far
from .problem import KAPPA2, WIDTH, Problem, check_kappa2

EPS_SGD = 1e100  # above, the full-batch and mean-field terms are carried in SGD units (m eps, v eps^2)

_CHUNK = 1 << 20  # batch sizes x components per block (bounds memory for long B arrays)


def _row_blocks(problem: Problem, size: int) -> Iterator[slice]:
    """Slices of ``size`` batch sizes: rows x components of at most _CHUNK values per block (whole rows for a
    coupled H)."""
    step = max(1, _CHUNK // (problem.n if problem.coupled else min(problem.n, WIDTH)))
    for first in range(0, size, step):
        yield slice(first, min(first + step, size))


def _row_sums(problem: Problem, count: int, block: Callable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum_i m_i g_i, m^T H m, sum_i v_i H_ii) for ``count`` rows, where ``block(start, stop, g, sigma)`` gives
    the rows' (m, v) for components start:stop.  Blocks of WIDTH components run on threads (_threads.THREADS;
    numpy and the compiled kernels release the GIL), their partial sums
    added in block order (the same bits with 1 thread or many); m^T H m sums m_i^2 H_ii for a diagonal H, and
    for a coupled one is one ``problem.quadratic`` of the whole rows (one matvec per row for an operator)."""
    whole = np.empty((count, problem.n)) if problem.coupled else None

    def one(span):
        start, stop = span
        g, sigma, diagonal = problem.columns(start, stop)
        m, v = block(start, stop, g, sigma)
        with np.errstate(over="ignore"):  # far rows: sigma^2/B beyond float64 as B -> 0: den = inf (eta* = 0)
            if whole is None:
                return ((m * g).sum(axis=-1), (m * m * diagonal).sum(axis=-1), (v * diagonal).sum(axis=-1))
            whole[:, start:stop] = m  # disjoint columns per block
            return ((m * g).sum(axis=-1), 0.0, (v * diagonal).sum(axis=-1))

    sums = None
    for part in _threads.in_order(one, problem.spans(min(problem.n, WIDTH))):
        with np.errstate(over="ignore"):
            sums = part if sums is None else tuple(x + y for x, y in zip(sums, part))
    total, quad, spread = sums
    if whole is not None:
        with np.errstate(over="ignore"):
            quad = problem.quadratic(whole).reshape(-1)
    return total, quad, spread


@dataclass(frozen=True)
class Option:
    """An option a model accepts: its default and a check that raises a one-line error on a bad value."""

    default: object
    check: Callable[[object], None]
    doc: str = ""
    named: tuple = ()  # its named values (the atlas gives each a row)


class Model:
    """The interface every registered model implements (see the module docstring)."""

    name: str
    doc: str
    options: Mapping[str, Option]

    def resolve(self, given: Mapping[str, object]) -> dict[str, object]:
        """The model's options with ``given`` (values not None) applied; an option it does not take is refused."""
        resolved = {name: option.default for name, option in self.options.items()}
        for name, value in given.items():
            if value is None:
                continue
            if name not in self.options:
                takers = [m.name for m in _REGISTRY.values() if name in m.options]
                accepted = ", ".join(self.options) or "no options"
                raise ValueError(f"{name} is not an option of model {self.name!r} (it takes {accepted}); "
                                 f"models that take {name}: {', '.join(takers) or 'none'}")
            self.options[name].check(value)
            resolved[name] = value
        return resolved

    # What beta1 > 0 means for this model ("" : none, and it refuses beta1 > 0), for docs and errors.
    beta1_meaning: str = ""

    # Whether the model works with an operator H (Problem(H=<operator>, H_diagonal=...)): it reads H only through
    # problem.quadratic / problem.apply and the diagonal.  A model that needs problem.dense sets this False.
    operator_support: bool = True

    def check_problem(self, problem: Problem) -> None:
        """Refuse a problem the model cannot read (an operator H for a model that needs the matrix)."""
        if problem.matvec is not None and not self.operator_support:
            takers = [m.name for m in _REGISTRY.values() if getattr(m, "operator_support", True)]
            raise ValueError(f"model {self.name!r} needs H as an array (dense or diagonal), not an operator; models "
                             f"that take an operator: {', '.join(takers)}")

    def batch_for(self, problem: Problem, B: np.ndarray) -> np.ndarray:
        """The batch size the model is evaluated at: B itself at beta1 = 0 (the very array: bit-identical
        results), else M-2's effective batch B (1 + beta1)/(1 - beta1) for a "softsign(m)"
        model; a model without a meaning for beta1 refuses it."""
        if problem.beta1 == 0.0:
            return B
        if not self.beta1_meaning:
            raise ValueError(f"model {self.name!r} has no meaning for beta1 = {problem.beta1:g} (momentum); models"
                             f" that take it: {', '.join(m.name for m in _REGISTRY.values() if m.beta1_meaning)}")
        return B * ((1.0 + problem.beta1) / (1.0 - problem.beta1))

    def eta_star(self, problem: Problem, B: np.ndarray, options: Mapping[str, object]) -> np.ndarray:
        raise NotImplementedError

    def loss_decrease(self, problem: Problem, B: np.ndarray, options: Mapping[str, object]) -> np.ndarray:
        raise NotImplementedError

    def eta_and_decrease(self, problem: Problem, B: np.ndarray,
                         options: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
        """(eta_star, loss_decrease) at B: the two methods' values (a model that computes both from one set of terms
        overrides this to compute them once, with the same bits)."""
        return self.eta_star(problem, B, options), self.loss_decrease(problem, B, options)

    def surge_peak(self, problem: Problem, options: Mapping[str, object]) -> "SurgePeak":
        """Every interior local maximum of eta*(B) (:class:`SurgePeak`; as a float, the peak above eta*(oo) or inf):
        a coarse log grid of B in one blocked pass, refined by Brent's method on each grid maximum."""
        return _numeric_peaks(lambda B: self.eta_star(problem, B, options), problem)

    def atlas_variants(self) -> dict[str, dict[str, object]]:
        """The rows this model contributes to the atlas's model table: label -> options."""
        return {self.name: {}}


# --------------------------------------------------------------------------------------------
# Per-component models.


@dataclass(frozen=True, eq=False)
class PerComponentModel(Model):
    """eta* from per-component moments of the update in reduced variables (a, b); b = 0 is eps = 0.

    ``family``: a :class:`~softsign_scaling.numeric.families.MomentFamily`, whose dispatcher gives ``moments`` and
    whose large-b form gives ``far`` (``outside_family`` likewise for placement="outside"); or ``moments`` (and
    ``far``) given directly."""

    name: str
    moments: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    doc: str = ""
    full_batch_mean: Callable[[Problem], np.ndarray] | None = None  # default: softsign(g_i, eps)
    far: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    options: Mapping[str, Option] = field(default_factory=lambda: MappingProxyType({}), init=False)  # none
    beta1_meaning: str = ""
    # eps outside the root (Problem(placement="outside"), steps X-1 ..): its moments and large-b form;
    # None: the model refuses that placement.  ``shared_clip``: the model's update does not depend on the
    # placement (the clip layer, X-2), so its own moments serve both.
    outside: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    outside_far: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    shared_clip: bool = False
    family: MomentFamily | None = None
    outside_family: MomentFamily | None = None

    def __post_init__(self) -> None:
        for family, moments, far in ((self.family, "moments", "far"), (self.outside_family, "outside", "outside_far")):
            if family is None:
                continue
            if not isinstance(family, MomentFamily):
                raise TypeError(f"model {self.name!r}: a family must be a numeric.MomentFamily, not "
                                f"{type(family).__name__}")
            if getattr(self, moments) is None:
                object.__setattr__(self, moments, family.near)  # b < B_FAR: far rows take ``far``
            if getattr(self, far) is None:
                object.__setattr__(self, far, family.far)
        if self.moments is None:
            raise TypeError(f"model {self.name!r} needs moments=(a, b) -> (mean, variance) or family=MomentFamily")

    @property
    def placements(self) -> tuple[str, ...]:
        return ("inside", "outside") if (self.outside is not None or self.shared_clip) else ("inside",)

    def _for(self, problem: Problem) -> tuple[Callable, Callable | None]:
        """The moments and large-b form for the problem's placement (a one-line error if not supported)."""
        if problem.placement == "inside" or self.shared_clip:
            return self.moments, self.far
        if self.outside is None:
            raise ValueError(f"model {self.name!r} does not support placement={problem.placement!r}; models that do:"
                             f" {placement_models(problem.placement)}")
        return self.outside, self.outside_far

    def _infinity_mean(self, problem: Problem) -> Callable[[int, int, np.ndarray], np.ndarray]:
        """(start, stop, g block) -> the full-batch mean of those components (B = oo: the deterministic update)."""
        if self.full_batch_mean is not None:
            whole = np.asarray(self.full_batch_mean(problem), dtype=float)  # a model's own form: O(n), once
            return lambda start, stop, g: whole[start:stop]
        if problem.placement == "outside":  # g/(|g| + eps), sign(g) at eps = 0
            return lambda start, stop, g: g / (np.abs(g) + problem.eps) if problem.eps > 0 else np.sign(g)
        return lambda start, stop, g: problem.softsign_of(g)

    def terms(self, problem: Problem, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(numerator, denominator, unit) per batch size: eta* = unit num/den, loss decrease = num^2/(2 den).

        unit is 1, or eps where some component has b >= B_FAR: there the moments are carried as
        m eps and v eps^2 (SGD units), which stay in range.

        Blocked: batch sizes x components in blocks of at most _CHUNK values (WIDTH components), in float64,
        so memory is O(block) for a diagonal H, and O(n) per batch size for a dense or operator H (a whole
        row m, then one m^T H m: one matvec per batch size for an operator).  The only per-component work is
        the model's ``moments`` (and a, b, and the row sums); up to n = WIDTH the sums run over whole rows,
        as before (the same bits)."""
        forms = self._for(problem)
        flat = B.reshape(-1)
        num, den, unit = np.empty(flat.shape), np.empty(flat.shape), np.ones(flat.shape)
        infinite = ~np.isfinite(flat)
        eps = problem.eps
        with np.errstate(over="ignore", invalid="ignore"):  # b = inf (eps near float64's top) is the b -> oo limit: far
            far_rows = ~infinite & is_far(eps * np.sqrt(flat) / problem.sigma_min)  # max_i b_i, bit for bit
        unit[far_rows] = eps
        if eps > EPS_SGD:  # m ~ g/eps at B = oo: m^T H m would underflow
            unit[infinite] = eps
        limit = self._infinity_mean(problem) if infinite.any() else None
        for rows in _row_blocks(problem, flat.size):
            def block(start, stop, g, sigma, rows=rows):
                return self._block(problem, flat[rows], g, sigma, far_rows[rows], infinite[rows], forms,
                                   limit and (lambda: limit(start, stop, g)))

            total, quad, spread = _row_sums(problem, rows.stop - rows.start, block)
            with np.errstate(over="ignore"):
                num[rows] = total
                den[rows] = quad + spread
        return num, den, unit

    def _block(self, problem, batch, g, sigma, far_rows, infinite, forms, limit) -> tuple[np.ndarray, np.ndarray]:
        """The update's mean and variance for batch sizes ``batch`` x one block of components: moments(a, b) in
        reduced variables; SGD units (m eps, v eps^2) in far rows; the full-batch mean (v = 0) at B = oo."""
        moments, _ = forms
        if not (far_rows.any() or infinite.any()):  # every row near: no masks, no copies (the same values and bits)
            root = np.sqrt(batch)[:, None]
            return self._moments(g * root / sigma, problem.eps * root / sigma, moments)
        m, v = np.empty((batch.size, g.size)), np.empty((batch.size, g.size))
        near = ~(far_rows | infinite)
        if near.any() or far_rows.any():
            finite = ~infinite
            root = np.sqrt(batch[finite])[:, None]
            a = g * root / sigma
            with np.errstate(over="ignore"):
                b = problem.eps * root / sigma
            in_far = far_rows[finite]
            if (~in_far).any():
                m_near, v_near = self._moments(a[~in_far], b[~in_far], moments)
                m[near], v[near] = m_near, v_near
            if in_far.any():
                with np.errstate(over="ignore"):
                    m[far_rows], v[far_rows] = self._sgd_units(problem, a[in_far], b[in_far], is_far(b[in_far]),
                                                               batch[far_rows], forms, g, sigma)
        if infinite.any():
            mean = limit()
            m[infinite] = mean * problem.eps if problem.eps > EPS_SGD else mean
            v[infinite] = 0.0
        return m, v

    def _moments(self, a: np.ndarray, b: np.ndarray, moments: Callable | None = None) -> tuple[np.ndarray, np.ndarray]:
        m, v = (moments or self.moments)(a.reshape(-1), b.reshape(-1))
        return np.asarray(m, dtype=float).reshape(a.shape), np.asarray(v, dtype=float).reshape(a.shape)

    def _sgd_units(self, problem, a, b, far, batch, forms, g, sigma) -> tuple[np.ndarray, np.ndarray]:
        """m eps and v eps^2 for rows where some component is far (b >= B_FAR)."""
        moments, far_form = forms
        if far_form is None:
            raise ValueError(f"eps is too large for model {self.name!r}: eps sqrt(B)/sigma_i reaches "
                             f"{float(b.max()):.3g} and the model has no large-b form (``far``)")
        m, v = np.empty(a.shape), np.empty(a.shape)
        if (~far).any():
            m_near, v_near = moments(a[~far], b[~far])
            m[~far] = m_near * problem.eps
            v[~far] = v_near * problem.eps * problem.eps
        mu, nu = far_form(a[far], b[far])
        g_full = np.broadcast_to(g, a.shape)
        noise = np.broadcast_to(sigma**2, a.shape) / batch[:, None]
        m[far] = mu * g_full[far]  # (a/b) mu eps = g mu
        v[far] = nu * noise[far]  # nu eps^2/b^2 = nu sigma^2/B
        return m, v

    def eta_star(self, problem, B, options):
        num, den, unit = self.terms(problem, self.batch_for(problem, B))
        return unit * (num / den)

    def loss_decrease(self, problem, B, options):
        num, den, _ = self.terms(problem, self.batch_for(problem, B))  # the unit cancels: (num/unit)^2/(2 den/unit^2)
        return num * num / (2.0 * den)

    def eta_and_decrease(self, problem, B, options):
        num, den, unit = self.terms(problem, self.batch_for(problem, B))  # once: eta_star's and loss_decrease's bits
        return unit * (num / den), num * num / (2.0 * den)

    def mean_for(self, problem: Problem) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """The update's mean m(a, b) alone in reduced variables (b < B_FAR) for the problem's placement: the same
        bits as ``moments``' mean; its family's :meth:`~.families.MomentFamily.near_mean` where it has one."""
        moments = self._for(problem)[0]
        family = self.family if (problem.placement == "inside" or self.shared_clip) else self.outside_family
        if family is not None and moments == family.near:
            return family.near_mean
        return lambda a, b: np.asarray(moments(a, b)[0], dtype=float)


# --------------------------------------------------------------------------------------------
# Mean-field models.


@dataclass(frozen=True, eq=False)
class MeanFieldModel(Model):
    """E-14: eta* = beta G_nu/(beta^2 S_nu + (1 - beta^2) T_H), 1/beta^2 = 1 + q, q = noise_scale(problem)/B."""

    name: str
    noise_scale: Callable[[Problem, Mapping[str, object], bool], float]  # c_noise (times eps^2 if the flag)
    doc: str = ""
    options: Mapping[str, Option] = field(default_factory=lambda: MappingProxyType({}))
    variants_option: str | None = None  # the option whose named values the atlas compares
    beta1_meaning: str = ""

    placements = ("inside",)

    def _terms(self, problem, B, options):
        """G, S, T, q and the unit: q = c_noise/B, or for eps > EPS_SGD the SGD-unit terms G eps, S eps^2, q eps^2."""
        if problem.placement != "inside":
            raise ValueError(f"model {self.name!r} does not support placement={problem.placement!r} (E-14's mean field"
                             f" is derived for eps inside the root); models that do: {placement_models(problem.placement)}")
        B = self.batch_for(problem, B)
        if problem.eps > EPS_SGD:
            G, S = problem.sgd_nu_terms
            return G, S, problem.T_H, self.noise_scale(problem, options, True) / B, problem.eps
        return problem.G_nu, problem.S_nu, problem.T_H, self.noise_scale(problem, options, False) / B, 1.0

    def eta_star(self, problem, B, options):
        G, S, T, q, unit = self._terms(problem, B, options)
        if unit == 1.0:
            return np.asarray(_g.eta_star_mean_field(q, G, S, T), dtype=float)
        return unit * (G * np.sqrt(1.0 + q / unit / unit) / (S + T * q))

    def loss_decrease(self, problem, B, options):
        # E-5 with E-14's moments: (beta G)^2/(2 (beta^2 S + (1 - beta^2) T)) = G^2/(2 (S + q T)); units cancel.
        G, S, T, q, _ = self._terms(problem, B, options)
        return np.asarray(G * G / (2.0 * (S + T * q)), dtype=float)

    def surge_peak(self, problem, options):
        """E-15's exact condition: a peak iff S_nu > 2 T_H, at B_peak = c_noise T_H/(S_nu - 2 T_H); with momentum
        (M-4) the same condition, at (1 - beta1)/(1 + beta1) times that B (c here is c_noise/B_eff(1))."""
        G, S, T, c, unit = self._terms(problem, np.float64(1.0), options)
        S, c = S / unit / unit, c / unit / unit
        limit = float(self.eta_star(problem, np.array([math.inf]), options)[0])
        if not bool(_g.has_surge_mean_field(S, T)):
            return SurgePeak((), limit, math.inf)  # eta* increases for every B: no interior maximum at all
        B = float(_g.b_peak_mean_field(c, S, T))
        return SurgePeak([(B, float(self.eta_star(problem, np.array([B]), options)[0]))], limit, B)

    def atlas_variants(self):
        if self.variants_option is None:
            return {self.name: {}}
        option = self.variants_option
        return {f"{self.name}[{option}={value}]": {option: value} for value in self.options[option].named}


# --------------------------------------------------------------------------------------------
# The averaged second moment (beta2 -> 1): M-5, M-6.


@dataclass(frozen=True, eq=False)
class AveragedModel(Model):
    """M-6: eta* = sum d_i g_i^2 / (sum d_i d_j g_i g_j H_ij + c/B sum d_i^2 sigma_i^2 H_ii), closed form,
    d_i = (g_i^2 + sigma_i^2/B + eps^2)^(-1/2), c = (1 - beta1)/(1 + beta1)."""

    name: str
    doc: str = ""
    options: Mapping[str, Option] = field(default_factory=lambda: MappingProxyType({}), init=False)  # none
    beta1_meaning: str = "beta2 -> 1 with momentum beta1 (M-5, M-6)"

    placements = ("inside",)

    def batch_for(self, problem, B):
        return B  # beta1 enters through c, not through the batch

    def terms(self, problem: Problem, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(num, den, k) with eta* = k num/den."""
        if problem.placement != "inside":
            raise ValueError(f"model {self.name!r} does not support placement={problem.placement!r} (M-6 is derived"
                             f" for eps inside the root); models that do: {placement_models(problem.placement)}")
        return self._terms(problem, B)

    def _terms(self, problem: Problem, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(num, den, k) with eta* = k num/den.  p_i = d_i g_i and q_i = d_i sigma_i/sqrt(B) are at most 1 in size;
        both are carried times k = 1/max_i max(|p_i|, q_i) (so the largest is 1), and nothing over- or
        underflows for any finite eps and B > 0."""
        flat = np.asarray(B, dtype=float).reshape(-1)
        c = (1.0 - problem.beta1) / (1.0 + problem.beta1)
        num, den, k = np.empty(flat.shape), np.empty(flat.shape), np.empty(flat.shape)
        for rows in _row_blocks(problem, flat.size):
            batch = flat[rows]

            def largest(span):  # two passes over the components: k first (a maximum over all of them), then the sums
                g, sigma, _ = problem.columns(*span)
                p, q = self._scaled(problem, batch, g, sigma)
                return np.maximum(np.abs(p), q).max(axis=1)

            k[rows] = 1.0 / functools.reduce(np.maximum, _threads.in_order(largest, problem.spans(min(problem.n, WIDTH))))

            def block(start, stop, g, sigma, scale=k[rows][:, None]):
                p, q = self._scaled(problem, batch, g, sigma)
                p, q = p * scale, q * scale
                return p, q * q

            total, quad, spread = _row_sums(problem, rows.stop - rows.start, block)
            num[rows], den[rows] = total, quad + c * spread
        return num, den, k

    @staticmethod
    def _scaled(problem: Problem, batch: np.ndarray, g: np.ndarray, sigma: np.ndarray):
        """p, q of one block of components (g, sigma) for each batch size."""
        eps = problem.eps
        with np.errstate(divide="ignore"):
            noise = sigma[None, :] / np.sqrt(batch)[:, None]  # sigma_i/sqrt(B); 0 at B = inf
        scale = np.maximum(np.maximum(np.abs(g)[None, :], noise), eps)  # per component: no overflow in the root
        nonzero = scale > 0  # 1/d_i = 0 only for g_i = 0 at eps = 0, B = oo: a zero update there (as np.sign)
        safe = np.where(nonzero, scale, 1.0)
        root = np.sqrt((g / safe) ** 2 + (noise / safe) ** 2 + (eps / safe) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):  # root = 0 only where masked out (not nonzero)
            p = np.where(nonzero, (g / safe) / root, 0.0)
            q = np.where(nonzero, (noise / safe) / root, 0.0)
        return p, q

    def eta_star(self, problem, B, options):
        num, den, k = self.terms(problem, B)
        return k * (num / den)

    def loss_decrease(self, problem, B, options):
        num, den, _ = self.terms(problem, B)  # (num/k)^2/(2 den/k^2)
        return num * num / (2.0 * den)

    def eta_and_decrease(self, problem, B, options):
        num, den, k = self.terms(problem, B)
        return k * (num / den), num * num / (2.0 * den)

    def atlas_variants(self):
        return {}  # another regime (beta2 -> 1): the atlas measures the per-step models against the exact one


# --------------------------------------------------------------------------------------------
# The registry.

_REGISTRY: dict[str, Model] = {}
_BUILT_IN: set[str] = set()


def register_model(model: Model, replace: bool = False) -> Model:
    """Add ``model`` to the registry (and so to eta_star, loss_decrease, surge_peak, MODELS and the atlas)."""
    if not isinstance(model, Model):
        raise TypeError(f"model must be a numeric.Model (PerComponentModel, MeanFieldModel), not {type(model).__name__}")
    if not isinstance(model.name, str) or not model.name.isidentifier():
        raise ValueError(f"model name must be an identifier-like string, not {model.name!r}")
    if model.name in _REGISTRY and not replace:
        raise ValueError(f"model {model.name!r} is already registered (pass replace=True to replace it)")
    if model.name in _BUILT_IN and replace:
        raise ValueError(f"model {model.name!r} is built in and cannot be replaced")
    _REGISTRY[model.name] = model
    return model


def unregister_model(name: str) -> None:
    """Remove a model added by :func:`register_model` (built-in models stay)."""
    if name in _BUILT_IN:
        raise ValueError(f"model {name!r} is built in and cannot be removed")
    if name not in _REGISTRY:
        raise ValueError(f"model {name!r} is not registered")
    del _REGISTRY[name]


def register_family(family: MomentFamily, outside: MomentFamily | None = None, replace: bool = False,
                    **model_fields) -> PerComponentModel:
    """One registration for a new moment family: the family (numeric.mean_<name>, variance_<name>, ...) and the
    per-component model of the same name built on it (eta_star, surge_peak, the atlas, predict, the ``eta``
    command).  ``outside``: a family for placement="outside" (registered too); ``model_fields``: the model's other
    fields (doc, beta1_meaning, full_batch_mean, ...)."""
    if not isinstance(family, MomentFamily):
        raise TypeError(f"family must be a numeric.MomentFamily, not {type(family).__name__}")
    if family.placement != "inside":
        raise ValueError(f"family {family.name!r} is for placement={family.placement!r}: pass it as outside= of an "
                         f"inside family")
    if outside is not None and outside.placement != "outside":
        raise ValueError(f"outside= takes a family with placement='outside', not {outside.placement!r}")
    model = PerComponentModel(family.name, family=family, outside_family=outside,
                              **{"doc": family.doc, **model_fields})
    if family.name in _REGISTRY and not replace:
        raise ValueError(f"model {family.name!r} is already registered (pass replace=True to replace it)")
    _families.register_family(family, replace)
    if outside is not None:
        _families.register_family(outside, replace)
    return register_model(model, replace)


def unregister_family(name: str) -> None:
    """Remove a family added by :func:`register_family`, and its model (and its outside family)."""
    model = _REGISTRY.get(name)
    _families.unregister_family(name)
    if isinstance(model, PerComponentModel) and model.family is not None and model.family.name == name:
        if model.outside_family is not None and model.outside_family.name in _families.FAMILIES:
            _families.unregister_family(model.outside_family.name)
        unregister_model(name)


def model_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def placement_models(placement: str) -> tuple[str, ...]:
    """The registered models that support ``placement`` ("inside" or "outside")."""
    return tuple(name for name, model in _REGISTRY.items() if placement in getattr(model, "placements", ("inside",)))


def get_model(name) -> Model:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"model must be one of {model_names()}, not {name!r}")
    return _REGISTRY[name]


# --------------------------------------------------------------------------------------------
# Built-in models.


def _clip_full_batch_mean(problem: Problem) -> np.ndarray:
    if problem.eps == 0:
        return np.sign(np.asarray(problem.g, dtype=float))
    return np.clip(np.asarray(problem.g, dtype=float) / problem.eps, -1.0, 1.0)


def _kappa2_noise_scale(problem: Problem, options, sgd_units: bool) -> float:
    return math.pi * problem.kappa2(options["kappa2"], sgd_units) / 2


def _b_simple_noise_scale(problem: Problem, options, sgd_units: bool) -> float:
    return problem.B_simple_sgd if sgd_units else problem.B_simple


_MOMENTUM = ("softsign(m), the SoftSign of the momentum (a Signum/Lion-like update, not Adam with beta2 = 0): the"
             " model at the effective batch B (1 + beta1)/(1 - beta1) (M-2 .. M-4)")


def _register_built_ins() -> None:
    built_in = [
        PerComponentModel(
            "exact", beta1_meaning=_MOMENTUM, family=_families.get_family("exact"),
            outside_family=_families.get_family("outside"),
            doc="the exact SoftSign moments of the Gaussian model (numeric.mean_exact, numeric.variance_exact);"
                " placement='outside': numeric.mean_outside, numeric.variance_outside"),
        PerComponentModel(
            "clip", beta1_meaning=_MOMENTUM, family=_families.get_family("clip"),
            full_batch_mean=_clip_full_batch_mean, shared_clip=True,
            doc="E-8 and E-11: the moments of clip((a + z)/b, -1, 1) (numeric.mean_clip, numeric.variance_clip);"
                " the same for both placements (X-2: the clip layer is shared)"),
        PerComponentModel(
            "approx", beta1_meaning=_MOMENTUM, family=_families.get_family("approx"),
            doc="E-10 and E-12 per component (numeric.mean_approx, numeric.variance_approx)"),
        MeanFieldModel(
            "mean_field", _kappa2_noise_scale, beta1_meaning=_MOMENTUM, variants_option="kappa2",
            options=MappingProxyType({"kappa2": Option("mean", check_kappa2, "an average of kappa_i^2 = "
                                                       "sigma_i^2/(g_i^2 + eps^2): one of KAPPA2, or a number > 0",
                                                       named=KAPPA2)}),
            doc="E-14 with q = pi kappa2/(2B) and nu_i = softsign(g_i, eps); kappa2 selects the average"),
        MeanFieldModel(
            "mean_field_bsimple", _b_simple_noise_scale, beta1_meaning=_MOMENTUM,
            doc="E-14's shape with q = B_simple/B, B_simple = sum sigma_i^2/(g^T g + n eps^2) (kexue.fm 11280)"),
        PerComponentModel(
            "anchored", beta1_meaning=_MOMENTUM, family=_families.get_family("anchored"),
            outside_family=_families.get_family("anchored_outside"),
            doc="A-3/A-4: E-9/E-12's shapes anchored at the exact slope k0(b) and second moment s0(b) at a = 0;"
                " placement='outside': the same shapes at the outside k0, s0 (X-12 .. X-15)"),
        AveragedModel(
            "averaged",
            doc="M-6: beta2 -> 1 (v = g^2 + sigma^2/B, deterministic) with momentum beta1: the update is Gaussian and"
                " eta* has a closed form, no S-curve or mean field"),
    ]
    for model in built_in:
        register_model(model)
        _BUILT_IN.add(model.name)


_register_built_ins()


# --------------------------------------------------------------------------------------------
# The peaks of eta*(B): every interior local maximum, for models without a closed form.


class Peak(NamedTuple):
    """An interior local maximum of eta*(B): the batch size and eta* there."""

    B: float
    eta_star: float


class SurgePeak(float):
    """surge_peak's answer.  As a float (what it always was): the B where eta*(B) is largest if that beats
    the full-batch value eta*(oo) (the surge, as E-15 has it), else inf.

    ``peaks``: every interior local maximum of eta*(B) as :class:`Peak` (B, eta*), in increasing B, including
    one below eta*(oo) (a rise, a dip, then a rise to a higher limit), so ``peaks == ()`` means eta*
    increases for every B.  ``limit``: eta*(oo)."""

    peaks: tuple[Peak, ...]
    limit: float

    def __new__(cls, peaks=(), limit: float = math.nan, surge: float | None = None) -> "SurgePeak":
        """``surge``: the float value when a closed form gives it; by default the highest peak if above ``limit``."""
        peaks = tuple(Peak(float(B), float(eta)) for B, eta in peaks)
        if surge is None:
            best = max(peaks, key=lambda peak: peak.eta_star, default=None)
            surge = best.B if best is not None and best.eta_star > limit * (1 + _PEAK_TOLERANCE) else math.inf
        value = super().__new__(cls, surge)
        value.peaks, value.limit = peaks, float(limit)
        return value

    def __repr__(self) -> str:
        return float.__repr__(self)

    def __reduce__(self):
        return SurgePeak, (self.peaks, self.limit, float(self))

    @property
    def first(self) -> float:
        """The smallest B of a local maximum (inf when eta* increases for every B)."""
        return self.peaks[0].B if self.peaks else math.inf


_PEAK_TOLERANCE = 1e-12  # a local maximum must stand this much (relative) above the minima around it
_GRID_STEP = 1.0  # the fine grid's spacing in log B (a factor e); the coarse grid takes every second fine point
_GRID_HALF_WIDTH = 25.0  # log B within +-25 of log B_simple (then extended while eta* still rises at an edge)
_LOG_B_TOLERANCE = 1e-8  # Brent's absolute tolerance in log B (B itself is noise-limited to ~1e-7: eta* is flat to 1e-16 there)
_FLAT = 1e-15  # Brent also stops when its three best values agree to this (relative): flat to rounding (B to ~1e-6)


def _numeric_peaks(eta: Callable[[np.ndarray], np.ndarray], problem: Problem) -> SurgePeak:
    """Every interior local maximum of eta*(B).  A coarse grid in log B (spacing 2 _GRID_STEP) in one
    call (one blocked pass over the components for all its batch sizes), extended while the ends still rise; the
    fine grid's midpoints only in the coarse intervals next to a coarse maximum or to a turn from concave to convex
    (where a rise and a dip can hide between coarse points), in one more call; then Brent's method in log B on
    the bracket of each grid maximum that stands out of the noise, started from the grid's three points."""

    def at(log_b) -> np.ndarray:
        return eta(np.exp(np.asarray(log_b, dtype=float)))

    scale = math.log(max(problem.B_simple, 1e-300))  # B_simple underflows to 0 at eps > 1e154
    coarse = 2 * _GRID_STEP
    grid = np.arange(scale - _GRID_HALF_WIDTH, scale + _GRID_HALF_WIDTH + coarse / 2, coarse)
    limit = float(eta(np.array([math.inf]))[0])  # its own call: a finite grid takes _block's path without masks
    values = at(grid)
    for _ in range(8):  # eta* -> 0 as B -> 0 and -> limit as B -> oo: extend an end that still rises outwards
        left = values[0] > values[1] * (1 + _PEAK_TOLERANCE)
        right = values[-1] > values[-2] * (1 + _PEAK_TOLERANCE) and values[-1] > limit * (1 + _PEAK_TOLERANCE)
        if not (left or right):
            break
        more_left = grid[0] - coarse * np.arange(50, 0, -1) if left else grid[:0]
        more_right = grid[-1] + coarse * np.arange(1, 51) if right else grid[:0]
        added = at(np.concatenate([more_left, more_right]))
        grid = np.concatenate([more_left, grid, more_right])
        values = np.concatenate([added[:more_left.size], values, added[more_left.size:]])
    grid, values = _refine_grid(grid, values, at)
    peaks = []
    for k in _standing_maxima(values, limit):
        x, top = _brent_maximum(lambda x: float(at(np.array([x]))[0]), grid[k - 1:k + 2], values[k - 1:k + 2])
        peaks.append((float(math.exp(x)), top))
    return SurgePeak(peaks, limit)


def _standing_maxima(values: np.ndarray, limit: float) -> list[int]:
    """The grid's interior local maxima that stand out of rounding: k with values[k] above its neighbours by more
    than _PEAK_TOLERANCE (relative) against the lowest value on each side before a higher one (eta*(0) = 0 and
    eta*(oo) = limit close the grid)."""
    ends = np.concatenate([[0.0], values, [limit]])
    standing = []
    for k in range(1, values.size - 1):
        if not (values[k] > values[k - 1] and values[k] >= values[k + 1]):
            continue
        higher_left = np.flatnonzero(ends[:k + 1] > values[k])
        higher_right = np.flatnonzero(ends[k + 2:] > values[k])
        low_left = ends[(higher_left[-1] if higher_left.size else 0):k + 1].min()
        low_right = ends[k + 1:(k + 2 + higher_right[0]) if higher_right.size else ends.size].min()
        if values[k] - max(low_left, low_right) <= _PEAK_TOLERANCE * values[k]:
            continue  # flat to within the tolerance: rounding, not a peak
        standing.append(k)
    return standing


def _refine_grid(grid: np.ndarray, values: np.ndarray, at: Callable) -> tuple[np.ndarray, np.ndarray]:
    """The coarse grid with the midpoints of the intervals next to a coarse local maximum, or around a turn of the
    second differences from negative to positive (beyond the tolerance): one call for all of them."""
    wanted = set()
    for k in range(1, grid.size - 1):
        if values[k] > values[k - 1] and values[k] >= values[k + 1]:
            wanted.update((k - 1, k))  # interval j is (grid[j], grid[j + 1])
    second = values[:-2] - 2 * values[1:-1] + values[2:]  # at points 1 .. size - 2
    tolerance = _PEAK_TOLERANCE * float(np.abs(values).max())
    last_concave = None
    for j, d in enumerate(second, start=1):
        if d < -tolerance:
            last_concave = j
        elif d > tolerance and last_concave is not None:
            wanted.update(range(max(last_concave - 1, 0), min(j + 1, grid.size - 1)))
            last_concave = None
    if not wanted:
        return grid, values
    intervals = np.array(sorted(wanted))
    middle = (grid[intervals] + grid[intervals + 1]) / 2
    grid = np.concatenate([grid, middle])
    values = np.concatenate([values, at(middle)])
    order = np.argsort(grid, kind="stable")
    return grid[order], values[order]


def _brent_maximum(f: Callable[[float], float], x3: np.ndarray, f3: np.ndarray) -> tuple[float, float]:
    """The maximum of f on (x3[0], x3[2]) by Brent's method (parabolic steps, golden sections when they fail;
    Numerical Recipes' ``brent`` on -f), started from the three grid points (x3, f3 = f(x3), f3[1] the largest): its
    first step is the parabola through them.  Converges to _LOG_B_TOLERANCE, or stops when the three best values
    agree to _FLAT (the maximum is flat to rounding over their span); (x, f(x)) of the best point."""
    golden = 0.3819660112501051
    a, b = float(x3[0]), float(x3[2])
    x, fx = float(x3[1]), -float(f3[1])  # minimise -f
    (w, fw), (v, fv) = sorted([(float(x3[0]), -float(f3[0])), (float(x3[2]), -float(f3[2]))], key=lambda p: p[1])
    d, e = 0.0, b - a  # e: the step before last (the bracket: the first parabolic step is allowed)
    tol = _LOG_B_TOLERANCE
    for _ in range(100):
        middle = 0.5 * (a + b)
        if abs(x - middle) <= 2 * tol - 0.5 * (b - a):
            break
        parabolic = False
        if abs(e) > tol:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            q = abs(q)
            previous, e = e, d
            if abs(p) < abs(0.5 * q * previous) and q * (a - x) < p < q * (b - x):
                d = p / q
                if (x + d) - a < 2 * tol or b - (x + d) < 2 * tol:
                    d = math.copysign(tol, middle - x)
                parabolic = True
        if not parabolic:
            e = (a - x) if x >= middle else (b - x)
            d = golden * e
        u = x + d if abs(d) >= tol else x + math.copysign(tol, d)
        fu = -f(u)
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
        if v != x and w != x and max(fv, fw) - fx <= _FLAT * abs(fx):
            break  # the three best points agree to rounding: the top is flat there, B is known to that width
    return x, -fx
