"""eps outside the root: numeric.mean_outside / second_moment_outside / variance_outside against mpmath, and
eta_star for Problem(placement="outside") (steps X-1 .. X-8)."""

import math

import mpmath as mp
import numpy as np
import pytest

from softsign_scaling import numeric
from softsign_scaling.checks import reference

# (a, b) spanning the kink regime (small b), the far tail (a >= 18), large b and the b -> 0 / oo limits.
POINTS = [("0", "1e-6"), ("1e-8", "0.5"), ("0.3", "1e-12"), ("1", "1"), ("-2.5", "0.01"), ("8", "3"),
          ("17.9", "1e-6"), ("18.1", "0.2"), ("-30", "40"), ("1e3", "1e3"), ("0.01", "1e8"), ("2", "1e-100")]
TOL = 1e-12


def _references(a: str, b: str):
    with mp.workdps(40):
        A, Bb = mp.mpf(a), mp.mpf(b)
        m = reference.outside_mean(a, b)
        s2 = reference.outside_second_moment(a, b)
        v = reference.gaussian_expectation(lambda z: ((A + z) / (abs(A + z) + Bb) - m) ** 2,
                                           reference._softsign_cuts(A, Bb))
    return float(m), float(s2), float(v)


@pytest.fixture(scope="module")
def refs():
    return {p: _references(*p) for p in POINTS}


def _rel(got, want):
    """Relative error; absolute below 1e-40, the references' precision (the mean at a = 0 is 0)."""
    return abs(got - want) / abs(want) if abs(want) > 1e-40 else abs(got - want)


def test_moments_match_mpmath(refs):
    a = np.array([float(p[0]) for p in POINTS])
    b = np.array([float(p[1]) for p in POINTS])
    got = (numeric.mean_outside(a, b), numeric.second_moment_outside(a, b), numeric.variance_outside(a, b))
    worst = 0.0
    for k, p in enumerate(POINTS):
        for j, name in enumerate(("mean", "second moment", "variance")):
            err = _rel(got[j][k], refs[p][j])
            worst = max(worst, err)
            assert err < TOL, f"{name} at (a, b) = {p}: {got[j][k]!r} vs {refs[p][j]!r} (relative {err:.2e})"


def test_negative_control_inside_moments_fail_the_same_test(refs):
    """The test above can fail: the inside-root moments are not the outside ones."""
    misses = [p for p in POINTS if _rel(numeric.mean_exact(float(p[0]), float(p[1])), refs[p][0]) > TOL]
    assert len(misses) >= len(POINTS) // 2


def test_one_point_gives_the_same_bits_alone_and_in_an_array():
    a = np.array([float(p[0]) for p in POINTS])
    b = np.array([float(p[1]) for p in POINTS])
    together = numeric.variance_outside(a, b)
    alone = [numeric.variance_outside(x, y) for x, y in zip(a, b)]
    assert together.tolist() == alone


def test_limits_and_input_contract():
    assert numeric.mean_outside(1.0, 0.0) == pytest.approx(math.erf(1 / math.sqrt(2)), rel=1e-15)  # b = 0: sign
    assert numeric.mean_outside(3.0, 1e60) == pytest.approx(3e-60, rel=1e-12)  # far: a/b
    assert numeric.mean_outside(-1e60, 1.0) == -1.0 + 1e-60 or numeric.mean_outside(-1e60, 1.0) == -1.0
    with pytest.raises(ValueError, match="b"):
        numeric.mean_outside(1.0, -1.0)
    with pytest.raises(ValueError):
        numeric.variance_outside(float("nan"), 1.0)


G, SIGMA, H = [1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]


def test_default_placement_is_inside_and_bit_identical():
    B = np.array([1.0, 64.0, np.inf])
    for model in numeric.MODELS:
        default = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, 0.1), model=model)
        inside = numeric.eta_star(B, numeric.Problem(G, SIGMA, H, 0.1, placement="inside"), model=model)
        assert default.tolist() == inside.tolist()


def test_outside_placement_models():
    p_out = numeric.Problem(G, SIGMA, H, 0.1, placement="outside")
    p_in = numeric.Problem(G, SIGMA, H, 0.1)
    B = np.array([1.0, 64.0, np.inf])
    assert numeric.placement_models("outside") == ("exact", "clip", "anchored")  # anchored: X-12 .. X-15
    # the clip layer is shared: the same eta* for both placements
    assert numeric.eta_star(B, p_out, model="clip").tolist() == numeric.eta_star(B, p_in, model="clip").tolist()
    exact_out = numeric.eta_star(B, p_out, model="exact")
    assert np.all(exact_out > numeric.eta_star(B, p_in, model="exact"))  # |x| + eps >= sqrt(x^2 + eps^2)
    # B = oo: the deterministic update g/(|g| + eps) in E-5
    m = np.array(G) / (np.abs(G) + 0.1)
    Hm = np.array(H)
    assert exact_out[-1] == pytest.approx(float(m @ G) / float(m @ Hm @ m), rel=1e-14)
    for model in ("approx", "mean_field", "mean_field_bsimple"):
        with pytest.raises(ValueError, match="does not support placement='outside'"):
            numeric.eta_star(64, p_out, model=model)
    with pytest.raises(ValueError, match="placement must be one of"):
        numeric.Problem(G, SIGMA, H, 0.1, placement="middle")


def test_large_eps_is_sgd_with_lr_over_eps():
    """X-8: eta*/eps -> P-10 with Sigma/B for both placements; the outside one converges like 1/eps."""
    sgd = numeric.eta_star_sgd(64, G, SIGMA, H)
    for eps in (1e4, 1e6):
        for placement in ("inside", "outside"):
            value = numeric.eta_star(64, numeric.Problem(G, SIGMA, H, eps, placement=placement), model="exact") / eps
            assert value == pytest.approx(sgd, rel=10 / eps)
