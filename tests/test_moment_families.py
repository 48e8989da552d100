"""Moment families (issue 24): one record per family, one dispatcher, one registration for a new family.

A toy family registered with one call reaches eta_star, the atlas's model tables, real.predict and the ``eta``
command; the public moments of every family come from the registry; the regime masks exist once
(numeric.families.regimes) and each regime takes the family's own form.
"""

from __future__ import annotations

import numpy as np
import pytest

from softsign_scaling import numeric
from softsign_scaling.numeric import families
from softsign_scaling.numeric.generated import limits

PROBLEM = numeric.Problem([1.0, -0.5, 0.3], [2.0, 1.0, 0.5], [[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 1.0]], 0.1)


def _toy(a, b):
    """E-9's mean halved, E-12's variance: a family no built-in equals."""
    return numeric.mean_approx(a, b) / 2, numeric.variance_approx(a, b)


def _toy_far(a, b):
    mu, nu = limits.far_approx(a, b)
    return mu / 2, nu


@pytest.fixture
def toy_family():
    # The one registration a user writes (the fixture only adds the clean-up).
    numeric.register_family(numeric.MomentFamily("toy", _toy, far=_toy_far, doc="E-9 halved: a toy family"))
    yield numeric.get_family("toy")
    numeric.unregister_family("toy")


def test_a_toy_family_is_one_registration_and_reaches_everything(toy_family, capsys):
    from softsign_scaling import cli
    from softsign_scaling.atlas import meanfield, surge
    from softsign_scaling.real.predict import prediction
    from test_real import synthetic

    # The family's public moments and its model.
    a, b = np.array([0.3, -2.0, 5.0]), np.array([0.1, 1.0, 3.0])
    np.testing.assert_array_equal(numeric.mean_toy(a, b), numeric.mean_approx(a, b) / 2)
    np.testing.assert_array_equal(numeric.variance_toy(a, b), numeric.variance_approx(a, b))
    assert numeric.mean_toy(3.0, 1e300) * 1e300 == pytest.approx(1.5, rel=1e-12)  # the far form, through the record
    assert "toy" in numeric.MODELS and "toy" in numeric.FAMILY_NAMES
    # eta_star: the plumbing (by hand from the toy's moments), and not the approx model's value.
    B = np.array([0.5, 8.0, 300.0])
    root = np.sqrt(B)[:, None]
    m, v = _toy(PROBLEM.g * root / PROBLEM.sigma, PROBLEM.eps * root / PROBLEM.sigma)
    num, den = m @ PROBLEM.g, np.einsum("ki,ij,kj->k", m, PROBLEM.dense, m) + v @ np.diag(PROBLEM.dense)
    np.testing.assert_allclose(numeric.eta_star(B, PROBLEM, model="toy"), num / den, rtol=1e-13)
    assert not np.allclose(numeric.eta_star(B, PROBLEM, model="toy"), numeric.eta_star(B, PROBLEM, model="approx"))
    # Huge eps: the model carries the toy's far form in SGD units.
    assert np.isfinite(numeric.eta_star(4.0, numeric.Problem([1.0], [1.0], [1.0], 1e80), model="toy"))
    # The atlas's model tables.
    assert "toy" in surge.models() and "toy" in meanfield.table_models()
    # real.predict.
    stats, _ = synthetic()
    found = prediction(stats, 0.01, [4.0, 64.0], surge=False)
    assert "toy" in found.models and np.all(np.isfinite(found.models["toy"].eta))
    # The eta command.
    assert cli.main(["eta", "--g", "1,-0.5", "--sigma", "2,1", "--H", "2,1", "--eps", "0.1", "--batch", "4"]) == 0
    assert "toy" in capsys.readouterr().out


def test_unregistering_a_family_removes_its_model_and_functions(toy_family):
    numeric.unregister_family("toy")
    try:
        assert "toy" not in numeric.MODELS and "toy" not in numeric.FAMILY_NAMES
        with pytest.raises(AttributeError):
            numeric.mean_toy  # noqa: B018
    finally:
        numeric.register_family(numeric.MomentFamily("toy", _toy))  # for the fixture's clean-up


def test_registry_refuses_bad_families(toy_family):
    with pytest.raises(ValueError, match="already registered"):
        numeric.register_family(numeric.MomentFamily("toy", _toy))
    with pytest.raises(ValueError, match="built in"):
        numeric.unregister_family("exact")
    with pytest.raises(TypeError, match="MomentFamily"):
        numeric.register_family(_toy)
    with pytest.raises(ValueError, match="identifier"):
        numeric.MomentFamily("no good", _toy)
    with pytest.raises(ValueError, match="placement='outside'"):
        numeric.register_family(numeric.MomentFamily("toy2", _toy), outside=numeric.MomentFamily("toy3", _toy))
    # A family without a large-b form: its model refuses huge eps in one line (no traceback, no NaN).
    numeric.register_family(numeric.MomentFamily("toy_near", _toy))
    try:
        with pytest.raises(ValueError, match="no large-b form"):
            numeric.eta_star(4.0, numeric.Problem([1.0], [1.0], [1.0], 1e80), model="toy_near")
        with pytest.raises(ValueError, match="no large-b form"):
            numeric.mean_toy_near(1.0, 1e60)
    finally:
        numeric.unregister_family("toy_near")


