"""Properties of softsign_scaling.numeric (hypothesis): oddness, bounds, variance >= 0, eta* monotone without a surge."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from softsign_scaling import numeric

# a over the hostile range, with tiny magnitudes and 0; b positive over [1e-12, 1e8] (log-spread).
A = st.one_of(st.floats(-1e4, 1e4), st.floats(-1e-6, 1e-6), st.sampled_from([0.0, -0.0, 5e-324, 1e-300]))
LOG_B = st.floats(-12, 8)


def _b(log_b: float) -> float:
    return 10.0**log_b


@settings(max_examples=300, deadline=None)
@given(A, LOG_B)
@example(0.0, -12.0)
@example(1e4, 8.0)
@example(40.0, -1.0)
@example(6.0, -1.3)
def test_clip_moments(a, log_b):
    b = _b(log_b)
    m, s, v = numeric.mean_clip(a, b), numeric.second_moment_clip(a, b), numeric.variance_clip(a, b)
    assert numeric.mean_clip(-a, b) == -m  # odd, exactly
    assert numeric.second_moment_clip(-a, b) == s and numeric.variance_clip(-a, b) == v  # even
    assert -1.0 <= m <= 1.0 and 0.0 < s <= 1.0
    assert 0.0 <= v <= s * (1 + 1e-12)
    assert m * m <= s * (1 + 1e-12)
    assert abs((s - m * m) - v) <= 1e-12 * max(s, 1e-300) + 4e-16  # consistent with the moments
    if a > 0:
        assert m > 0 or (m == 0 and a < 1e-300)


@settings(max_examples=150, deadline=None)
@given(A, LOG_B)
@example(0.0, -12.0)
@example(8.0, -6.0)
@example(1e4, 8.0)
def test_exact_moments(a, log_b):
    b = _b(log_b)
    m, s, v = numeric.mean_exact(a, b), numeric.second_moment_exact(a, b), numeric.variance_exact(a, b)
    assert numeric.mean_exact(-a, b) == -m
    assert numeric.second_moment_exact(-a, b) == s
    assert -1.0 <= m <= 1.0 and 0.0 < s <= 1.0 and 0.0 <= v <= s * (1 + 1e-12)
    assert abs((s - m * m) - v) <= 1e-12 * s + 4e-16
    # The clip overestimates |E[softsign]| (|clip(u)| >= |softsign(u)| pointwise, same sign).
    assert abs(m) <= abs(numeric.mean_clip(a, b)) * (1 + 1e-12) + 1e-300


@settings(max_examples=200, deadline=None)
@given(A, st.floats(0, 1e8))
def test_approx_moments(a, b):
    m, s, v = numeric.mean_approx(a, b), numeric.second_moment_approx(a, b), numeric.variance_approx(a, b)
    assert numeric.mean_approx(-a, b) == -m
    assert -1.0 < m < 1.0 and 0.0 < s <= 1.0 and 0.0 < v <= 1.0
    assert math.isclose(v, s - m * m, rel_tol=1e-9, abs_tol=1e-15)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 5))
    g = np.array(draw(st.lists(st.floats(-10, 10).filter(lambda x: abs(x) > 1e-3), min_size=n, max_size=n)))
    sigma = np.array(draw(st.lists(st.floats(0.01, 10), min_size=n, max_size=n)))
    rho = draw(st.floats(-0.2, 0.95))
    scale = np.array(draw(st.lists(st.floats(0.1, 10), min_size=n, max_size=n)))
    H = ((1 - rho) * np.eye(n) + rho * np.ones((n, n))) * np.sqrt(np.outer(scale, scale))
    if n > 1 and rho <= -1 / (n - 1):
        assume(False)
    eps = draw(st.sampled_from([0.0, 1e-8, 1e-3, 0.1, 1.0, 100.0]))
    return g, sigma, H, eps


BATCHES = np.logspace(-6, 12, 200)


@settings(max_examples=150, deadline=None)
@given(problems(), st.sampled_from(["mean_field", "mean_field_bsimple"]))
def test_eta_star_increasing_without_surge(problem, model):
    g, sigma, H, eps = problem
    values = numeric.eta_star(BATCHES, g, sigma, H, eps, model=model, kappa2="ratio") if model == "mean_field" else \
        numeric.eta_star(BATCHES, g, sigma, H, eps, model=model)
    assert np.all(values > 0)
    kappa2 = "ratio" if model == "mean_field" else None
    peak = numeric.surge_peak(numeric.Problem(g, sigma, H, eps), model=model, kappa2=kappa2)
    steps = np.diff(values)
    tolerance = 1e-13 * values[1:]
    if peak == math.inf:
        assert np.all(steps >= -tolerance)
    else:
        rising, falling = BATCHES[1:] <= peak * 0.999, BATCHES[:-1] >= peak * 1.001
        assert np.all(steps[rising] >= -tolerance[rising])
        assert np.all(steps[falling] <= tolerance[falling])


@settings(max_examples=40, deadline=None)
@given(problems())
@example(([0.015625, -1.0, -1.0, -3.0], [1.0] * 4, 0.5 * np.eye(4) + 0.5, 0.0))  # a dip, below the limit
def test_eta_star_approx_increasing_without_surge(problem):
    g, sigma, H, eps = problem
    peak = numeric.surge_peak(numeric.Problem(g, sigma, H, eps), model="approx")
    values = numeric.eta_star(BATCHES, g, sigma, H, eps, model="approx")
    limit = numeric.eta_star(math.inf, g, sigma, H, eps, model="approx")
    assert np.all(values > 0)
    if peak == math.inf:  # no peak above the full-batch value (a dip below a higher limit may exist)
        assert np.all(values <= limit * (1 + 1e-12))
    else:
        assert numeric.eta_star(peak, g, sigma, H, eps, model="approx") >= values.max() * (1 - 1e-9) > limit


@settings(max_examples=60, deadline=None)
@given(problems())
def test_models_share_the_full_batch_limit(problem):
    """At B = oo every SoftSign model's moments are deterministic; exact, approx and mean field agree."""
    g, sigma, H, eps = problem
    limits = [numeric.eta_star(math.inf, g, sigma, H, eps, model=m) for m in ("exact", "approx", "mean_field_bsimple")]
    assert max(limits) <= min(limits) * (1 + 1e-12)


@pytest.mark.parametrize("name", ["mean_clip", "mean_exact", "mean_outside", "mean_approx"])
def test_means_at_eps_zero_are_the_sign_update(name):
    """b = 0 is the sign update (E-3): E[sign(a + z)] = erf(a/sqrt(2)), odd in a (the approximation: its own b = 0
    form a/sqrt(a^2 + pi/2), odd too).  Checked against math.erf, not against the module's own b = 0 branch."""
    function = getattr(numeric, name)
    a = np.array([-7.5, -2.0, -0.3, -1e-9, 1e-9, 0.3, 2.0, 7.5])
    values = function(a, np.zeros(a.shape))
    assert np.array_equal(values, -values[::-1])
    if name == "mean_approx":
        expected = a / np.sqrt(a * a + np.pi / 2)
    else:
        expected = np.array([math.erf(x / math.sqrt(2.0)) for x in a])
    np.testing.assert_allclose(values, expected, rtol=1e-13, atol=0)
