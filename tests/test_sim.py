"""The simulation's building blocks: NQM noise families, estimators, the real libraries' formulas.

Statistical checks are seeded; each states its tolerance in standard errors (false-failure rate
below 1e-6 per check at 5 standard errors, and the seeds are fixed, so the outcome is deterministic).
"""

import subprocess
import sys

import numpy as np
import pytest

from softsign_scaling.sim import estimate, nqm, optimizers

MISSING = optimizers.missing_libraries()
needs_libraries = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install -e '.[sim]'")


def test_import_does_not_need_torch_or_jax():
    code = ("import sys, softsign_scaling, softsign_scaling.numeric, softsign_scaling.sim.nqm, "
            "softsign_scaling.sim.estimate, softsign_scaling.sim.optimizers, softsign_scaling.sim.onestep, softsign_scaling.sim.command, "
            "softsign_scaling.sim.report, softsign_scaling.sim.experiments, softsign_scaling.sim.multistep; "
            "print(sorted(m for m in ('torch', 'jax', 'optax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setattr(optimizers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[sim\]'"):
        optimizers.optax_softsign(np.ones((2, 2)), 0.1)
    with pytest.raises(ImportError, match="torch"):
        optimizers.torch_adam(np.ones((2, 2)), 0.1)


# --------------------------------------------------------------------------------------------
# The libraries compute exactly what the docstring says (float64, known vectors).


@needs_libraries
def test_library_steps_match_their_formulas():
    worst = optimizers.verify_formulas()
    assert set(worst) == set(optimizers.OPTIMIZERS)
    for name, error in worst.items():
        assert error <= 4e-16, (name, error)  # a few ulps at most


@needs_libraries
def test_negative_control_a_wrong_formula_is_reported(monkeypatch):
    """verify_formulas can fail: a stated formula with eps inside the root for torch's step (which puts it
    outside) is reported O(1) wrong, and only for that optimizer."""
    import dataclasses

    wrong = dataclasses.replace(optimizers.OPTIMIZERS["torch_adam"], reference=lambda g, e: g / np.sqrt(g * g + e * e))
    monkeypatch.setitem(optimizers.OPTIMIZERS, "torch_adam", wrong)
    worst = optimizers.verify_formulas()
    assert worst["torch_adam"] > 0.1
    assert all(error <= 4e-16 for name, error in worst.items() if name != "torch_adam")


@needs_libraries
def test_conventions_are_distinguished():
    """The check can fail: torch's eps-outside step is not optax's inside-root step (O(1) apart at |g| ~ eps)."""
    grads = optimizers.known_vectors()
    eps = 1e-3
    torch_step = optimizers.OPTIMIZERS["torch_adam"].update(grads, eps)
    softsign = optimizers.OPTIMIZERS["optax_softsign"].reference(grads, eps)
    assert np.max(np.abs(torch_step - softsign)) > 0.2
    assert optimizers.OPTIMIZERS["torch_adam"].update(grads, eps).dtype == np.float64


@needs_libraries
def test_fresh_momentum_step_is_the_momentless_step():
    grads = np.random.default_rng(3).standard_normal((50, 7))
    with_momentum = optimizers.OPTIMIZERS["torch_adam_0.9"].update(grads, 0.05)
    without = optimizers.OPTIMIZERS["torch_adam"].update(grads, 0.05)
    np.testing.assert_allclose(with_momentum, without, rtol=1e-15, atol=0)  # bias corrections are divisions by 1 - 0.1, not 1


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        optimizers.optimizer("adamw")


# --------------------------------------------------------------------------------------------
# The NQM.


def _problem(full: bool = False) -> nqm.Problem:
    g = np.array([1.0, -0.5, 0.2])
    if full:
        Sigma = np.array([[1.0, 0.6, 0.0], [0.6, 4.0, -0.5], [0.0, -0.5, 0.25]])
    else:
        Sigma = np.array([1.0, 4.0, 0.25])
    return nqm.Problem(g, Sigma, np.array([1.0, 2.0, 0.5]), 0.1)


@pytest.mark.parametrize("family", [nqm.Gaussian(), nqm.StudentT(5.0)], ids=["gaussian", "student_t"])
@pytest.mark.parametrize("full", [False, True], ids=["diagonal", "full"])
def test_minibatch_mean_and_covariance(family, full):
    problem = _problem(full)
    B, samples = 16.0, 400_000
    grads = nqm.minibatch_gradients(problem, B, samples, np.random.default_rng(11), family)
    Sigma = np.diag(problem.Sigma) if problem.Sigma.ndim == 1 else problem.Sigma
    covariance = np.cov(grads.T)
    # standard errors: mean sqrt(Sigma_ii/(B N)); covariance entries about sqrt((S_ii S_jj + S_ij^2) kurt/N)/B
    mean_se = np.sqrt(np.diag(Sigma) / B / samples)
    assert np.all(np.abs(grads.mean(axis=0) - problem.g) < 5 * mean_se)
    cov_se = np.sqrt((np.outer(np.diag(Sigma), np.diag(Sigma)) + Sigma**2) * 4.0 / samples) / B  # kurtosis <= 9 at nu=5
    assert np.all(np.abs(covariance - Sigma / B) < 5 * cov_se)


def test_student_t_has_heavy_tails():
    problem = _problem()
    z = nqm.StudentT(5.0).minibatch_noise(problem, 1.0, 400_000, np.random.default_rng(2)) / np.sqrt(problem.Sigma)
    kurtosis = np.mean(z**4, axis=0) / np.mean(z**2, axis=0) ** 2
    assert np.all(kurtosis > 5.0)  # t_5 has kurtosis 9; the Gaussian's is 3
    with pytest.raises(nqm.SimulationInputError, match="nu > 2"):
        nqm.StudentT(2.0)


