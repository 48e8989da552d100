"""M-8 .. M-12 against the numeric code: the averaged model's surge (numeric.momentum) and the loss decrease
(numeric.loss_decrease) for both regimes, each checked against its step's result (lambdified)."""

import math

import numpy as np
import pytest
import sympy as sp

from softsign_scaling import numeric
from softsign_scaling.numeric.momentum import averaged_large_b, averaged_surge_mean_field
from softsign_scaling.sections import momentum
from softsign_scaling.symbols import B as B_sym
from softsign_scaling.symbols import G_nu, S_nu, T_H, eps as eps_sym, g as g_sym, kappa2, sigma as sigma_sym

G3 = np.array([0.7, -0.3, 0.05])
SIGMA3 = np.array([1.5, 0.2, 2.0])
H3 = np.array([[2.0, 0.4, -0.3], [0.4, 1.0, 0.2], [-0.3, 0.2, 0.5]])
ALIGNED_H = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, 0.9], [0.9, 0.9, 1.0]])


def _equal_kappa(k2: float, eps: float, beta1: float, g=G3, H=ALIGNED_H) -> numeric.Problem:
    """sigma_i^2 = kappa^2 (g_i^2 + eps^2): every kappa_i^2 is k2 (M-8 is exact)."""
    return numeric.Problem(g, np.sqrt(k2 * (g**2 + eps**2)), H, eps, beta1=beta1)


def _aggregates(problem: numeric.Problem, k2) -> dict:
    return {G_nu: problem.G_nu, S_nu: problem.S_nu, T_H: problem.T_H, kappa2: k2, momentum.beta1: problem.beta1}


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9])
def test_m8_is_the_averaged_model_when_kappas_are_equal(derivation, eps, beta1):
    problem = _equal_kappa(1.7, eps, beta1)
    f = sp.lambdify(B_sym, derivation["M-8"].result.subs(_aggregates(problem, 1.7)))
    for B in (0.01, 1.0, 30.0, 1e5):
        assert numeric.eta_star(B, problem, model="averaged") == pytest.approx(f(B), rel=1e-12)
    # with unequal kappa_i^2 it is a mean field, not an identity: the negative control
    unequal = numeric.Problem(G3, SIGMA3, H3, eps, beta1=beta1)
    mean_field = sp.lambdify(B_sym, derivation["M-8"].result.subs(_aggregates(unequal, unequal.kappa2("harmonic"))))
    gaps = [abs(numeric.eta_star(B, unequal, model="averaged") / mean_field(B) - 1) for B in (0.01, 0.1, 1.0, 10.0)]
    assert max(gaps) > 0.05, gaps


@pytest.mark.parametrize("beta1", [0.5, 0.9, 0.99])
def test_m9_numeric_and_exact_peak_when_kappas_are_equal(derivation, beta1):
    problem = _equal_kappa(0.8, 0.1, beta1)
    surge, peak, height = averaged_surge_mean_field(problem)
    condition, b_peak, b_height = derivation["M-9"].result
    values = _aggregates(problem, problem.kappa2("harmonic"))
    assert surge == (float(condition.subs(values)) > 0)
    assert surge == (beta1 > 0.5)  # S_nu/(2 c T_H) = 0.21 at beta1 = 0.5, 1.34 at 0.9, 14 at 0.99
    if not surge:
        assert (peak, height) == (math.inf, 1.0)
        assert math.isinf(numeric.surge_peak(problem, model="averaged"))
        return
    assert peak == pytest.approx(float(b_peak.subs(values)), rel=1e-12)
    assert height == pytest.approx(float(b_height.subs(values)), rel=1e-12)
    # equal kappa_i^2: M-9 is the exact peak of M-6 (numeric.surge_peak's bracketed maximum)
    assert numeric.surge_peak(problem, model="averaged") == pytest.approx(peak, rel=1e-6)
    top = numeric.eta_star(np.array([peak, math.inf]), problem, model="averaged")
    assert top[0] / top[1] == pytest.approx(height, rel=1e-12)


def test_m9_no_surge_below_the_threshold():
    # S_nu/(2 c T_H) < 1 at beta1 = 0 on a diagonal H: no surge, in M-9 and in M-6
    problem = _equal_kappa(0.8, 0.1, 0.0, H=np.diag([1.0, 2.0, 0.5]))
    assert averaged_surge_mean_field(problem) == (False, math.inf, 1.0)
    assert math.isinf(numeric.surge_peak(problem, model="averaged"))


