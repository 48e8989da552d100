"""The generated numeric module: current with the derivation, byte-stable, numpy/scipy only, light to import.

Also the equivalence proofs of softsign_scaling.stable (every stable form == the derived expression).
"""

from __future__ import annotations

import ast
import doctest
import os
import subprocess
import sys
from pathlib import Path

import pytest

import softsign_scaling.numeric
from softsign_scaling.codegen.numeric_code import GENERATED_PATH, derivation_for_numeric

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.golden
def test_committed_module_is_a_fresh_generation(derived_elsewhere):
    """derived_elsewhere's tree was seeded with the fitted tables only (background.FITTED): its closed_forms.py
    was generated afresh, not copied."""
    from background import CLOSED_FORMS, FITTED

    root, _ = derived_elsewhere
    assert str(GENERATED_PATH) == CLOSED_FORMS and CLOSED_FORMS not in FITTED
    committed = (ROOT / GENERATED_PATH).read_bytes()
    assert (root / GENERATED_PATH).read_bytes() == committed, (
        "softsign_scaling/numeric/generated/closed_forms.py differs from a fresh generation: run `softsign-scaling derive`")


def test_generated_module_imports_only_numpy_and_scipy():
    tree = ast.parse((ROOT / GENERATED_PATH).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported == {"numpy", "scipy.special"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"sympy", "mpmath", "math"}


def _run(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout


def test_import_does_not_import_sympy():
    out = _run("import sys, softsign_scaling.numeric\n"
               "print(sorted(m for m in ('sympy', 'mpmath', 'tqdm') if m in sys.modules))")
    assert out.strip() == "[]"


def test_docstring_examples():
    result = doctest.testmod(softsign_scaling.numeric, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 20
    assert result.failed == 0


def test_equivalence_proofs_pass(stable_proofs):
    """Each stable form == the pipeline's expression (symbolic), series truncations below 2^-60 (50 digits).

    The proofs are part of ``verify``: their results come from the suite's one verify run."""
    results = stable_proofs
    failed = [(r.label, r.name, r.detail) for r in results if r.verdict != "pass"]
    assert not failed, failed
    assert sum(r.method == "symbolic" for r in results) >= 15
    assert sum(r.name.endswith("truncation error on its region") for r in results) == 4


def test_write_all_writes_every_generated_module(derived_here, tmp_path):
    """`derive`'s writing (derived_here: from a folder holding the committed closed_forms.py and fitted tables, whose
    fingerprints are current: copied, not written) writes generated/anchored.py, the anchored table, generated/outside.py
    and generated/limits.py, equal to the committed ones (the anchored table's fingerprint is current: the committed
    table is copied, not refitted); a second run writes nothing.  (closed_forms.py written afresh: the test above.)"""
    import shutil

    from softsign_scaling.codegen import write_all
    from softsign_scaling.codegen.anchored_code import GENERATED as ANCHORED_PATH
    from softsign_scaling.codegen.anchored_code import TABLE_PATH as ANCHORED_TABLE
    from softsign_scaling.codegen.limits_code import GENERATED as LIMITS_PATH
    from softsign_scaling.codegen.outside_code import GENERATED as OUTSIDE_PATH

    root, written = derived_here
    numeric = [path.relative_to(root) for path in written if "numeric" in path.parts]
    assert numeric == [ANCHORED_PATH, ANCHORED_TABLE, OUTSIDE_PATH, LIMITS_PATH]
    for name in (ANCHORED_PATH, ANCHORED_TABLE, OUTSIDE_PATH, LIMITS_PATH):
        assert (root / name).read_bytes() == (ROOT / name).read_bytes(), name
    again = tmp_path / "again"
    shutil.copytree(root, again)
    assert write_all(derivation_for_numeric(), again) == []  # nothing changed: nothing written


def test_the_registry_names_the_generated_functions():
    """Every function a family registers is printed, and nothing else is (a region function prints as its table
    <NAME>_REGIONS, evaluated by numeric/regions.py)."""
    from softsign_scaling.codegen.numeric_code import registered_functions

    tree = ast.parse((ROOT / GENERATED_PATH).read_text())
    public = {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    tables = {target.id.removesuffix("_REGIONS").lower() for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name) and target.id.endswith("_REGIONS")}
    assert not public & tables and public | tables == set(registered_functions())


def test_the_generated_module_holds_no_dispatch_loop():
    """Issue 24: runtime code lives in ordinary modules.  The region tables hold (name, where, form) and the one
    loop that evaluates them is numeric/regions.py's by_region; it takes the first region that holds at each
    point (a table whose first condition is everywhere False leaves every point to the rest: negative control)."""
    import numpy as np

    from softsign_scaling.numeric import regions
    from softsign_scaling.numeric.generated import closed_forms

    text = (ROOT / GENERATED_PATH).read_text()
    assert "todo" not in text and "numpy.empty" not in text
    a, b = np.array([0.0, 0.01, 3.0, 50.0]), np.array([0.05, 0.05, 1.0, 3.0])
    first = [(name, where(a, b) if where else None) for name, where, _ in closed_forms.MEAN_CLIP_REGIONS]
    assert first[0][1].tolist() == [True, True, False, False] and first[-1][1] is None
    table = [("one", lambda a_, b_: a_ > 1, lambda a_, b_: a_ * 0 + 1), ("rest", None, lambda a_, b_: a_ * 0 + 2)]
    assert regions.by_region(table, a, b).tolist() == [2, 2, 1, 1]
    never = [("none", lambda a_, b_: a_ < -1, lambda a_, b_: a_ * 0 + 1)] + table[1:]
    assert regions.by_region(never, a, b).tolist() == [2, 2, 2, 2]


def test_fingerprint_covers_only_the_inputs(monkeypatch):
    """Steps the module is not printed from do not touch its fingerprint; its input steps do."""
    from softsign_scaling.codegen import numeric_code
    from softsign_scaling.codegen.numeric_code import fingerprint
    from softsign_scaling.steps import Derivation

    full = derivation_for_numeric()
    without_e1 = Derivation(tuple(step for step in full.steps if step.label != "E-1"))
    assert fingerprint(without_e1) == fingerprint(full)
    changed = Derivation(tuple(step.with_result(step.result + 1) if step.label == "E-8" else step
                               for step in full.steps))
    assert fingerprint(changed) != fingerprint(full)
    # What is fingerprinted is the expressions and the generator's version, not source text.
    before = fingerprint(full)
    monkeypatch.setattr(numeric_code, "GENERATOR_VERSION", numeric_code.GENERATOR_VERSION + "+1")
    assert fingerprint(full) != before


def test_a_family_registers_its_functions_and_inputs_in_one_place(monkeypatch):
    """A family added to the registry is picked up by the generator's function list and its fingerprint."""
    from softsign_scaling.codegen import numeric_code
    from softsign_scaling.sections import Family

    full = derivation_for_numeric()
    before = numeric_code.fingerprint(full)
    toy = Family("toy", "A toy family", "T-1", generated=("toy_function",), inputs=("T-1",))
    monkeypatch.setattr(numeric_code, "FAMILIES", numeric_code.FAMILIES + (toy,))
    assert numeric_code.registered_functions()[-1] == "toy_function"
    assert numeric_code.input_labels()[-1] == "T-1"
    assert numeric_code.fingerprint(full) != before


def test_limit_forms_are_proved_against_their_steps(derivation, monkeypatch):
    """generated/limits.py prints L-1 .. L-4 in a chosen operation order; each form is proved equal to its step's
    result before printing, and a form that is not (exact's nu as 1/R1^4, E-12's pi/2 as pi/3) fails generation."""
    from softsign_scaling.codegen import limits_code as lc

    lc.prove(derivation)
    label, doc, assignments, (mu, _) = lc.FORMS["far_exact"]
    for wrong in ({"far_exact": (label, doc, assignments, (mu, lc._pow(lc._mul(lc.inverse, lc.inverse), 2)))},
                  {"far_approx": ("L-2", "", lc.FORMS["far_approx"][2], (mu, lc._mul(lc.sp.pi / 3, lc.inverse, lc.inverse)))}):
        monkeypatch.setattr(lc, "FORMS", {**lc.FORMS, **wrong})
        with pytest.raises(ArithmeticError, match="is not its result"):
            lc.prove(derivation)
