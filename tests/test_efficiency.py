"""numeric.b_noise and numeric.dl_max (the efficiency law with eps, X-20 .. X-27): against the derived
expressions, against loss_decrease, in the eps limits, and their input contract."""

import doctest
import math

import numpy as np
import pytest
import sympy as sp

import softsign_scaling.numeric.efficiency as efficiency
from softsign_scaling import numeric
from softsign_scaling.numeric import Problem
from softsign_scaling.symbols import G_nu, S_nu, T_H, kappa2

PROBLEMS = {
    "two, coupled": Problem([1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]], 0.1),
    "three, surge": Problem([1.0, 1.0, 1.0], [1.0] * 3, [[1, .9, .9], [.9, 1, .9], [.9, .9, 1]], 0.0),
    "four, diagonal": Problem([0.3, -2.0, 0.01, 1.0], [1.0, 0.5, 3.0, 2.0], [1.0, 4.0, 0.5, 2.0], 0.7),
    "one": Problem([1.0], [1.0], [1.0], 1.0),
}


def test_module_doctests():
    failures, tried = doctest.testmod(efficiency, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried >= 5 and failures == 0


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("kind", ("mean", "harmonic"))
def test_mean_field_is_x21_closed_form(derivation, name, kind):
    """b_noise and dl_max of the mean field are X-21's (dL_max, B_noise), evaluated from the derived expressions."""
    p = PROBLEMS[name]
    dl, noise = (sp.lambdify((G_nu, S_nu, T_H, kappa2), v) for v in derivation["X-21"].result)
    args = (p.G_nu, p.S_nu, p.T_H, p.kappa2(kind))
    assert numeric.b_noise(p, model="mean_field", kappa2=kind) == pytest.approx(noise(*args), rel=1e-14)
    assert numeric.dl_max(p, model="mean_field", kappa2=kind) == pytest.approx(dl(*args), rel=1e-14)


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("model", ("mean_field", "mean_field_bsimple"))
def test_mean_field_decrease_is_exactly_saturating(name, model):
    """X-20: loss_decrease(B) == dl_max/(1 + b_noise/B) for every B, and the half-saturation search finds b_noise."""
    p = PROBLEMS[name]
    B = np.geomspace(1e-3, 1e5, 41)
    top, noise = numeric.dl_max(p, model=model), numeric.b_noise(p, model=model)
    np.testing.assert_allclose(numeric.loss_decrease(B, p, model=model), top / (1 + noise / B), rtol=1e-13)
    found = efficiency._half_saturation(lambda b: numeric.loss_decrease(b, p, model=model) / top, p, model)
    assert found == pytest.approx(noise, rel=1e-9)


@pytest.mark.parametrize("name", PROBLEMS)
def test_exact_half_saturation(name):
    """The exact model's b_noise is where loss_decrease is half of dl_max; its saturating form is NOT exact
    (negative control: the same comparison as the mean field's fails by more than 1e-3 somewhere)."""
    p = PROBLEMS[name]
    top, noise = numeric.dl_max(p, model="exact"), numeric.b_noise(p, model="exact")
    assert float(numeric.loss_decrease(noise, p, model="exact")) == pytest.approx(top / 2, rel=1e-9)
    assert float(numeric.loss_decrease(noise / 1.01, p, model="exact")) < top / 2  # the smallest such B
    B = np.geomspace(noise / 100, noise * 100, 41)
    misfit = np.abs(numeric.loss_decrease(B, p, model="exact") / (top / (1 + noise / B)) - 1).max()
    assert misfit > 1e-3


def test_dl_max_is_the_same_for_models_with_the_softsign_limit():
    """At B = oo the update is nu: exact, approx, anchored and the mean field agree (X-21's dL_max is exact)."""
    for p in PROBLEMS.values():
        values = [numeric.dl_max(p, model=m) for m in ("exact", "approx", "anchored", "mean_field")]
        assert max(values) == pytest.approx(min(values), rel=1e-13)


def test_eps_to_zero_is_signsgd():
    """X-23: at eps = 0 the mean field's B_noise is pi kappa^2 T/(2 (T + U)), dL_max (sum|g|)^2/(2 (T + U))."""
    g, H = np.array([1.0, -0.5, 2.0]), np.array([[2.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 3.0]])
    p = Problem(g, [1.0, 2.0, 0.5], H, 0.0)
    s = np.sign(g)
    T, U = np.trace(H), s @ H @ s - np.trace(H)
    assert numeric.b_noise(p, kappa2=0.7) == pytest.approx(math.pi * 0.7 * T / (2 * (T + U)), rel=1e-14)
    assert numeric.dl_max(p) == pytest.approx(np.abs(g).sum() ** 2 / (2 * (T + U)), rel=1e-14)


def test_eps_to_infinity():
    """X-25: as eps -> oo the mean field's B_noise -> pi mean(sigma^2) T/(2 g^T H g) (E-18's pi/2), the exact
    model's -> tr(Sigma H)/g^T H g (P-12, SGD's); both are finite in SGD units at eps = 1e200."""
    p_far = {eps: Problem([1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]], eps) for eps in (1e4, 1e200)}
    gg, gHg, trSH = p_far[1e4].sgd_terms
    mean_sigma2 = (4.0 + 1.0) / 2
    for p in p_far.values():
        assert numeric.b_noise(p) == pytest.approx(math.pi * mean_sigma2 * p.T_H / (2 * gHg), rel=1e-7)
        assert numeric.b_noise(p, model="exact") == pytest.approx(trSH / gHg, rel=1e-6)


