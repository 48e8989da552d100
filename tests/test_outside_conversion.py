"""eps outside vs inside the root: X-9 .. X-11's numbers through the numeric layer, and
numeric.eps_inside_equivalent (the exact conversion for a whole problem)."""

import math

import numpy as np
import pytest
import sympy as sp

from softsign_scaling import numeric
from softsign_scaling.checks.evaluate import mp_function
from softsign_scaling.sections.outside import _bo
from softsign_scaling.symbols import a, b

G, SIGMA, H = [1.0, -0.5, 2.0], [2.0, 1.0, 3.0], [2.0, 1.0, 0.5]


@pytest.mark.parametrize("B, eps", [(1.0, 0.01), (64.0, 0.1), (4.0, 3.0), (1e4, 30.0)])
def test_the_conversion_gives_the_same_eta_star(B, eps):
    outside = numeric.Problem(G, SIGMA, H, eps, placement="outside")
    eps_in = numeric.eps_inside_equivalent(B, outside)
    same = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, eps_in), model="exact")
    assert same == pytest.approx(numeric.eta_star(B, outside, model="exact"), rel=1e-10)
    # negative control: eps_in = eps (c = 1) is measurably off wherever b is not large
    if eps * math.sqrt(B) / max(SIGMA) < 10:
        plain = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, eps), model="exact")
        assert abs(plain / same - 1) > 0.01


def test_spelled_out_call_and_edges():
    assert numeric.eps_inside_equivalent(64, G, SIGMA, H, 0.0) == 0.0  # SignSGD both ways
    assert numeric.eps_inside_equivalent(64, G, SIGMA, H, 0.1) == numeric.eps_inside_equivalent(
        64, numeric.Problem(G, SIGMA, H, 0.1, placement="outside"))
    with pytest.raises(ValueError, match="placement='outside'"):
        numeric.eps_inside_equivalent(64, numeric.Problem(G, SIGMA, H, 0.1))
    with pytest.raises(ValueError, match="B must be"):
        numeric.eps_inside_equivalent(float("nan"), G, SIGMA, H, 0.1)


def test_no_constant_converts(derivation):
    """X-11: c = eps_in/eps_out runs from ~1 (b >> a) to > 3 (small b) on one problem: no single constant; and
    where a ~ b >> 1 (noise gone) the noise-free match (|g| + eps_out)^2 = g^2 + eps_in^2 holds instead."""
    outside = numeric.Problem([0.001], [1.0], [1.0], 1.0, placement="outside")
    c = [numeric.eps_inside_equivalent(B, outside) for B in (1e-6, 1e6)]  # (a, b) = (1e-6, 1e-3), (1, 1e3)
    assert c[0] > 3 and abs(c[1] - 1) < 0.01
    noise_free = numeric.Problem([1.0], [1.0], [1.0], 1.0, placement="outside")
    assert numeric.eps_inside_equivalent(1e8, noise_free) == pytest.approx(math.sqrt(3), rel=1e-3)


def test_large_gradient_rule(derivation):
    """X-11's b << 1 << a regime in user units: eps_in = sqrt(2 |g| eps_out), whatever B and sigma."""
    rule = mp_function(derivation["X-11"].result[2], (a, _bo))
    g, sigma, eps, B = 50.0, 0.5, 0.01, 4.0
    a_value, b_value = g * math.sqrt(B) / sigma, eps * math.sqrt(B) / sigma
    b_in = float(rule(a_value, b_value))
    assert b_in * sigma / math.sqrt(B) == pytest.approx(math.sqrt(2 * g * eps), rel=1e-12)
    exact = numeric.eps_inside_equivalent(B, numeric.Problem([g], [sigma], [1.0], eps, placement="outside"))
    assert exact == pytest.approx(math.sqrt(2 * g * eps), rel=1e-3)


def test_large_b_series_against_the_numeric_moments(derivation):
    """X-9's four-term series at b = 1e4 agrees with numeric.mean_outside / second_moment_outside to 1e-11
    (its remainder bound E[|x|^5]/b^5 is < 1e-13 relative there; at b = 200 it is 4e-7)."""
    mean, second = (sp.lambdify((a, b), derivation["X-9"].result[k], modules="scipy") for k in (0, 1))
    A = np.array([-2.0, 0.0, 0.3, 1.0, 4.0])
    Bb = np.full_like(A, 1e4)
    assert np.allclose(mean(A, Bb), numeric.mean_outside(A, Bb), rtol=1e-11, atol=1e-15)
    assert np.allclose(second(A, Bb), numeric.second_moment_outside(A, Bb), rtol=1e-11, atol=1e-15)


def test_small_b_mean_against_the_numeric_moments(derivation):
    """X-10: (erf(a/sqrt2) - E[u])/b -> D(a) (float64 at b = 1e-7: O(b log b) off)."""
    from scipy.special import erf

    D = sp.lambdify(a, derivation["X-10"].result[0], modules="scipy")
    A = np.array([0.3, 1.0, 2.5])
    measured = (erf(A / math.sqrt(2)) - numeric.mean_outside(A, np.full_like(A, 1e-7))) / 1e-7
    assert np.allclose(measured, D(A), rtol=1e-4)


def test_bracketed_root_is_fast_where_f_is_far_from_linear_and_exact_where_it_is_linear():
    """X-11's root finder (Illinois with a bisection safeguard): on exp(t) - 2 over [-30, 30] (|f_high| ~ 1e13 |f_low|,
    where regula falsi creeps: X-11's former finder took ~100 evaluations per root) it reaches 1e-12 in under 40
    evaluations (32 measured), on [-3, 3] in under 16 (13), and a linear f to 1e-20 in under 10 (7)."""
    import mpmath as mp

    from softsign_scaling.sections.outside import bracketed_root

    with mp.workdps(30):
        calls = []

        def f(t):
            calls.append(t)
            return mp.exp(t) - 2

        root = bracketed_root(f, mp.mpf(-30), mp.mpf(30), f(mp.mpf(-30)), f(mp.mpf(30)), mp.mpf(10) ** -12)
        assert abs(root - mp.log(2)) < 1e-11 and len(calls) - 2 < 40
        calls.clear()
        root = bracketed_root(f, mp.mpf(-3), mp.mpf(3), f(mp.mpf(-3)), f(mp.mpf(3)), mp.mpf(10) ** -12)
        assert abs(root - mp.log(2)) < 1e-11 and len(calls) - 2 < 16
        line = lambda t: 3 * t - 1  # noqa: E731
        calls.clear()
        root = bracketed_root(lambda t: calls.append(t) or line(t), mp.mpf(-5), mp.mpf(7), line(mp.mpf(-5)),
                              line(mp.mpf(7)), mp.mpf(10) ** -20)
        assert abs(root - mp.mpf(1) / 3) < 1e-19 and len(calls) < 10
