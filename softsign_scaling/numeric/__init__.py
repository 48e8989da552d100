"""Numeric functions of the SoftSign scaling law, generated from the derivation.

``from softsign_scaling import numeric``.  Everything here is float64 numpy, and
importing it imports neither SymPy nor matplotlib: the closed forms' expressions and coefficients live in
``generated/`` (``closed_forms.py``, ``anchored.py``, ``outside.py`` and the fitted tables), printed by
``softsign-scaling derive`` from the pipeline's expressions (through the stable forms of
:mod:`softsign_scaling.stable`); the ordinary modules here evaluate them (``regions.py``, ``anchored_closed.py``,
``anchored_outside.py``, ``anchored_fast.py``, ``_fast.py``, ``_far.py``); the exact moments' reference is a vectorised fixed
quadrature (``_quadrature.py``).

Reduced variables, per component: a = g sqrt(B)/sigma, b = eps sqrt(B)/sigma.

Moments of the update, as functions of (a, b) (numpy broadcasting; a 0-d
input gives a float; b >= 0, b = 0 being eps = 0, the sign update):

* :func:`mean_clip`, :func:`second_moment_clip`, :func:`variance_clip`: E-8,
  E-11 and E-11 - E-8^2, the moments of clip((a + z)/b, -1, 1), z ~ N(0, 1);
* :func:`mean_exact`, :func:`second_moment_exact`, :func:`variance_exact`: the
  moments of the SoftSign (a + z)/sqrt((a + z)^2 + b^2) itself, from generated piecewise polynomial tables
  (``_fast.py``, ``generated/exact_tables.py``; ~0.2-0.5 us a point in numpy, ~0.1-0.25 us compiled by numba with the
  extra ``fast``, see :func:`exact_backend`) fitted to the quadrature (``_quadrature.py``, the
  reference); :func:`moments_exact` gives the mean and the variance together (one lookup);
* :func:`mean_approx`, :func:`second_moment_approx`, :func:`variance_approx`:
  E-9/E-10 and E-12 (a/sqrt(a^2 + b^2 + pi/2), 1 - b^2/(a^2 + b^2 + pi/2)).

Each family of moments (clip, approx, exact, outside, anchored, anchored_outside) is one record,
:class:`MomentFamily` (module ``families``: the regular form, the b -> 0, large-b and large-|a| forms, the reference
quadrature, the placement), and every function above, :func:`mean_anchored` / :func:`variance_anchored` (the default
model's), ``mean_<family>`` of a family added with :func:`register_family`, and the per-component models come from
that registry through one dispatcher.

The quadratic model's inputs are one value, :class:`Problem` (g, sigma, H, eps; validated once; it
holds the aggregates G_nu, S_nu, T_H, B_simple and the kappa^2 averages; H may be a diagonal, a dense
matrix or an operator with ``H_diagonal=``, and the arrays may be float32, memory-mapped or torch tensors).  Learning rates:
:func:`eta_star` (SoftSignSGD; default model "anchored"), :func:`loss_decrease` (E-5's decrease at
eta*), :func:`surge_peak` (the batch size where eta* peaks), :func:`eta_star_sgd` (P-10) and
:func:`plot_eta_star` (matplotlib, for notebooks).  The efficiency law with eps (X-20 .. X-27):
:func:`b_noise` (X-21's closed form for the mean-field models, the half-saturation batch for the others) and
:func:`dl_max` (numeric/efficiency.py).

Argument order, everywhere: the batch size first where there is one, then the problem, either as a
:class:`Problem` or as g, sigma, H, eps spelled out; then keyword options::

    eta_star(B, problem, model=..., **options)       eta_star(B, g, sigma, H, eps, model=...)
    loss_decrease(B, problem, model=...)             eta_star_sgd(B, problem)  or  (B, g, sigma, H)
    surge_peak(problem, model=...)                   plot_eta_star(B, problem, models=...)

``surge_peak(g, sigma, H, eps)`` (no B, so the spelled-out problem starts in B's place) still
works but warns (DeprecationWarning): pass ``Problem(g, sigma, H, eps)``.

Models are a registry (:mod:`softsign_scaling.numeric.models`): :data:`MODELS` lists them,
:func:`register_model` adds one, and every function above (and the error atlas) iterates it.  An
option a model does not take (``kappa2`` with anything but "mean_field") is refused.

Every result is computed per point in a fixed order (no BLAS reductions), so a point gives the
same bits alone and inside an array.  Every finite input gives a finite answer where the answer
lies in float64's range: b = 0 is the sign update, and where b or |a| is beyond 1e50 (eps or B
astronomically large) the moments switch to their leading forms (module ``_far``; relative
corrections below 1e-100) and eta* to SGD units.

>>> from softsign_scaling import numeric
>>> round(numeric.mean_clip(1.0, 0.5), 12)
0.663020472723
>>> float(numeric.eta_star(float("inf"), [1.0, -2.0], [1.0, 1.0], [1.0, 1.0], 0.0))
1.5
>>> p = numeric.Problem(g=[1.0, -0.5], sigma=[2.0, 1.0], H=[[2.0, 0.3], [0.3, 1.0]], eps=0.1)
>>> round(numeric.eta_star(64, p), 6) == round(numeric.eta_star(64, p.g, p.sigma, p.H, p.eps), 6)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .generated import closed_forms as _g
from . import _fast as _f
from ._checks import batch as _batch
from .families import FAMILIES, MomentFamily, get_family, public_function
from .families import shaped as _shaped
from .models import (MeanFieldModel, Model, Option, Peak, PerComponentModel, SurgePeak, get_model, model_names,
                     placement_models, register_family, register_model, unregister_family, unregister_model)
from .problem import KAPPA2, Problem
from .correlated import LowRankNoise, ProjectedNoise
from .efficiency import b_noise, dl_max

__all__ = [
    "DEFAULT_MODEL",
    "KAPPA2",
    "MODELS",
    "MeanFieldModel",
    "Model",
    "Option",
    "Peak",
    "PerComponentModel",
    "SurgePeak",
    "Problem",
    "eta_star",
    "eta_star_sgd",
    "exact_backend",
    "get_model",
    "loss_decrease",
    "eta_star_and_decrease",
    "mean_approx",
    "mean_clip",
    "mean_exact",
    "moments_exact",
    "plot_eta_star",
    "register_model",
    "second_moment_approx",
    "second_moment_clip",
    "second_moment_exact",
    "surge_peak",
    "unregister_model",
    "variance_approx",
    "variance_clip",
    "variance_exact",
    "mean_outside",
    "second_moment_outside",
    "variance_outside",
    "placement_models",
    "b_noise",
    "dl_max",
    "eps_inside_equivalent",
    "FAMILY_NAMES",
    "MomentFamily",
    "get_family",
    "register_family",
    "unregister_family",
    "mean_anchored",
    "second_moment_anchored",
    "variance_anchored",
    "moments_anchored",
    "LowRankNoise",
    "ProjectedNoise",
]

DEFAULT_MODEL = "anchored"  # the closest closed form to exact in docs/atlas.md (98% of cases within 10%)


_PREFIXES = ("second_moment", "moments", "mean", "variance")


def __getattr__(name: str):
    if name == "MODELS":  # derived from the registry each time, so a registered model appears
        return model_names()
    if name == "FAMILY_NAMES":
        return tuple(FAMILIES)
    for prefix in _PREFIXES:  # mean_<family>, variance_<family>, ... of a registered family
        if name.startswith(prefix + "_") and name[len(prefix) + 1:] in FAMILIES:
            return public_function(prefix, FAMILIES[name[len(prefix) + 1:]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# Moments in reduced variables: each public function is its family's (numeric.families): one dispatcher
# (b = 0: the sign update; b >= B_FAR: SGD units; |a| >= A_FAR: the deterministic update).


def _family(name: str) -> MomentFamily:
    return FAMILIES[name]


def mean_clip(a, b):
    """E-8: E[clip((a + z)/b, -1, 1)] for z ~ N(0, 1); a real, b >= 0 (numpy broadcasting).

    Evaluated in the stable forms of softsign_scaling/stable.py (a b-series for
    small b, an a-series for small a, erfc tail forms elsewhere): within 1e-12
    relative of a 50-digit evaluation of E-8 for |a| <= 1e4, 1e-12 <= b <= 1e8.
    Odd in a, increasing, with range (-1, 1).  At b = 0 its limit, erf(a/sqrt2) (the sign update,
    eps = 0); for b >= 1e50 the leading large-b form (module ``_far``), so no finite input overflows.

    >>> mean_clip(0.0, 1.0)
    0.0
    >>> round(mean_clip(2.0, 1e-9), 15)  # b -> 0: erf(a/sqrt2)
    0.954499736103642
    >>> round(mean_clip(2.0, 0.0), 15)
    0.954499736103642
    >>> round(mean_clip(3.0, 1e300) * 1e300, 12)  # b -> oo: a/b
    3.0
    >>> mean_clip([-1.0, 1.0], 0.5).round(12).tolist()
    [-0.663020472723, 0.663020472723]
    """
    return _family("clip").moment("mean", a, b, name="mean_clip")


def second_moment_clip(a, b):
    """The closed form of E-11: E[clip((a + z)/b, -1, 1)^2]; a real, b >= 0 (numpy broadcasting).

    Even in a, in (0, 1], increasing in |a|; 1 - O(b) as b -> 0 (1 at b = 0), (a^2 + 1)/b^2 as b -> oo.

    >>> round(second_moment_clip(0.0, 1e-8), 12)  # 1 - (4/3) phi(0) b
    0.999999994681
    >>> round(second_moment_clip(3.0, 1e4) * 1e8, 6)  # (a^2 + 1)/b^2
    10.0
    """
    return _family("clip").moment("second moment", a, b, name="second_moment_clip")


def variance_clip(a, b):
    """E-11 - E-8^2, the variance of the clipped update, summed so that it keeps its digits.

    Where the mean is near +-1 it is E[y^2] - E[y]^2 with y = 1 - clip; where the
    clip is mostly linear, 1/b^2 minus tail terms (the bulk terms cancel
    symbolically).  Even in a, >= 0.

    >>> f"{variance_clip(6.0, 0.5):.12e}"  # s and m^2 agree to 8 digits: s - m^2 would keep 8
    '4.293940034321e-09'
    """
    return _family("clip").moment("variance", a, b, name="variance_clip")


def exact_backend() -> str:
    """Which path computes the exact moments (``model="exact"``, :func:`moments_exact` and its kin): ``"numba"``,
    the compiled kernel of the extra ``fast`` (numeric/_kernel.py), or ``"numpy"``: the same operations either
    way (equal bits where numpy's exp and log are the C library's, within a few ulp elsewhere).
    The environment variable SOFTSIGN_SCALING_KERNEL (auto, numba or numpy) chooses; see the README."""
    return "numpy" if _f.kernel() is None else "numba"


def moments_exact(a, b):
    """(:func:`mean_exact`, :func:`variance_exact`) from one table lookup: the pair eta* needs, at the cost of one.

    >>> m, v = moments_exact([0.5, 8.0], [0.3, 1e-6])
    >>> bool(m[0] == mean_exact(0.5, 0.3)) and bool(v[1] == variance_exact(8.0, 1e-6))
    True
    """
    return _family("exact").moments_public(a, b, name="moments_exact")


def mean_exact(a, b, method="tables"):
    """E[(a + z)/sqrt((a + z)^2 + b^2)], z ~ N(0, 1): the SoftSign mean without the clip.

    ``method``: "tables" (the default, fast) or "quadrature" (the reference the tables are fitted to:
    ~1e-14 relative, 10-150 us a point; the atlas uses it).

    Piecewise polynomial tables around closed-form skeletons (``_fast.py``; generated by ``derive`` from
    the quadrature of ``_quadrature.py``): relative error below 1e-10 (the issue's bound; each table
    rectangle's measured error is printed in ``generated/exact_tables.py``) against mpmath
    (tests/test_fast_moments.py).  ``numeric._quadrature.mean_exact`` is the reference quadrature.

    >>> round(mean_exact(1.0, 1e-9), 12)  # b -> 0: erf(1/sqrt2)
    0.682689492137
    >>> round(mean_exact(3.0, 1e6) * 1e6, 9)  # b -> oo: a/b
    3.0
    """
    return _family("exact").moment("mean", a, b, method, name="mean_exact")


def second_moment_exact(a, b, method="tables"):
    """E[(a + z)^2/((a + z)^2 + b^2)], z ~ N(0, 1): the SoftSign second moment without the clip.

    mean_exact^2 + variance_exact (one table lookup; at most 1).  The quadrature reference,
    ``numeric._quadrature.second_moment_exact``, uses 1 - E[...] = b sqrt(pi/2) Re w((a + ib)/sqrt2).

    >>> round(second_moment_exact(0.0, 1.0), 12)  # 1 - sqrt(pi/2) e^(1/2) erfc(1/sqrt2)
    0.344320457581
    """
    return _family("exact").moment("second moment", a, b, method, name="second_moment_exact")


def variance_exact(a, b, method="tables"):
    """second_moment_exact - mean_exact^2, tabulated relative to a skeleton that carries its magnitude (the sign
    update's variance near the kink, the delta method's f'(a)^2 away from it), so that it keeps its digits near
    m = +-1; the reference quadrature ``numeric._quadrature.variance_exact`` sums E[(f - m)^2].

    >>> f"{variance_exact(8.0, 1e-6):.10e}"
    '2.4883683585e-15'
    """
    return _family("exact").moment("variance", a, b, method, name="variance_exact")


def mean_outside(a, b):
    """E[(a + z)/(|a + z| + b)], z ~ N(0, 1): the exact mean of the update with eps outside the root
    (PyTorch's Adam at beta1 = beta2 = 0; steps X-1, X-6).  Same input contract as :func:`mean_exact`.

    Vectorised Gauss-Legendre panels in x = a + z (``_outside.py``), graded at the kink x = 0 on the
    scale b: within 1e-12 relative of mpmath quadrature (tests/test_outside_numeric.py).

    >>> round(mean_outside(1.0, 1e-200), 12)  # b -> 0: erf(1/sqrt2)
    0.682689492137
    >>> round(mean_outside(3.0, 1e6) * 1e6, 4)  # b -> oo: a/b (minus E[x|x|]/b, X-7)
    3.0
    """
    return _family("outside").moment("mean", a, b, name="mean_outside")


def second_moment_outside(a, b):
    """E[(a + z)^2/(|a + z| + b)^2], z ~ N(0, 1) (eps outside the root).  Contract as :func:`second_moment_exact`."""
    return _family("outside").moment("second moment", a, b, name="second_moment_outside")


def variance_outside(a, b):
    """second_moment_outside - mean_outside^2, summed as E[(y - E y)^2] with y = 1 - u (keeps its digits near m = 1)."""
    return _family("outside").moment("variance", a, b, name="variance_outside")


def mean_approx(a, b):
    """E-9 (E-10 per component): a/sqrt(a^2 + b^2 + pi/2).

    >>> round(mean_approx(1.0, 0.0), 12)  # 1/sqrt(1 + pi/2)
    0.623686242953
    """
    return _family("approx").moment("mean", a, b, name="mean_approx")


def second_moment_approx(a, b):
    """E-12: 1 - b^2/(a^2 + b^2 + pi/2).

    >>> second_moment_approx(1.0, 0.0)
    1.0
    """
    return _family("approx").moment("second moment", a, b, name="second_moment_approx")


def variance_approx(a, b):
    """E-12 - E-9^2, derived in closed form: (pi/2)/(a^2 + b^2 + pi/2) (no cancellation).

    >>> round(variance_approx(0.0, 0.0), 12)
    1.0
    """
    return _family("approx").moment("variance", a, b, name="variance_approx")


def mean_anchored(a, b):
    """A-3: the anchored model's mean a k0(b)/sqrt(a^2 k0(b)^2 + 1) (the default model's; the fitted table of k0 in
    log b, generated/anchored_table.py), with the anchored family's limit forms (b >= 1e50: SGD units; |a| >= 1e50).

    >>> round(mean_anchored(0.0, 1.0), 12), mean_anchored(1e300, 0.5)
    (0.0, 1.0)
    """
    return _family("anchored").moment("mean", a, b, name="mean_anchored")


def second_moment_anchored(a, b):
    """A-3/A-4: mean_anchored^2 + variance_anchored."""
    return _family("anchored").moment("second moment", a, b, name="second_moment_anchored")


def variance_anchored(a, b):
    """A-4: [a^2 C + s0 (b^2 + pi/2)/k0^2] / ((a^2 + b^2 + pi/2)(a^2 + 1/k0^2)), a sum of positive terms.

    >>> m, v = moments_anchored([0.5, 3.0], [0.2, 1e-3])
    >>> bool(v[0] == variance_anchored(0.5, 0.2)) and bool(m[1] == mean_anchored(3.0, 1e-3))
    True
    """
    return _family("anchored").moment("variance", a, b, name="variance_anchored")


def moments_anchored(a, b):
    """(:func:`mean_anchored`, :func:`variance_anchored`) from one evaluation: the model's own route."""
    return _family("anchored").moments_public(a, b, name="moments_anchored")


# --------------------------------------------------------------------------------------------
# The quadratic model: a Problem (g, sigma, H, eps) and a registered model.


def _resolve(model, options: dict) -> tuple[Model, dict]:
    """The model and its options, checked by the model (the registry): one a model does not take is refused."""
    chosen = get_model(model)
    return chosen, chosen.resolve(options)


def eta_star(B, g, sigma=None, H=None, eps=None, model=DEFAULT_MODEL, **options):
    """The optimal learning rate of one SoftSignSGD step on the quadratic model (E-5).

    B: batch size, a scalar or an array (the result has its shape); B = inf is the
    full-batch limit.  The problem: a :class:`Problem`, or g, sigma (length-n arrays: gradient,
    noise scale > 0), H (an (n, n) symmetric positive definite matrix, or a length-n vector meaning
    diag(H)) and eps >= 0 (eps = 0 is SignSGD).  ``model`` (one of :data:`MODELS`; see
    ``numeric.get_model(name).doc``):

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
      and 25% for the article's "mean_field" (kappa2="mean"; 48% with kappa2="harmonic");
    * any model added with :func:`register_model`.

    Model options are keywords, checked by the model (its ``options`` in the registry; a model refuses one it does
    not take).  ``kappa2`` (an option of "mean_field" only) chooses the average of
    kappa_i^2 = sigma_i^2/(g_i^2 + eps^2): "mean" (the arithmetic mean; the default, the article's
    "an average"), "harmonic" (n / sum 1/kappa_i^2), "ratio" (sum sigma_i^2 / sum (g_i^2 + eps^2)),
    "median", "numerator-weighted" (weights nu_i g_i), or a number.

    Every finite input gives a finite answer where the answer is in float64's range: where eps is
    huge (eps > 1e100, or eps sqrt(B)/sigma_i >= 1e50) the terms are carried in SGD units (the update's
    moments times eps and eps^2), with the models' large-b forms; eta* then grows like eps.

    Large problems: give a :class:`Problem` whose H is an operator with its diagonal
    (``Problem(g=..., sigma=..., H=<LinearOperator, .matvec object, scipy.sparse matrix or callable>,
    H_diagonal=..., eps=...)``); no n x n matrix is formed.  The per-component models then cost one matvec
    per batch size (m^T H m, m the update's mean at that B; the variance term reads diag H only); the mean
    field costs one matvec in all (nu^T H nu, cached on the Problem) and tr H is the diagonal's sum.  The
    components are processed in float64 blocks of ``numeric.problem.WIDTH`` (65536), so memory is O(n) for an
    operator (one row m per batch size) and O(block) for a diagonal H, and float32 or memory-mapped inputs
    are never copied whole; up to n = 65536 the sums are the unblocked ones, bit for bit, and above it they
    are accumulated block by block (a relative difference of a few ulp, see benchmarks/bench_scale.py).

    >>> g, sigma, H = [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]
    >>> round(eta_star(64, g, sigma, H, 0.1, model="mean_field"), 10)
    0.5881311379
    >>> round(eta_star(64, g, sigma, H, 0.1), 6), round(eta_star(64, g, sigma, H, 0.1, model="exact"), 6)
    (0.603557, 0.631656)
    >>> eta_star([1, 64, float("inf")], g, sigma, H, 0.1, model="clip").round(10).tolist()
    [0.203646781, 0.6249902429, 0.625]
    >>> eta_star(64, Problem(g, sigma, H, 0.1), model="anchored", kappa2="harmonic")
    Traceback (most recent call last):
    ...
    ValueError: kappa2 is not an option of model 'anchored' (it takes no options); models that take kappa2: mean_field
    """
    problem = Problem.of(g, sigma, H, eps)
    chosen, options = _resolve(model, options)
    chosen.check_problem(problem)
    B = _batch(B)
    values = np.asarray(chosen.eta_star(problem, B.reshape(-1), options), dtype=float)
    return _shaped(values.reshape(-1), B.shape, "eta_star")


def loss_decrease(B, g, sigma=None, H=None, eps=None, model=DEFAULT_MODEL, **options):
    """E-5: the expected one-step loss decrease at eta*, (E[phi]^T g)^2 / (2 Tr(E[phi phi^T] H)).

    Same arguments as :func:`eta_star`; it equals eta*(B) E[phi]^T g / 2 with the model's moments.

    >>> g, sigma, H = [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]
    >>> round(loss_decrease(float("inf"), g, sigma, H, 0.0, model="exact"), 12)  # (sum |g_i|)^2/(2 sum_ij s_i s_j H_ij)
    0.46875
    """
    problem = Problem.of(g, sigma, H, eps)
    chosen, options = _resolve(model, options)
    chosen.check_problem(problem)
    B = _batch(B)
    values = np.asarray(chosen.loss_decrease(problem, B.reshape(-1), options), dtype=float)
    return _shaped(values.reshape(-1), B.shape, "loss_decrease")


def eta_star_and_decrease(B, g, sigma=None, H=None, eps=None, model=DEFAULT_MODEL, **options):
    """(:func:`eta_star`, :func:`loss_decrease`) from one evaluation of the model's terms: the same values, bit for
    bit, at about half the cost of the two calls (a model without shared terms computes each).

    >>> g, sigma, H = [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]
    >>> eta, decrease = eta_star_and_decrease(64, g, sigma, H, 0.1, model="exact")
    >>> (eta, decrease) == (eta_star(64, g, sigma, H, 0.1, model="exact"), loss_decrease(64, g, sigma, H, 0.1, model="exact"))
    True
    """
    problem = Problem.of(g, sigma, H, eps)
    chosen, options = _resolve(model, options)
    chosen.check_problem(problem)
    B = _batch(B)
    eta, decrease = chosen.eta_and_decrease(problem, B.reshape(-1), options)
    return (_shaped(np.asarray(eta, dtype=float).reshape(-1), B.shape, "eta_star"),
            _shaped(np.asarray(decrease, dtype=float).reshape(-1), B.shape, "loss_decrease"))


def eta_star_sgd(B, g, sigma=None, H=None):
    """P-10: the optimal learning rate of SGD, g^T g / (g^T H g + tr(Sigma H)/B), Sigma = diag(sigma^2).

    The problem: a :class:`Problem` (its eps is not used), or g, sigma, H.

    >>> round(eta_star_sgd(10, [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]), 10)
    0.4385964912
    """
    problem = g if isinstance(g, Problem) and sigma is None and H is None else Problem.of(g, sigma, H, 0.0)
    B = _batch(B)
    gg, gHg, trSH = problem.sgd_terms
    values = np.asarray(_g.eta_star_sgd(B, gg, gHg, trSH), dtype=float)
    return _shaped(values.reshape(-1), B.shape, "eta_star_sgd")


def surge_peak(g, sigma=None, H=None, eps=None, model=DEFAULT_MODEL, **options):
    """Where eta*(B) peaks: a :class:`SurgePeak`, a float (the B of the highest maximum if it beats the
    full-batch value eta*(oo), else inf: the surge as E-15 has it) that also lists every interior local
    maximum in ``.peaks`` (:class:`Peak` (B, eta_star), increasing B; ``()``: eta* increases for every B),
    ``.first`` (the first local maximum's B, or inf) and ``.limit`` (eta*(oo)).

    Call it with a :class:`Problem`: ``surge_peak(problem, model=...)``.  The spelled-out
    ``surge_peak(g, sigma, H, eps)`` still works but is deprecated (DeprecationWarning).

    Mean-field models use E-15's exact condition: a peak exists iff S_nu > 2 T_H, at
    B_peak = c T_H/(S_nu - 2 T_H) with c = pi kappa2/2 ("mean_field") or B_simple
    ("mean_field_bsimple"); there eta* rises to the peak and falls to eta*(oo) after it, and
    increases for every B when there is none.  Other models have no closed form: eta*(B) is evaluated
    on a coarse grid in log B (spacing 2, +-25 around log B_simple, extended while an end still rises),
    all of it in one blocked pass over the components; the midpoints (spacing 1) are added, in one more
    pass, next to every coarse maximum and around every turn of the coarse values from concave to convex
    (where a rise and a dip could hide between coarse points); each grid maximum that stands out of
    rounding (by 1e-12 relative) is refined by Brent's method in log B, started from its three grid points
    (tolerance 1e-8 in log B, or until its three best values agree to 1e-15: B is only known to ~1e-7 to
    1e-6 relative, the width over which eta* is flat to rounding around a maximum): about 27 + 3 + 10 per peak
    evaluations of eta*, against 52 + 13-23 per peak before.  A rise and dip within a factor e^2 in B whose coarse values show neither a maximum nor a
    concave-to-convex turn can be missed.

    >>> surge_peak(Problem([1.0, 1.0], [1.0, 1.0], [[1.0, 0.9], [0.9, 1.0]], 0.0), model="mean_field")  # S = 3.8 < 4
    inf
    >>> p = Problem([1.0, 1.0, 1.0], [1.0] * 3, [[1, .9, .9], [.9, 1, .9], [.9, .9, 1]], 0.0)
    >>> round(surge_peak(p, model="mean_field"), 10)  # S_nu = 8.4 > 6: B_peak = (pi/2) 3/(8.4 - 6)
    1.9634954085
    >>> round(surge_peak(p, model="approx"), 4)  # the same peak; B to ~1e-6 (eta* is flat to rounding there)
    1.9635
    >>> dip = Problem([0.015625, -1.0, -1.0, -3.0], [1.0] * 4, 0.5 * np.eye(4) + 0.5, 0.0)
    >>> found = surge_peak(dip, model="approx")  # a rise, a dip, then a rise to a higher limit
    >>> found, len(found.peaks), found.peaks[0].eta_star < found.limit
    (inf, 1, True)
    """
    if not isinstance(g, Problem):
        warnings.warn("surge_peak(g, sigma, H, eps) is deprecated: call surge_peak(numeric.Problem(g, sigma, H, eps), "
                      "model=...)", DeprecationWarning, stacklevel=2)
    problem = Problem.of(g, sigma, H, eps)
    chosen, options = _resolve(model, options)
    chosen.check_problem(problem)
    found = chosen.surge_peak(problem, options)
    if isinstance(found, SurgePeak):
        return found
    # a registered model's own surge_peak returning a plain B (or inf): its one peak, if any
    limit = float(chosen.eta_star(problem, np.array([np.inf]), options)[0])
    B = float(found)
    peaks = [] if not np.isfinite(B) else [(B, float(chosen.eta_star(problem, np.array([B]), options)[0]))]
    return SurgePeak(peaks, limit, B)


def plot_eta_star(B, g, sigma=None, H=None, eps=None, models=None, ax=None, **options):
    """Draw eta*(B) for each model on a log B axis (matplotlib, imported here) and return the Axes.

    ``models``: names (default: every registered model); ``ax``: the Axes to draw on (default: a new
    figure's).  Each model option (``kappa2=...``) goes to the models that take it; one that none of them takes is
    refused.  One line per model, labelled by its name.
    """
    import matplotlib.pyplot as plt

    problem = Problem.of(g, sigma, H, eps)
    B = _batch(B)
    if B.ndim != 1 or B.size < 2:
        raise ValueError(f"B must be a 1-D array of at least 2 batch sizes to plot, got shape {B.shape}")
    names = model_names() if models is None else tuple([models] if isinstance(models, str) else models)
    for name in names:
        get_model(name)
    for option, value in options.items():  # an option none of the models takes: the registry's one-line error
        if value is not None and names and not any(option in get_model(name).options for name in names):
            get_model(names[0]).resolve({option: value})
    if ax is None:
        _, ax = plt.subplots()
    finite = np.isfinite(B)
    for name in names:
        kwargs = {k: v for k, v in options.items() if v is not None and k in get_model(name).options}
        ax.plot(B[finite], eta_star(B[finite], problem, model=name, **kwargs), label=name)
    ax.set_xscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("eta*(B)")
    ax.legend()
    return ax


def eps_inside_equivalent(B, g, sigma=None, H=None, eps=None):
    """The eps inside the root (optax's eps_root, the article's) that gives the same exact eta* at batch size B
    as ``eps`` outside it (PyTorch's Adam): a Problem with placement="outside", or g, sigma, H, eps as
    :func:`eta_star` reads them (then taken as outside).  Step X-11 derives why no constant converts one
    into the other (c = eps_in/eps_out -> 1 for large eps sqrt(B)/sigma, ~ (4/pi) log(sigma/(eps sqrt(B)))
    for small, sqrt(2 |g|/eps) where the gradient dominates the noise); this is the exact root.

    >>> p = Problem([1.0, -0.5], [2.0, 1.0], [2.0, 1.0], 0.1, placement="outside")
    >>> round(eps_inside_equivalent(64, p) / 0.1, 3)  # c = eps_in/eps_out for this problem and B
    3.896
    """
    from ._conversion import eps_inside_equivalent as convert

    problem = g if isinstance(g, Problem) else Problem(g, sigma, H, eps, placement="outside")
    return convert(B, problem, lambda batch, p: eta_star(batch, p, model="exact"))