def test_one_component_dip_matches_the_derivation():
    """X-27: the exact model's b_noise at eps = 0 is 2 erfinv(1/sqrt2)^2, at eps = |g| the section's quadrature
    value (about 0.8535), and the mean field's is pi/2 at every eps."""
    from softsign_scaling.sections.efficiency import exact_half_batch

    zero = Problem([1.0], [1.0], [1.0], 0.0)
    assert numeric.b_noise(zero, model="exact") == pytest.approx(2 * float(sp.erfinv(1 / sp.sqrt(2))) ** 2, rel=1e-9)
    at_one = numeric.b_noise(Problem([1.0], [1.0], [1.0], 1.0), model="exact")
    assert at_one == pytest.approx(float(exact_half_batch("1")), rel=1e-8)
    assert at_one < 0.86 < 1.0  # below both ends: the dip of finding b-noise-dip
    for eps in (0.0, 0.3, 10.0):
        assert numeric.b_noise(Problem([1.0], [1.0], [1.0], eps)) == pytest.approx(math.pi / 2, rel=1e-14)


def test_momentum_in_real_batch_size():
    p = PROBLEMS["two, coupled"]
    with_momentum = Problem(p.g, p.sigma, p.H, p.eps, beta1=0.5)
    assert numeric.b_noise(with_momentum) == pytest.approx(numeric.b_noise(p) / 3, rel=1e-14)
    top = numeric.dl_max(with_momentum)
    found = efficiency._half_saturation(lambda b: numeric.loss_decrease(b, with_momentum, model="mean_field") / top,
                                        with_momentum, "mean_field")
    assert found == pytest.approx(numeric.b_noise(with_momentum), rel=1e-9)


def test_outside_placement():
    """The exact model supports eps outside the root; the mean field refuses it with one line."""
    p = Problem([1.0, -0.5], [2.0, 1.0], [[2.0, 0.3], [0.3, 1.0]], 0.1, placement="outside")
    assert 0 < numeric.b_noise(p, model="exact") < math.inf
    with pytest.raises(ValueError, match="does not support placement='outside'") as error:
        numeric.b_noise(p)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("call, message", [
    (lambda: numeric.b_noise([1.0], [-1.0], [1.0], 0.1), "sigma"),
    (lambda: numeric.b_noise([1.0], [1.0], [1.0], -0.1), "eps must be >= 0"),
    (lambda: numeric.b_noise([1.0], [1.0], [1.0], float("nan")), "eps"),
    (lambda: numeric.b_noise([1.0], [1.0], [1.0]), "eps is missing"),
    (lambda: numeric.b_noise(PROBLEMS["one"], model="nope"), "nope"),
    (lambda: numeric.b_noise(PROBLEMS["one"], model="exact", kappa2="mean"), "kappa2 is not an option"),
    (lambda: numeric.b_noise(PROBLEMS["one"], kappa2="average"), "kappa2 must be one of"),
    (lambda: numeric.dl_max([0.0, 0.0], [1.0, 1.0], [1.0, 1.0], 0.1), "g is zero"),
    (lambda: numeric.dl_max(PROBLEMS["one"], 1.0), "must be omitted"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises((ValueError, TypeError, KeyError)) as error:
        call()
    text = str(error.value)
    assert message in text and "\n" not in text


EFFICIENCY_STEPS = tuple(f"X-{k}" for k in range(20, 28))


@pytest.mark.parametrize("label", EFFICIENCY_STEPS)
def test_every_check_reads_its_step(derivation, label):
    """No check of X-20 .. X-27 passes when the step's definition, result, printed form and extras are replaced
    by unrelated symbols (the predecessor's test, tests/test_predecessor.py, for this family)."""
    from softsign_scaling.checks.base import MatchesPrinted

    from test_predecessor import _passes_whatever_the_step_holds

    step = derivation[label]
    blind = [c.name for c in step.checks if not isinstance(c, MatchesPrinted) and _passes_whatever_the_step_holds(c, step)]
    assert not blind, f"{label}: {blind} pass whatever the step holds"
