"""The package's import graph, read with ``ast``: no circles, and no import upward across the layers.

Layers, lowest first: base (the package root, byte-stable file writing) -> math (symbols, steps,
gaussian, sections, checks, stable, pipeline) -> code generation (codegen/ and the numeric/ code it
writes) -> exports (export/, artifacts, report, atlas/, sim/) -> commands (cli, __main__, sim.command).
A module may
import its own layer or a lower one.  Every import that runs counts: at module level, inside
functions, and ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name; imports
under ``if TYPE_CHECKING:`` never run (they name types for annotations) and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "softsign_scaling"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", (PACKAGE, f"{PACKAGE}.files")),
    ("math", tuple(f"{PACKAGE}.{name}" for name in
                   ("symbols", "steps", "gaussian", "sections", "checks", "stable", "pipeline"))),
    ("code generation", (f"{PACKAGE}.codegen", f"{PACKAGE}.numeric")),
    ("exports", tuple(f"{PACKAGE}.{name}" for name in ("export", "artifacts", "report", "atlas", "sim", "real"))),
    ("commands", (f"{PACKAGE}.cli", f"{PACKAGE}.__main__", f"{PACKAGE}.sim.command",
                  f"{PACKAGE}.real.command")),
)


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that ``name`` is or lies in (an imported function resolves to its module)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules that ``source`` (module ``module``) imports, anywhere in the file."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    targets: set[str] = set()
    tree = ast.parse(source)
    for guarded in [node for node in ast.walk(tree) if _is_type_checking_block(node)]:
        guarded.body = []  # never executed
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from . import stable" imports a module; "from .steps import Step" a name in one.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called in ("import_module", "__import__"):
                names = [node.args[0].value]
        for name in names:
            target = _resolve(name, known)
            if target is not None and target != module:
                targets.add(target)
    return targets


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    files = module_files(root, package)
    known = set(files)
    return {module: imports_of(module, path.read_text(), path.name == "__init__.py", known)
            for module, path in files.items()}


def layer_of(module: str, layers=LAYERS) -> int:
    """Index of the layer whose longest prefix matches ``module``."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best is None:
        raise KeyError(f"{module} belongs to no layer: add it to LAYERS in tests/test_layers.py")
    return best


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    out = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if layer_of(target, layers) > layer_of(module, layers):
                out.append(f"{module} ({layers[layer_of(module, layers)][0]}) imports {target} "
                           f"({layers[layer_of(target, layers)][0]})")
    return out


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_every_module_has_a_layer(graph):
    for module in graph:
        layer_of(module)


def test_the_graph_sees_imports_at_every_level(graph):
    """The reader finds top-level, relative and in-function imports (else the checks below are empty); the
    dynamic ones are shown in test_the_checker_can_fail."""
    assert f"{PACKAGE}.steps" in graph[f"{PACKAGE}.pipeline"]  # top level, relative
    assert f"{PACKAGE}.checks.base" in graph[f"{PACKAGE}.pipeline"]  # inside a function
    assert f"{PACKAGE}.stable" in graph[f"{PACKAGE}.codegen.numeric_code"]
    assert f"{PACKAGE}.cli" in graph[f"{PACKAGE}.__main__"]
    assert sum(len(targets) for targets in graph.values()) > 60


def test_no_circular_imports(graph):
    assert circles(graph) == []


def test_no_upward_imports(graph):
    assert upward_imports(graph) == []


def test_the_checker_can_fail(tmp_path):
    """A synthetic package with a circle and an upward import: both are found."""
    package = tmp_path / "toy"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "a.py").write_text("from . import b\n")
    (package / "low" / "b.py").write_text("def f():\n    from .a import g\n")  # circle, through a function
    (package / "high.py").write_text("from .low.a import x\n")
    (package / "low" / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..high import T\n")
    (package / "low" / "c.py").write_text("import importlib\nimportlib.import_module('toy.high')\n")  # upward
    toy = import_graph(package, "toy")
    assert circles(toy) == [["toy.low.a", "toy.low.b"]]
    layers = (("low", ("toy", "toy.low")), ("high", ("toy.high",)))
    assert upward_imports(toy, layers) == ["toy.low.c (low) imports toy.high (high)"]
    assert circles({"x": {"y"}, "y": set()}) == []
