"""eps outside the root: the generated numeric functions of X-9, X-10 (series) and X-12 .. X-15 (the anchored outside
form) against mpmath, each within the accuracy it states (numeric/outside_series.py), with negative controls."""

import math

import mpmath as mp
import numpy as np
import pytest

from softsign_scaling import numeric
from softsign_scaling.checks import reference
from softsign_scaling.checks.evaluate import mp_function
from softsign_scaling.numeric import _far
from softsign_scaling.numeric import anchored_outside as oa
from softsign_scaling.numeric import outside_series as series
from softsign_scaling.sections.outside import K0_OUT, S0_OUT
from softsign_scaling.symbols import b as b_symbol

B_GRID = np.geomspace(1e-8, 1e4, 61)
STATED = {"k0": 5e-14, "s0": 2e-12, "C": 5e-13}  # relative, numeric/outside_series.py (C: X-15's coefficient)


def _closed(bv: float) -> dict[str, mp.mpf]:
    """X-12/X-13's closed forms and C = 1/k0^2 - (1 - s0)(b^2 + pi/2) at 50 digits (no float64 cancellation)."""
    with mp.workdps(50):
        B = mp.mpf(float(bv))
        k0, s0 = mp_function(K0_OUT, (b_symbol,))(B), mp_function(S0_OUT, (b_symbol,))(B)
        return {"k0": k0, "s0": s0, "C": 1 / k0**2 - (1 - s0) * (B**2 + mp.pi / 2)}


@pytest.fixture(scope="module")
def closed():
    return {float(bv): _closed(bv) for bv in B_GRID}


def test_anchors_match_mpmath(closed):
    got = {"k0": oa.k0_outside(B_GRID), "s0": oa.s0_outside(B_GRID), "C": oa.c_outside(B_GRID)}
    for name, bound in STATED.items():
        worst = max(float(abs(g - closed[float(bv)][name]) / abs(closed[float(bv)][name]))
                    for g, bv in zip(got[name], B_GRID))
        assert worst <= bound, (name, worst)


def test_anchored_outside_moments_follow_x14():
    """moments_anchored_outside == X-14's formulas with mpmath's k0, s0 (relative 1e-11; variance by its positive form)."""
    for av, bv in [(0.0, 1e-6), (0.3, 0.01), (1.0, 1.0), (-2.5, 3.0), (8.0, 9.9), (8.0, 10.1), (40.0, 300.0),
                   (-1e3, 1e5)]:
        c = _closed(bv)
        with mp.workdps(50):
            A, B = mp.mpf(av), mp.mpf(bv)
            m = A / mp.sqrt(A**2 + 1 / c["k0"] ** 2)
            s2 = 1 - (1 - c["s0"]) * (B**2 + mp.pi / 2) / (A**2 + B**2 + mp.pi / 2)
            v = s2 - m**2
        got_m, got_v = oa.moments_anchored_outside(np.array([av]), np.array([bv]))
        assert abs(got_m[0] - float(m)) <= 1e-11 * max(abs(float(m)), 1e-300) + 1e-300, (av, bv)
        assert abs(got_v[0] - float(v)) <= 1e-11 * float(v), (av, bv)


def test_far_and_steady_forms_join_the_regular_one():
    a = np.array([0.0, 100.0, 1000.0, -3000.0])
    b = np.full(4, 1e3)
    m, v = oa.moments_anchored_outside(a, b)
    mu, nu = oa.far_anchored_outside(a, b)
    safe = np.where(a == 0, 1.0, a)
    assert np.allclose(np.where(a == 0, mu, m * b / safe), mu, rtol=1e-12)
    assert np.allclose(v * b * b, nu, rtol=1e-12)
    a_big = np.array([1e50, -1e51])
    b_mid = np.array([0.3, 30.0])
    ms, vs = numeric.get_family("anchored_outside").steady(a_big, b_mid)
    mr, vr = oa.moments_anchored_outside(a_big / 1e40, b_mid)  # v ~ 1/a^2: scale back
    assert np.allclose(ms, mr) and np.allclose(vs * 1e80, vr, rtol=1e-12)


