"""softsign_scaling.numeric against high-precision mpmath evaluations of the pipeline's own expressions.

Closed forms (E-8, E-11, their variance, E-9, E-12) on the hostile grid: a in [-1e4, 1e4] with 0
and tiny values, b in [1e-12, 1e8], both dense in decades and hugging the clip corners a = +-b.
The exact moments against two quadratures that share nothing with the module's rules.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from softsign_scaling import numeric
from softsign_scaling.checks import reference as quadrature_reference
from softsign_scaling.symbols import a as a_sym, b as b_sym

from numeric_reference import derivation, evaluate, relative_error, softsign_moments_s_integral

TOLERANCE = 1e-12  # closed forms, relative, worst point

HOSTILE_A = (0.0, 1e-300, 1e-200, 1e-12, 1e-8, 1e-4, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0,
             6.0, 7.0, 8.0, 10.0, 13.0, 20.0, 30.0, 39.0, 41.0, 60.0, 100.0, 1e3, 1e4)
HOSTILE_B = tuple(float(x) for x in np.logspace(-12, 8, 21)) + (0.09, 0.11, 0.6, 0.99, 1.01, 2.5, 3.5, 39.0, 41.0)


def hostile_points() -> list[tuple[float, float]]:
    points = [(x, y) for x in HOSTILE_A for y in HOSTILE_B]
    points += [(-x, y) for x, y in points[::7] if x > 0]  # negative a (odd/even symmetry is exact)
    for x in (0.5, 1.0, 3.0, 10.0, 100.0, 1e3, 1e4):  # around the clip corner a = b
        for delta in (-30, -10, -3, -2.01, -1.99, -1, -1e-3, 0, 1e-3, 1, 3, 10, 30):
            if x + delta > 0:
                points.append((x, x + delta))
    return points


POINTS = hostile_points()


def _worst(function, name: str, points=POINTS, floor: float = 1e-300):
    a = np.array([p[0] for p in points])
    b = np.array([p[1] for p in points])
    values = function(a, b)
    worst, where = 0.0, None
    for (av, bv), value in zip(points, values):
        error = relative_error(value, evaluate(name, av, bv), floor)
        if error > worst:
            worst, where = error, (av, bv)
    return worst, where


@pytest.mark.parametrize("function, name", [(numeric.mean_clip, "E-8"), (numeric.second_moment_clip, "E-11")],
                         ids=["mean_clip", "second_moment_clip"])
def test_clip_moments_on_hostile_grid(function, name):
    worst, where = _worst(function, name)
    assert worst <= TOLERANCE, f"{function.__name__}: relative error {worst:.3g} at (a, b) = {where}"


def test_variance_clip_keeps_its_digits():
    """Relative to the variance itself (not to 1), down to float64's normal range.

    The reference is E-11 - E-8^2 itself where the variance is above 1e-60 (at most ~110 digits
    needed), and its upper tail form (proved equal symbolically) on the rest of the grid."""
    a = np.array([p[0] for p in POINTS])
    b = np.array([p[1] for p in POINTS])
    values = numeric.variance_clip(a, b)
    worst, where, direct = 0.0, None, 0
    for k, ((av, bv), value) in enumerate(zip(POINTS, values)):
        reference = evaluate("variance upper form", av, bv)
        if k % 5 == 0 and abs(reference) > 1e-60:  # cross-check the reference on a fifth of the grid
            direct_reference = evaluate("variance", av, bv)
            assert abs(direct_reference - reference) <= abs(reference) * 1e-30, (av, bv)
            direct += 1
        error = relative_error(value, reference, floor=1e-290)
        if error > worst:
            worst, where = error, (av, bv)
    assert direct > 90
    assert worst <= TOLERANCE, f"variance_clip: relative error {worst:.3g} at (a, b) = {where}"


def test_approx_moments_on_hostile_grid():
    for function, name in ((numeric.mean_approx, "E-9"), (numeric.second_moment_approx, "E-12"),
                           (numeric.variance_approx, "variance approx")):
        worst, where = _worst(function, name)
        assert worst <= TOLERANCE, f"{function.__name__}: relative error {worst:.3g} at {where}"


def test_naive_lambdify_of_e8_fails_the_grid():
    """The test can fail: the derived E-8, lambdified as it stands, misses 1e-12 by orders of magnitude."""
    naive = sp.lambdify((a_sym, b_sym), derivation()["E-8"].result, modules=["numpy", "scipy"])
    points = [(x, 1e-9) for x in (1e-4, 1e-3, 0.1, 0.5, 1.0, 2.0)]
    with np.errstate(all="ignore"):
        worst, _ = _worst(lambda a, b: naive(a, b), "E-8", points)
    stable, _ = _worst(numeric.mean_clip, "E-8", points)
    assert worst > 1e-5, f"naive E-8 at b = 1e-9 is unexpectedly accurate ({worst:.3g})"
    assert stable <= TOLERANCE
    assert worst / max(stable, 1e-17) > 1e8  # poorness of the naive form


def test_symmetry_is_exact():
    a = np.array([1e-8, 0.3, 2.0, 40.0, 1e4])
    b = np.array([1e-10, 0.2, 1.5, 39.0, 1e3])
    assert np.array_equal(numeric.mean_clip(-a, b), -numeric.mean_clip(a, b))
    assert np.array_equal(numeric.second_moment_clip(-a, b), numeric.second_moment_clip(a, b))
    assert np.array_equal(numeric.mean_exact(-a, b), -numeric.mean_exact(a, b))


# ---------------------------------------------------------------------------------------------
# Exact moments: 1e-10 relative (the bound); measured at ~1e-14.

EXACT_TOLERANCE = 1e-10
EXACT_POINTS = [(x, y) for x in (0.0, 1e-12, 0.01, 0.7, 2.0, 5.0, 12.0, 40.0, 1e4)
                for y in (1e-12, 1e-6, 0.01, 0.3, 0.65, 1.0, 3.0, 100.0, 1e8)]
EXACT_POINTS += [(-2.0, 0.3), (-40.0, 1e-6), (1e4, 1e4 - 1.0), (1e4, 1e4 + 3.0), (50.0, 49.0)]


def test_exact_moments_against_s_integral_and_faddeeva():
    a = np.array([p[0] for p in EXACT_POINTS])
    b = np.array([p[1] for p in EXACT_POINTS])
    mean, second = numeric.mean_exact(a, b), numeric.second_moment_exact(a, b)
    worst = {"mean": 0.0, "second": 0.0}
    for (av, bv), m, s in zip(EXACT_POINTS, mean, second):
        ref_m, ref_s = softsign_moments_s_integral(av, bv)
        worst["mean"] = max(worst["mean"], relative_error(m, ref_m) if ref_m != 0 else abs(m))
        worst["second"] = max(worst["second"], relative_error(s, ref_s))
    assert worst["mean"] <= EXACT_TOLERANCE and worst["second"] <= EXACT_TOLERANCE, worst


@pytest.mark.parametrize("av, bv", [(0.7, 0.3), (-2.0, 1e-4), (5.0, 0.01), (0.0, 2.0), (12.0, 1e-3), (3.0, 40.0)])
def test_exact_moments_against_kink_split_quadrature(av, bv):
    """Against checks/reference.py: tanh-sinh and Gauss-Legendre split at the softsign's kink, 30 digits."""
    with mp.workdps(30):
        ref_m = quadrature_reference.softsign_mean(repr(av), repr(bv))
        ref_s = quadrature_reference.softsign_second_moment(repr(av), repr(bv))
    assert relative_error(numeric.mean_exact(av, bv), ref_m) <= EXACT_TOLERANCE or (av == 0 and numeric.mean_exact(av, bv) == 0)
    assert relative_error(numeric.second_moment_exact(av, bv), ref_s) <= EXACT_TOLERANCE


