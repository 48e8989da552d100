"""Momentum (issue 12): M-1 .. M-6 against Monte Carlo of the recursion, and the numeric models against the steps.

Statistical tests are seeded.  Each compares a Monte Carlo estimate with the model at 5 standard errors, the
standard error estimated from 40 independent batches (a t statistic with 39 degrees of freedom: a false
failure has probability 2e-5 per comparison when the model is right); each has a negative control, the
model without momentum (beta1 = 0) or the naive variance factor, which the same test must reject.
"""

import math

import numpy as np
import pytest
import sympy as sp

from softsign_scaling import numeric
from softsign_scaling.sections import momentum
from softsign_scaling.symbols import B as B_sym
from softsign_scaling.symbols import G_nu, S_nu, T_H, eps as eps_sym, g as g_sym, kappa2, sigma as sigma_sym

G, SIGMA, H = np.array([1.0, -0.5]), np.array([2.0, 1.0]), np.array([[2.0, 0.3], [0.3, 1.0]])
BATCHES, Z = 40, 5.0


def _stationary_chains(rng, beta1, B, chains, burn_in):
    """m after ``burn_in`` steps of m_t = beta1 m_(t-1) + (1 - beta1) g~_t from m_0 = g (one chain per row)."""
    m = np.tile(G, (chains, 1))
    for _ in range(burn_in):
        m = beta1 * m + (1 - beta1) * (G + SIGMA / math.sqrt(B) * rng.standard_normal((chains, G.size)))
    return m


def _batched(values: np.ndarray) -> tuple[float, float]:
    """(mean, standard error) of a statistic from BATCHES batch means."""
    means = values.reshape(BATCHES, -1).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(BATCHES))


def _eta_mc(update: np.ndarray) -> tuple[float, float]:
    """E-5 per batch, eta* = E[u]^T g / E[u^T H u], and its standard error over the batches."""
    parts = update.reshape(BATCHES, -1, G.size)
    etas = np.array([(p.mean(axis=0) @ G) / np.einsum("ki,ij,kj->k", p, H, p).mean() for p in parts])
    return float(etas.mean()), float(etas.std(ddof=1) / math.sqrt(BATCHES))


# --------------------------------------------------------------------------------------------
# M-1: the stationary variance of the recursion.


def test_m1_variance_against_the_recursion(derivation):
    rng = np.random.default_rng(12)
    beta1, B = 0.9, 4.0
    m = _stationary_chains(rng, beta1, B, 80_000, 200)  # beta1^200 ~ 7e-10: stationary
    factor = sp.lambdify(momentum.beta1, derivation["M-1"].extra("variance factor c"))(beta1)
    variance_model = factor * SIGMA**2 / B
    for i in range(G.size):
        centred = (m[:, i] - G[i]) ** 2  # the mean is g exactly (m_0 = g), so this estimates the variance
        mean, se = _batched(centred)
        assert abs(mean - variance_model[i]) < Z * se, (i, mean, variance_model[i], se)
        naive = SIGMA[i] ** 2 / B  # negative control: one minibatch's variance (no momentum)
        assert abs(mean - naive) > Z * se
        assert abs(mean - (1 - beta1) * SIGMA[i] ** 2 / B) > Z * se  # nor (1 - beta1) sigma^2/B


def test_m1_numbers():
    assert momentum.geometric_series((1 - momentum.beta1) * momentum.beta1**momentum.k, momentum.beta1) == 1
    mean, var = momentum.iterate_recursion(3)
    assert sp.simplify(mean - (1 - momentum.beta1**3) * g_sym) == 0


# --------------------------------------------------------------------------------------------
# softsign(m), the SoftSign of the momentum (not Adam with beta2 = 0): softsign(m, eps) at the stationary m is the model at B (1 + beta1)/(1 - beta1).


