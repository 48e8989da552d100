"""The package's import graph, read with ``ast``: no circles, no import upward across the layers, and no private
name taken across modules.

Layers, lowest first: base (the package root, byte-stable file writing) -> math (symbols, steps, gaussian,
sections, checks, stable, pipeline, findings) -> numeric (the float64 functions and models) -> code generation
(codegen/, which reads numeric's runtime modules to fit and certify the tables it writes) -> export (export/,
artifacts, report) -> atlas -> sim -> real -> commands (cli, __main__, command, sim.command, real.command, and
export.appendix_build, the appendix command's build, which runs the atlas).  A module may import its own layer or a
lower one.  Every import that runs counts: at module level, inside functions, and
``importlib.import_module("...")`` / ``__import__("...")`` with a literal name; imports under ``if TYPE_CHECKING:``
never run (they name types for annotations) and do not count.

Private names: ``from m import _name`` (a leading underscore: private to its module) is allowed only inside m's own
module; a private module (``numeric._fast``) may be imported by the modules of its own package, and by codegen
for numeric (the tables' generator reads the runtime it fits; listed in PRIVATE_MODULE_READERS).
"""

from __future__ import annotations

import ast
import keyword
import re
from pathlib import Path

import pytest

PACKAGE = "softsign_scaling"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", (PACKAGE, f"{PACKAGE}.files")),
    ("math", tuple(f"{PACKAGE}.{name}" for name in
                   ("symbols", "steps", "gaussian", "sections", "checks", "stable", "pipeline", "findings"))),
    ("numeric", (f"{PACKAGE}.numeric",)),
    ("code generation", (f"{PACKAGE}.codegen",)),
    ("export", tuple(f"{PACKAGE}.{name}" for name in ("export", "artifacts", "report"))),
    ("atlas", (f"{PACKAGE}.atlas",)),
    ("sim", (f"{PACKAGE}.sim",)),
    ("real", (f"{PACKAGE}.real",)),
    ("commands", (f"{PACKAGE}.cli", f"{PACKAGE}.__main__", f"{PACKAGE}.command", f"{PACKAGE}.sim.command",
                  f"{PACKAGE}.real.command", f"{PACKAGE}.export.appendix_build")),
)

# Packages whose private modules another package may read: codegen fits and certifies numeric's tables against
# numeric's runtime (its skeletons, its quadratures, its encoder), so it reads them as they run.
PRIVATE_MODULE_READERS = {f"{PACKAGE}.numeric": (f"{PACKAGE}.codegen",)}


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


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def private_imports(root: Path = ROOT, package: str = PACKAGE, readers=None) -> list[str]:
    """``from m import _name`` outside module m, and a private module imported from outside its package (except
    by its PRIVATE_MODULE_READERS)."""
    readers = PRIVATE_MODULE_READERS if readers is None else readers
    files = module_files(root, package)
    known = set(files)
    out = []
    for module, path in files.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target not in known and _is_private(alias.name):
                    out.append(f"{module} imports the private name {alias.name} of {base}")
                    continue
                target = target if target in known else base
                parts = target.split(".")
                for depth, part in enumerate(parts):
                    if not _is_private(part):
                        continue
                    owner = ".".join(parts[:depth])  # the package the private module belongs to
                    inside = module == owner or module.startswith(owner + ".")
                    allowed = any(module == r or module.startswith(r + ".") for r in readers.get(owner, ()))
                    if not (inside or allowed):
                        out.append(f"{module} imports the private module {target}")
                    break
    return sorted(set(out))


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


def test_no_private_names_across_modules():
    assert private_imports() == []


def test_codegen_is_above_numeric_and_the_exports_are_ordered(graph):
    """The order is real, not one layer for two: codegen reads numeric, numeric never codegen; the atlas, sim and
    real stand in that order (negative controls: the reverse orders find these imports upward)."""
    codegen, numeric = f"{PACKAGE}.codegen.moments_code", f"{PACKAGE}.numeric._fast"
    assert numeric in graph[codegen] and layer_of(codegen) > layer_of(numeric)
    assert not any(t.startswith(f"{PACKAGE}.codegen") for m, ts in graph.items() if m.startswith(f"{PACKAGE}.numeric")
                   for t in ts)
    swapped = list(LAYERS)
    i, j = [k for k, (name, _) in enumerate(LAYERS) if name in ("numeric", "code generation")]
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert any("codegen" in line and "numeric" in line for line in upward_imports(graph, tuple(swapped)))
    reordered = list(LAYERS)
    i, j = [k for k, (name, _) in enumerate(LAYERS) if name in ("sim", "real")]
    reordered[i], reordered[j] = reordered[j], reordered[i]
    assert any(line.startswith(f"{PACKAGE}.real.") for line in upward_imports(graph, tuple(reordered)))
    i, j = [k for k, (name, _) in enumerate(LAYERS) if name in ("atlas", "sim")]
    reordered = list(LAYERS)
    reordered[i], reordered[j] = reordered[j], reordered[i]
    assert any(line.startswith(f"{PACKAGE}.sim.") for line in upward_imports(graph, tuple(reordered)))


