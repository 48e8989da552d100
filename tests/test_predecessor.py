"""The predecessor article's steps (P-9 .. P-35): present, checked, and checks that can fail."""

from __future__ import annotations

import dataclasses
import math

import pytest
import sympy as sp

from softsign_scaling.checks.base import ApproximationError, MatchesPrinted, SupError1D
from softsign_scaling.checks.mutation import mutants, mutated
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


APPROXIMATION_CHECKED = ("E-3", "E-4", "P-18", "P-19", "P-24", "P-26", "P-27")


def _approximation_checks(step):
    return [c for c in step.checks if isinstance(c, (SupError1D, ApproximationError))]


@pytest.mark.parametrize("label", APPROXIMATION_CHECKED)
def test_acceptance_bounds_are_the_measured_error_rounded_up_at_two_figures(derivation, label):
    step = derivation[label]
    for check in _approximation_checks(step):
        measured = check.run(step).max_abs_error
        rounded = float(f"{measured:.1e}")
        two_figures = rounded if rounded >= measured else rounded + 10 ** (math.floor(math.log10(measured)) - 1)
        assert check.bound == pytest.approx(two_figures, rel=1e-9), (check.name, measured, check.bound)
        assert dataclasses.replace(check, bound=0.99 * measured).run(step).verdict == "fail"


@pytest.mark.parametrize("label", ("E-3", "P-18", "P-19", "P-24", "P-26", "P-27"))
def test_a_swapped_constant_fails_the_error_checks_alone(derivation, label):
    """pi/4 -> pi/6 (pi -> 2 pi/3; for E-3 the exponent of k): some approximation check fails on its own.

    For E-3, P-18 and P-19 only the check near 0 can: pi/6 has the smaller sup error on the real line."""
    step = derivation[label]
    (constant,) = [m for m in mutants(step) if m.kind == "constant"]
    wrong = mutated(step, constant)
    assert any(check.run(wrong).verdict == "fail" for check in _approximation_checks(step))


EARLY = ("E-1", "E-2", "E-3", "E-4", "E-5")


def _unrelated(step):
    """The step with its definition, result, printed form and extras replaced by unrelated symbols."""
    def replaced(value, name):
        if isinstance(value, sp.Tuple):
            return sp.Tuple(*sp.symbols(f"{name}_0:{len(value)}", positive=True))
        return sp.Symbol(name, positive=True)

    return dataclasses.replace(step, definition=replaced(step.definition, "unrelated_definition"),
                               result=replaced(step.result, "unrelated_result"),
                               printed=replaced(step.result, "unrelated_result"),
                               extras=tuple((k, sp.Symbol(f"unrelated_extra_{i}", positive=True))
                                            for i, (k, _) in enumerate(step.extras)))


def _passes_whatever_the_step_holds(check, step) -> bool:
    try:
        return check.run(_unrelated(step)).verdict != "fail"
    except Exception:  # noqa: BLE001 - a check that cannot evaluate the replaced step has read it
        return False


@pytest.mark.parametrize("label", EARLY + OURS)
def test_every_check_reads_its_step(derivation, label):
    """No check passes on a step whose definition, result, printed form and extras are all replaced by
    unrelated symbols: each reads its step (not a value the builder closed over)."""
    step = derivation[label]
    blind = [c.name for c in step.checks if not isinstance(c, MatchesPrinted) and _passes_whatever_the_step_holds(c, step)]
    assert not blind, f"{label}: {blind} pass whatever the step holds"


def test_a_check_closing_over_a_value_is_flagged(derivation):
    """Negative control: P-23's old check (mu_i -> 1 built from P-17's result, not from P-23) is flagged."""
    from softsign_scaling.checks.base import LimitValue
    from softsign_scaling.sections.signsgd import g_pos
    from softsign_scaling.symbols import B, g

    p17_result = derivation["P-17"].result
    old = LimitValue(name="mu_i -> 1 for g_i > 0", build=lambda s: p17_result.subs(g, g_pos), var=B, point=sp.oo,
                     expected=lambda s: sp.Integer(1))
    assert _passes_whatever_the_step_holds(old, derivation["P-23"])