def test_every_built_in_family_gives_its_public_functions_and_its_models_moments():
    assert set(numeric.FAMILY_NAMES) >= {"exact", "clip", "approx", "outside", "anchored", "anchored_outside"}
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.standard_normal(50) * 4, [0.0, 1e55, -1e60]])
    b = np.concatenate([np.exp(rng.uniform(-8, 5, 50)), [0.0, 0.3, 1e-170]])
    for name in numeric.FAMILY_NAMES:
        family = numeric.get_family(name)
        m, v = getattr(numeric, f"moments_{name}")(a, b)
        # The public pair and the single moments agree with each other (families with their own single forms, e.g.
        # the outside quadrature against the outside tables, to the tables' accuracy; the rest bit for bit).
        own = family.mean is not None
        compare = (lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-300)) if own else \
            np.testing.assert_array_equal
        compare(getattr(numeric, f"mean_{name}")(a, b), m)
        compare(getattr(numeric, f"variance_{name}")(a, b), v)
        # Every model built on the family uses that family's dispatcher.
        for model_name in numeric.MODELS:
            model = numeric.get_model(model_name)
            if getattr(model, "family", None) is family:
                mm, vv = model.moments(a, b)
                np.testing.assert_array_equal(mm, m)
                np.testing.assert_array_equal(vv, v)


def test_regimes_are_one_mask_and_each_takes_its_own_form():
    a = np.array([0.5, 0.5, 2e50, 0.5, np.nan])
    b = np.array([0.3, 1e-160, 0.3, 1e50, 0.3])
    found = families.regimes(a, b, sign_at_zero=True)
    assert found.regular.tolist() == [True, False, False, False, True]
    assert found.zero.tolist() == [False, True, False, False, False]
    assert found.huge.tolist() == [False, False, True, False, False]
    assert found.far.tolist() == [False, False, False, True, False]
    assert families.regimes(a[:1], b[:1], True) is None  # all regular: no masks at all
    assert families.regimes(a[1:2], b[1:2], False) is None  # no b -> 0 form: the regular form serves at b = 1e-160
    # Each regime takes the family's own form: a family whose forms are labelled constants shows which ran.
    labelled = numeric.MomentFamily(
        "labelled", lambda x, y: (np.full(x.shape, 0.1), np.full(x.shape, 1.0)),
        far=lambda x, y: (np.full(x.shape, 3.0), np.zeros(x.shape)),
        steady=lambda x, y: (np.full(x.shape, 0.4), np.zeros(x.shape)), sign_at_zero=True)
    m, _ = labelled.pair(np.array([0.5, 0.0, 2e50, 2.0]), np.array([0.3, 1e-160, 0.3, 1e50]))
    assert m.tolist() == [0.1, 0.0, 0.4, (2.0 / 1e50) * 3.0]  # (a/b) mu


def test_the_identity_digest_sees_a_changed_form(monkeypatch):
    """Negative control for benchmarks/numeric_identity.py: a one-ulp change to one family's steady form changes the
    digest (the comparison that says every refactoring step was bit-identical can fail)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "numeric_identity.py"
    spec = importlib.util.spec_from_file_location("numeric_identity", path)
    identity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(identity)
    a, b = identity.ab_points(np.random.default_rng(identity.SEED))
    before = identity.moment_digests(a, b)
    clip = numeric.get_family("clip")

    def nudged(x, y):
        m, v = _far.steady_clip(x, y)
        return np.nextafter(m, 0.0), v

    monkeypatch.setitem(families.FAMILIES, "clip", families.MomentFamily(
        "clip", clip.moments, far=clip.far, steady=nudged, sign_at_zero=True, mean=clip.mean,
        second_moment=clip.second_moment, variance=clip.variance))
    after = identity.moment_digests(a, b)
    changed = {key for key in before if before[key] != after.get(key)}
    assert "mean_clip(grid)" in changed and "mean_exact(grid)" not in changed


def test_near_mean_is_the_pairs_mean_bit_for_bit_in_every_regime():
    """The mean-only route (families with ``fast_mean``: one fitted table instead of two) gives the bits of the pair's
    mean on regular, b -> 0 and large-|a| points; a family without one falls back to the pair.  Negative control: a
    fast_mean one ulp off is seen."""
    rng = np.random.default_rng(5)
    a = np.concatenate([rng.standard_normal(400) * 4, [0.0, 3.0, 1e55, -1e60]])
    b = np.concatenate([np.exp(rng.uniform(-30, 12, 400)), [1e-170, 1e-160, 0.3, 2.0]])
    for name in numeric.FAMILY_NAMES:
        family = numeric.get_family(name)
        np.testing.assert_array_equal(family.near_mean(a, b), family.near(a, b)[0])
    assert numeric.get_family("exact").fast_mean is not None and numeric.get_family("outside").fast_mean is not None
    from dataclasses import replace

    exact = numeric.get_family("exact")
    off = replace(exact, name="off", fast_mean=lambda x, y: np.nextafter(exact.fast_mean(x, y), 2.0))
    assert not np.array_equal(off.near_mean(a, b), exact.near(a, b)[0])


@pytest.mark.parametrize("placement", ["inside", "outside"])
def test_eta_star_and_decrease_is_both_calls_bit_for_bit(placement):
    """numeric.eta_star_and_decrease (one evaluation of the terms, what real.predict calls) equals eta_star and
    loss_decrease for every registered model that takes the placement, B = 1 .. oo."""
    B = np.array([1.0, 7.0, 64.0, np.inf])
    problem = numeric.Problem(PROBLEM.g, PROBLEM.sigma, PROBLEM.dense, 0.1, placement=placement)
    for name in numeric.placement_models(placement):
        eta, decrease = numeric.eta_star_and_decrease(B, problem, model=name)
        np.testing.assert_array_equal(eta, numeric.eta_star(B, problem, model=name), err_msg=name)
        np.testing.assert_array_equal(decrease, numeric.loss_decrease(B, problem, model=name), err_msg=name)