def test_the_private_import_checker_can_fail(tmp_path):
    package = tmp_path / "toy"
    (package / "low").mkdir(parents=True)
    (package / "gen").mkdir()
    for init in (package, package / "low", package / "gen"):
        (init / "__init__.py").write_text("")
    (package / "low" / "_runtime.py").write_text("def _helper():\n    pass\n\ndef public():\n    pass\n")
    (package / "low" / "user.py").write_text("from ._runtime import public\n")  # its own package: allowed
    (package / "high.py").write_text("from .low._runtime import public\n")  # a private module from outside
    (package / "gen" / "writer.py").write_text("from ..low import _runtime\n")  # a listed reader: allowed
    (package / "other.py").write_text("from .low.user import _hidden\n")  # a private name
    found = private_imports(package, "toy", readers={"toy.low": ("toy.gen",)})
    assert found == ["toy.high imports the private module toy.low._runtime",
                     "toy.other imports the private name _hidden of toy.low.user"]
    assert len(private_imports(package, "toy", readers={})) == 3  # without the listed reader, it is found too


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


# --------------------------------------------------------------------------------------------
# Runtime code is written once, in numeric/'s ordinary modules; codegen's strings print expressions, coefficients
# and thin wrappers around them, never a copy of runtime lines (issue 24: the anchored fast route was such a copy).

GENERATED = ROOT / "numeric" / "generated"  # every module codegen writes, and nothing else (test below)


_TOKEN = re.compile(r"""(?P<string>'{3}[^']*'{3}|"{3}[^"]*"{3}|'[^']*'|"[^"]*")"""
                    r"|(?P<number>(?<![\w.])\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?)"
                    r"|(?P<attribute>\.\s*[A-Za-z_]\w*)|(?P<name>[A-Za-z_]\w*)|(?P<space>\s+)|(?P<other>.)")
CODE_LENGTH = 25  # a line shorter than this (a string counted as one character) is too common to mean a copy


def shape(line: str) -> str:
    """A code line's shape: a comment and white space dropped, every string "S", every number 0, every bare name
    _ (keywords kept), attribute names kept.  A near copy (renamed variables, np for numpy, other constants or
    spacing) has the shape of its original."""
    out = []
    for match in _TOKEN.finditer(line.split("#")[0]):
        kind, text = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind == "name" and not keyword.iskeyword(text):
            text = "_"
        out.append({"string": '"S"', "number": "0", "attribute": "." + text.lstrip(". \t")}.get(kind, text))
    return "".join(out)


def _verbatim(line: str) -> str:
    """The line with its comment dropped and white space folded."""
    return " ".join(line.split("#")[0].split())


def _is_code(line: str) -> bool:
    """Long enough to mean something, and more than strings (a docstring line, a data line of one literal)."""
    folded = _TOKEN.sub(lambda m: "S" if m.lastgroup == "string" else m.group(), _verbatim(line))
    return (len(folded) >= CODE_LENGTH and not folded.startswith(("def ", "class "))
            and bool(shape(line).replace('"S"', "").strip(",()=_")))


def _code_lines(source: str) -> list[str]:
    """The statements' lines of a module, in order (docstrings, comments and blank lines left out)."""
    tree = ast.parse(source)
    documentation = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node) is not None:
            documentation.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    return [line for number, line in enumerate(source.splitlines(), 1)
            if number not in documentation and _verbatim(line)]


