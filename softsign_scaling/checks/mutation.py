"""Mutants of a step: the same wrong expression put in its result and its printed form.

A step's own checks must catch every mutant: a check that passes whatever the
result is proves nothing.  Three kinds of wrong result, each a small change an
honest mistake could make:

* ``scale``: a relative change of 1e-3 (the result times 1 + 1/1000);
* ``constant``: a constant swapped: pi -> 2 pi/3 (pi/2 becomes pi/3), else
  sqrt(2) -> 2, else the first rational constant other than 0, +-1, +-1/2 times 3/2,
  else an exponent 2 -> 3;
* ``sign``: a sign flipped: the last term of a sum negated (the whole
  expression when it is not a sum).

A Tuple result is mutated one element at a time (``scale[1]`` changes its second
element), an equation on its right-hand side.  :func:`caught` runs the step's
checks other than the comparison with the printed form (which the mutant fools
by construction) and says whether any of them changes its verdict.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

KINDS = ("scale", "constant", "sign")
_PACKAGE = Path(__file__).resolve().parents[1]

SCALE = 1 + sp.Rational(1, 1000)


@dataclass(frozen=True)
class Mutant:
    label: str
    kind: str  # "scale", "constant" or "sign", with "[k]" for element k of a Tuple
    result: sp.Basic


def _swap_constant(expr: sp.Basic) -> sp.Basic | None:
    if expr.has(sp.pi):
        return expr.xreplace({sp.pi: 2 * sp.pi / 3})
    if expr.has(sp.sqrt(2)):
        swapped = expr.xreplace({sp.sqrt(2): sp.Integer(2), 1 / sp.sqrt(2): sp.Rational(1, 2)})
        if swapped != expr:
            return swapped
    rationals = sorted((r for r in expr.atoms(sp.Rational) if abs(r) not in (0, 1, sp.Rational(1, 2))),
                       key=lambda r: (abs(r), r))
    if rationals:
        r = rationals[0]
        return expr.xreplace({r: r * sp.Rational(3, 2)})
    squares = [p for p in expr.atoms(sp.Pow) if p.exp == 2]
    if squares:
        p = sorted(squares, key=sp.default_sort_key)[0]
        return expr.xreplace({p: p.base**3})
    return None


def _flip_sign(expr: sp.Basic) -> sp.Basic:
    if isinstance(expr, sp.Add):
        terms = list(sp.Add.make_args(expr))
        return sp.Add(*terms[:-1], -terms[-1])
    return -expr


def _mutate(expr: sp.Basic, kind: str) -> sp.Basic | None:
    if isinstance(expr, sp.Equality):
        rhs = _mutate(expr.rhs, kind)
        return None if rhs is None else sp.Eq(expr.lhs, rhs, evaluate=False)
    if kind == "scale":
        return expr * SCALE
    if kind == "constant":
        return _swap_constant(expr)
    if kind == "sign":
        return _flip_sign(expr)
    raise ValueError(f"unknown mutation kind {kind!r}; kinds are {KINDS}")


def mutants(step) -> Iterator[Mutant]:
    """Every mutant of ``step``'s result (those that differ from it)."""
    result = step.result
    for kind in KINDS:
        if isinstance(result, sp.Tuple):
            for k, element in enumerate(result):
                changed = _mutate(element, kind)
                if changed is not None and changed != element:
                    yield Mutant(step.label, f"{kind}[{k}]", sp.Tuple(*result[:k], changed, *result[k + 1:]))
        else:
            changed = _mutate(result, kind)
            if changed is not None and changed != result:
                yield Mutant(step.label, kind, changed)


def mutated(step, mutant: Mutant):
    """The step with the mutant as both its result and its printed form."""
    return dataclasses.replace(step, result=mutant.result,
                               printed=mutant.result if step.printed is not None else None)


def _is_print_check(check) -> bool:
    from .base import MatchesPrinted

    return isinstance(check, MatchesPrinted)


def _cost(check) -> int:
    from .base import ApproximationError, Claim, NumericIdentity, SupError1D

    for rank, kind in enumerate((NumericIdentity, SupError1D, ApproximationError, Claim)):
        if isinstance(check, kind):
            return rank + 1
    return 0