def _variance_reference(av: float, bv: float) -> mp.mpf:
    """E[(f - m)^2] summed directly at 60 digits (keeps the digits of a variance of 1e-60)."""
    with mp.workdps(60):
        A, Bv = mp.mpf(av), mp.mpf(bv)
        f = lambda z: (A + z) / mp.sqrt((A + z) ** 2 + Bv * Bv)  # noqa: E731
        cuts = quadrature_reference._softsign_cuts(A, Bv)
        m = quadrature_reference.gaussian_expectation(f, cuts, cross_check=False)
        return quadrature_reference.gaussian_expectation(lambda z: (f(z) - m) ** 2, cuts, cross_check=False)


@pytest.mark.parametrize("av, bv", [(8.0, 1e-6), (12.0, 1e-4), (20.0, 1e-4), (5.0, 0.01), (10.0, 0.69),
                                    (1e4, 0.5), (0.5, 0.3)])
def test_variance_exact_keeps_its_digits(av, bv):
    assert relative_error(numeric.variance_exact(av, bv), _variance_reference(av, bv)) <= EXACT_TOLERANCE


@pytest.fixture
def slow_requested(request):
    """Slow tests run only when asked for (pytest -m slow)."""
    if "slow" not in (request.config.getoption("markexpr") or "") or "not slow" in request.config.getoption("markexpr"):
        pytest.skip("slow: run with -m slow")


