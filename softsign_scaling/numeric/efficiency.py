"""The efficiency law with eps (steps X-20 .. X-27): dL_max and B_noise of a problem, for every model.

Under the mean field the loss decrease at eta* is exactly dL(B) = dL_max/(1 + B_noise/B) (X-20), with

    dL_max = G_nu^2/(2 S_nu),    B_noise = c_noise T_H/S_nu    (X-21; c_noise = pi kappa2/2, or B_simple)

and the steps-examples trade-off (S/S_min - 1)(E/E_min - 1) = 1 has E_min/S_min = B_noise (X-22).

For a model without that form (``exact``, ``clip``, ``approx``, ``anchored``, ``averaged``, ...) :func:`b_noise`
returns the **half-saturation batch**: the smallest B with dL(B) = dL_max/2.  For the saturating form the
two are the same number (X-21's check "dL(B_noise) = dL_max/2"), so the mean-field closed form and the
other models' B_noise are comparable; the exact model's is not constant in eps even for one component
(X-27: 1.106 sigma^2/g^2 at eps = 0, about 0.85 near eps = |g|, 1 as eps -> oo; the mean field: pi/2).

>>> from softsign_scaling import numeric
>>> p = numeric.Problem([1.0], [1.0], [1.0], 1.0)
>>> round(numeric.b_noise(p, model="mean_field"), 10)  # pi sigma^2/(2 g^2), for every eps (X-27)
1.5707963268
>>> round(numeric.b_noise(p, model="exact"), 4)  # the exact half-saturation batch at eps = |g| (X-27)
0.8535
>>> round(numeric.dl_max(p, model="exact"), 12)  # g^2/(2h): the full-batch update is nu (exact for every model)
0.5
"""

from __future__ import annotations

import math

import numpy as np

from .models import MeanFieldModel, get_model
from .problem import Problem

B_NOISE_DEFAULT_MODEL = "mean_field"  # the closed form of X-21; other models give the half-saturation batch
_GRID = 81  # log-B grid points (a step of e in B) that bracket the half-saturation batch
_SPAN = 40.0  # the grid covers e^(-SPAN) .. e^(SPAN) times tr(Sigma)/g^T g, widened when the crossing lies beyond


def _chosen(model, options: dict):
    chosen = get_model(model)
    return chosen, chosen.resolve(options)


def dl_max(g, sigma=None, H=None, eps=None, model=B_NOISE_DEFAULT_MODEL, **options) -> float:
    """X-21's dL_max: the loss decrease at eta* as B -> oo, (nu^T g)^2/(2 nu^T H nu) for the SoftSign update.

    The problem: a :class:`Problem`, or g, sigma, H, eps spelled out (as :func:`numeric.eta_star`).  At B = oo the
    update is deterministic, so every model whose full-batch update is softsign(g_i, eps) gives the same number
    ("clip" uses clip(g_i/eps) there).

    >>> round(dl_max(Problem([1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]], 0.0)), 12)  # (sum|g|)^2/(2 (T + U))
    0.46875
    """
    problem = Problem.of(g, sigma, H, eps)
    chosen, resolved = _chosen(model, options)
    return float(np.asarray(chosen.loss_decrease(problem, np.array([math.inf]), resolved), dtype=float)[0])


def b_noise(g, sigma=None, H=None, eps=None, model=B_NOISE_DEFAULT_MODEL, **options) -> float:
    """B_noise(eps) of the efficiency law: the batch size at which the loss decrease at eta* is half its maximum.

    * mean-field models ("mean_field", "mean_field_bsimple"; the default "mean_field"): X-21's closed form
      c_noise T_H/S_nu with c_noise = pi kappa2/2 ("mean_field", ``kappa2`` chooses the average) or B_simple,
      at which dL(B) = dL_max/(1 + B_noise/B) holds exactly; with momentum beta1 it is in real batch size
      (times (1 - beta1)/(1 + beta1), M-2).
    * every other model: the half-saturation batch, the smallest B with loss_decrease(B) = dl_max/2, bracketed
      on a log-B grid and refined by Brent's method in log B (relative accuracy ~1e-10).  It is the closed
      form's number wherever the closed form holds, and the S-E relation's E_min/S_min when dL is saturating.

    The problem: a :class:`Problem`, or g, sigma, H, eps spelled out.  Options a model does not take are refused.

    >>> p = Problem([1.0, 1.0, 1.0], [1.0] * 3, [[1, .9, .9], [.9, 1, .9], [.9, .9, 1]], 0.0)
    >>> round(b_noise(p), 10)  # pi kappa2 T/(2 S) = (pi/2) 3/8.4
    0.5609986881
    >>> b_noise(p, model="exact", kappa2="mean")
    Traceback (most recent call last):
    ...
    ValueError: kappa2 is not an option of model 'exact' (it takes no options); models that take kappa2: mean_field
    """
    problem = Problem.of(g, sigma, H, eps)
    chosen, resolved = _chosen(model, options)
    top = dl_max(problem, model=model, **options)  # also refuses a placement the model does not support
    if isinstance(chosen, MeanFieldModel):
        sgd_units = problem.eps > 1e100  # eps^2 would overflow: S eps^2 and c eps^2, whose ratio is the same
        nu = problem.nu_sgd if sgd_units else problem.nu
        S = float(problem.quadratic(nu))
        c = chosen.noise_scale(problem, resolved, sgd_units)
        unit_batch = float(chosen.batch_for(problem, np.array([1.0]))[0])  # B_eff(1) = (1 + beta1)/(1 - beta1)
        return c * problem.T_H / (S * unit_batch)
    return _half_saturation(lambda B: np.asarray(chosen.loss_decrease(problem, B, resolved), dtype=float) / top,
                            problem, model)


def _half_saturation(ratio, problem: Problem, model) -> float:
    """The smallest B with ratio(B) = 1/2 (ratio = dL/dL_max, 0 at B -> 0, 1 at B -> oo)."""
    from scipy.optimize import brentq

    # tr(Sigma)/g^T g, eps-free: B_noise lies within a few factors of it at eps = 0 and eps -> oo (P-13's B_simple);
    # as a difference of logs of norms it neither over- nor underflows
    scale = 2.0 * (math.log(float(np.linalg.norm(problem.sigma))) - math.log(float(np.linalg.norm(problem.g))))
    low, high = scale - _SPAN, scale + _SPAN
    for _ in range(6):
        grid = np.linspace(low, high, _GRID)
        excess = ratio(np.exp(grid)) - 0.5
        above = np.flatnonzero(excess >= 0)
        if above.size and excess[0] < 0:
            k = int(above[0])
            return float(math.exp(brentq(lambda t: float(ratio(np.array([math.exp(t)]))[0]) - 0.5, grid[k - 1],
                                         grid[k], xtol=1e-12, rtol=1e-13)))
        if excess[0] >= 0:
            low, high = low - 2 * _SPAN, low + 1.0
        else:
            low, high = high - 1.0, high + 2 * _SPAN
    raise ValueError(f"model {model!r}: the loss decrease does not reach half its maximum for B in"
                     f" [{math.exp(low):.3g}, {math.exp(high):.3g}]; no B_noise")
