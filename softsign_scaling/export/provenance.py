"""What a measured document was generated from: a digest of its generator's code and of the model registry.

docs/simulation.md, docs/momentum.md and docs/real-model.md take minutes of torch to regenerate, so the default
test run cannot regenerate them; their byte comparisons are slow tests.  Each carries instead, on its last line,
a stamp: the digest of the export-layer modules its generator imports (transitively: its own package, the
sweep runner, the Markdown tables, the figure writer) and of the registered models that it iterates.  A change
to any of them without regenerating the document leaves a stale stamp, which tests/test_documented_commands.py
finds in milliseconds.  (docs/simulation.md once gained two rows when `simulate` ran after a new model was
registered: that is the failure it catches.)  The numeric layers below (numeric, sections, ...) are not in the
digest: they are tested against mpmath, and a change of their values reaches these documents only through the
slow byte comparisons.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

PACKAGE = "softsign_scaling"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The export layer's packages and modules (tests/test_layers.py has the layers): only these enter a digest.
EXPORTS = tuple(f"{PACKAGE}.{name}" for name in ("export", "artifacts", "report", "atlas", "sim", "real"))
STAMP = re.compile(r"^<!-- inputs: ([0-9a-f]{16}) ", re.MULTILINE)


def _modules(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(package_dir).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``module`` imports (relative imports resolved, names mapped to their module)."""
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                if ".".join(parts[:end]) in known:
                    found.add(".".join(parts[:end]))
                    break
    return found


def _exported(module: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in EXPORTS)


def sources(module: str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The export-layer modules ``module`` imports, transitively (itself included), sorted."""
    files = _modules(package_dir)
    known = set(files)
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or name not in files:
            continue
        seen.add(name)
        todo += [m for m in _imports(name, files[name], known) if _exported(m)]
    return sorted(files[name] for name in seen)


def registry() -> str:
    """The registered models as a document's rows see them: name, placements, whether beta1 has a meaning."""
    from .. import numeric

    parts = []
    for name in numeric.MODELS:
        model = numeric.get_model(name)
        parts.append(f"{name}:{','.join(getattr(model, 'placements', ('inside',)))}:{bool(model.beta1_meaning)}")
    return ";".join(parts)


def digest(module: str, package_dir: Path = PACKAGE_DIR, models: str | None = None) -> str:
    """16 hex digits of sha256 over ``sources(module)`` (paths and bytes, line endings normalised) and the registry."""
    h = hashlib.sha256()
    for path in sources(module, package_dir):
        h.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        h.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    h.update((registry() if models is None else models).encode())
    return h.hexdigest()[:16]


def stamp(module: str) -> str:
    """The document's last line: its inputs' digest, invisible when the Markdown is rendered."""
    return (f"<!-- inputs: {digest(module)} (the digest of {module}'s export-layer code and the model registry; "
            "tests/test_documented_commands.py) -->")


def stamped(text: str) -> str | None:
    """The digest a document's stamp records, or None."""
    match = STAMP.search(text)
    return match.group(1) if match else None