@pytest.mark.parametrize("beta1", [0.0, 0.9])
@pytest.mark.parametrize("H", [H3, ALIGNED_H])
def test_m10_is_the_large_b_slope_of_the_averaged_model(derivation, beta1, H):
    problem = numeric.Problem(G3, SIGMA3, H, 0.1, beta1=beta1)
    a1 = averaged_large_b(problem)
    # the step, with the kappa-weighted sums computed here
    k2, nu = problem.kappa2_components, problem.nu
    values = {G_nu: problem.G_nu, S_nu: problem.S_nu, momentum.K_G: float(np.sum(k2 * nu * G3)),
              momentum.K_S: float(np.sum(k2 * nu * (H @ nu))), momentum.K_T: float(np.sum(k2 * np.diag(H))),
              momentum.beta1: beta1}
    assert a1 == pytest.approx(float(derivation["M-10"].result.subs(values)), rel=1e-12)
    # B (eta*(B)/eta*(oo) - 1) -> a_1: at B = 1e6 the O(1/B) remainder is below 1e-4 relative
    big = 1e6
    eta = numeric.eta_star(np.array([big, math.inf]), problem, model="averaged")
    assert big * (eta[0] / eta[1] - 1) == pytest.approx(a1, rel=1e-3)


def test_m10_positive_means_a_surge():
    for beta1 in (0.0, 0.5, 0.9):
        problem = numeric.Problem(G3, SIGMA3, ALIGNED_H, 0.1, beta1=beta1)
        if averaged_large_b(problem) > 0:
            assert not math.isinf(numeric.surge_peak(problem, model="averaged"))


@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9])
def test_m11_is_the_mean_field_loss_decrease_with_momentum(derivation, beta1):
    problem = numeric.Problem(G3, SIGMA3, H3, 0.1, beta1=beta1)
    f = sp.lambdify(B_sym, derivation["M-11"].result.subs(_aggregates(problem, problem.kappa2("mean"))))
    for B in (0.1, 3.0, 1e4):
        assert numeric.loss_decrease(B, problem, model="mean_field") == pytest.approx(f(B), rel=1e-12)
    if beta1 > 0:  # negative control: the decrease without momentum is smaller at every finite B
        fresh = numeric.Problem(G3, SIGMA3, H3, 0.1)
        assert numeric.loss_decrease(3.0, fresh, model="mean_field") < 0.99 * f(3.0)


@pytest.mark.parametrize("beta1", [0.0, 0.9])
def test_m12_is_the_averaged_loss_decrease(derivation, beta1):
    m5, m12 = derivation["M-5"], derivation["M-12"]
    eps = 0.3
    problem = numeric.Problem(G3, SIGMA3, H3, eps, beta1=beta1)
    d = sp.lambdify((g_sym, sigma_sym, B_sym, eps_sym), m5.extra("d"))
    general = sp.lambdify((momentum.G_d, momentum.S_d, momentum.N_d, B_sym, momentum.beta1), m12.result[0])
    for B in (1e-3, 0.5, 7.0, 1e4):
        di = np.array([d(G3[i], SIGMA3[i], B, eps) for i in range(3)])
        value = general((di * G3 * G3).sum(), (di * G3) @ H3 @ (di * G3), (di**2 * SIGMA3**2 * np.diag(H3)).sum(),
                        B, beta1)
        assert numeric.loss_decrease(B, problem, model="averaged") == pytest.approx(value, rel=1e-12)
    equal = _equal_kappa(0.6, eps, beta1)
    saturating = sp.lambdify(B_sym, m12.result[1].subs(_aggregates(equal, 0.6)))
    for B in (0.05, 2.0, 500.0):
        assert numeric.loss_decrease(B, equal, model="averaged") == pytest.approx(saturating(B), rel=1e-12)


@pytest.mark.parametrize("kwargs, text", [
    (dict(g=G3, sigma=SIGMA3, H=H3, eps=0.1, placement="outside"), "inside the root"),
    (dict(g=np.array([1.0, 0.0]), sigma=np.ones(2), H=np.eye(2), eps=0.0), r"kappa_i\^2 is infinite"),
    (dict(g=G3, sigma=SIGMA3, H=H3, eps=1e150), "beyond 1e100"),
])
def test_bad_problems_get_one_line_errors(kwargs, text):
    problem = numeric.Problem(**kwargs)
    for f in (averaged_surge_mean_field, averaged_large_b):
        with pytest.raises(ValueError, match=text) as info:
            f(problem)
        assert "\n" not in str(info.value)
    with pytest.raises(TypeError, match="numeric.Problem"):
        averaged_large_b(G3)
