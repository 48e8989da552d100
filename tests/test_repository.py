"""The checkout itself: no committed file is ignored (a reader's `git status` must tell the truth)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout (a source archive): there is no .gitignore to check against")
def test_gitignore_lists_no_committed_file():
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard") == ""
    # The generated documents are committed, so none of them may be ignored.
    for name in ("docs/atlas.md", "docs/usage.md", "docs/derivation.md", "docs/appendix.tex", "docs/manifest.json",
                 "docs/appendix.pdf"):
        assert subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT).returncode == 1, f"{name} is ignored"


def _package_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from softsign_scaling... import name`` in a file, wherever it sits."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "softsign_scaling":
            found += [(node.module, alias.name) for alias in node.names]
    return found


def _missing_names(paths) -> list[str]:
    """``file: from module import name`` for every package name the files import that does not exist.  Optional
    extras that are not installed skip their names."""
    import importlib

    missing = []
    for path in paths:
        for module, name in _package_imports(path):
            try:
                imported = importlib.import_module(module)
            except ImportError as error:  # an optional extra (torch, jax) missing here
                if error.name and error.name.split(".")[0] in ("torch", "jax", "optax", "sklearn"):
                    continue
                raise
            if not hasattr(imported, name):
                try:
                    importlib.import_module(f"{module}.{name}")
                except ModuleNotFoundError:
                    missing.append(f"{path.name}: from {module} import {name}")
    return missing


def test_the_benchmarks_import_names_that_exist():
    """A benchmark is run by hand, not by the tests: a name it imports that the package no longer has (as when
    models.THREADS moved to _threads) would only show when someone runs it."""
    root = Path(__file__).resolve().parents[1]
    missing = _missing_names(sorted((root / "benchmarks").glob("*.py")))
    assert not missing, missing


def test_the_benchmark_import_check_can_fail(tmp_path):
    bad = tmp_path / "bench_bad.py"
    bad.write_text("from softsign_scaling.numeric.models import THREADS\n"
                   "from softsign_scaling.numeric import _threads, no_such_module\n")
    assert _missing_names([bad]) == ["bench_bad.py: from softsign_scaling.numeric.models import THREADS",
                                     "bench_bad.py: from softsign_scaling.numeric import no_such_module"]
