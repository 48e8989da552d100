"""Writing generated files: byte-stable, written only when their content changes.

The bottom of the package: it imports nothing of it, so the math, the code generators and the
exports can all write through it.
"""

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
