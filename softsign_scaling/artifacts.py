"""Writing generated files: byte-stable, written only when their content changes."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def repository_root() -> Path:
    """The checkout this package lives in (where docs/ goes), or the current directory when installed."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "derivations").is_dir():
        return candidate
    return Path.cwd()


def write_text(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds exactly that; True when written."""
    return write_text_bytes(path, text.encode("utf-8"))


def write_text_bytes(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly those bytes; True when written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def write_derivation_artifacts(derivation, root: Path) -> list[Path]:
    """docs/steps/<label>.tex for every step and docs/manifest.json."""
    from .export.latex import step_snippet
    from .export.manifest import manifest

    written = []
    docs = root / "docs"
    for step in derivation.steps:
        path = docs / "steps" / f"{step.label}.tex"
        if write_text(path, step_snippet(step)):
            written.append(path)
    if write_text(docs / "manifest.json", manifest(derivation)):
        written.append(docs / "manifest.json")
    return written
