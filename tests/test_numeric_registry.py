"""The public Problem, the model registry, loss_decrease, plot_eta_star, scalar = array bits, huge eps, b = 0.

Issue 15 (items 1, 2), issue 9 (items 8, 9, 10, 16) and issue 8 (item 7).
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softsign_scaling import numeric
from softsign_scaling.numeric import _far
from softsign_scaling.numeric.generated import limits

G = np.array([1.0, -0.5, 0.3])
SIGMA = np.array([2.0, 1.0, 0.5])
H = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 1.0]])
EPS = 0.1
PROBLEM = numeric.Problem(G, SIGMA, H, EPS)


def _toy_moments(a, b):
    """E-9's mean halved, E-12's variance: a model no built-in equals."""
    return numeric.mean_approx(a, b) / 2, numeric.variance_approx(a, b)


@pytest.fixture
def toy():
    # The three lines a user writes (the fixture only adds the clean-up).
    numeric.register_model(numeric.PerComponentModel(
        "toy", moments=_toy_moments, doc="E-9 halved: a toy"))
    yield numeric.get_model("toy")
    numeric.unregister_model("toy")


# --------------------------------------------------------------------------------------------
# The registry.


def test_models_are_the_registry():
    assert numeric.MODELS == ("exact", "clip", "approx", "mean_field", "mean_field_bsimple", "anchored", "averaged",
                             "correlated")
    assert numeric.DEFAULT_MODEL in numeric.MODELS
    for name in numeric.MODELS:
        model = numeric.get_model(name)
        assert model.name == name and model.doc


def test_a_registered_toy_appears_everywhere(toy):
    from softsign_scaling.atlas import meanfield, surge

    assert "toy" in numeric.MODELS and "toy" in surge.models() and "toy" in meanfield.table_models()
    B = np.array([0.5, 8.0, 300.0])
    # eta* and the loss decrease by hand from the toy's moments: the plumbing, not the formula, is under test.
    root = np.sqrt(B)[:, None]
    m = numeric.mean_approx(G * root / SIGMA, EPS * root / SIGMA) / 2
    v = numeric.variance_approx(G * root / SIGMA, EPS * root / SIGMA)
    num = m @ G
    den = np.einsum("ki,ij,kj->k", m, H, m) + v @ np.diag(H)
    np.testing.assert_allclose(numeric.eta_star(B, PROBLEM, model="toy"), num / den, rtol=1e-13)
    np.testing.assert_allclose(numeric.loss_decrease(B, PROBLEM, model="toy"), num**2 / (2 * den), rtol=1e-13)
    assert numeric.eta_star(B, PROBLEM, model="toy")[0] != numeric.eta_star(0.5, PROBLEM, model="approx")
    # surge_peak: the toy's numeric peak is a local maximum of its eta*, or there is none.
    peaked = numeric.Problem([1.0, 1.2, 0.8], [1.0, 0.7, 1.5], 0.15 * np.eye(3) + 0.85 * np.ones((3, 3)), 0.05)
    peak = numeric.surge_peak(peaked, model="toy")
    assert math.isfinite(peak)
    around = numeric.eta_star(peak * np.array([0.999, 1.0, 1.001]), peaked, model="toy")
    assert around[1] >= around[0] and around[1] >= around[2]
    # The atlas's model table: a row for the toy in the mean-field layer, rows in the surge table.
    task = meanfield.settings(1)[0]
    assert "toy" in task[-1]
    rows = meanfield.summarise([meanfield.ratios(*task), meanfield.ratios(*meanfield.settings(1)[1])])
    assert "toy" in [row.name for row in rows]
    # The toy takes no options.
    with pytest.raises(ValueError, match=r"^kappa2 is not an option of model 'toy'"):
        numeric.eta_star(1.0, PROBLEM, model="toy", kappa2="mean")


def test_registry_refuses_bad_registrations(toy):
    with pytest.raises(ValueError, match="already registered"):
        numeric.register_model(numeric.PerComponentModel("toy", moments=_toy_moments))
    with pytest.raises(ValueError, match="built in"):
        numeric.register_model(numeric.PerComponentModel("exact", moments=_toy_moments), replace=True)
    with pytest.raises(ValueError, match="built in"):
        numeric.unregister_model("anchored")
    with pytest.raises(TypeError, match="numeric.Model"):
        numeric.register_model("toy2")
    with pytest.raises(ValueError, match="model must be one of"):
        numeric.get_model("nope")


def test_only_mean_field_takes_kappa2():
    takers = [name for name in numeric.MODELS if "kappa2" in numeric.get_model(name).options]
    assert takers == ["mean_field"]
    for name in numeric.MODELS:
        if name in takers:
            continue
        with pytest.raises(ValueError, match=rf"^kappa2 is not an option of model '{name}'.*mean_field$"):
            numeric.eta_star(4.0, PROBLEM, model=name, kappa2="harmonic")
    # Under mean_field the choice matters (it used to be ignored silently under the default model).
    values = {k: numeric.eta_star(4.0, PROBLEM, model="mean_field", kappa2=k) for k in numeric.KAPPA2}
    assert len(set(values.values())) == len(values)


def test_mean_field_variants_are_the_kappa2_averages():
    labels = numeric.get_model("mean_field").atlas_variants()
    assert list(labels) == [f"mean_field[kappa2={k}]" for k in numeric.KAPPA2]


# --------------------------------------------------------------------------------------------
# The Problem.


def test_problem_is_validated_once_and_frozen():
    p = numeric.Problem([1.0, -2.0], [1.0, 3.0], [2.0, 1.0], 0.5)
    assert p.dense is None and p.H.tolist() == [2.0, 1.0] and p.n == 2
    with pytest.raises(ValueError):
        p.g[0] = 5.0  # read-only
    with pytest.raises(AttributeError):
        p.eps = 1.0
    g = np.array([1.0, -2.0])
    q = numeric.Problem(g, [1.0, 3.0], [[2.0, 0.0], [0.0, 1.0]], 0.5)
    g[0] = 7.0  # the problem keeps its own copy
    assert q.g[0] == 1.0
    assert numeric.Problem.of(q) is q


def test_problem_aggregates_by_hand():
    nu = G / np.sqrt(G**2 + EPS**2)
    k2 = SIGMA**2 / (G**2 + EPS**2)
    assert PROBLEM.G_nu == pytest.approx(nu @ G, rel=1e-15)
    assert PROBLEM.S_nu == pytest.approx(nu @ H @ nu, rel=1e-14)
    assert PROBLEM.T_H == pytest.approx(np.trace(H), rel=1e-15)
    assert PROBLEM.B_simple == pytest.approx(np.sum(SIGMA**2) / (G @ G + 3 * EPS**2), rel=1e-15)
    expected = {"mean": k2.mean(), "harmonic": 3 / np.sum(1 / k2), "ratio": np.sum(SIGMA**2) / np.sum(G**2 + EPS**2),
                "median": np.median(k2), "numerator-weighted": np.sum(nu * G * k2) / np.sum(nu * G)}
    for kind, value in PROBLEM.kappa2_averages().items():
        assert value == pytest.approx(expected[kind], rel=1e-14), kind


def test_the_atlas_reads_the_same_aggregates():
    from softsign_scaling.atlas import meanfield

    p = meanfield.problem(3, 16, 0.7, 0.3, "aligned")
    assert isinstance(p.problem, numeric.Problem)
    assert meanfield.kappa2_candidates(p) == p.problem.kappa2_averages()
    assert p.B[0] == p.problem.B_simple * 10.0 ** meanfield.B_EXPONENTS[0]


def test_problem_and_spelled_out_arguments_agree():
    B = np.array([1.0, 50.0, math.inf])
    for name in numeric.MODELS:
        assert np.array_equal(numeric.eta_star(B, PROBLEM, model=name), numeric.eta_star(B, G, SIGMA, H, EPS, model=name))
    assert numeric.eta_star_sgd(3.0, PROBLEM) == numeric.eta_star_sgd(3.0, G, SIGMA, H)


def test_surge_peak_spelled_out_is_deprecated():
    with pytest.warns(DeprecationWarning, match="surge_peak"):
        old = numeric.surge_peak(G, SIGMA, H, EPS, model="mean_field")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numeric.surge_peak(PROBLEM, model="mean_field") == old


# --------------------------------------------------------------------------------------------
# loss_decrease (E-5).


@pytest.mark.parametrize("model", ["exact", "clip", "approx", "anchored", "mean_field", "mean_field_bsimple"])
def test_loss_decrease_is_the_quadratic_models_decrease_at_eta_star(model):
    """L(0) - L(eta*) = eta* E[phi]^T g - eta*^2 Tr(E[phi phi^T] H)/2 is maximal at eta*, and equals num^2/(2 den)."""
    B = np.array([0.3, 7.0, 400.0])
    eta = numeric.eta_star(B, PROBLEM, model=model)
    loss = numeric.loss_decrease(B, PROBLEM, model=model)
    # The decrease along eta, for eta*(1 +- 1%): lower, and the curvature fixes num and den from (eta*, loss).
    den = 2 * loss / eta**2  # at the optimum, L(0) - L(eta*) = eta*^2 den/2 = num^2/(2 den)
    num = eta * den
    for factor in (0.99, 1.01):
        at = factor * eta
        assert np.all(at * num - at**2 * den / 2 < loss)
    if model in ("exact", "clip", "approx"):  # num by hand from the public moment functions
        mean = {"exact": numeric.mean_exact, "clip": numeric.mean_clip, "approx": numeric.mean_approx}[model]
        root = np.sqrt(B)[:, None]
        np.testing.assert_allclose(num, mean(G * root / SIGMA, EPS * root / SIGMA) @ G, rtol=1e-12)
    if model == "mean_field":  # beta G_nu, beta = (1 + pi kappa2/(2B))^(-1/2)
        beta = (1 + math.pi * PROBLEM.kappa2("mean") / (2 * B)) ** -0.5
        np.testing.assert_allclose(num, beta * PROBLEM.G_nu, rtol=1e-12)
        assert not np.allclose(loss, eta * num, rtol=0.1)  # the 1/2 matters (negative control)


# --------------------------------------------------------------------------------------------
# A point gives the same bits alone and inside an array (issue 8 item 7).

MOMENTS = [numeric.mean_clip, numeric.second_moment_clip, numeric.variance_clip, numeric.mean_exact,
           numeric.second_moment_exact, numeric.variance_exact, numeric.mean_approx, numeric.second_moment_approx,
           numeric.variance_approx]
POINT = st.tuples(st.floats(-1e4, 1e4), st.floats(-12, 8).map(lambda e: 10.0**e))


@settings(max_examples=60, deadline=None)
@given(POINT, st.lists(POINT, min_size=1, max_size=40), st.integers(0, 40))
@example((1e4, 1e4), [(1.0, 1.0)] * 7, 3)  # the point of issue 8: 0.4999999975000001 against 0.4999999975
def test_scalar_and_array_give_the_same_bits(point, others, where):
    where = min(where, len(others))
    points = others[:where] + [point] + others[where:]
    a = np.array([p[0] for p in points])
    b = np.array([p[1] for p in points])
    for function in MOMENTS:
        alone = function(*point)
        inside = function(a, b)[where]
        assert alone == inside or (math.isnan(alone) and math.isnan(inside)), (function.__name__, point, alone, inside)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 6).map(lambda e: 10.0**e), min_size=2, max_size=30), st.integers(0, 29),
       st.sampled_from([0.0, 1e-3, 0.1, 3.0, 1e60]))
def test_eta_star_gives_the_same_bits_alone_and_in_an_array(batches, where, eps):
    where = min(where, len(batches) - 1)
    problem = numeric.Problem(G, SIGMA, H, eps)
    for name in numeric.MODELS:
        inside = numeric.eta_star(np.array(batches), problem, model=name)[where]
        assert numeric.eta_star(batches[where], problem, model=name) == inside, name


def test_blas_sums_would_differ():
    """Negative control: the BLAS matrix-vector product the quadrature used before differs in the last bit."""
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((37, 161))
    weights = rng.standard_normal(161)
    blas = np.array([rows[k:k + 1] @ weights for k in range(37)]).ravel()
    fixed = np.array([(rows[k:k + 1] * weights).sum(axis=1) for k in range(37)]).ravel()
    assert np.array_equal(fixed, (rows * weights).sum(axis=1))  # row sums: the same alone and together
    if np.array_equal(blas, rows @ weights):  # pragma: no cover - depends on the BLAS build
        pytest.skip("this BLAS happens to give the same bits for 1 and 37 rows")


# --------------------------------------------------------------------------------------------
# b = 0 and huge eps (issue 9 items 9 and 10).


def test_b_zero_is_the_sign_update():
    a = np.array([-3.0, -0.5, 0.0, 1e-9, 0.7, 2.0, 40.0])
    sign_mean = sc.erf(a / math.sqrt(2))
    for mean, second, variance in ((numeric.mean_clip, numeric.second_moment_clip, numeric.variance_clip),
                                   (numeric.mean_exact, numeric.second_moment_exact, numeric.variance_exact)):
        np.testing.assert_allclose(mean(a, 0.0), sign_mean, rtol=1e-15, atol=0)
        assert np.all(second(a, 0.0) == 1.0)
        np.testing.assert_allclose(variance(a, 0.0), 1 - sign_mean**2, rtol=1e-13, atol=1e-300)
        # continuous: b = 1e-12 is within O(b) of the limit
        np.testing.assert_allclose(mean(a, 1e-12), mean(a, 0.0), atol=1e-11, rtol=0)
        np.testing.assert_allclose(second(a, 1e-12), 1.0, atol=1e-11, rtol=0)
    # E-9/E-12 are defined at b = 0 as they stand (not the sign update)
    assert numeric.mean_approx(1.0, 0.0) == pytest.approx(1 / math.sqrt(1 + math.pi / 2), rel=1e-15)


@pytest.mark.parametrize("name", ["exact", "clip", "approx", "anchored"])
def test_far_forms_agree_with_the_regular_forms(name):
    """The large-b forms against the regular ones at b = 1e6 .. 1e10, where both hold (error O(1/b^2))."""
    model = numeric.get_model(name)
    far = {"exact": limits.far_exact, "clip": _far.clip, "approx": limits.far_approx, "anchored": limits.far_anchored}[name]
    for b in (1e6, 1e8, 1e10):
        a = b * np.array([0.0, 1e-6, 0.3, 1.0, -0.9, 2.0, 1e3]) + np.array([0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0])
        m, v = model.moments(a, np.full(a.shape, b))
        mu, nu = far(a, np.full(a.shape, b))
        np.testing.assert_allclose((a / b) * mu, m, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(nu / b**2, v, rtol=1e-6 if name == "clip" else 1e-9, atol=1e-12 / b**2)
    if name == "approx":  # negative control: the exact model's far variance misses E-12's pi/2
        assert not np.allclose(limits.far_exact(a, np.full(a.shape, b))[1], nu, rtol=0.1)


@pytest.mark.parametrize("name", ["exact", "clip", "approx", "anchored"])
def test_steady_forms_agree_with_the_regular_forms(name):
    """The deterministic-update forms (used for |a| >= 1e50) against the regular ones at |a| = 1e7 .. 1e12."""
    model = numeric.get_model(name)
    steady = numeric.FAMILIES[name].steady  # derived, printed in generated/limits.py (clip: L-8)
    for a_size in (1e7, 1e9, 1e12):
        a = a_size * np.array([1.0, -1.0, 3.0, 1.0, 1.0])
        b = np.array([0.5, 2.0, 1e3, 1e-9, a_size / 10])
        m, v = model.moments(a, b)
        m_steady, v_steady = steady(a, b)
        np.testing.assert_allclose(m_steady, m, rtol=1e-12, atol=0)
        np.testing.assert_allclose(v_steady, v, rtol=1e-8, atol=1e-300)
    if name == "approx":  # negative control: the exact model's variance misses E-12's pi/2
        assert not np.allclose(limits.steady_exact(a, b)[1], v, rtol=0.1, atol=0)


@pytest.mark.parametrize("b", [0.0, 1e-300, 1.0, 1e40, 1e49, 1e60, 1e300])
def test_every_finite_point_has_finite_moments(b):
    a = np.array([0.0, -1.0, 1e49, -1e50, 1e60, 1e200, -1.7e308, 1.7e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for function in MOMENTS:
            values = function(a, b)
            assert np.all(np.isfinite(values)) and np.all(np.abs(values) <= 1.0), (function.__name__, values)
        for name in ("exact", "clip", "approx", "anchored"):
            model = numeric.get_model(name)
            if b >= _far.B_FAR:
                mu, nu = model.far(a, np.full(a.shape, b))
                assert np.all(np.isfinite(mu) & np.isfinite(nu)), name
            else:
                m, v = model.moments(a, np.full(a.shape, b))
                assert np.all(np.isfinite(m) & np.isfinite(v) & (np.abs(m) <= 1) & (v >= 0)), (name, m, v)
    big = numeric.mean_exact(a[2:], b)
    assert np.all(np.abs(np.abs(big) - 1) <= 1e-15) or b >= 1e40  # |a| >> b: the sign


def test_huge_batches_are_finite():
    B = np.array([1e100, 1e200, 1e300, 1.7e308, math.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for eps in (0.0, 1e-60, 0.1, 1e30):
            for name in numeric.MODELS:
                eta = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, eps), model=name)
                np.testing.assert_allclose(eta[:-1], eta[-1], rtol=1e-12)  # B -> oo: the full-batch limit


EXTREME_EPS = (1e50, 1e100, 1e154, 1e155, 1e200, 1e300, 1.7e308)


@pytest.mark.parametrize("eps", EXTREME_EPS)
def test_huge_eps_is_finite_and_sgd_like(eps):
    """Every model is finite, warns nothing, and eta*/eps is SGD's P-10 (E-18's pi/2 for E-9/E-12's models)."""
    B = np.array([1e-3, 1.0, 64.0, 1e6, math.inf])
    sgd = numeric.eta_star_sgd(B, PROBLEM)
    gg, gHg, trSH = PROBLEM.sgd_terms
    e18 = gg / (gHg + math.pi / 2 * trSH / B)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in numeric.MODELS:
            eta = numeric.eta_star(B, G, SIGMA, H, eps, model=name)
            loss = numeric.loss_decrease(B, G, SIGMA, H, eps, model=name)
            assert np.all(np.isfinite(eta) & (eta > 0)) and np.all(np.isfinite(loss) & (loss > 0)), name
            scaled = eta / eps
            if name in ("exact", "clip", "anchored"):
                np.testing.assert_allclose(scaled, sgd, rtol=1e-12)
            elif name in ("approx", "mean_field_bsimple", "mean_field"):
                if name == "approx":
                    np.testing.assert_allclose(scaled, e18, rtol=1e-12)
                np.testing.assert_allclose(scaled[-1], sgd[-1], rtol=1e-12)  # B = oo: g^T g/(g^T H g) for all
            np.testing.assert_allclose(loss, scaled * gg / 2, rtol=1e-9)  # eta* E[phi]^T g/2, E[phi] -> g/eps
            assert math.isinf(numeric.surge_peak(numeric.Problem(G, SIGMA, H, eps), model=name))
        for function in MOMENTS:
            assert np.all(np.isfinite(function([0.0, 1.0, -3.0, 1e4], eps))), function.__name__


