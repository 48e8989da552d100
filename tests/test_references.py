"""The quadrature references agree with independent routes, and a perturbed reference fails verify's checks.

checks/reference.py computes each exact quantity by quadrature in z (the references every error
and identity check is measured against) and again by another route: E[clip] by an integral of erf,
E[clip^2] by a tail integral, the exact SoftSign mean by the s-integral of numeric/_quadrature.py
(reimplemented in mpmath), its second moment by the Faddeeva function.  A reference with a typo (eps^2
scaled by 1.5 in the mean, by 2 in the second moment, as the audit tried) must make a check fail.
"""

import mpmath as mp
import pytest

from softsign_scaling.checks import reference
from softsign_scaling.checks.base import ReferenceCrossCheck

POINTS = [("-2", "0.3"), ("0.7", "2"), ("5", "0.01")]


@pytest.mark.parametrize("name", sorted(reference.ROUTES))
def test_reference_agrees_with_its_independent_route(name):
    route = getattr(reference, reference.ROUTES[name])
    f = getattr(reference, name)
    with mp.workdps(20):
        for a, b in POINTS:
            args = (a,) if name == "sign_mean" else (a, b)
            assert abs(f(*args) - route(*args)) < mp.mpf(10) ** -16, (name, a, b)


def test_faddeeva_route_at_a_zero_is_a2_closed_form():
    with mp.workdps(30):
        for b in ("0.1", "1", "7"):
            bv = mp.mpf(b)
            closed = 1 - bv * mp.sqrt(mp.pi / 2) * mp.exp(bv**2 / 2) * mp.erfc(bv / mp.sqrt(2))
            assert abs(reference.softsign_second_moment_by_faddeeva(0, b) - closed) < mp.mpf(10) ** -28


def _cross_checks(derivation, name):
    found = [(step, check) for step in derivation.steps for check in step.checks
             if isinstance(check, ReferenceCrossCheck) and check.reference == name]
    assert found, f"no step cross-checks reference.{name}"
    return found


def _perturbed(formula):
    """A reference computed by quadrature in z, with a typo in its integrand."""
    def wrong(a, b):
        with mp.workdps(mp.mp.dps):
            a, b = mp.mpf(a), mp.mpf(b)
            return reference.gaussian_expectation(lambda t: formula(a + t, b), reference._softsign_cuts(a, b))
    return wrong


@pytest.mark.parametrize("name, typo", [
    ("softsign_mean", lambda x, b: x / mp.sqrt(x * x + mp.mpf("1.5") * b * b)),  # eps^2 scaled by 1.5
    ("softsign_second_moment", lambda x, b: x * x / (x * x + 2 * b * b)),  # eps^2 scaled by 2
])
def test_a_perturbed_reference_fails_verify(derivation, monkeypatch, name, typo):
    checks = _cross_checks(derivation, name)
    for step, check in checks:  # negative control: the true reference passes
        assert check.run(step).verdict == "pass"
    monkeypatch.setattr(reference, name, _perturbed(typo))
    verdicts = [check.run(step) for step, check in checks]
    assert all(r.verdict == "fail" for r in verdicts), [(r.label, r.name, r.detail) for r in verdicts]


def test_every_route_is_used_by_a_step(derivation):
    """The step-level cross-checks cover every reference that a step of this project's sections measures with."""
    used = {check.reference for step in derivation.steps for check in step.checks
            if isinstance(check, ReferenceCrossCheck)}
    assert {"clip_mean", "clip_second_moment", "softsign_mean", "softsign_second_moment"} <= used
