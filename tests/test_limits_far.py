"""The far forms derived in issue 24's last part: clip's (L-7: the lower corner dropped, with its t -> +-oo limits;
L-8: |a| -> oo) and the anchored outside model's in SGD units (L-9); their checks' power (each fails on a wrong form),
the generated forms' proofs (a wrong printed form fails generation), and the runtime against exact moments."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from softsign_scaling.checks import reference
from softsign_scaling.checks.base import Claim, LimitValue, ZeroIdentity
from softsign_scaling.numeric import _far
from softsign_scaling.numeric import anchored_outside as ao
from softsign_scaling.numeric.generated import limits
from softsign_scaling.sections.limits import A, PHI_T, Q_T, TC


def _verdicts(step, kinds=(Claim, ZeroIdentity, LimitValue)) -> dict[str, str]:
    return {check.name: check.run(step).verdict for check in step.checks if isinstance(check, kinds)}


def test_l7_checks_pass_and_a_wrong_form_fails_them(derivation):
    """The step passes every check; with E[min(z, t)]'s phi(t) added instead of subtracted (a sign slip in the
    integral), or nu's Var written as E[min^2] (the square of the mean forgotten), the numeric comparison with the
    exact clip moments and the identity by another route fail."""
    step = derivation["L-7"]
    assert set(_verdicts(step).values()) == {"pass"}
    second = (1 - Q_T) - TC * PHI_T + TC**2 * Q_T
    for wrong in (sp.Tuple(1 + (TC * Q_T + PHI_T) / A, step.result[1]), sp.Tuple(step.result[0], second)):
        verdicts = _verdicts(step.with_result(wrong), kinds=(Claim, ZeroIdentity))
        failed = [name for name, verdict in verdicts.items() if verdict == "fail"]
        assert any(name.startswith("against the exact clip moments") for name in failed), verdicts
        assert any(name.startswith("by another route") for name in failed), verdicts


def test_l7_bound_is_measured_not_vacuous(derivation):
    """nu's stated bound holds at the check's points and is within a factor 4 of the measured gap (a bound 1e6 times
    too loose would let a mutant of nu through); a bound a tenth as large fails the check (negative control)."""
    step = derivation["L-7"]
    (check,) = [c for c in step.checks if isinstance(c, Claim) and c.name.startswith("against the exact clip")]
    outcome = check.run(step)
    assert outcome.verdict == "pass"
    ratio = float(outcome.detail.split("worst |nu gap|/bound ")[1].split(";")[0])
    assert 0.25 < ratio <= 1
    from softsign_scaling.sections import limits as section

    tight = section._clip_far_check({"L": step.extra("mu lower corner") * A}, step.extra("nu bound") / 10)
    assert tight.run(step).verdict == "fail"


def test_l7_flat_regimes_fail_on_a_wrong_limit(derivation):
    """The runtime's |t| > T_FLAT regimes take (1, 1) and (b/|a|, 0); the check at t = +-T_FLAT fails when the form's
    mu is off by 1e-3 (it would then not reach its limit there)."""
    step = derivation["L-7"]
    (check,) = [c for c in step.checks if isinstance(c, Claim) and c.name.startswith("the runtime's regimes")]
    assert check.run(step).verdict == "pass"
    assert check.run(step.with_result(sp.Tuple(step.result[0] * sp.Rational(1001, 1000), step.result[1]))).verdict \
        == "fail"
    assert limits.T_FLAT == 40.0


def test_l8_checks_pass_and_a_wrong_form_fails_them(derivation):
    step = derivation["L-8"]
    assert set(_verdicts(step).values()) == {"pass"}
    a = sp.Symbol("a", real=True)
    for wrong in (sp.Tuple(sp.sign(a) * sp.Rational(999, 1000), 0), sp.Tuple(sp.sign(a), sp.Rational(1, 100))):
        assert "fail" in _verdicts(step.with_result(wrong), kinds=(Claim,)).values()


def test_generated_clip_forms_are_proved_and_a_wrong_one_fails_generation(derivation, monkeypatch):
    from softsign_scaling.codegen import limits_code as lc

    lc.prove(derivation)
    label, doc, assignments, outputs = lc.FORMS["far_clip"]
    wrong_first = [(name, value) if name != lc.first else (name, sp.Add(lc._mul(lc.t_, lc.tail), lc.density,
                                                                        evaluate=False))
                   for name, value in assignments]
    for wrong in ({"far_clip": (label, doc, wrong_first, outputs)},
                  {"far_clip_below": ("L-7 t -> -oo", "", [], (sp.Integer(1), sp.Integer(0)))},
                  {"steady_clip": ("L-8", "", [], (sp.sign(lc.a), sp.Rational(1, 2)))}):
        monkeypatch.setattr(lc, "FORMS", {**lc.FORMS, **wrong})
        with pytest.raises(ArithmeticError, match="is not its result"):
            lc.prove(derivation)


def test_runtime_clip_far_form_against_the_exact_moments():
    """numeric's clip far form (the generated L-7 and its limits) against the exact clip moments by mpmath quadrature
    at points where the lower corner is negligible (s = |a| + b >= 9: its terms < 1e-18); a negative control: the
    moments without the square of the mean miss."""
    a = np.array([2.0, -6.0, 1.0, 30.0, 0.5, 50.0])
    b = np.array([7.0, 3.0, 8.0, 9.0, 45.0, 5.0])  # t = 5, -3, 7, -21, 44.5 (above), -45 (below)
    mu, nu = _far.clip(a, b)
    nu_wrong = nu + ((mu - 1) * np.abs(a)) ** 2  # E[min(z, t)^2]: the mean's square not subtracted
    with mp.workdps(30):
        for k in range(a.size):
            A_, B_ = mp.mpf(abs(a[k])), mp.mpf(b[k])
            m = reference.clip_mean(A_, B_)
            v = reference.clip_second_moment(A_, B_) - m * m
            assert float(mu[k]) == pytest.approx(float(B_ / A_ * m), rel=1e-13)
            assert float(nu[k]) == pytest.approx(float(B_ * B_ * v), rel=1e-9, abs=1e-300)
            if k == 1:  # t = -3
                assert float(nu_wrong[k]) != pytest.approx(float(B_ * B_ * v), rel=1e-3)
    m_steady, v_steady = _far.steady_clip(np.array([1e50, -3e60]), np.array([9.9e49, 1.0]))
    assert m_steady.tolist() == [1.0, -1.0] and v_steady.tolist() == [0.0, 0.0]


def test_l9_checks_pass_and_a_wrong_form_fails_them(derivation):
    """L-9 against X-14 with the closed anchors: passes; with p's pi/2 dropped (1 + w^2) or the cross term r^2 C
    written r^2 cb (C/b for C), the comparison fails."""
    from softsign_scaling.sections.limits import BK0, CB, S0B2, r

    step = derivation["L-9"]
    assert set(_verdicts(step).values()) == {"pass"}
    w = sp.Symbol("w", positive=True)
    mu = BK0 / sp.sqrt((r * BK0) ** 2 + 1)
    for p, cross in ((1 + w**2, r**2 * CB / w), (1 + sp.pi / 2 * w**2, r**2 * CB)):
        nu = (cross + S0B2 * p / BK0**2) / ((r**2 + p) * (r**2 + 1 / BK0**2))
        verdicts = _verdicts(step.with_result(sp.Tuple(mu, nu)), kinds=(Claim,))
        assert "fail" in verdicts.values(), verdicts


def test_generated_anchored_outside_form_is_proved_and_a_wrong_one_fails(derivation, monkeypatch):
    from softsign_scaling.codegen import limits_code as lc

    label, doc, assignments, outputs, arguments = lc.FORMS["far_anchored_outside"]
    wrong_p = [(name, value) if name != lc.p_ else (name, sp.Add(1, lc._mul(lc.w_, lc.w_), evaluate=False))
               for name, value in assignments]
    monkeypatch.setattr(lc, "FORMS", {**lc.FORMS, "far_anchored_outside": (label, doc, wrong_p, outputs, arguments)})
    with pytest.raises(ArithmeticError, match="far_anchored_outside: the printed form of L-9"):
        lc.prove(derivation)


def test_runtime_anchored_outside_far_form_against_the_regular_form():
    """At b = 1e3 .. 1e8 (X-15's series range, b < B_FAR) the generated L-9 in SGD units gives the regular anchored
    outside moments (X-14 at X-15's anchors) to 1e-12; a negative control: the inside model's far form misses."""
    for b in (1e3, 1e5, 1e8):
        a = b * np.array([0.0, 1e-3, 0.5, -2.0, 30.0])
        bb = np.full(a.shape, b)
        m, v = ao.moments_anchored_outside(a, bb)
        mu, nu = ao.far_anchored_outside(a, bb)
        np.testing.assert_allclose((a / b) * mu, m, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(nu / b**2, v, rtol=1e-10, atol=0)
        assert not np.allclose(limits.far_anchored(a, bb)[1] / b**2, v, rtol=0.1, atol=0)


def test_anchored_outside_far_form_at_huge_r_is_finite():
    """At b >= 1e50 and |a/b| >~ 1e129, L-9's r^2 b overflows: the runtime takes the same moments divided through by
    r^2 (far_anchored_outside_wide), never NaN; where r^2 b does not overflow the first form serves unchanged (the
    wide form agrees with it there to rounding: the control that both print L-9)."""
    import numpy as np

    from softsign_scaling import numeric
    from softsign_scaling.numeric import anchored_outside as ao
    from softsign_scaling.numeric.generated import limits as forms

    a = np.array([1e200, -1e200, 1e180, 3e60])
    b = np.array([1e50, 1e50, 1e300, 1e60])
    variance = numeric.variance_anchored_outside(a, b)
    assert np.all(np.isfinite(variance)) and np.all(variance >= 0)
    assert np.all(np.isfinite(numeric.mean_anchored_outside(a, b)))
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(forms.far_anchored_outside(1e200, 1e50, 1.0, 1.0, 1.0)[1])  # the first form alone: NaN
    moderate_a, moderate_b = np.array([3e60, -2e55, 7e52]), np.array([1e60, 1e50, 1e50])
    w = 1.0 / moderate_b
    series = [ao.horner(coefficients, w) for coefficients in (ao._forms.BK0_SERIES, ao._forms.S0B2_SERIES,
                                                               ao._forms.C_OVER_B_SERIES)]
    first = forms.far_anchored_outside(moderate_a, moderate_b, *series)
    wide = forms.far_anchored_outside_wide(moderate_a, moderate_b, *series)
    np.testing.assert_allclose(wide, first, rtol=1e-14)
    assert ao.far_anchored_outside(moderate_a, moderate_b)[1].tobytes() == first[1].tobytes()


def test_a_cap_inside_the_clip_forms_range_fails_generation():
    """far_clip prints exp(-minimum(t^2, cap)/2); the proof reads minimum(t^2, cap) as t^2, true where the form
    serves (|t| <= T_FLAT = 40) only if cap >= T_FLAT^2 = 1600: a cap of 1000 must fail generation (control: 1e4)."""
    import sympy as sp

    from softsign_scaling.codegen.limits_code import _uncapped

    t = sp.Symbol("t")
    assert _uncapped(t**2, sp.Float(1e4)) == t**2
    with pytest.raises(ArithmeticError, match="caps"):
        _uncapped(t**2, sp.Float(1000.0))


def test_an_overflowing_moment_is_a_one_line_error_not_a_silent_inf():
    """At b ~ 1.7e308 the anchored outside model's SGD-unit nu (~ C ~ b) overflows: the public function says so
    (FloatingPointError, one line) instead of returning inf; the same call at b = 1e300 returns a finite value."""
    from softsign_scaling import numeric

    with pytest.raises(FloatingPointError, match="overflowed for finite input"):
        numeric.variance_anchored_outside(1.7e308, 1.7e308)
    assert 0.0 < numeric.variance_anchored_outside(1e300, 1e300) < 1.0