def test_thresholds_are_seamless():
    """Just below and just above the switch to SGD units (b = 1e50, eps = 1e100) eta*/eps is the same to 1e-12."""
    for name in numeric.MODELS:
        for edge in (1e50 * 0.5, 1e100):  # eps sqrt(B)/sigma crosses B_FAR at B = 1 for sigma = 0.5
            below = numeric.eta_star(1.0, PROBLEM.g, PROBLEM.sigma, H, edge * (1 - 1e-9), model=name) / edge
            above = numeric.eta_star(1.0, PROBLEM.g, PROBLEM.sigma, H, edge * (1 + 1e-9), model=name) / edge
            assert above == pytest.approx(below, rel=1e-8), (name, edge)


# --------------------------------------------------------------------------------------------
# plot_eta_star and the import's weight.


def test_plot_eta_star_draws_one_line_per_model():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    B = np.geomspace(0.1, 1e4, 30)
    ax = numeric.plot_eta_star(B, PROBLEM)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert [line.get_label() for line in ax.get_lines()] == list(numeric.MODELS)
    np.testing.assert_array_equal(ax.get_lines()[list(numeric.MODELS).index("averaged")].get_ydata(),
                                      numeric.eta_star(B, PROBLEM, model="averaged"))
    plt.close(ax.figure)
    fig, given_ax = plt.subplots()
    assert numeric.plot_eta_star(B, G, SIGMA, H, EPS, models=["exact", "clip"], ax=given_ax) is given_ax
    assert len(given_ax.get_lines()) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="model must be one of"):
        numeric.plot_eta_star(B, PROBLEM, models=["nope"])


