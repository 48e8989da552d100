"""Moment families: one record per family of per-component update moments, and one dispatcher.

A moment family (clip, approx, exact, outside, anchored, anchored_outside, or one a user registers) is the
set of forms that together give the update's mean and variance at every finite (a, b), a = g sqrt(B)/sigma,
b = eps sqrt(B)/sigma (b >= 0):

* ``moments(a, b) -> (mean, variance)``: the regular form, for B_TINY <= b < B_FAR and |a| < A_FAR (for every
  b < B_FAR if ``sign_at_zero`` is False); the route the models take (the update's pair, one evaluation);
* ``mean`` / ``second_moment`` / ``variance``: the public single-moment regular forms, where a family has its own
  (otherwise taken from ``moments``);
* ``sign_at_zero``: at b < B_TINY = 1e-150 the sign update's moments (erf(a/sqrt2), 1 - erf^2): the b -> 0
  form, where the O(b) corrections are below float64's resolution and the regular form's 1/b^2 overflows;
* ``far(a, b) -> (mu, nu)``: the large-b form in SGD units, m = (a/b) mu, v = nu/b^2, for b >= B_FAR = 1e50
  (derived, steps L-1 .. L-4, clip's L-7 and anchored_outside's L-9, printed in ``generated/limits.py``; clip's
  picked per point by ``_far.clip``); None: the family has none (a model of it refuses such eps);
* ``steady(a, b) -> (mean, variance)``: the large-|a| form (the deterministic update, m = f(a), v = f'(a)^2),
  for |a| >= A_FAR = 1e50 with b < B_FAR (derived, L-5, L-6, and E-9/E-12 by hypot, in ``generated/limits.py``;
  clip's L-8; anchored's A-3/A-4 divided by a^2, its anchors passed by ``_far``); None: the regular form serves there;
* ``near_mean``: the mean alone of ``moments`` (the same bits, cheaper: e.g. one fitted table instead of two),
  for consumers that need only the mean (the correlated model's slopes); None: ``moments``' first half;
* ``reference``: the reference quadrature (kind -> function), where the family has one (``method="quadrature"``);
* ``placement``: where eps sits, "inside" the root (x/sqrt(x^2 + eps^2)) or "outside" (x/(|x| + eps)).

The dispatcher (:meth:`MomentFamily.pair`, :meth:`MomentFamily.moment`), in the pattern of sympy.stats (a
distribution's own ``_cdf`` is tried, integration is the fallback): the regime masks are computed once, here
(:func:`regimes`), each regime takes the family's own form, and the regular form is the fallback.  The public
``numeric.mean_<family>``, ``variance_<family>``, ``second_moment_<family>`` and ``moments_<family>`` and every
per-component model (``PerComponentModel(family=...)``) come from :data:`FAMILIES`; :func:`register_family` adds
one (and, by default, the per-component model of the same name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from . import _far, anchored_fast
from . import regions as _regions
from . import anchored_outside as _ao
from .generated import limits as _limits
from . import _fast as _f
from .generated import closed_forms as _g
from . import _outside as _o
from . import _quadrature as _q
from ._checks import finite as _finite
from ._checks import nonnegative as _nonnegative
from ._checks import real as _real

B_TINY = _far.B_TINY  # b below: the sign update (b -> 0 form)
B_FAR = _far.B_FAR  # b at or above: the large-b form in SGD units
A_FAR = _far.A_FAR  # |a| at or above (b < B_FAR): the large-|a| form

KINDS = ("mean", "second moment", "variance")
METHODS = ("tables", "quadrature")

Pair = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
Single = Callable[[np.ndarray, np.ndarray], np.ndarray]


# --------------------------------------------------------------------------------------------
# The regimes: the one copy of the masks.


def is_far(b) -> np.ndarray:
    """b >= B_FAR: where the large-b form (SGD units) replaces the regular one."""
    return b >= B_FAR


class Regimes(NamedTuple):
    """Boolean masks over the points, disjoint, covering every point: b -> 0, b large, |a| large, regular."""

    zero: np.ndarray
    far: np.ndarray
    huge: np.ndarray
    regular: np.ndarray


def regimes(a: np.ndarray, b: np.ndarray, sign_at_zero: bool, far_too: bool = True) -> Regimes | None:
    """The regime of each point (a, b), or None where every point is regular (found by up to four reductions, no
    masks: the common case).  zero: b < B_TINY (only if ``sign_at_zero``); far: b >= B_FAR (only if ``far_too``: the
    models route those points to the far form themselves, in SGD units, and skip that reduction); huge: |a| >= A_FAR
    elsewhere."""
    if a.size and -A_FAR < a.min() and a.max() < A_FAR and (not far_too or b.max() < B_FAR) and (
            not sign_at_zero or b.min() >= B_TINY):
        return None  # (NaN fails every comparison: the masks below)
    zero = (b < B_TINY) if sign_at_zero else np.zeros(b.shape, dtype=bool)
    far = is_far(b) if far_too else np.zeros(b.shape, dtype=bool)
    huge = ~(zero | far) & (np.abs(a) >= A_FAR)
    regular = ~(zero | far | huge)
    if not (zero.any() or far.any() or huge.any()):
        return None
    return Regimes(zero, far, huge, regular)


# --------------------------------------------------------------------------------------------
# Forms shared by the families.


def sign_mean(a: np.ndarray) -> np.ndarray:
    """b = 0 (eps = 0): the sign update's mean erf(a/sqrt2)."""
    return np.copysign(_g.mean_clip_b0(np.abs(a)), a)