def test_finite_data_without_replacement():
    problem = _problem(full=True)
    family = nqm.FiniteData(N=64, data_seed=5)
    data = family.examples(problem)
    np.testing.assert_allclose(data.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.T @ data / 64, problem.Sigma, rtol=1e-12, atol=1e-12)
    # the whole data set as one batch has no noise at all (without replacement)
    full = nqm.minibatch_gradients(problem, 64, 5, np.random.default_rng(0), family)
    np.testing.assert_allclose(full, np.broadcast_to(problem.g, full.shape), atol=1e-13)
    # covariance (Sigma/B)(N - B)/(N - 1)
    B, samples = 16, 200_000
    grads = nqm.minibatch_gradients(problem, B, samples, np.random.default_rng(1), family)
    expected = problem.Sigma / B * family.variance_factor(B)
    se = np.sqrt((np.outer(np.diag(expected), np.diag(expected)) + expected**2) * 2.0 / samples)
    assert np.all(np.abs(np.cov(grads.T) - expected) < 5 * se)
    with pytest.raises(nqm.SimulationInputError, match=r"integer batch size in \[1, 64\]"):
        nqm.minibatch_gradients(problem, 65, 5, np.random.default_rng(0), family)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(g=[1.0, 2.0], Sigma=[1.0], H=[1.0, 1.0], eps=0.1), "Sigma .a diagonal. has length 1"),
    (dict(g=[1.0, 2.0], Sigma=[1.0, -1.0], H=[1.0, 1.0], eps=0.1), "Sigma must be > 0"),
    (dict(g=[1.0, 2.0], Sigma=[1.0, 1.0], H=[1.0, 0.0], eps=0.1), "H must be > 0"),  # a zero diagonal
    (dict(g=[1.0, 2.0], Sigma=[[1.0, 2.0], [2.0, 1.0]], H=[1.0, 1.0], eps=0.1), "Sigma is not positive definite"),
    (dict(g=[1.0, np.nan], Sigma=[1.0, 1.0], H=[1.0, 1.0], eps=0.1), "g must be finite"),
    (dict(g=[1.0, 2.0], Sigma=[1.0, 1.0], H=[1.0, 1.0], eps=-1.0), "eps must be finite and >= 0"),
])
def test_bad_problem(kwargs, message):
    with pytest.raises(nqm.SimulationInputError, match=message):
        nqm.Problem(**kwargs)


def test_a_dense_problem_keeps_its_matrices():
    """Problem(H=M, Sigma=S) holds M and S themselves (symmetrised: a symmetric input comes back unchanged), checked
    against the literal matrices, not against the problem's own stored copy; and its noise has covariance S."""
    M = [[2.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 3.0]]
    S = [[1.0, -0.25, 0.0], [-0.25, 0.5, 0.0], [0.0, 0.0, 2.0]]
    problem = nqm.Problem(g=[1.0, -1.0, 0.5], Sigma=S, H=M, eps=0.1)
    assert np.array_equal(problem.H, np.array(M)) and np.array_equal(problem.Sigma, np.array(S))
    assert np.allclose(problem.root @ problem.root.T, np.array(S), rtol=0, atol=1e-15)
    assert np.array_equal(problem.sigma, np.sqrt([1.0, 0.5, 2.0]))
    u = np.array([[1.0, 2.0, -1.0]])
    assert problem.quadratic(u)[0] == 1.0 * 2 + 4.0 * 1 + 1.0 * 3 + 2 * (0.5 * 2) + 2 * (0.25 * 2 * -1)


# --------------------------------------------------------------------------------------------
# Estimators.


def test_ratio_estimate_delta_bootstrap_grid_agree():
    rng = np.random.default_rng(4)
    X = 1.0 + rng.standard_normal(50_000)
    Y = 2.0 + 0.5 * rng.standard_normal(50_000) + 0.3 * X
    est = estimate.ratio_estimate(X, Y)
    low, high = estimate.bootstrap_interval(X, Y, resamples=400, seed=1)
    assert abs((high - low) / (est.high - est.low) - 1) < 0.2  # the two intervals have the same width ...
    assert abs((low + high) / 2 - est.eta) < 0.2 * (est.high - est.low)  # ... and centre
    etas = np.linspace(0.2, 0.6, 4001)
    assert abs(estimate.grid_argmin(X, Y, etas) - est.eta) <= 1e-4
    assert est.contains(1.0 / 2.3)  # E[X]/E[Y] = 1/(2 + 0.3)


def test_bernstein_bound_covers_at_its_level():
    """Coverage of the empirical Bernstein radius on a skewed bounded variable (rare large values)."""
    rng = np.random.default_rng(8)
    trials, N, alpha = 2000, 400, 0.05
    values = (rng.random((trials, N)) < 0.005).astype(float)  # Bernoulli(0.005): no event in 13% of rows
    misses = 0
    for row in values:
        radius = estimate.bernstein_bound(float(row.var(ddof=1)), 1.0, N, alpha)
        misses += abs(row.mean() - 0.005) > radius
    assert misses / trials <= alpha  # the bound is conservative
    # the normal interval on the same rows misses far more often: it trusts a sample variance of 0
    normal_misses = sum(abs(r.mean() - 0.005) > 1.96 * r.std(ddof=1) / np.sqrt(N) for r in values)
    assert normal_misses / trials > 2 * alpha