def test_import_needs_neither_sympy_nor_matplotlib():
    code = ("import sys, softsign_scaling.numeric; "
            "print(sorted(m for m in ('sympy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_problem_pickles_for_executors():
    import pickle

    copy = pickle.loads(pickle.dumps(PROBLEM))
    assert np.array_equal(copy.H, PROBLEM.H) and copy.eps == PROBLEM.eps
    assert numeric.eta_star(3.0, copy) == numeric.eta_star(3.0, PROBLEM)


def test_large_n_quadratic_form_row_by_row(monkeypatch):
    """Above ~1448 components the dense form is summed row by row (one H @ m per row): same values, same bits."""
    from softsign_scaling.numeric import problem as problem_module

    rng = np.random.default_rng(3)
    M = rng.standard_normal((6, 6))
    p = numeric.Problem(rng.standard_normal(6), np.ones(6), M @ M.T + 6 * np.eye(6), 0.2)
    rows = rng.standard_normal((5, 6))
    blocked = p.quadratic(rows)
    monkeypatch.setattr(problem_module, "_DENSE_BLOCK", 10)  # < n^2: the row-by-row path
    by_row = p.quadratic(rows)
    np.testing.assert_allclose(by_row, np.einsum("ki,ij,kj->k", rows, p.H, rows), rtol=1e-13)
    np.testing.assert_allclose(by_row, blocked, rtol=1e-13)
    assert p.quadratic(rows[2]) == by_row[2]


def test_a_peak_must_stand_out_on_both_sides():
    """A grid's local maximum is a surge peak only if it stands above the lowest value on *each* side (before a
    higher one) by more than the tolerance: a rising curve with a ripple below the tolerance on one side has no
    peak, and a real bump has one."""
    from softsign_scaling.numeric.models import _PEAK_TOLERANCE, _standing_maxima

    ripple = np.array([1.0, 2.0, 3.0, 3.0 * (1 - _PEAK_TOLERANCE / 4), 4.0, 5.0])
    assert _standing_maxima(ripple, limit=6.0) == []
    bump = np.array([1.0, 2.0, 3.0, 2.5, 4.0, 5.0])
    assert _standing_maxima(bump, limit=6.0) == [2]
    assert _standing_maxima(np.array([1.0, 3.0, 2.0]), limit=1.5) == [1]  # eta*(oo) = limit closes the right side
