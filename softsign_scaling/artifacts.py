"""The derivation's documents on disk: docs/steps/<label>.tex and docs/manifest.json.

An export (it prints through :mod:`softsign_scaling.export.latex` and
:mod:`softsign_scaling.export.manifest`); the byte-stable file writing itself is
:mod:`softsign_scaling.files`, re-exported here for the modules that write through this one.
"""

from __future__ import annotations

from pathlib import Path

from .export.latex import step_snippet
from .export.manifest import manifest
from .files import PACKAGE_DIR, repository_root, write_text, write_text_bytes
from .steps import Derivation

__all__ = ["PACKAGE_DIR", "repository_root", "write_text", "write_text_bytes", "write_derivation_artifacts"]


def write_derivation_artifacts(derivation: Derivation, root: Path) -> list[Path]:
    """docs/steps/<label>.tex for every step and docs/manifest.json; the paths written."""
    written = []
    docs = Path(root) / "docs"
    for step in derivation.steps:
        path = docs / "steps" / f"{step.label}.tex"
        if write_text(path, step_snippet(step)):
            written.append(path)
    if write_text(docs / "manifest.json", manifest(derivation)):
        written.append(docs / "manifest.json")
    return written
