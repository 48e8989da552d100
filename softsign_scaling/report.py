"""Plain-text reports of steps and checks, shared by the CLI and the derivations/ scripts."""

from __future__ import annotations

import sympy as sp

from .steps import CheckResult, Step


def describe_check(r: CheckResult) -> str:
    err = "" if r.max_abs_error is None else f", max abs error {r.max_abs_error:.3g}"
    digits = "" if r.digits is None else f" at {r.digits} digits"
    where = f" [{r.where}]" if r.where else ""
    detail = f": {r.detail}" if r.detail else ""
    return f"[{r.verdict}] {r.name} ({r.kind}, {r.method}{digits}{err}){detail}{where}"


def describe_step(step: Step, results: list[CheckResult] | None = None) -> str:
    lines = [
        f"{step.label}  {step.statement}",
        f"  defined by: {sp.sstr(step.definition)[:300]}",
        f"  derived:    {sp.sstr(step.result)}",
    ]
    if step.printed is not None:
        lines.append(f"  printed:    {sp.sstr(step.printed)}")
    lines.append(f"  relation:   {step.relation.kind}: {step.relation.meaning}")
    for r in results or []:
        lines.append("  check " + describe_check(r))
    if step.note:
        lines.append(f"  note: {step.note}")
    return "\n".join(lines)


def run_section_script(sections: tuple[str, ...], check: bool = True) -> int:
    """What each derivations/ script does: derive, write the artifacts, print the sections' steps and checks.

    Returns an exit code: 1 if any check of these sections fails.
    """
    from .artifacts import write_derivation_artifacts
    from .files import repository_root
    from .pipeline import derivation, run_check

    derived = derivation()
    write_derivation_artifacts(derived, repository_root())
    failed = False
    for step in derived.steps:
        if step.section not in sections:
            continue
        results = [run_check(step, i) for i in range(len(step.checks))] if check else []  # a raise is a fail
        failed |= any(r.verdict == "fail" for r in results)
        print(describe_step(step, results), end="\n\n")
    return 1 if failed else 0
