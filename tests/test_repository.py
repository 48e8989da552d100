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
