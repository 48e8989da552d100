"""The predecessor article's steps (P-9 .. P-35): present, checked, and checks that can fail."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from softsign_scaling.checks.base import ApproximationError, MatchesPrinted, SupError1D
from softsign_scaling.symbols import g, gg

LABELS = {
    "sgd": ("P-9", "P-10", "P-11", "P-12", "P-13", "P-14", "P-15"),
    "signsgd": ("P-17", "P-18", "P-19", "P-20", "P-21", "P-22", "P-23", "P-24", "P-25", "P-26", "P-27", "P-28",
                "P-29", "P-31", "P-32", "P-33", "P-34", "P-35"),
}
OURS = tuple(label for labels in LABELS.values() for label in labels)


@pytest.fixture(scope="module")
def results(verified):
    """The predecessor steps' check results, from the suite's one verify run (tests/conftest.py)."""
    return [result for result in verified if result.label in OURS]


@pytest.mark.parametrize("section", sorted(LABELS))
def test_every_step_exists_in_order(derivation, section):
    assert [step.label for step in derivation.section(section)] == list(LABELS[section])


@pytest.mark.parametrize("label", OURS)
def test_every_step_is_complete(derivation, label):
    step = derivation[label]
    assert step.statement and step.relation.meaning and step.printed is not None
    assert any(isinstance(check, MatchesPrinted) for check in step.checks)
    if step.relation.kind == "approximation":
        assert any(isinstance(check, (ApproximationError, SupError1D)) for check in step.checks)
    assert set(step.depends) <= set(derivation.labels)


def test_every_check_passes_or_is_a_documented_refutation(results):
    bad = [r for r in results
           if not (r.verdict == "pass" or (r.verdict == "refuted" and r.kind == "claim" and r.detail))]
    assert not bad, [(r.label, r.name, r.verdict, r.detail) for r in bad]


def test_numeric_checks_use_at_least_50_points(results):
    assert all(r.points is None or r.points >= 50 for r in results if r.method == "numeric")


@pytest.mark.parametrize("label, symbol", [("P-10", gg), ("P-19", g)])
def test_a_tiny_perturbation_fails_matches_printed(derivation, label, symbol):
    step = derivation[label]
    (check,) = [c for c in step.checks if isinstance(c, MatchesPrinted)]
    assert check.run(step).verdict == "pass"
    perturbed = step.with_result(step.result + sp.Rational(1, 10**20) * symbol)
    assert check.run(perturbed).verdict == "fail"


@pytest.mark.parametrize("label, check_type", [("P-18", SupError1D), ("P-27", ApproximationError)])
def test_acceptance_bounds_sit_just_above_the_measured_error(derivation, label, check_type):
    step = derivation[label]
    (check,) = [c for c in step.checks if isinstance(c, check_type)]
    measured = check.run(step).max_abs_error
    assert 0.9 * check.bound < measured <= check.bound
    assert dataclasses.replace(check, bound=0.99 * measured).run(step).verdict == "fail"


def test_p20_off_diagonal_is_exact_not_approximate(derivation):
    # The article's "~=" for E[sign_i sign_j] is an equality under independent components.
    assert derivation["P-20"].relation.kind == "identity"
