"""Immutable records: one :class:`Step` per numbered equation, one :class:`CheckResult` per check.

A step holds its defining object (an unevaluated Integral, Limit, Derivative,
expectation or equation), the result SymPy derived from it, the article's printed
form (stored separately, for comparison), what its "≈" means, and the checks
that confirm it.  Checks are values too: they read the step they belong to, so a
step rebuilt with another result (``step.with_result(...)``) is checked afresh.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import sympy as sp

if TYPE_CHECKING:  # pragma: no cover
    from .checks.base import Check

RelationKind = Literal["identity", "limit", "approximation"]
CheckKind = Literal["identity", "limit", "approximation", "claim"]
Verdict = Literal["pass", "refuted", "fail"]


@dataclass(frozen=True)
class Relation:
    """What the step's "≈" (or "=") means.

    kind: "identity" (exact, possibly under a stated condition), "limit" (exact in
    the stated limit) or "approximation" (error measured on the stated domain).
    meaning: one sentence saying which, e.g. "exact as eps -> oo" or
    "max |error| on a in R, b > 0".
    """

    kind: RelationKind
    meaning: str

    def __post_init__(self) -> None:
        if self.kind not in ("identity", "limit", "approximation"):
            raise ValueError(f"Relation.kind must be identity, limit or approximation, not {self.kind!r}")


def identity(meaning: str = "exact") -> Relation:
    return Relation("identity", meaning)


def limit(meaning: str) -> Relation:
    return Relation("limit", meaning)


def approximation(meaning: str) -> Relation:
    return Relation("approximation", meaning)


@dataclass(frozen=True)
class Step:
    """One numbered equation of the article (E-n) or its predecessor (P-n)."""

    label: str
    section: str
    statement: str
    definition: sp.Basic
    result: sp.Basic
    relation: Relation
    printed: sp.Basic | None = None
    checks: tuple["Check", ...] = ()
    depends: tuple[str, ...] = ()
    note: str = ""
    # Named intermediate expressions (for docs and LaTeX): name -> Expr.
    extras: tuple[tuple[str, sp.Basic], ...] = ()

    def with_result(self, result: sp.Basic) -> "Step":
        """A copy of this step with another derived result (its checks rerun on it)."""
        return dataclasses.replace(self, result=result)

    def extra(self, name: str) -> sp.Basic:
        for key, value in self.extras:
            if key == name:
                return value
        raise KeyError(f"step {self.label} has no extra {name!r}; it has {[k for k, _ in self.extras]}")

    def run_checks(self) -> list["CheckResult"]:
        return [check.run(self) for check in self.checks]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: what was checked, how, with what error, and the verdict."""

    label: str
    name: str
    kind: CheckKind
    method: Literal["symbolic", "numeric"]
    verdict: Verdict
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    digits: int | None = None
    points: int | None = None
    where: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "name": self.name,
            "kind": self.kind,
            "method": self.method,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "digits": self.digits,
            "points": self.points,
            "where": self.where,
            "verdict": self.verdict,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Derivation(Mapping[str, Step]):
    """Every step, in the article's order, indexable by label (``derivation["E-8"]``)."""

    steps: tuple[Step, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        labels = [s.label for s in self.steps]
        duplicated = {x for x in labels if labels.count(x) > 1}
        if duplicated:
            raise ValueError(f"duplicate step labels: {sorted(duplicated)}")

    def __getitem__(self, label: str) -> Step:
        for step in self.steps:
            if step.label == label:
                return step
        raise KeyError(f"no step labelled {label!r}; labels are {self.labels}")

    def __iter__(self) -> Iterator[str]:
        return (s.label for s in self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.steps]

    def section(self, name: str) -> list[Step]:
        return [s for s in self.steps if s.section == name]

    def extended(self, new_steps: list[Step]) -> "Derivation":
        return Derivation(self.steps + tuple(new_steps))