def caught(step, mutant: Mutant, baseline: list[str]) -> tuple[bool, str]:
    """(True, check name) when one of the step's non-print checks changes its verdict on the mutant.

    ``baseline`` is each check's verdict on the unmutated step, in the step's check order.  Cheap (symbolic)
    checks run first and the first verdict that changes stops the search.  A check that raises on the mutant counts
    as catching it (verify reports it as a failure) only when no other check's verdict changes: an error (a limit
    that recurses on the mutated form, a division by zero) says that something is wrong, not that the check saw
    the wrong value, so the search goes on for a check that does.
    """
    wrong = mutated(step, mutant)
    order = sorted((i for i, c in enumerate(step.checks) if not _is_print_check(c)), key=lambda i: _cost(step.checks[i]))
    raised = ""
    for i in order:
        check = step.checks[i]
        try:
            verdict = check.run(wrong).verdict
        except Exception as error:  # noqa: BLE001 - any error on a wrong result is a catch, if nothing else sees it
            raised = raised or f"{check.name} (raised {type(error).__name__})"
            continue
        if verdict != baseline[i]:
            return True, check.name
    return (True, raised) if raised else (False, "")


def survey(sections: tuple[str, ...], expected_digest: str, label: str,
           baseline: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(mutant kind, the check that caught it, or "") for every mutant of step ``label`` of ``derive(sections)``.

    Plain data in and out, so that any executor's worker can run it: the worker rebuilds the derivation
    from the section names (once per process) and refuses one whose digest differs from the caller's.
    ``baseline``: the step's verdicts on the unmutated step (verify's).  Run where verify ran the step's checks,
    the quadrature references they share (checks/reference.py memoises them per process) are computed once."""
    from ..pipeline import digest_of, derived_sections

    derived = derived_sections(sections)
    if digest_of(sections) != expected_digest:
        raise RuntimeError(f"mutation survey: this process derived other steps from {sections} than the caller")
    step = derived[label]
    return tuple((mutant.kind, caught(step, mutant, list(baseline))[1]) for mutant in mutants(step))



# A record of the surveys (tests/mutation_record.json, written by ``python benchmarks/mutation_survey.py --record``):
# a survey depends only on the package's math code (the steps, their checks and what those import) and the
# libraries that run it, so a record made from the same code is the same survey.  The test session uses the record
# where its fingerprint is this code's and verify's verdicts are the recorded baselines, and surveys afresh
# otherwise (tests/background.py).

def _module_file(module: str, package: Path = _PACKAGE) -> Path | None:
    parts = module.split(".")
    if parts[0] != "softsign_scaling":
        return None
    base = package.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(module: str, path: Path, package_root: Path) -> set[str]:
    """The softsign_scaling modules ``module`` imports anywhere in its source (functions' imports included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                base = ".".join(anchor[:len(anchor) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # "from . import x": x may be a module
    return {name for name in found if _module_file(name, package_root) is not None}


def source_closure(roots: tuple[str, ...], package: Path = _PACKAGE) -> list[Path]:
    """The files of ``roots`` and of every softsign_scaling module they import, transitively, sorted (``package``:
    the folder of the softsign_scaling package to read)."""
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        module = todo.pop()
        path = _module_file(module, package)
        if module in seen or path is None:
            continue
        seen[module] = path
        todo.extend(_imported(module, path, package) - seen.keys())
    return sorted(set(seen.values()))


LIBRARIES = ("sympy", "mpmath", "numpy", "scipy")


def survey_fingerprint(package: Path = _PACKAGE) -> str:
    """sha256 of the source of every module a survey can run (the pipeline, each step family's module, the mutants
    and, transitively, what they import).  The libraries that run it are :func:`survey_environment`."""
    from ..sections import ORDER

    roots = ("softsign_scaling.pipeline", "softsign_scaling.checks.mutation",
             *(f"softsign_scaling.sections.{name}" for name in ORDER))
    hashed = hashlib.sha256(b"survey fingerprint 2\n")
    for path in source_closure(roots, package):
        hashed.update(f"{path.relative_to(package).as_posix()}\n".encode())
        hashed.update(path.read_bytes())
    return hashed.hexdigest()


def survey_environment() -> dict[str, str]:
    """The versions of Python and of the libraries a survey runs on ({name: version}).  A record made under other
    versions is not used (the session surveys afresh), but it is not stale code either: a new SymPy on PyPI must not
    fail a fresh clone's tests."""
    from importlib.metadata import version

    return {"python": f"{sys.version_info.major}.{sys.version_info.minor}",
            **{name: version(name) for name in LIBRARIES}}