def _text(node) -> str | None:
    """The text of a string constant or f-string (each placeholder as a name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "x" for part in node.values)
    return None


def template_sequences(source: str) -> list[list[str]]:
    """The line sequences a generator's strings print: each string's lines, and the lines of each run of strings
    in a list or tuple (a template written a line an element)."""
    sequences = []
    for node in ast.walk(ast.parse(source)):
        if _text(node) is not None:
            sequences.append(_text(node).splitlines())
        elif isinstance(node, (ast.List, ast.Tuple)):
            run: list[str] = []
            for element in [*node.elts, None]:
                text = _text(element)
                if text is not None:
                    run += text.splitlines()
                    continue
                if len(run) > 1:
                    sequences.append(run)
                run = []
    return sequences


def duplicated_runtime_lines(runtime_sources, sequences) -> list[str]:
    """Lines of ``sequences`` (what the generators print) that copy numeric/'s runtime: a runtime line verbatim
    (comments and spacing aside), or two consecutive lines with the shapes of two consecutive runtime lines (a
    near copy: names, numbers, np/numpy and spacing changed).  A lone line of a common shape is not a copy."""
    verbatim, pairs = set(), set()
    for source in runtime_sources:
        code = [line for line in _code_lines(source) if _is_code(line)]
        verbatim.update(_verbatim(line) for line in code)
        pairs.update((shape(first), shape(second)) for first, second in zip(code, code[1:]))
    found = []
    for sequence in sequences:
        code = [line for line in sequence if _is_code(line)]
        for index, line in enumerate(code):
            pair_before = index > 0 and (shape(code[index - 1]), shape(line)) in pairs
            pair_after = index + 1 < len(code) and (shape(line), shape(code[index + 1])) in pairs
            if _verbatim(line) in verbatim or pair_before or pair_after:
                found.append(line.strip())
    return list(dict.fromkeys(found))


def test_no_runtime_code_in_codegen_strings():
    """No line of codegen's strings, and no line of what they print (numeric/generated/), copies a runtime line of
    numeric/'s ordinary modules, verbatim or nearly: the generated modules hold expressions and coefficients."""
    runtime = [p.read_text() for p in sorted((ROOT / "numeric").glob("*.py"))]  # numeric/generated/ left out
    templates = [sequence for p in sorted((ROOT / "codegen").glob("*.py")) for sequence in template_sequences(p.read_text())]
    assert duplicated_runtime_lines(runtime, templates) == []
    printed = [_code_lines(path.read_text()) for path in sorted(GENERATED.glob("*.py"))]
    assert duplicated_runtime_lines(runtime, printed) == []
    # The negative controls: a template repeating a line of the anchored fast route verbatim, and one repeating
    # lines of the anchored closed form's runtime with other names, np for numpy, other numbers and spacing.
    fast = (ROOT / "numeric" / "anchored_fast.py").read_text()
    template = 'TEMPLATE = """\ndef f(a, mean):\n    numpy.divide(a, mean, out=mean)  # A-3: a/sqrt(a^2 + 1/k0^2)\n"""\n'
    assert duplicated_runtime_lines([fast], template_sequences(template)) == [
        "numpy.divide(a, mean, out=mean)  # A-3: a/sqrt(a^2 + 1/k0^2)"]
    closed = (ROOT / "numeric" / "anchored_closed.py").read_text()
    near = ('LINES = ["def k0(x):", "    x = np.asarray(x, dtype=float)", "    smallest = np.maximum(x, 1e-300)",\n'
            '         "    large = np.maximum(x, SWITCH)", "    return large"]\n')
    assert duplicated_runtime_lines([closed], template_sequences(near)) == [
        "x = np.asarray(x, dtype=float)", "smallest = np.maximum(x, 1e-300)", "large = np.maximum(x, SWITCH)"]
    # ... and a lone line of a common shape is not a copy (numpy.empty(a.shape) has the shape of a line of _fast).
    fast_moments = (ROOT / "numeric" / "_fast.py").read_text()
    assert shape("out = numpy.empty(a.shape)") in {shape(line) for line in _code_lines(fast_moments)}
    assert duplicated_runtime_lines([fast_moments], [["out = numpy.empty(a.shape)", "return out"]]) == []


# --------------------------------------------------------------------------------------------
# Generated modules live in numeric/generated/ (issue 24: they carried `_` names next to the hand-written ones, with
# nothing to tell them apart): every module codegen writes is there, and every module there is one codegen writes.

def misplaced_generated(package_root: Path) -> list[str]:
    """Modules of the package whose text says "Generated by" outside numeric/generated/, and modules there that
    do not (the package's __init__ excepted)."""
    found = []
    for path in sorted(package_root.rglob("*.py")):
        inside = path.parent == package_root / "numeric" / "generated"
        generated = path.read_text().lstrip('"').startswith(("Generated by", "Written by"))
        if inside != generated and not (inside and path.name == "__init__.py"):
            found.append(str(path.relative_to(package_root)))
    return found


def test_generated_modules_live_in_numeric_generated(tmp_path):
    from softsign_scaling.codegen import anchored_code, limits_code, moments_code, numeric_code, outside_code

    written = {numeric_code.GENERATED_PATH, anchored_code.GENERATED, anchored_code.TABLE_PATH,
               moments_code.TABLES_PATH, moments_code.OUTSIDE_TABLES_PATH, outside_code.GENERATED,
               limits_code.GENERATED}
    there = {path.relative_to(ROOT.parent) for path in GENERATED.glob("*.py") if path.name != "__init__.py"}
    assert written == there
    assert "do not edit" in (GENERATED / "__init__.py").read_text()
    assert misplaced_generated(ROOT) == []
    # The negative control: a generated module next to the hand-written ones, and a hand-written one in generated/.
    (tmp_path / "numeric" / "generated").mkdir(parents=True)
    (tmp_path / "numeric" / "_tables.py").write_text('"""Generated by `softsign-scaling derive`; do not edit."""\n')
    (tmp_path / "numeric" / "generated" / "glue.py").write_text('"""Runtime glue."""\n')
    assert misplaced_generated(tmp_path) == ["numeric/_tables.py", "numeric/generated/glue.py"]