@pytest.mark.parametrize("beta1, B, eps", [(0.9, 2.0, 0.3), (0.5, 8.0, 1.0)])
def test_softsign_of_momentum_is_exact_model_at_effective_batch(beta1, B, eps):
    rng = np.random.default_rng(1201)
    m = _stationary_chains(rng, beta1, B, 40_000, int(math.ceil(40 / (1 - beta1))))
    update = m / np.sqrt(m * m + eps * eps)
    eta, se = _eta_mc(update)
    model = float(numeric.eta_star(B, numeric.Problem(G, SIGMA, H, eps, beta1=beta1), model="exact"))
    assert abs(eta - model) < Z * se, (eta, model, se)
    fresh = float(numeric.eta_star(B, numeric.Problem(G, SIGMA, H, eps), model="exact"))
    assert abs(eta - fresh) > Z * se  # negative control: the model without momentum


# --------------------------------------------------------------------------------------------
# beta2 -> 1: the averaged model (M-6) against Monte Carlo of u = m/sqrt(E[g~^2] + eps^2).


@pytest.mark.parametrize("beta1, B, eps", [(0.9, 2.0, 0.3), (0.0, 8.0, 1e-8), (0.95, 100.0, 2.0)])
def test_averaged_model_against_monte_carlo(beta1, B, eps):
    rng = np.random.default_rng(1202)
    m = _stationary_chains(rng, beta1, B, 40_000, int(math.ceil(40 / (1 - beta1))))
    v = G**2 + SIGMA**2 / B  # beta2 -> 1: the deterministic second moment
    eta, se = _eta_mc(m / np.sqrt(v + eps * eps))
    problem = numeric.Problem(G, SIGMA, H, eps, beta1=beta1)
    model = float(numeric.eta_star(B, problem, model="averaged"))
    assert abs(eta - model) < Z * se, (eta, model, se)
    # negative control: the per-step model (v = g~_t^2) at the same beta1 is another number
    per_step = float(numeric.eta_star(B, problem, model="exact"))
    assert abs(eta - per_step) > Z * se, (eta, per_step, se)


# --------------------------------------------------------------------------------------------
# The numeric models against the SymPy steps.


def test_averaged_model_is_m6(derivation):
    m5, m6 = derivation["M-5"], derivation["M-6"]
    beta1, eps = 0.9, 0.3
    problem = numeric.Problem(G, SIGMA, H, eps, beta1=beta1)
    d = sp.lambdify((g_sym, sigma_sym, B_sym, eps_sym), m5.extra("d"))
    f = sp.lambdify((momentum.G_d, momentum.S_d, momentum.N_d, B_sym, momentum.beta1), m6.result)
    for B in (1e-3, 0.5, 7.0, 1e4):
        di = np.array([d(G[i], SIGMA[i], B, eps) for i in range(2)])
        value = f((di * G * G).sum(), (di * G) @ H @ (di * G), (di**2 * SIGMA**2 * np.diag(H)).sum(), B, beta1)
        assert numeric.eta_star(B, problem, model="averaged") == pytest.approx(value, rel=1e-13)


def test_mean_field_with_momentum_is_m3_and_m4(derivation):
    m3, m4 = derivation["M-3"], derivation["M-4"]
    g3 = np.array([1.0, 1.0, 1.0])
    H3 = np.array([[1, .9, .9], [.9, 1, .9], [.9, .9, 1]])
    beta1 = 0.9
    problem = numeric.Problem(g3, np.ones(3), H3, 0.0, beta1=beta1)
    values = {G_nu: problem.G_nu, S_nu: problem.S_nu, T_H: problem.T_H, kappa2: problem.kappa2("mean"),
              momentum.beta1: beta1}
    for B in (0.1, 2.0, 300.0):
        expected = float(m3.result.subs(values).subs(B_sym, B))
        assert numeric.eta_star(B, problem, model="mean_field") == pytest.approx(expected, rel=1e-13)
    peak = float(m4.result[1].subs(values))
    assert numeric.surge_peak(problem, model="mean_field") == pytest.approx(peak, rel=1e-13)
    # the surge survives: the same peak height, at a B (1 - beta1)/(1 + beta1) = 1/19 as large
    fresh = numeric.Problem(g3, np.ones(3), H3, 0.0)
    assert peak == pytest.approx(numeric.surge_peak(fresh, model="mean_field") / 19, rel=1e-13)
    assert numeric.eta_star(peak, problem, model="mean_field") == pytest.approx(
        numeric.eta_star(peak * 19, fresh, model="mean_field"), rel=1e-13)