def sign_variance(a: np.ndarray) -> np.ndarray:
    """b = 0: the sign update's variance 1 - erf(a/sqrt2)^2."""
    return _g.variance_clip_b0(np.abs(a))


def sign_moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """b = 0 (eps = 0): the sign update, mean erf(a/sqrt2), variance 1 - erf(a/sqrt2)^2."""
    size = np.abs(a)
    return np.copysign(_g.mean_clip_b0(size), a), _g.variance_clip_b0(size)


def odd(function: Single, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A function of (|a|, b) made odd in a."""
    return np.copysign(function(np.abs(a), b), a)


def _one(a: np.ndarray) -> np.ndarray:
    return np.ones(a.shape)


def _from_far(kind: str, mu: np.ndarray, nu: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """mean (a/b) mu, second moment m^2 + nu/b^2 or variance nu/b^2 from the SGD-unit forms."""
    noise = (nu / b) / b
    if kind == "variance":
        return noise
    mean = (a / b) * mu
    return mean if kind == "mean" else mean * mean + noise


def _of_pair(kind: str, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    if kind == "mean":
        return mean
    return variance if kind == "variance" else mean * mean + variance


# --------------------------------------------------------------------------------------------
# Input checks (the public functions).


def checked_pair(a, b) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """a (finite real) and b (finite, >= 0) broadcast and flattened, and the broadcast shape."""
    a, b = _real(a, "a"), _real(b, "b")
    _finite(a, "a")
    _nonnegative(b, "b")
    _finite(b, "b")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"a (shape {a.shape}) and b (shape {b.shape}) do not broadcast") from None
    flat_a = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)
    flat_b = np.ascontiguousarray(np.broadcast_to(b, shape)).reshape(-1)
    return flat_a, flat_b, shape


def shaped(values: np.ndarray, shape: tuple[int, ...], what: str, bounded: bool = False):
    """``values`` in the broadcast ``shape`` (a float for a 0-d input); a NaN is an error, never silent, and so is an
    infinity where ``bounded`` (a moment of the update, |u| <= 1: e.g. the anchored outside model's SGD-unit nu ~ C
    overflows at b >~ 1e308)."""
    suspect = not np.isfinite(values).all() if bounded else np.isnan(values).any()  # one pass over the values
    if suspect:
        if np.isnan(values).any():
            raise FloatingPointError(f"{what} produced NaN for finite input; please report the input")
        raise FloatingPointError(f"{what} overflowed for finite input (b too close to float64's largest number?);"
                                 " please report the input")
    return float(values[0]) if shape == () else values.reshape(shape)


# --------------------------------------------------------------------------------------------
# The record.


@dataclass(frozen=True, eq=False)
class MomentFamily:
    """One family of per-component moments (see the module docstring)."""

    name: str
    moments: Pair
    far: Pair | None = None
    steady: Pair | None = None
    sign_at_zero: bool = False
    mean: Single | None = None
    second_moment: Single | None = None
    variance: Single | None = None
    fast_mean: Single | None = None
    reference: Mapping[str, Single] = field(default_factory=lambda: MappingProxyType({}))
    placement: str = "inside"
    doc: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"family name must be an identifier-like string, not {self.name!r}")
        if self.placement not in ("inside", "outside"):
            raise ValueError(f"placement must be 'inside' or 'outside', not {self.placement!r}")
        if not callable(self.moments):
            raise TypeError(f"family {self.name!r}: moments must be a function (a, b) -> (mean, variance)")
        unknown = set(self.reference) - set(KINDS)
        if unknown:
            raise ValueError(f"family {self.name!r}: reference kinds must be among {KINDS}, not {sorted(unknown)}")

    # -- the model route: (mean, variance) at every b < B_FAR (b >= B_FAR through ``far``, in SGD units) -----

    def pair(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, variance) at points (a, b) of one shape: each regime's own form, the regular one elsewhere.
        b >= B_FAR gives the far form converted out of SGD units ((a/b) mu, nu/b^2); the models carry those points
        in SGD units instead (:meth:`near` here, ``far`` there)."""
        return self._pair(a, b, True)

    def near(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`pair` for points with b < B_FAR (the models' contract for ``moments``; one reduction fewer)."""
        return self._pair(a, b, False)

    def _pair(self, a: np.ndarray, b: np.ndarray, far_too: bool) -> tuple[np.ndarray, np.ndarray]:
        found = regimes(a, b, self.sign_at_zero, far_too)
        if found is None:
            return self.moments(a, b)
        m, v = np.empty(a.shape), np.empty(a.shape)
        if found.zero.any():
            m[found.zero], v[found.zero] = sign_moments(a[found.zero])
        if found.far.any():
            mu, nu = self._far_form()(a[found.far], b[found.far])
            m[found.far] = _from_far("mean", mu, nu, a[found.far], b[found.far])
            v[found.far] = _from_far("variance", mu, nu, a[found.far], b[found.far])
        if found.huge.any():
            m[found.huge], v[found.huge] = (self.steady or self.moments)(a[found.huge], b[found.huge])
        if found.regular.any():
            m[found.regular], v[found.regular] = self.moments(a[found.regular], b[found.regular])
        return m, v

    def near_mean(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The mean of :meth:`near` alone, bit for bit: the family's ``fast_mean`` on the regular points (its
        ``moments``' mean without the variance), each other regime's own form as :meth:`near` takes it."""
        if self.fast_mean is None:
            return self.near(a, b)[0]
        found = regimes(a, b, self.sign_at_zero, False)
        if found is None:
            return np.asarray(self.fast_mean(a, b), dtype=float)
        m = np.empty(a.shape)
        if found.zero.any():
            m[found.zero] = sign_mean(a[found.zero])
        if found.huge.any():
            m[found.huge] = (self.steady or self.moments)(a[found.huge], b[found.huge])[0]
        if found.regular.any():
            m[found.regular] = self.fast_mean(a[found.regular], b[found.regular])
        return m

    def _far_form(self) -> Pair:
        if self.far is None:
            raise ValueError(f"moment family {self.name!r} has no large-b form (far): b >= {B_FAR:g} is out of reach")
        return self.far

    # -- the public route: one moment (or the pair) of checked, broadcast input ---------------------------

    def regular(self, kind: str, method: str = "tables") -> Single:
        """The family's own regular form of one moment (``method="quadrature"``: its reference), or the pair's."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        if method == "quadrature":
            if kind not in self.reference:
                raise ValueError(f"moment family {self.name!r} has no reference quadrature for the {kind} "
                                 f"(families with one: {', '.join(f.name for f in FAMILIES.values() if f.reference)})")
            return self.reference[kind]
        own = {"mean": self.mean, "second moment": self.second_moment, "variance": self.variance}[kind]
        if own is not None:
            return own
        return lambda a, b: _of_pair(kind, *self.moments(a, b))

    def moment(self, kind: str, a, b, method: str = "tables", name: str | None = None):
        """One moment ("mean", "second moment" or "variance") at (a, b) (numpy broadcasting; a 0-d input gives a
        float): the regular form, the sign update at b < B_TINY (if the family has that form), the far form
        beyond B_FAR and the steady form beyond A_FAR."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        what = name or f"{kind.replace(' ', '_')}_{self.name}"
        regular = self.regular(kind, method)
        a, b, shape = checked_pair(a, b)
        found = regimes(a, b, self.sign_at_zero)
        if found is None:
            out = np.asarray(regular(a, b), dtype=float)
        else:
            out = np.empty(a.shape)
            if found.regular.any():
                out[found.regular] = regular(a[found.regular], b[found.regular])
            if found.zero.any():
                zero = a[found.zero]
                out[found.zero] = {"mean": sign_mean, "second moment": _one, "variance": sign_variance}[kind](zero)
            if found.far.any():
                mu, nu = self._far_form()(a[found.far], b[found.far])
                out[found.far] = _from_far(kind, mu, nu, a[found.far], b[found.far])
            if found.huge.any():
                steady = self.steady or self.moments
                out[found.huge] = _of_pair(kind, *steady(a[found.huge], b[found.huge]))
        return shaped(np.broadcast_to(out, a.shape), shape, what, bounded=True)

    def moments_public(self, a, b, name: str | None = None):
        """(mean, variance) at (a, b), checked and broadcast, from one evaluation of the pair."""
        a, b, shape = checked_pair(a, b)
        mean, variance = self.pair(a, b)
        what = name or f"moments_{self.name}"
        return shaped(mean, shape, what, bounded=True), shaped(variance, shape, what, bounded=True)


# --------------------------------------------------------------------------------------------
# The registry.

FAMILIES: dict[str, MomentFamily] = {}
_BUILT_IN: set[str] = set()


def register_family(family: MomentFamily, replace: bool = False) -> MomentFamily:
    """Add ``family`` to :data:`FAMILIES` (numeric.mean_<name> and kin then exist).  numeric.register_family also
    registers the per-component model of the same name."""
    if not isinstance(family, MomentFamily):
        raise TypeError(f"family must be a numeric.MomentFamily, not {type(family).__name__}")
    if family.name in FAMILIES and not replace:
        raise ValueError(f"moment family {family.name!r} is already registered (pass replace=True to replace it)")
    if family.name in _BUILT_IN:
        raise ValueError(f"moment family {family.name!r} is built in and cannot be replaced")
    FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> None:
    if name in _BUILT_IN:
        raise ValueError(f"moment family {name!r} is built in and cannot be removed")
    if name not in FAMILIES:
        raise ValueError(f"moment family {name!r} is not registered")
    del FAMILIES[name]


def get_family(name: str) -> MomentFamily:
    if not isinstance(name, str) or name not in FAMILIES:
        raise ValueError(f"moment family must be one of {tuple(FAMILIES)}, not {name!r}")
    return FAMILIES[name]


def public_function(prefix: str, family: MomentFamily) -> Callable:
    """numeric.<prefix>_<family>: "mean", "second_moment", "variance" (a, b) or "moments" (a, b) -> the pair."""
    name = f"{prefix}_{family.name}"
    if prefix == "moments":
        def function(a, b):
            return family.moments_public(a, b, name)
    else:
        kind = prefix.replace("_", " ")

        def function(a, b, method="tables"):
            return family.moment(kind, a, b, method, name)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"The {prefix.replace('_', ' ')} of moment family {family.name!r} (numeric.families)."
    return function


# --------------------------------------------------------------------------------------------
# The built-in families.


def _exact_moments(a, b):
    """The exact SoftSign moments (fitted tables around closed-form skeletons, _fast.py; within 1e-10 of mpmath,
    certified per cell; the quadrature of _quadrature.py stays the reference they are fitted to)."""
    mean, variance = _f.moments(np.ravel(a), np.ravel(b))
    return mean.reshape(np.shape(a)), variance.reshape(np.shape(a))


def _outside_moments(a, b):
    """The exact moments with eps outside the root (fitted tables around closed-form skeletons,
    _fast.outside_moments; within 1e-10 of mpmath, certified per cell; the quadrature of _outside.py, steps X-5 and
    X-6, stays the reference they are fitted to and numeric.mean_outside/variance_outside's route)."""
    mean, variance = _f.outside_moments(np.ravel(a), np.ravel(b))
    return mean.reshape(np.shape(a)), variance.reshape(np.shape(a))


def _clip_moments(a, b):
    """E-8 and E-11 - E-8^2."""
    return np.copysign(_regions.mean_clip_nonneg(np.abs(a), b), a), _regions.variance_clip_nonneg(np.abs(a), b)


def _approx_moments(a, b):
    """E-9/E-10 and E-12 - E-9^2 = (pi/2)/(a^2 + b^2 + pi/2)."""
    return _g.mean_approx(a, b), _g.variance_approx(a, b)


def _anchored_moments(a, b):
    """A-3/A-4 (exact at a = 0 for every b, including b = 0); |m| < 1, which rounding can pass by an ulp.
    One generated call for both: the fast route (k0, s0, C from the fitted table in log b, generated/anchored_table.py;
    the closed forms stay as anchored_closed.moments_closed)."""
    mean, variance = anchored_fast.moments_anchored(a, b)
    return np.clip(mean, -1.0, 1.0, out=mean), variance  # in place: mean is a fresh array


def _anchored_outside_moments(a, b):
    """X-14/X-15: A-3's shapes through the exact outside slope and second moment at a = 0 (placement="outside")."""
    return _ao.moments_anchored_outside(a, b)


def _anchored_outside_steady(a, b):
    """|a| >= A_FAR: A-3's shapes through the outside anchors (X-12 .. X-15), the form shared with the inside one."""
    return _limits.anchored_steady(a, b, _ao.k0_outside(b), _ao.s0_outside(b), _ao.c_outside(b))


def _quadrature_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return odd(_q.mean_exact, a, b)


def _quadrature_variance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _q.variance_exact(np.abs(a), b)


BUILT_IN = (
    MomentFamily(
        "exact", _exact_moments, far=_limits.far_exact, steady=_limits.steady_exact, sign_at_zero=True,
        mean=_f.mean_exact, second_moment=_f.second_moment_exact, variance=_f.variance_exact,
        fast_mean=_f.mean_exact,
        reference=MappingProxyType({"mean": _quadrature_mean, "second moment": _q.second_moment_exact,
                                    "variance": _quadrature_variance}),
        doc="the SoftSign x/sqrt(x^2 + b^2) of x = a + z: fitted tables (_fast.py), the quadrature the reference"),
    MomentFamily(
        "clip", _clip_moments, far=_far.clip, steady=_far.steady_clip, sign_at_zero=True,
        mean=lambda a, b: odd(_regions.mean_clip_nonneg, a, b),
        second_moment=lambda a, b: _regions.second_moment_clip_nonneg(np.abs(a), b),
        variance=lambda a, b: _regions.variance_clip_nonneg(np.abs(a), b),
        doc="E-8 and E-11: clip((a + z)/b, -1, 1)"),
    MomentFamily(
        "approx", _approx_moments, far=_limits.far_approx, steady=_limits.steady_approx,
        mean=_g.mean_approx, second_moment=_g.second_moment_approx, variance=_g.variance_approx,
        doc="E-9/E-10 and E-12"),
    MomentFamily(
        "outside", _outside_moments, far=_limits.far_outside, steady=_limits.steady_outside, sign_at_zero=True,
        mean=_o.mean_outside, second_moment=_o.second_moment_outside, variance=_o.variance_outside,
        fast_mean=_f.outside_mean, placement="outside",
        doc="eps outside the root, x/(|x| + b) (X-1, X-5, X-6): the public functions by the quadrature of "
            "_outside.py, the models by its fitted tables"),
    MomentFamily(
        "anchored", _anchored_moments, far=_limits.far_anchored, steady=_far.steady_anchored,
        doc="A-3/A-4: E-9/E-12's shapes anchored at the exact slope k0(b) and second moment s0(b) at a = 0"),
    MomentFamily(
        "anchored_outside", _anchored_outside_moments, far=_ao.far_anchored_outside,
        steady=_anchored_outside_steady, placement="outside",
        doc="X-12 .. X-15: A-3's shapes at the exact outside slope and second moment at a = 0"),
)

for _family in BUILT_IN:
    register_family(_family)
    _BUILT_IN.add(_family.name)
del _family
