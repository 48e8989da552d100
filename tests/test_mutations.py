"""Every step's own checks catch a wrong result, even when its printed form is wrong the same way.

For each step and each mutant (softsign_scaling/checks/mutation.py: a relative change of 1e-3, a
constant swapped, a sign flipped; Tuple results one element at a time), the mutant is put in both
the result and the printed form, and at least one of the step's other checks must change its
verdict.  The test is generated from the derivation, so a new step is covered automatically.

A step listed in EXEMPT is one whose checks cannot be made to catch a kind of mutant; the reason is
in the step's note, and the test insists that the exemption is still needed.
"""

import pytest

from softsign_scaling.checks.mutation import caught, mutants, survey
from softsign_scaling.pipeline import derivation as full_derivation

# label -> mutant kinds (without the element index) that the step's checks are allowed to miss.
EXEMPT: dict[str, tuple[str, ...]] = {}


# Steps whose mutants are caught only by checks that take minutes per mutant: run with `pytest -m slow`.  (X-6 was
# one; its LaplaceIdentity checks now cache each Laplace integral per point and stop at the first failing point,
# so its 6 mutants cost one full pass of the unmutated first element, ~10 s: benchmarks/mutation_survey.py X-6.)
SLOW: set[str] = set()


@pytest.mark.parametrize("label", [pytest.param(label, marks=pytest.mark.slow) if label in SLOW else label
                                   for label in full_derivation().labels])
def test_checks_catch_every_mutant(label, derivation, mutation_survey):
    """The survey (checks.mutation.survey: caught() on every mutant, against verify's verdicts) runs in the
    background worker that ran the step's checks for verify (tests/background.py), beside the other tests."""
    step = derivation[label]
    found = mutation_survey(label)
    assert [kind for kind, _ in found] == [m.kind for m in mutants(step)]
    missed = [kind for kind, by in found if not by]
    exempt = EXEMPT.get(label, ())
    unexpected = [k for k in missed if k.split("[")[0] not in exempt]
    assert not unexpected, f"{label}: no check catches the mutants {unexpected}"
    for kind in exempt:
        assert any(k.split("[")[0] == kind for k in missed), f"{label}: exemption {kind!r} is no longer needed"
        assert step.note, f"{label} is exempt from {kind!r} mutants but its note does not say why"
    by_error = [kind for kind, by in found if "(raised " in by]
    assert not by_error, f"{label}: the mutants {by_error} are caught only by a check raising an error: {found}"


def test_an_error_is_a_catch_only_when_no_verdict_changes(derivation):
    """caught() attributes a mutant to a check whose verdict changes, past a cheaper check that raises on it (A-1's
    limit recurses on the mutated Meijer G form; its quadrature comparison fails on the value); a step whose only
    catching check raises is still caught, by that error (the control)."""
    import dataclasses

    from softsign_scaling.checks.base import LimitValue, MatchesPrinted

    step = derivation["A-1"]
    baseline = [check.run(step).verdict for check in step.checks]
    for mutant in mutants(step):
        found = caught(step, mutant, baseline)
        assert found[0] and "(raised" not in found[1], found

    class Raising:  # a check that errs on any step (cheapest first: tried before the others)
        name = "raises"

        def run(self, _):
            raise ValueError("no value")

    numeric = tuple(c for c in step.checks if not isinstance(c, (MatchesPrinted, LimitValue)))
    with_error = dataclasses.replace(step, checks=(Raising(), *numeric))
    mutant = next(iter(mutants(step)))
    assert caught(with_error, mutant, ["fail", *(c.run(step).verdict for c in numeric)]) == (True, numeric[0].name)
    only_error = dataclasses.replace(step, checks=(Raising(),))
    assert caught(only_error, mutant, ["fail"]) == (True, "raises (raised ValueError)")


def test_the_mutation_test_can_fail(derivation):
    """Without its checks, a step catches nothing: the test above is not vacuous."""
    import dataclasses

    from softsign_scaling.checks.base import MatchesPrinted

    step = derivation["E-8"]
    only_print = dataclasses.replace(step, checks=tuple(c for c in step.checks if isinstance(c, MatchesPrinted)))
    for mutant in mutants(only_print):
        assert not caught(only_print, mutant, ["pass"] * len(only_print.checks))[0]


def test_survey_is_caught_on_every_mutant(derivation):
    """The background survey is caught() per mutant, with the check that caught it; it refuses another derivation."""
    from softsign_scaling.pipeline import derived_sections, digest

    sections = ("softsign", "scurves")
    step = derived_sections(sections)["E-4"]
    baseline = tuple(check.run(step).verdict for check in step.checks)
    found = survey(sections, digest(derived_sections(sections)), "E-4", baseline)
    assert found == tuple((m.kind, caught(step, m, list(baseline))[1]) for m in mutants(step))
    assert found and all(by for _, by in found)
    with pytest.raises(RuntimeError, match="other steps"):
        survey(sections, "0" * 64, "E-4", baseline)


def test_the_mutation_record_is_current(derivation):
    """tests/mutation_record.json holds every step's survey, made by this code (else the session surveys afresh,
    minutes of CPU, and this test says how to re-record)."""
    import json

    from background import RECORD

    from softsign_scaling.checks.mutation import survey_environment, survey_fingerprint

    record = json.loads(RECORD.read_text(encoding="utf-8"))
    assert record["fingerprint"] == survey_fingerprint(), (
        "the mutation record is stale (the math layer changed): "
        "run `python benchmarks/mutation_survey.py --record` and commit tests/mutation_record.json")
    assert sorted(record["steps"]) == sorted(derivation.labels)
    if record["environment"] != survey_environment():  # not stale code: this session surveyed afresh (slower)
        pytest.skip(f"the mutation record was made under {record['environment']}, these are {survey_environment()}: "
                    "the surveys ran afresh in this session")


def test_the_fingerprint_covers_what_a_survey_runs(tmp_path):
    """A changed byte in any module a survey runs (a step family, a check, a reference, what they import) changes the
    fingerprint; a module no survey runs (the numeric layer, the commands) does not."""
    import shutil

    from softsign_scaling.checks import mutation

    package = tmp_path / "softsign_scaling"
    shutil.copytree(mutation._PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = mutation.survey_fingerprint(package)
    assert before == mutation.survey_fingerprint()
    for name in ("sections/outside.py", "checks/reference.py", "symbols.py", "gaussian.py", "stable.py", "findings.py",
                 "numeric/__init__.py", "cli.py"):
        path = package / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        changed = mutation.survey_fingerprint(package) != before
        path.write_bytes(original)
        assert changed == (name.split("/")[0] not in ("numeric", "cli.py")), name