def test_registered_for_outside_and_close_to_exact():
    """model "anchored" takes placement="outside" (X-14) and is within the atlas's range of exact there."""
    assert "anchored" in numeric.placement_models("outside")
    p = numeric.Problem([1.0, -0.5, 0.2], [2.0, 1.0, 0.5], [2.0, 1.0, 3.0], 0.1, placement="outside")
    B = np.array([1.0, 16.0, 256.0, 4096.0])
    ratio = numeric.eta_star(B, p, model="anchored") / numeric.eta_star(B, p, model="exact")
    assert np.all(np.abs(ratio - 1) < 0.35)
    # not the inside model under another name: at the same eps the inside anchored differs
    inside = numeric.Problem(p.g, p.sigma, p.H, 0.1)
    assert np.max(np.abs(numeric.eta_star(B, inside, model="anchored") / numeric.eta_star(B, p, model="anchored") - 1)) > 0.01
    # eps -> oo and B_FAR: finite, positive
    huge = numeric.Problem([1.0], [1.0], [1.0], 1e10, placement="outside")
    assert np.all(numeric.eta_star([1e-300, 1.0, 1e300], huge, model="anchored") > 0)


LARGE_B = [(a, b) for a in ("-3", "0", "1", "8") for b in ("5", "100", "1e5")]


def test_large_b_series_within_the_stated_bound():
    for A, B in LARGE_B:
        with mp.workdps(30):
            m, s2 = float(reference.outside_mean(A, B)), float(reference.outside_second_moment(A, B))
        a, b = float(A), float(B)
        bound_m, bound_s = series.outside_large_b_bounds(a, b)
        assert abs(series.mean_outside_large_b(a, b) - m) <= bound_m + 1e-15 * abs(m), (A, B)
        assert abs(series.second_moment_outside_large_b(a, b) - s2) <= bound_s + 1e-15 * s2, (A, B)


def test_large_b_bound_is_not_vacuous():
    """The bound is within a factor 10 of the error at (1, 100), and the 3-term series (negative control) exceeds it."""
    a, b = 1.0, 100.0
    with mp.workdps(30):
        m = float(reference.outside_mean("1", "100"))
        fourth = float(reference.outside_power_moment("1", 4, 1)) / b**4  # E[x|x|^3]/b^4, the series' 4th term
    err = abs(series.mean_outside_large_b(a, b) - m)
    bound = series.outside_large_b_bounds(a, b)[0]
    assert bound / 10 < err <= bound
    three_terms = series.mean_outside_large_b(a, b) + fourth  # (-1)^3 E[x|x|^3]/b^4 taken back out
    assert abs(three_terms - m) > 10 * bound


SMALL_B = [(a, b) for a in ("-1.3", "0", "1", "2.5", "6") for b in ("1e-3", "1e-4", "1e-8")]


def test_small_b_mean_within_the_stated_bound():
    for A, B in SMALL_B:
        with mp.workdps(30):
            m = float(reference.outside_mean(A, B))
        b = float(B)
        assert abs(series.mean_outside_small_b(float(A), b) - m) <= b * b * math.log(1 / b) + 2e-16, (A, B)


def test_small_b_second_moment_within_the_stated_bound_and_where_it_fails():
    for A, B in SMALL_B:
        b = float(B)
        if b > 1e-4:
            continue
        with mp.workdps(30):
            deficit = 1 - float(reference.outside_second_moment(A, B))
        got = 1 - series.second_moment_outside_small_b(float(A), b)
        relative = abs(got - deficit) / deficit
        if abs(float(A)) <= 1.5:
            assert relative <= 1 / math.log(1 / b), (A, B, relative)
        elif float(A) == 6:  # outside the stated domain the leading term is no approximation (negative control)
            assert relative > 0.9


def test_input_contract():
    with pytest.raises(ValueError, match="^b must be > 0"):
        series.mean_outside_large_b(1.0, 0.0)
    with pytest.raises(ValueError, match="^b must be < 1"):
        series.second_moment_outside_small_b(1.0, 2.0)
    with pytest.raises(ValueError, match="^a contains NaN"):
        series.mean_outside_small_b(float("nan"), 0.1)
    with pytest.raises(TypeError, match="^b must hold real numbers"):
        series.k0_outside("1")
    assert series.second_moment_outside_small_b(0.3, 0.0) == 1.0
    assert series.k0_outside(0.0) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-15)
    assert isinstance(series.s0_outside(1.0), float) and series.s0_outside([1.0, 2.0]).shape == (2,)
    assert _far.B_FAR > oa.B_SWITCH
