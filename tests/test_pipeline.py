"""The pipeline: every label present, every check passing or a documented refutation, every kind of check able to fail."""

import dataclasses
import re
from pathlib import Path

import pytest
import sympy as sp

from softsign_scaling.checks.base import (ApproximationError, Claim, ClaimOutcome, LimitValue, MatchesPrinted,
                                          NumericIdentity, SupError1D, ZeroIdentity, symbolic_zero)
from softsign_scaling.steps import Derivation, Relation, Step
from softsign_scaling.symbols import a, b

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "ARTICLE.md"

REQUIRED = ([f"E-{n}" for n in range(1, 19)] + [f"P-{n}" for n in range(9, 16)] + [f"P-{n}" for n in range(17, 30)]
            + [f"P-{n}" for n in range(31, 36)])


def test_every_required_label_is_derived_in_order(derivation):
    assert set(REQUIRED) <= set(derivation.labels)
    # E-labels appear in the article's order.
    e_labels = [label for label in derivation.labels if label.startswith("E-")]
    assert e_labels == sorted(e_labels, key=lambda s: int(s[2:]))


@pytest.mark.skipif(not SPEC.is_file(), reason=f"the article's equation list {SPEC} is missing: it is the project's "
                    "shared/spec/ARTICLE.md; put the shared/ folder beside this checkout to run this test")
def test_required_labels_match_the_spec():
    text = SPEC.read_text()
    for label in ("E-8", "E-18", "P-9", "P-35"):
        assert label in text


