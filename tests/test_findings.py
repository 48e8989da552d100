"""The findings record: every recorded finding is refuted by its claim, nothing else is, and the README says so."""

from pathlib import Path

from softsign_scaling.checks.base import Claim
from softsign_scaling.findings import FINDINGS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_finding_belongs_to_exactly_one_claim(derivation):
    owners = {}
    for step in derivation.steps:
        for check in step.checks:
            if isinstance(check, Claim) and check.finding is not None:
                owners.setdefault(check.finding, []).append(step.label)
    assert {key: labels for key, labels in owners.items()} == {key: [f.label] for key, f in FINDINGS.items()}


def test_verdicts_match_the_record(verified, derivation):
    """Refuted exactly where a finding is recorded; no check fails."""
    recorded = {(step.label, check.name) for step in derivation.steps for check in step.checks
                if isinstance(check, Claim) and check.finding is not None}
    refuted = {(r.label, r.name) for r in verified if r.verdict == "refuted"}
    assert refuted == recorded
    assert [r for r in verified if r.verdict == "fail"] == []
    assert all(r.detail for r in verified if r.verdict == "refuted")


def test_readme_lists_every_finding():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## What the checks found"):]
    section = section[:section.index("\n## ", 1)]
    for f in FINDINGS.values():
        assert f.headline in section, f"README's findings miss {f.key!r}: {f.headline!r}"
    assert f"{len(FINDINGS)} findings" in section