@pytest.mark.slow
def test_exact_moments_dense_grid(slow_requested):
    points = [(x, y) for x in np.concatenate([[0.0], np.logspace(-12, 4, 17)]) for y in np.logspace(-12, 8, 21)]
    a = np.array([p[0] for p in points])
    b = np.array([p[1] for p in points])
    mean, second = numeric.mean_exact(a, b), numeric.second_moment_exact(a, b)
    for (av, bv), m, s in zip(points, mean, second):
        ref_m, ref_s = softsign_moments_s_integral(av, bv)
        assert (relative_error(m, ref_m) if ref_m != 0 else abs(m)) <= EXACT_TOLERANCE, (av, bv)
        assert relative_error(s, ref_s) <= EXACT_TOLERANCE, (av, bv)


# ---------------------------------------------------------------------------------------------
# eta*: the mean-field formulas against E-14/E-15/P-10 evaluated at 50 digits from the same float inputs.


def _problems(count: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(1, 6))
        g = rng.standard_normal(n) * 10 ** rng.uniform(-3, 1, n)
        sigma = 10 ** rng.uniform(-2, 1, n)
        M = rng.standard_normal((n, n))
        H = M @ M.T + n * np.eye(n) * 10 ** rng.uniform(-1, 1)
        if k % 3 == 0:
            H = np.diag(H).copy()
        eps = [0.0, 1e-8, 1e-3, 0.3, 10.0][k % 5]
        yield g, sigma, H, eps


def _mp_aggregates(g, sigma, H, eps, kappa2):
    Hm = np.diag(H) if np.ndim(H) == 1 else H
    n = len(g)
    nu = [mp.mpf(x) / mp.sqrt(mp.mpf(x) ** 2 + mp.mpf(eps) ** 2) if (x or eps) else mp.mpf(0) for x in g]
    G = mp.fsum(nu[i] * mp.mpf(g[i]) for i in range(n))
    S = mp.fsum(nu[i] * nu[j] * mp.mpf(Hm[i, j]) for i in range(n) for j in range(n))
    T = mp.fsum(mp.mpf(Hm[i, i]) for i in range(n))
    signal = [mp.mpf(x) ** 2 + mp.mpf(eps) ** 2 for x in g]
    if kappa2 == "mean":
        k2 = mp.fsum(mp.mpf(s) ** 2 / q for s, q in zip(sigma, signal)) / n
    elif kappa2 == "harmonic":
        k2 = n / mp.fsum(q / mp.mpf(s) ** 2 for s, q in zip(sigma, signal))
    elif kappa2 == "ratio":
        k2 = mp.fsum(mp.mpf(s) ** 2 for s in sigma) / mp.fsum(signal)
    else:  # bsimple: pi kappa2/2 = B_simple
        k2 = 2 / mp.pi * mp.fsum(mp.mpf(s) ** 2 for s in sigma) / (
            mp.fsum(mp.mpf(x) ** 2 for x in g) + n * mp.mpf(eps) ** 2)
    return G, S, T, k2


def test_eta_star_mean_field_against_e14():
    from softsign_scaling.symbols import B, G_nu, S_nu, T_H, beta, kappa2

    d = derivation()
    e14 = d["E-14"].result.subs(beta, d["E-10"].extra("beta"))
    f = sp.lambdify((B, G_nu, S_nu, T_H, kappa2), e14, "mpmath")
    batches = np.array([1e-6, 0.3, 1.0, 17.0, 1e3, 1e8, 1e15])
    worst = 0.0
    for g, sigma, H, eps in _problems(30):
        if eps == 0 and not np.all(g):
            continue
        for model, kind in (("mean_field", "mean"), ("mean_field", "harmonic"), ("mean_field", "ratio"),
                            ("mean_field_bsimple", "bsimple")):
            kw = {"kappa2": kind} if model == "mean_field" else {}
            values = numeric.eta_star(batches, g, sigma, H, eps, model=model, **kw)
            with mp.workdps(50):
                G, S, T, k2 = _mp_aggregates(g, sigma, H, eps, kind)
                for Bv, value in zip(batches, values):
                    worst = max(worst, relative_error(value, f(mp.mpf(Bv), G, S, T, k2)))
                limit = numeric.eta_star(math.inf, g, sigma, H, eps, model=model, **kw)
                worst = max(worst, relative_error(limit, G / S))  # B = oo: beta = 1
    assert worst <= TOLERANCE, worst