def test_every_beta2_zero_model_is_itself_at_the_effective_batch():
    beta1, B = 0.8, np.array([0.5, 3.0, 64.0, math.inf])
    fresh, mom = numeric.Problem(G, SIGMA, H, 0.1), numeric.Problem(G, SIGMA, H, 0.1, beta1=beta1)
    for name in numeric.MODELS:
        if name == "averaged":
            continue
        np.testing.assert_allclose(numeric.eta_star(B, mom, model=name), numeric.eta_star(B * 9, fresh, model=name),
                                   rtol=1e-13, err_msg=name)  # B_eff = 9.000000000000002 B in float64
        np.testing.assert_allclose(numeric.loss_decrease(B, mom, model=name),
                                   numeric.loss_decrease(B * 9, fresh, model=name), rtol=1e-13, err_msg=name)  # B_eff = 9.000000000000002 B in float64


def test_averaged_limits():
    """B -> oo: G_nu/S_nu (E-14 at beta = 1); eps -> oo: eps times P-10 at B_eff (M-6's claims, in float64)."""
    problem = numeric.Problem(G, SIGMA, H, 0.1, beta1=0.5)
    full = float(numeric.eta_star(math.inf, problem, model="mean_field"))
    assert numeric.eta_star(math.inf, problem, model="averaged") == pytest.approx(full, rel=1e-15)
    assert numeric.eta_star(1e14, problem, model="averaged") == pytest.approx(full, rel=1e-12)
    big = numeric.Problem(G, SIGMA, H, 1e200, beta1=0.5)
    for B in (0.01, 1.0, 100.0):
        assert numeric.eta_star(B, big, model="averaged") / 1e200 == pytest.approx(
            numeric.eta_star_sgd(B * 3, big), rel=1e-12)


def test_defaults_are_unchanged():
    """beta1 = 0 (the default) gives bit for bit what the models gave before (the docstring's numbers)."""
    problem = numeric.Problem(G, SIGMA, H, 0.1)
    assert problem.beta1 == 0.0
    assert round(float(numeric.eta_star(64, problem, model="mean_field")), 10) == 0.5881311379
    for name in numeric.MODELS:
        assert np.array_equal(numeric.eta_star([1.0, 64.0], problem, model=name),
                              numeric.eta_star([1.0, 64.0], numeric.Problem(G, SIGMA, H, 0.1, beta1=0), model=name))


@pytest.mark.parametrize("value, error, text", [
    (1.0, ValueError, "beta1 (momentum) must be in [0, 1), not 1.0"),
    (-0.1, ValueError, "must be in [0, 1), not -0.1"),
    (float("nan"), ValueError, "must be in [0, 1), not nan"),
    ([0.5, 0.5], ValueError, "beta1 must be a scalar"),
    ("0.9", TypeError, "beta1 must hold real numbers"),
])
def test_bad_beta1_is_refused(value, error, text):
    with pytest.raises(error) as raised:
        numeric.Problem(G, SIGMA, H, 0.1, beta1=value)
    assert text in str(raised.value) and "\n" not in str(raised.value)


def test_a_model_without_a_meaning_for_beta1_refuses_it():
    numeric.register_model(numeric.PerComponentModel(
        "toy_momentum", moments=lambda a, b: (numeric.mean_approx(a, b), numeric.variance_approx(a, b))))
    try:
        with pytest.raises(ValueError, match="model 'toy_momentum' has no meaning for beta1 = 0.9"):
            numeric.eta_star(3.0, numeric.Problem(G, SIGMA, H, 0.1, beta1=0.9), model="toy_momentum")
        assert numeric.eta_star(3.0, numeric.Problem(G, SIGMA, H, 0.1), model="toy_momentum") > 0  # beta1 = 0: fine
    finally:
        numeric.unregister_model("toy_momentum")