def test_steps_are_immutable_records(derivation):
    step = derivation["E-8"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.result = sp.Integer(0)  # type: ignore[misc]
    assert step.relation.kind in ("identity", "limit", "approximation")
    assert isinstance(step.definition, sp.Basic)
    with pytest.raises(KeyError, match="E-99"):
        derivation["E-99"]


def test_relation_kind_is_validated():
    with pytest.raises(ValueError, match="identity, limit or approximation"):
        Relation("roughly", "no")


def test_no_check_fails_and_every_label_has_a_check(verified):
    failures = [(r.label, r.name, r.detail) for r in verified if r.verdict == "fail"]
    assert failures == []
    assert set(REQUIRED) <= {r.label for r in verified}


def test_numeric_checks_use_enough_points_and_digits(verified):
    for r in verified:
        if r.method == "numeric" and r.kind == "identity":
            assert r.digits is not None and r.digits >= 30, r
            assert r.points is not None and r.points >= 50, r


def test_every_printed_form_is_compared(derivation):
    for step in derivation.steps:
        if step.printed is not None:
            assert any(isinstance(c, MatchesPrinted) for c in step.checks) or step.label == "E-13", step.label


def _perturb(expr: sp.Basic) -> sp.Basic:
    tiny = sp.Rational(1, 10**20)
    if isinstance(expr, sp.Tuple):
        return sp.Tuple(*[_perturb(e) for e in expr])
    if isinstance(expr, sp.Equality):
        return sp.Eq(expr.lhs, expr.rhs + tiny * (1 + sum(expr.free_symbols, sp.Integer(0))))
    symbols = sorted(expr.free_symbols, key=str)
    return expr + tiny * (1 + (symbols[0] if symbols else 0))


def _form_checks(step):
    return [c for c in step.checks if isinstance(c, MatchesPrinted)
            or (isinstance(c, ZeroIdentity) and "printed" in c.name)]


def test_a_tiny_perturbation_of_any_result_fails_its_comparison(derivation):
    """Perturb each derived result by 1e-20 (times a symbol): its derived-vs-printed check must fail."""
    for step in derivation.steps:
        checks = _form_checks(step)
        if not checks:
            continue
        perturbed = step.with_result(_perturb(step.result))
        verdicts = [c.run(perturbed).verdict for c in checks]
        assert "fail" in verdicts, (step.label, verdicts)


def test_symbolic_identity_check_can_fail(derivation):
    step = derivation["E-5"]
    check = next(c for c in step.checks if isinstance(c, MatchesPrinted))
    assert check.run(step).verdict == "pass"
    result = check.run(_with_tiny(step))
    assert result.verdict == "fail"


def _with_tiny(step: Step) -> Step:
    return step.with_result(_perturb(step.result))


def test_numeric_identity_against_quadrature_can_fail(derivation):
    step = derivation["E-8"]
    check = next(c for c in step.checks if isinstance(c, NumericIdentity))
    good = check.run(step)
    assert good.verdict == "pass" and good.method == "numeric" and good.digits >= 30
    bad = check.run(step.with_result(step.result + sp.Rational(1, 10**25) * b))
    assert bad.verdict == "fail"


def test_limit_check_can_fail(derivation):
    step = derivation["E-2"]
    check = next(c for c in step.checks if isinstance(c, LimitValue))
    assert check.run(step).verdict == "pass"
    assert check.run(_with_tiny(step)).verdict == "fail"


def test_approximation_check_fails_below_its_measured_error(derivation):
    step = derivation["E-3"]
    check = next(c for c in step.checks if isinstance(c, SupError1D))
    measured = check.run(step)
    assert measured.verdict == "pass"
    assert 0.1 < measured.max_abs_error < 0.12  # erf vs x/sqrt(x^2 + pi/4): about 0.108 near x = 1.33
    tighter = dataclasses.replace(check, bound=measured.max_abs_error / 2)
    assert tighter.run(step).verdict == "fail"
    # And a wrong constant (pi/2 instead of pi/4, i.e. slope sqrt(2/pi)) is measurably worse.
    wrong = step.with_result(step.result.subs(sp.Symbol("k", positive=True), sp.sqrt(2 / sp.pi)))
    assert check.run(wrong).max_abs_error > 2 * measured.max_abs_error


def test_approximation_error_check_on_a_grid_can_fail(derivation):
    step = derivation["E-12"]
    check = next(c for c in step.checks if isinstance(c, ApproximationError) and "E-11" in c.name)
    ok = check.run(step)
    assert ok.verdict == "pass"
    assert dataclasses.replace(check, bound=ok.max_abs_error * 0.9).run(step).verdict == "fail"


def test_claim_verdicts_follow_the_findings_record():
    step = Step(label="X-1", section="test", statement="", definition=sp.Integer(0), result=sp.Integer(0),
                relation=Relation("identity", "exact"))
    refuted = lambda s: ClaimOutcome(False, "symbolic", "counterexample")  # noqa: E731
    holds = lambda s: ClaimOutcome(True, "symbolic", "proof")  # noqa: E731
    assert Claim(name="c", test=holds).run(step).verdict == "pass"
    # a new refutation is a failure until it is recorded as a finding, whoever made the claim
    assert Claim(name="c", test=refuted).run(step).verdict == "fail"
    assert Claim(name="c", test=refuted, article_claim=False).run(step).verdict == "fail"
    assert Claim(name="c", test=refuted, finding="e18-pi-over-2").run(step).verdict == "refuted"
    # a recorded finding that the evidence no longer shows is a failure too
    lost = Claim(name="c", test=holds, finding="e18-pi-over-2").run(step)
    assert lost.verdict == "fail" and "not reproduced" in lost.detail
    with pytest.raises(KeyError, match="recorded"):
        Claim(name="c", test=refuted, finding="no-such-finding")


def test_symbolic_zero_does_not_prove_false_identities():
    assert symbolic_zero(sp.erf(a) + sp.erf(-a))
    assert not symbolic_zero(sp.erf(a) - a / sp.sqrt(a**2 + sp.pi / 4))
    assert not symbolic_zero(sp.Rational(1, 10**30) * a)


def test_duplicate_labels_are_rejected(derivation):
    step = derivation["E-1"]
    with pytest.raises(ValueError, match="duplicate"):
        Derivation((step, step))


def test_findings_the_article_gets_wrong(verified):
    """The refutations are findings with evidence: they must stay reported, not silently pass."""
    refuted = {(r.label, r.name): r.detail for r in verified if r.verdict == "refuted"}
    names = " | ".join(name for _, name in refuted)
    assert "decreases as eps grows" in names
    assert "never creates a surge" in names
    assert "limit of the Gaussian SoftSign model" in names
    assert all(detail for detail in refuted.values())


def test_e18_pi_over_two_is_an_artefact(derivation):
    """The naive reading (E-18's noise equals the exact model's) is wrong by exactly pi/2."""
    e18 = derivation["E-18"]
    gHg, gg, T, s2, B = (sp.Symbol(n, positive=True) for n in ("gHg", "gg", "T_H", "sigma2_bar", "B"))
    exact_limit = gg / (gHg + s2 * T / B)
    assert not symbolic_zero(e18.result - exact_limit)
    assert symbolic_zero(e18.result - exact_limit.subs(s2, sp.pi * s2 / 2))


def test_e11_closed_form_is_printed(derivation):
    e11 = derivation["E-11"]
    assert e11.printed is not None and e11.result.has(sp.erf)
    assert re.search("E-11", e11.label)


# verify on any executor: plain-data work items, the derivation rebuilt per worker process.

SMALL = ("softsign", "scurves")  # two cheap sections: a few seconds per worker


class _Raises(Claim):
    def run(self, step):
        raise ZeroDivisionError("a bug in the check")


def test_verify_under_a_spawn_executor_matches_the_serial_run():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from softsign_scaling.pipeline import derived_sections, verify

    derived = derived_sections(SMALL)
    serial = verify(derived, workers=1)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        spawned = verify(derived, executor=pool)
    assert spawned == serial
    assert len(serial) == sum(len(step.checks) for step in derived.steps) and serial


def test_workers_refuse_a_derivation_they_cannot_rebuild():
    """A modified derivation cannot be rebuilt from section names: the worker says so, it does not check
    other steps than the caller's."""
    from concurrent.futures import ThreadPoolExecutor

    from softsign_scaling.pipeline import derived_sections, verify

    derived = derived_sections(SMALL)
    changed = Derivation(tuple(s.with_result(s.result + 1) if s.label == "E-1" else s for s in derived.steps))
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(RuntimeError, match="workers=1"):
        verify(changed, executor=pool)


def test_a_check_that_raises_is_a_fail_with_the_error():
    from softsign_scaling.pipeline import verify

    step = Step(label="X-1", section="test", statement="", definition=sp.Integer(0), result=sp.Integer(0),
                relation=Relation("identity", "exact"),
                checks=(_Raises(name="broken", test=lambda s: ClaimOutcome(True, "symbolic", "")),))
    (result,) = verify(Derivation((step,)), workers=1)
    assert result.verdict == "fail" and result.label == "X-1" and result.name == "broken"
    assert "ZeroDivisionError: a bug in the check" in result.detail


def test_verify_draws_its_progress_on_stderr_without_a_terminal(capsys):
    from softsign_scaling.pipeline import derived_sections, verify

    verify(derived_sections(("softsign",)), workers=1, progress=True)
    err = capsys.readouterr().err  # captured: not a terminal
    assert "verify" in err and "100%" in err
    verify(derived_sections(("softsign",)), workers=1, progress=False)
    assert capsys.readouterr().err == ""


def test_the_family_registry_is_the_one_list_of_sections():
    from softsign_scaling import sections
    from softsign_scaling.export import appendix

    assert sections.ORDER == tuple(f.name for f in sections.FAMILIES)
    assert appendix.SECTION_TITLES is sections.SECTION_TITLES  # the appendix reads the registry
    with pytest.raises(KeyError, match="no step family 'nope'"):
        sections.family("nope")
    with pytest.raises(KeyError, match="declares no constant"):
        sections.family("anchored").constant("SERIES_TERMS")


def test_progress_bar_ends_at_the_number_of_results():
    """A proof group is one work item but gives many results: the bar's total grows to verify's count."""
    from softsign_scaling.pipeline import _advance

    class Bar:
        total, n = 3, 0  # two checks and one proof group planned

        def update(self, k):
            self.n += k

    bar = Bar()
    for results in (1, 1, 22):
        _advance(bar, results)
    assert (bar.n, bar.total) == (24, 24)
    _advance(None, 5)  # no bar: nothing to do


def test_a_family_derives_on_the_families_it_declares_it_needs():
    """The late families derive on the early ones they read, not on each other (so verify's workers derive only the
    families of the checks they run); a family without declared needs derives on every family before it."""
    from softsign_scaling.sections import ORDER, context_of

    early = ORDER[:ORDER.index("anchored") + 1]
    assert context_of("outside", ORDER) == early
    for name in ("efficiency", "momentum", "runlevel"):
        assert "outside" not in context_of(name, ORDER) and set(context_of(name, ORDER)) <= set(early)
    assert context_of("mean", ORDER) == ORDER[:ORDER.index("mean")]
    # within a shorter tuple, the needs it lacks are dropped (the builder's lookup then raises KeyError)
    assert context_of("momentum", ("softsign", "momentum")) == ()
    assert context_of("scurves", SMALL) == ("softsign",)


def test_derive_is_the_cached_derivation_of_the_same_sections():
    from softsign_scaling.pipeline import derive, derived_sections, digest

    sections = ("softsign", "scurves", "quadratic")
    assert digest(derive(sections)) == digest(derived_sections(sections))
    assert derived_sections(sections[:2]).steps == derived_sections(sections).steps[:len(derived_sections(sections[:2]))]


def test_a_family_that_reads_a_step_it_does_not_declare_fails_loudly():
    """Negative control of the declared needs: momentum derived without the families it reads raises KeyError."""
    from softsign_scaling.pipeline import derive

    with pytest.raises(KeyError, match="no step labelled"):
        derive(("softsign", "momentum"))


def test_the_default_pool_matches_the_serial_run_and_reports_cpu():
    """verify's own pool (one process per lane, planned by the workers): the serial run's results, in its order;
    ``timings`` names every work item once, with its CPU seconds and worker."""
    from softsign_scaling.pipeline import derived_sections, verify

    timings = []
    pooled = verify(workers=2, sections=SMALL, timings=timings)
    assert pooled == verify(derived_sections(SMALL), workers=1)
    items = [t["what"] for t in timings if not t["what"].startswith("plan:")]
    assert len(items) == len(set(items)) == len(pooled)
    assert all(t["cpu"] >= 0 and t["process_cpu"] >= t["cpu"] for t in timings)
    assert sorted(t["what"] for t in timings if t["what"].startswith("plan:")) == sorted(f"plan: {name}" for name in SMALL)


def test_the_schedule_keeps_a_lane_on_the_families_it_derived():
    """A free lane takes the checks only it has derived the families of first, then those of steps it began;
    it derives a family for another lane's checks only when the waiting work is worth the derive."""
    from softsign_scaling.pipeline import FamilyPlan, Schedule

    def plan(name, sections, labels):
        return FamilyPlan(name, sections, tuple((label, 0, 0) for label in labels),
                          tuple((label, "d") for label in labels), derive_cpu=5.0)

    schedule = Schedule(("a", "b", "c"), [None, None], 1, None, None, None)
    schedule.pending.clear()
    for p in (plan("a", ("a",), ["A-1"]), plan("b", ("a", "b"), ["B-1", "B-2"]), plan("c", ("a", "c"), ["C-1"])):
        schedule._add_plan(p)
    schedule.derive_cpu = {"a": 5.0, "b": 5.0, "c": 5.0}
    schedule.have = [{"a", "b"}, {"a", "c"}]
    first = schedule._choose(0, forced=False)
    assert schedule.items[first.index].label == "B-1"  # only lane 0 has b: before the shared A-1
    schedule.pending.remove(first)
    schedule.owner["B-1"] = 0
    assert schedule.items[schedule._choose(1, forced=False).index].label == "C-1"
    schedule.have = [{"a"}, {"a", "c"}]
    # lane 0 lacks b: one check of b waiting (3 s expected) is less than twice its 5 s derive: it waits, unless forced
    schedule.pending = [task for task in schedule.pending if schedule.items[task.index].label == "B-2"]
    assert schedule._choose(0, forced=False) is None
    assert schedule.items[schedule._choose(0, forced=True).index].label == "B-2"


def test_a_numeric_only_zero_identity_still_proves_and_fails():
    """try_symbolic=False (for differences SymPy's attempts cannot reduce, such as a Piecewise against Max/Min):
    the comparison is numeric, and it fails on a wrong expression as the symbolic route would."""
    from softsign_scaling.checks.domain import domain
    from softsign_scaling.sections.common import clip
    from softsign_scaling.symbols import eps, x

    piecewise = sp.Piecewise((-1, x <= -eps), (x / eps, x < eps), (1, True))
    step = Step(label="T-1", section="test", statement="", definition=sp.Integer(0), result=piecewise,
                relation=Relation("identity", "exact"))
    where = domain((x, "real"), (eps, "positive"))
    right = ZeroIdentity(name="t", build=lambda s: s.result - clip(x / eps), domain=where, try_symbolic=False)
    wrong = ZeroIdentity(name="t", build=lambda s: s.result - clip(x / eps) * (1 + sp.Rational(1, 1000)),
                         domain=where, try_symbolic=False)
    assert (right.run(step).verdict, right.run(step).method) == ("pass", "numeric")
    assert wrong.run(step).verdict == "fail"


def test_a_branch_family_is_planned_by_the_lane_that_has_its_context():
    """limits needs outside: a lane without outside leaves limits' plan to the lane that derived it (outside's
    ~7 s derive is not repeated for a plan), unless nothing else runs; a cheap missing context it derives itself."""
    from softsign_scaling.pipeline import CHEAP_DERIVE, FamilyPlan, Schedule
    from softsign_scaling.sections import ORDER

    schedule = Schedule(ORDER, [None, None], 1, None, None, None)
    limits = next(task for task in schedule.pending if task.args[0][-1] == "limits")
    schedule.pending = [limits]
    context = limits.families - {"limits"}
    schedule.have = [set(context), context - {"outside"}]
    assert schedule._choose(1, forced=False) is None and schedule._choose(0, forced=False) is limits
    assert schedule._choose(1, forced=True) is limits
    schedule.plans["outside"] = FamilyPlan("outside", (), (), (), derive_cpu=CHEAP_DERIVE / 2)  # a cheap outside
    assert schedule._choose(1, forced=False) is limits