def test_eta_star_sgd_against_p10():
    from softsign_scaling.symbols import B, gHg, gg, trSH

    f = sp.lambdify((B, gg, gHg, trSH), derivation()["P-10"].result, "mpmath")
    worst = 0.0
    for g, sigma, H, _ in _problems(20, seed=3):
        Hm = np.diag(H) if np.ndim(H) == 1 else H
        with mp.workdps(50):
            n = len(g)
            G2 = mp.fsum(mp.mpf(x) ** 2 for x in g)
            GHG = mp.fsum(mp.mpf(g[i]) * mp.mpf(Hm[i, j]) * mp.mpf(g[j]) for i in range(n) for j in range(n))
            TR = mp.fsum(mp.mpf(sigma[i]) ** 2 * mp.mpf(Hm[i, i]) for i in range(n))
            for Bv in (1e-3, 1.0, 64.0, 1e9, math.inf):
                reference = G2 / GHG if Bv == math.inf else f(mp.mpf(Bv), G2, GHG, TR)
                worst = max(worst, relative_error(numeric.eta_star_sgd(Bv, g, sigma, H), reference))
    assert worst <= TOLERANCE, worst


def test_surge_peak_against_e15():
    from softsign_scaling.symbols import S_nu, T_H, kappa2

    d = derivation()
    f = sp.lambdify((S_nu, T_H, kappa2), d["E-15"].extra("B_peak"), "mpmath")
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(60):
        n = int(rng.integers(2, 6))
        rho = rng.uniform(0.3, 0.95)
        H = (1 - rho) * np.eye(n) + rho * np.ones((n, n))  # strongly correlated: surges are common
        g = np.abs(rng.standard_normal(n)) + 0.1
        sigma = 10 ** rng.uniform(-1, 1, n)
        eps = float(rng.choice([0.0, 0.01, 0.5]))
        peak = numeric.surge_peak(numeric.Problem(g, sigma, H, eps), model="mean_field")
        with mp.workdps(50):
            G, S, T, k2 = _mp_aggregates(g, sigma, H, eps, "mean")
            if S > 2 * T * (1 + mp.mpf(10) ** -8):
                assert relative_error(peak, f(S, T, k2)) <= TOLERANCE
                checked += 1
            elif S < 2 * T * (1 - mp.mpf(10) ** -8):
                assert peak == math.inf
    assert checked >= 10


@pytest.mark.parametrize("model", ["approx", "clip", "exact"])
def test_numeric_surge_peak_is_the_maximum(model):
    """Where E-15's mean field has a peak, the per-component models' numeric peak is a local maximum."""
    g, sigma = np.array([1.0, 1.2, 0.8]), np.array([1.0, 0.7, 1.5])
    H = 0.15 * np.eye(3) + 0.85 * np.ones((3, 3))
    peak = numeric.surge_peak(numeric.Problem(g, sigma, H, 0.05), model=model)
    assert math.isfinite(peak)
    around = numeric.eta_star(peak * np.array([0.999, 1.0, 1.001]), g, sigma, H, 0.05, model=model)
    assert around[1] >= around[0] and around[1] >= around[2]
    assert numeric.eta_star(peak, g, sigma, H, 0.05, model=model) > numeric.eta_star(math.inf, g, sigma, H, 0.05,
                                                                                      model=model)


def test_per_component_models_against_mpmath():
    """eta* of the exact, clip and approx models: sum m g/(m^T H m + sum (s - m^2) H_ii) in mpmath."""
    g, sigma = np.array([0.8, -0.3, 1.5]), np.array([1.0, 2.0, 0.5])
    H = np.array([[2.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.5]])
    eps = 0.05
    for Bv in (0.5, 30.0, 4e3):
        a = g * math.sqrt(Bv) / sigma
        b = eps * math.sqrt(Bv) / sigma
        for model in ("clip", "approx", "exact"):
            with mp.workdps(40):
                if model == "clip":
                    m = [evaluate("E-8", x, y) for x, y in zip(a, b)]
                    v = [evaluate("variance", x, y) for x, y in zip(a, b)]
                elif model == "approx":
                    m = [evaluate("E-9", x, y) for x, y in zip(a, b)]
                    v = [evaluate("variance approx", x, y) for x, y in zip(a, b)]
                else:
                    pairs = [softsign_moments_s_integral(x, y) for x, y in zip(a, b)]
                    m = [p[0] for p in pairs]
                    v = [p[1] - p[0] ** 2 for p in pairs]
                num = mp.fsum(m[i] * mp.mpf(g[i]) for i in range(3))
                den = mp.fsum(m[i] * m[j] * mp.mpf(H[i, j]) for i in range(3) for j in range(3))
                den += mp.fsum(v[i] * mp.mpf(H[i, i]) for i in range(3))
                tolerance = TOLERANCE if model != "exact" else EXACT_TOLERANCE
                assert relative_error(numeric.eta_star(Bv, g, sigma, H, eps, model=model), num / den) <= tolerance
