"""E-13 and E-14 are derived from the earlier steps, not typed in (issue 8, item 2).

Each builder is rerun on a derivation whose earlier step was changed: the change must come
through, so no shape of E-13 or E-14 can be fixed in the code.
"""

import pytest
import sympy as sp

from softsign_scaling.sections import results, second_moment
from softsign_scaling.steps import Derivation
from softsign_scaling.symbols import G_nu, S_nu, T_H, a, b, beta

nu_i, nu_j, d_ij = sp.symbols("nu_i nu_j delta_ij", real=True)


def _replaced(derivation, label, result):
    return Derivation(tuple(s.with_result(result) if s.label == label else s for s in derivation.steps))


def test_e13_follows_e12(derivation):
    # E-12 with the deficit halved: E-13's diagonal (and covariance) follows
    e12 = derivation["E-12"]
    changed = _replaced(derivation, "E-12", 1 - (1 - e12.result) / 2)
    e13 = second_moment._e13(changed)
    assert sp.simplify(e13.result - (nu_i * nu_j * beta**2 + d_ij * (1 - (1 - nu_i**2) * beta**2 / 2
                                                                     - nu_i**2 * beta**2))) == 0


def test_e13_follows_e10(derivation):
    e10 = derivation["E-10"]
    mean_field = e10.extra("mean field")
    changed_e10 = e10.__class__(**{**e10.__dict__, "extras": tuple(
        (k, 2 * v if k == "mean field" else v) for k, v in e10.extras)})
    changed = Derivation(tuple(changed_e10 if s.label == "E-10" else s for s in derivation.steps))
    e13 = second_moment._e13(changed)
    assert mean_field != changed_e10.extra("mean field")
    assert sp.expand(e13.result.subs(d_ij, 0) - 4 * nu_i * nu_j * beta**2) == 0


def test_e14_follows_e13(derivation):
    # E-13 with the covariance halved: E-14's denominator follows
    changed = _replaced(derivation, "E-13", nu_i * nu_j * beta**2 + d_ij * (1 - beta**2) / 2)
    e14 = results._e14(changed)
    assert sp.simplify(e14.result - beta * G_nu / (beta**2 * S_nu + (1 - beta**2) * T_H / 2)) == 0


def test_e14_refuses_moments_the_aggregates_cannot_express(derivation):
    # a diagonal with nu_i^4: sum nu_i^4 H_ii is none of G_nu, S_nu, T_H
    changed = _replaced(derivation, "E-13", nu_i * nu_j * beta**2 + d_ij * (1 - beta**2 + nu_i**4))
    with pytest.raises(ArithmeticError, match="not a combination of the aggregates"):
        results._e14(changed)


def test_e14_checks_catch_a_wrong_result(derivation):
    step = derivation["E-14"]
    wrong = step.with_result(beta * G_nu / (beta**2 * S_nu + (1 - beta**2) * T_H / 2))
    for check in step.checks:
        if "at n =" in check.name:
            assert check.run(step).verdict == "pass"
            assert check.run(wrong).verdict == "fail"


def test_e18_claim_is_computed_not_fixed(derivation):
    """The E-18 claim holds for the exact model's limit and is refuted for the article's E-18."""
    e18 = derivation["E-18"]
    claim = next(c for c in e18.checks if getattr(c, "finding", None) == "e18-pi-over-2")
    gg, gHg, s2, B = (sp.Symbol(n, positive=True) for n in ("gg", "gHg", "sigma2_bar", "B"))
    exact = e18.with_result(gg / (gHg + s2 * T_H / B))
    assert claim.test(e18).holds is False
    assert claim.test(exact).holds is True
    assert claim.run(exact).verdict == "fail"  # the recorded finding would be lost: verify fails
    assert "pi/2" in claim.test(e18).evidence
